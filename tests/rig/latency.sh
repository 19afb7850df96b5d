#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Rig test, run inside the guest by scripts/vmtest.sh: a latency-sensitive
# VM beside two CPU hogs, stock, tuned and enforce (see latency.py).
exec python3 "$(dirname "$0")/latency.py" "$@"
