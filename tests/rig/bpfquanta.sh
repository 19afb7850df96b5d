#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Rig test, run inside the guest by scripts/vmtest.sh: kq-bpfquanta (the
# vcpu_quanta BPF program) against /proc/<tid>/schedstat.
exec python3 "$(dirname "$0")/bpfquanta.py" "$@"
