#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Rig test, run inside the guest by scripts/vmtest.sh: a real VMM, the host's own QEMU.
exec python3 "$(dirname "$0")/realqemu.py" "$@"
