#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make stress: the proof on a kernel built to catch bugs.
#
# Builds (once, cached) the debug kernel of scripts/debug-kernel.sh (KASAN, lockdep, PROVE_RCU,
# DEBUG_ATOMIC_SLEEP, DEBUG_OBJECTS, KMEMLEAK), builds the module against it and the userspace
# the rig tests use, boots it in the rig (suite "debug") for every rig test, then for the long
# stress suites (tests/rig/stress.sh with KQ_STRESS_LONG=1). Any kernel report fails: each
# suite checks its own slice of dmesg and a kmemleak scan, vmtest.sh the whole dmesg.
# Output: the KQTEST lines, build/logs/stress-results.txt, and a last line
# "N passed, N failed" followed by the run time.
#   KQ_RIG_TESTS="foundation ..."  rig tests to run first (default: those of make check
#                                  but bpfquanta and bpftrace, which need the kernel's BTF
#                                  that the debug kernel does not have).  Checks of speed
#                                  are reported, not asserted, there (kqtest.timing).
#   KQ_STRESS_*                    counts of the stress suites (see tests/rig/stress_*.py)
#   KQ_STRESS_TIMEOUT              seconds for the stress boot (default 14400)
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 1
logs=build/logs
mkdir -p "$logs"
results=$logs/stress-results.txt
: >"$results"
rig_tests=${KQ_RIG_TESTS:-vmm-selftest foundation state telemetry policy exitcost quantad quantactl}
start=$(date +%s)

note() { echo "KQTEST $*" | tee -a "$results"; }

# run NAME CMD...: a rig boot; its KQTEST lines go to the tally.
run() {
	local name=$1
	shift
	echo "== $name"
	"$@" >"$logs/stress-$name.out" 2>&1
	local rc=$?
	grep -E '^KQTEST (ok|not ok) ' "$logs/stress-$name.out" | tee -a "$results"
	if [ $rc -ne 0 ] && ! grep -q '^KQTEST not ok' "$logs/stress-$name.out"; then
		note "not ok $name - exited $rc with no failing test; see $logs/stress-$name.out"
	fi
}

if ! scripts/debug-kernel.sh build >"$logs/stress-kernel.out" 2>&1; then
	tail -n 20 "$logs/stress-kernel.out" >&2
	note "not ok debug:kernel-build - see $logs/stress-kernel.out"
elif ! scripts/build-module.sh debug >"$logs/stress-module.out" 2>&1; then
	note "not ok debug:build-w1-clean - see $logs/stress-module.out"
else
	note "ok debug:build-w1-clean"
	if ! { make -s testvmm && make -s userspace; } >"$logs/stress-userspace.out" 2>&1; then
		note "not ok debug:userspace-build - see $logs/stress-userspace.out"
	fi
	# A KASAN/lockdep kernel under TCG runs several times slower than the stock one.
	export KQ_TIMEOUT=${KQ_TIMEOUT:-3600} KQ_MEM=${KQ_MEM:-4096}
	for t in $rig_tests; do
		if [ "$t" = exitcost ]; then
			KQ_SMP=1 run "$t" scripts/vmtest.sh debug "tests/rig/$t.sh"
		else
			run "$t" scripts/vmtest.sh debug "tests/rig/$t.sh"
		fi
	done
	KQ_STRESS_LONG=1 KQ_TIMEOUT=${KQ_STRESS_TIMEOUT:-14400} run stress scripts/vmtest.sh debug tests/rig/stress.sh
fi

passed=$(grep -c '^KQTEST ok ' "$results")
failed=$(grep -c '^KQTEST not ok ' "$results")
echo
grep '^KQTEST not ok ' "$results" || true
echo "$passed passed, $failed failed"
echo "make stress took $(($(date +%s) - start)) s"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
