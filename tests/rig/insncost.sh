#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Rig test, run inside the guest by scripts/vmtest.sh with the TCG plugin
# loaded: the exit path's cost in instructions (see insncost.py).
exec python3 "$(dirname "$0")/insncost.py" "$@"
