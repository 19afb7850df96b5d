#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make check: every suite, one tally.  Each suite prints
# "KQTEST ok NAME" / "KQTEST not ok NAME - REASON" lines; this script
# collects them into build/logs/results.txt and ends with the line
# "N passed, N failed".  Suites: userspace (GoogleTest via ctest), the test
# VMM's unit tests, checkpatch, clang-format, the instruction-count plugin's
# self-test, KUnit on UML, and per kernel of the matrix a zero-warning W=1
# build plus the rig tests in QEMU, among them the short stress suites (make
# stress runs the long ones on a debug kernel) and make bench's smoke.  The
# kernels' rigs run side by side, one per CPU: each QEMU (TCG, one thread)
# keeps one CPU busy.
#   KQ_SUITES="bookworm trixie sid"  kernels to test (default all three)
#   KQ_RIG_TESTS="foundation ..."    rig test scripts under tests/rig/
#   KQ_RIG_JOBS=N                    rigs at once (default: the CPUs, at most 3)
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
logs=build/logs
mkdir -p "$logs"
results=$logs/results.txt
: >"$results"
suites=${KQ_SUITES:-bookworm trixie sid}
rig_tests=${KQ_RIG_TESTS:-vmm-selftest foundation security state telemetry policy group exitcost quantad quantactl bpftrace bpfquanta realqemu stress bench-smoke}
rig_jobs=${KQ_RIG_JOBS:-$(nproc)}
[ "$rig_jobs" -ge 1 ] 2>/dev/null || rig_jobs=1
[ "$rig_jobs" -le 3 ] || rig_jobs=3

# run NAME CMD...: run a suite, keep its KQTEST lines, log everything.
run() {
	local name=$1
	shift
	echo "== $name"
	"$@" >"$logs/$name.out" 2>&1
	collect "$name" $?
}

# collect NAME RC: a finished suite's KQTEST lines into the tally.
collect() {
	local name=$1 rc=$2
	grep -E '^KQTEST (ok|not ok) ' "$logs/$name.out" | tee -a "$results"
	if [ "$rc" -ne 0 ] && ! grep -q '^KQTEST not ok' "$logs/$name.out"; then
		echo "KQTEST not ok $name - exited $rc with no failing test; see $logs/$name.out" |
			tee -a "$results"
	fi
}

# ctest_results DIR PREFIX: ctest's per-test lines as KQTEST lines.
ctest_results() {
	local out
	out=$(cd "$1" && ctest --output-on-failure 2>&1)
	local rc=$?
	printf '%s\n' "$out" >&2
	printf '%s\n' "$out" | sed -nE \
		-e "s/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: ([^ ]+) \.+ *Passed.*/KQTEST ok $2:\1/p" \
		-e "s/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: ([^ ]+) \.+.*(Failed|Exception|Timeout|Not Run).*/KQTEST not ok $2:\1 - \2/p"
	return $rc
}

build_userspace() {
	make -s userspace >&2 && ctest_results build/userspace userspace
}

build_testvmm() {
	make -s testvmm >&2 && ctest_results build/testvmm testvmm
}

# The matrix: one W=1 build per kernel, then its rig tests.
rig() {
	local suite=$1 t
	if scripts/build-module.sh "$suite"; then
		echo "KQTEST ok $suite:build-w1-clean"
	else
		echo "KQTEST not ok $suite:build-w1-clean - see the build output above"
		return 1
	fi
	for t in $rig_tests; do
		# The exit-path benchmark wants one vCPU: runs vary least there.
		if [ "$t" = exitcost ]; then
			KQ_SMP=1 scripts/vmtest.sh "$suite" "tests/rig/$t.sh"
		elif [ "$t" = realqemu ]; then
			# Its guests (real QEMU, -accel kvm, nested under TCG) spin with
			# interrupts off; twice in CI the L1's soft-lockup watchdog said the
			# CPU of such a vCPU thread was stuck for minutes (193 s on 7.2,
			# 286 s on 6.1) while the test went on and passed; never seen in
			# a run here.  That detector is off for this test only: a real hang
			# still shows as the test's timeouts and as RCU stall and hung-task
			# reports, which stay on.
			#
			# Twice, on 7.2, the rig went silent for good once the module
			# tracked the guests, until its timeout, and the test passed
			# when run again (here and in a landing CI).  So a boot that
			# timed out, and only that, is booted once more and the second
			# result stands: a hang of ours hangs again and still fails.
			# A likely cause, measured since (Documentation/bench.rst, what
			# the rig cannot show): a rig CPU running a nested guest that
			# does not exit, like db1's register loop, takes its timer
			# interrupts only at QEMU's 10 Hz round-robin kick.
			# 600 s each: the test takes about 4 minutes.
			local out
			out=$(KQ_TIMEOUT=${KQ_TIMEOUT:-600} KQ_APPEND="${KQ_APPEND:-} nosoftlockup" \
				scripts/vmtest.sh "$suite" "tests/rig/$t.sh")
			if grep -q "^KQTEST not ok $suite:timeout" <<<"$out"; then
				printf '%s\n' "$out" | sed 's/^KQTEST /first boot, timed out: /' >&2
				echo "# $suite:$t timed out; booting it once more" >&2
				out=$(KQ_TIMEOUT=${KQ_TIMEOUT:-600} KQ_APPEND="${KQ_APPEND:-} nosoftlockup" \
					scripts/vmtest.sh "$suite" "tests/rig/$t.sh")
			fi
			printf '%s\n' "$out"
		elif [ "$t" = bench-smoke ]; then
			# make bench, short: it produces its outputs (figures: make bench).
			scripts/bench.sh --smoke "$suite"
		elif [ "$t" = stress ]; then
			# Six suites in one boot: more than one suite's time on a loaded machine.
			KQ_TIMEOUT=${KQ_TIMEOUT:-1800} scripts/vmtest.sh "$suite" "tests/rig/$t.sh"
		else
			scripts/vmtest.sh "$suite" "tests/rig/$t.sh"
		fi
	done
}

if ! scripts/deps.sh >"$logs/deps.out" 2>&1; then
	echo "KQTEST not ok deps - scripts/deps.sh failed; see $logs/deps.out" | tee -a "$results"
fi
run userspace build_userspace
run testvmm build_testvmm
run checkpatch scripts/checkpatch.sh
run format scripts/format-check.sh
run tcg tests/tcg/selftest.sh
run netlink-spec python3 tests/netlink/spec_check.py
run pkg-hook python3 tests/pkg/hook_test.py
run bench-report python3 tests/bench/test_bench_report.py
run kunit scripts/kunit.sh
# The rigs side by side, at most rig_jobs at once; tallied in suite order.
declare -A rig_pid=()
for s in $suites; do
	while [ "$(jobs -rp | wc -l)" -ge "$rig_jobs" ]; do
		wait -n
	done
	echo "== rig-$s (started $(date +%T))"
	rig "$s" >"$logs/rig-$s.out" 2>&1 &
	rig_pid[$s]=$!
done
for s in $suites; do
	wait "${rig_pid[$s]}"
	collect "rig-$s" $?
done

passed=$(grep -c '^KQTEST ok ' "$results")
failed=$(grep -c '^KQTEST not ok ' "$results")
echo
grep '^KQTEST not ok ' "$results" || true
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
