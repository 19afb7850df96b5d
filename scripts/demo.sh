#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make demo: set everything up, then run the rig (tests/rig/demo.sh): VMs
# of different character under kvm_quanta and what it sees; then a
# latency-sensitive VM "web" beside two CPU hogs "batch-a" and "batch-b"
# on one CPU, in observe and in enforce, with quantad and quantactl naming
# the VMs, and the two runs side by side (latency, work, CPU share, quanta).
#   KQ_SUITE=bookworm|trixie|sid   kernel to boot (default bookworm)
#   KQ_LAT_MS=6000                 length of each latency run (ms)
#   KQ_LAT_REPS=3                  observe/enforce pairs (medians in the table)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
suite=${KQ_SUITE:-bookworm}
t0=$(date +%s)
scripts/deps.sh
make -s testvmm >/dev/null
# quantad and quantactl only (make userspace also builds the unit tests).
cmake -S userspace -B build/userspace -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKQ_WERROR=ON >/dev/null
cmake --build build/userspace -j2 --target quantad quantactl >/dev/null
scripts/build-module.sh "$suite"
t1=$(date +%s)
rc=0
results=$(scripts/vmtest.sh "$suite" tests/rig/demo.sh) || rc=$?
# What the guest printed, without the kernel's boot log and dmesg.
tr -d '\r' <"build/logs/$suite-demo.log" | sed -n '/KQ-RUN-START/,/KQ-DMESG-BEGIN/p' |
	grep -v 'KQ-RUN-START\|KQ-DMESG-BEGIN\|^KQTEST' || true
printf '%s\n' "$results" | tail -n 1
echo "demo: set-up $((t1 - t0)) s, rig $(($(date +%s) - t1)) s"
if [ "$rc" -ne 0 ]; then
	printf '%s\n' "$results" | grep 'not ok' >&2
	echo "demo: the rig reported a failure; see build/logs/$suite-demo.log" >&2
fi
exit "$rc"
