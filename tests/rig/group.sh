#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Rig test, run inside the guest by scripts/vmtest.sh: phase placement within a group.
exec python3 "$(dirname "$0")/group.py" "$@"
