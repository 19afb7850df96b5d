#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make demo: set everything up, then run the rig with several VMs of
# different character under kvm_quanta and show what it sees.
#   KQ_SUITE=bookworm|trixie|sid   kernel to boot (default bookworm)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
suite=${KQ_SUITE:-bookworm}
scripts/deps.sh
make -s testvmm >/dev/null
scripts/build-module.sh "$suite"
rc=0
results=$(scripts/vmtest.sh "$suite" tests/rig/demo.sh) || rc=$?
# What the guest printed, without the kernel's boot log and dmesg.
tr -d '\r' <"build/logs/$suite-demo.log" | sed -n '/KQ-RUN-START/,/KQ-DMESG-BEGIN/p' |
	grep -v 'KQ-RUN-START\|KQ-DMESG-BEGIN\|^KQTEST' || true
if [ "$rc" -ne 0 ]; then
	printf '%s\n' "$results" | grep 'not ok' >&2
	echo "demo: the rig reported a failure; see build/logs/$suite-demo.log" >&2
fi
exit "$rc"
