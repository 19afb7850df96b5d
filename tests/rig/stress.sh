#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Rig test, run inside the guest by scripts/vmtest.sh: the stress suites
# (tests/rig/stress_*.py), one after the other in one boot.  Short counts by
# default (make check); KQ_STRESS_LONG=1 for the long ones (make stress).
# KQ_STRESS_ONLY="sysfs netlink ..." runs a subset.
set -u
cd "$(dirname "$0")" || exit 1
rc=0
# A suite that hangs the guest never reaches vmtest.sh's dmesg dump: keep a copy
# on the host side (KQ_OUT) as it grows.
(while sleep 5; do dmesg >"$KQ_OUT/dmesg-live.txt.tmp" && mv "$KQ_OUT/dmesg-live.txt.tmp" "$KQ_OUT/dmesg-live.txt"; done) &
watcher=$!
for s in ${KQ_STRESS_ONLY:-sysfs netlink cycles reload admin burst}; do
	echo "# stress suite $s: start $(date +%T)"
	python3 "stress_$s.py" || rc=1
	# A suite that died half-way leaves the module loaded: the next one starts clean.
	if grep -q '^kvm_quanta ' /proc/modules; then
		pkill -KILL -x kq-testvmm 2>/dev/null
		timeout 300 rmmod kvm_quanta 2>/dev/null ||
			{ echo "KQTEST not ok stress-$s-cleanup - kvm_quanta could not be unloaded after the suite"; break; }
	fi
done
kill "$watcher"
exit $rc
