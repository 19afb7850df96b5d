#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make bench: what kvm_quanta costs, counted, and what it gives a
# latency-sensitive VM, timed (Documentation/bench.rst).  Per kernel, two
# boots of the rig:
#   cost     one guest CPU and the instruction-count plugin (tests/tcg/kq_insn.c):
#            tests/rig/insncost.py (CPUID storms: module not loaded, observe,
#            enforce; idle vCPUs at scale) into BENCH/KERNEL/
#   latency  two guest CPUs, no plugin, no -icount (real time):
#            tests/rig/latency.py (a latency VM beside two CPU hogs: alone, stock,
#            tuned, enforce) into BENCH/KERNEL-latency/
# then scripts/bench_report.py writes BENCH/results.json, results.md and the
# plots (PNG, with matplotlib): instructions per exit, what the module adds and
# in which functions; latency percentiles, hog throughput, shares, quanta, and
# the goals evaluated (not asserted).  BENCH is build/bench.
#   scripts/bench.sh [--smoke] [KERNEL...]   (default: bookworm trixie sid)
#   --smoke   one kernel, short storms, one repetition, a short latency run
#             (stock and enforce, 1.5 s each), into build/bench-smoke-KERNEL,
#             with the module and kq-testvmm as built (make check runs it per kernel,
#             side by side): checks that the benchmark produces its outputs, not the
#             figures
#   KQ_BENCH_PARTS="cost latency"   the parts to run (one of them skips the other;
#               the report keeps the skipped part's figures from an earlier run)
#   KQ_BENCH_README=auto   auto: after a full run (not --smoke) in which all three
#               kernels (bookworm trixie sid) produced latency figures, put the
#               latency tables into README (between ".. bench-results-begin" and
#               ".. bench-results-end") and the CDF plot into
#               Documentation/images/bench-latency-cdf.png; 1: whenever latency
#               figures exist (also --smoke, fewer kernels); 0: never
#   KQ_INSN_EXITS, KQ_INSN_REPS, KQ_INSN_VCPUS, KQ_INSN_KNOWN (full: 1000 VMs; smoke: 8)
#                                                see tests/rig/insncost.py
#   KQ_ICOUNT   QEMU -icount for the cost boot (default shift=0,sleep=off: the
#               guest's clock counts its instructions, so its timers and the module's
#               windows fall at the same instructions every run; "" for the host's clock)
#   KQ_LAT_MS, KQ_LAT_REPS, KQ_LAT_PHASE_REPS, KQ_LAT_CONFIGS, KQ_LAT_TUNED_NS
#                    see tests/rig/latency.py
#               (defaults here: 10000 ms, 3 repetitions, all four configurations)
#   KQ_LAT_TIMEOUT   the latency boot's timeout, s (default from the runs planned)
# Prints KQTEST lines and ends with "N passed, N failed".
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 1
smoke=""
if [ "${1:-}" = --smoke ]; then
	smoke=1
	shift
fi
kernels=${*:-bookworm trixie sid}
parts=${KQ_BENCH_PARTS:-cost latency}
for p in $parts; do
	case $p in
	cost | latency) ;;
	*) echo "bench.sh: KQ_BENCH_PARTS: unknown part '$p' (cost, latency)" >&2; exit 2 ;;
	esac
done
part() { [[ " $parts " == *" $1 "* ]]; }
out=build/bench
if [ -n "$smoke" ]; then
	[ $# -eq 1 ] || { echo "bench.sh --smoke KERNEL: one kernel" >&2; exit 2; }
	out=build/bench-smoke-$1
fi
mkdir -p "$out" build/logs
results=$out/tests.txt
: >"$results"
note() { echo "KQTEST $*" | tee -a "$results"; }

# The report's plots want matplotlib (Debian: python3-matplotlib, for
# /usr/bin/python3); a python3 first on PATH without it would skip them.
py=python3
if ! python3 -c 'import matplotlib' 2>/dev/null && /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
	py=/usr/bin/python3
fi
have_mpl=""
"$py" -c 'import matplotlib' 2>/dev/null && have_mpl=1
[ -n "$have_mpl" ] || echo "bench.sh: matplotlib missing for $py: the report skips its plots (apt-get install python3-matplotlib)" >&2

# The report's own tests (synthetic data, about a second); make check runs
# them once as a suite of their own, not in each kernel's smoke.
if [ -z "$smoke" ]; then
	"$py" tests/bench/test_bench_report.py >"$out/report-test.log" 2>&1
	rc=$?
	grep -E '^KQTEST (ok|not ok) ' "$out/report-test.log" | tee -a "$results"
	if [ "$rc" -ne 0 ] && ! grep -q '^KQTEST not ok' "$out/report-test.log"; then
		note "not ok bench:report-test - exited $rc; see $out/report-test.log"
	fi
fi

if [ -n "$smoke" ]; then
	# Short storms: they end before the module's first window, so the smoke's
	# "enforce" counts the exit path as observe runs it.  The smoke checks
	# that the outputs are made, not the figures (tests/rig/insncost.py).
	export KQ_INSN_EXITS=${KQ_INSN_EXITS:-960 1920} KQ_INSN_REPS=${KQ_INSN_REPS:-1}
	export KQ_INSN_VCPUS=${KQ_INSN_VCPUS:-1 2} KQ_INSN_SCALE=${KQ_INSN_SCALE-8}
	export KQ_INSN_KNOWN=${KQ_INSN_KNOWN-8}
	export KQ_INSN_WINDOWS=${KQ_INSN_WINDOWS:-3}
	lat_ms=${KQ_LAT_MS:-1500} lat_reps=${KQ_LAT_REPS:-1} lat_configs=${KQ_LAT_CONFIGS:-stock enforce}
else
	export KQ_INSN_VCPUS=${KQ_INSN_VCPUS:-1 8 64} KQ_INSN_SCALE=${KQ_INSN_SCALE-64 256 1024}
	export KQ_INSN_KNOWN=${KQ_INSN_KNOWN-1000}
	lat_ms=${KQ_LAT_MS:-10000} lat_reps=${KQ_LAT_REPS:-3}
	lat_configs=${KQ_LAT_CONFIGS:-alone stock tuned reniced enforce}
fi
export KQ_INSN_MARK=$repo/$out/kq-mark
# scripts/vmtest.sh hands KQ_LAT_* (and KQ_INSN_*) to the guest.
export KQ_LAT_MS=$lat_ms KQ_LAT_REPS=$lat_reps KQ_LAT_CONFIGS=$lat_configs
# Each run (and each traced one): its wall clock, kq-testvmm's start and
# teardown under TCG; bpftrace's start within the 600 s.
lat_runs=$(((lat_reps + ${KQ_LAT_PHASE_REPS:-1}) * $(wc -w <<<"$lat_configs")))
lat_timeout=${KQ_LAT_TIMEOUT:-$((lat_runs * (lat_ms / 1000 + 120) + 600))}

ok=1
plugin_ok=""
if part cost; then
	if tests/tcg/build.sh "$out" >"$out/plugin-build.log" 2>&1; then
		plugin_ok=1
	else
		note "not ok bench:plugin-build - see $out/plugin-build.log"
	fi
fi
if [ -z "$smoke" ]; then
	make -s testvmm >"$out/testvmm-build.log" 2>&1 || { note "not ok bench:testvmm-build - see $out/testvmm-build.log"; ok=""; }
fi
dirs=() lat_dirs=()
if [ -n "$ok" ]; then
	for k in $kernels; do
		if [ -z "$smoke" ] && ! scripts/build-module.sh "$k" >"$out/$k-module.log" 2>&1; then
			note "not ok $k:bench-module-build - see $out/$k-module.log"
			continue
		fi
		if part cost && [ -n "$plugin_ok" ]; then
			rm -rf "${out:?}/$k"
			KQ_SMP=1 KQ_TIMEOUT=${KQ_TIMEOUT:-3600} KQ_OUTDIR="$out/$k" \
				KQ_ICOUNT=${KQ_ICOUNT-shift=0,sleep=off} \
				KQ_PLUGIN="$repo/$out/kq_insn.so,profile=on,min=${KQ_INSN_MIN:-500}" \
				scripts/vmtest.sh "$k" tests/rig/insncost.sh >"$out/$k.log" 2>&1
			grep -E '^KQTEST (ok|not ok) ' "$out/$k.log" | tee -a "$results"
			[ -s "$out/$k/insncost-plan.json" ] && [ -s "$out/$k/plugin.log" ] && dirs+=("$out/$k")
		fi
		if part latency; then
			# Real time: two guest CPUs (the injector on one, the VMs on the
			# other), no plugin, no -icount.
			rm -rf "${out:?}/$k-latency"
			KQ_SMP=2 KQ_TIMEOUT=$lat_timeout KQ_OUTDIR="$out/$k-latency" KQ_PLUGIN="" KQ_ICOUNT="" \
				scripts/vmtest.sh "$k" tests/rig/latency.sh >"$out/$k-latency.log" 2>&1
			grep -E '^KQTEST (ok|not ok) ' "$out/$k-latency.log" | tee -a "$results"
			[ -s "$out/$k-latency/latency.json" ] && lat_dirs+=("$out/$k-latency")
		elif [ -s "$out/$k-latency/latency.json" ]; then
			lat_dirs+=("$out/$k-latency")	# an earlier run's, kept in the report
		fi
		if ! part cost && [ -s "$out/$k/insncost-plan.json" ] && [ -s "$out/$k/plugin.log" ]; then
			dirs+=("$out/$k")	# an earlier run's, kept in the report
		fi
	done
fi

# README: see KQ_BENCH_README above.
readme=()
case ${KQ_BENCH_README:-auto} in
1) [ ${#lat_dirs[@]} -gt 0 ] && readme=(--readme README) ;;
auto)
	if [ -z "$smoke" ]; then
		have=" ${lat_dirs[*]##*/} "
		readme=(--readme README)
		for k in bookworm trixie sid; do
			[[ "$have" == *" $k-latency "* ]] || readme=()
		done
	fi
	;;
esac

if [ $((${#dirs[@]} + ${#lat_dirs[@]})) -gt 0 ] &&
	"$py" scripts/bench_report.py "${readme[@]}" "$out" "${dirs[@]}" "${lat_dirs[@]}" >"$out/report.log" 2>&1; then
	for d in "${dirs[@]}"; do
		k=$(basename "$d")
		if python3 - "$out/results.json" "$k" <<'PY'; then
import json, math, sys
r = json.load(open(sys.argv[1]))["kernels"][sys.argv[2]]
vals = [s["median"] for part in ("per_exit", "added_per_exit") for s in r[part].values()]
need = {f"{m}/1" for m in ("observe", "enforce")}
sys.exit(0 if vals and all(math.isfinite(v) for v in vals) and need <= set(r["added_per_exit"]) else 1)
PY
			note "ok $k:bench-report"
		else
			note "not ok $k:bench-report - no per-exit figures for $k in $out/results.json"
		fi
	done
	for d in "${lat_dirs[@]}"; do
		k=$(basename "$d" -latency)
		# Every configuration that ran has its figures in the report.
		if python3 - "$out/results.json" "$k" "$d/latency.json" <<'PY'; then
import json, math, sys
lat = json.load(open(sys.argv[1]))["kernels"][sys.argv[2]]["latency"]
ran = {r["config"] for r in json.load(open(sys.argv[3]))["runs"]}
c = lat["configs"]
sys.exit(0 if ran and ran == set(c) and all(
    c[x]["p99_ms"] and math.isfinite(c[x]["p99_ms"]["median"]) for x in ran) and lat["goals"] else 1)
PY
			note "ok $k:bench-latency-report"
		else
			note "not ok $k:bench-latency-report - no latency figures for $k in $out/results.json"
		fi
	done
	if [ -n "$have_mpl" ]; then
		if python3 - "$out" "${#dirs[@]}" "${#lat_dirs[@]}" <<'PY'; then
import json, os, sys
out, cost, lat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
want = (["cost-vcpus.png"] if cost else []) + (["latency-cdf.png", "hog-quanta.png"] if lat else [])
plots = json.load(open(os.path.join(out, "results.json")))["plots"]
sys.exit(0 if all(p in plots and os.path.getsize(os.path.join(out, p)) > 0 for p in want) else 1)
PY
			note "ok bench:plots"
		else
			note "not ok bench:plots - see $out/report.log"
		fi
	fi
	if [ ${#readme[@]} -gt 0 ]; then
		if grep -q '^README updated' <(sed -n 's/^bench_report: //p' "$out/report.log"); then
			note "ok bench:readme"
		else
			note "not ok bench:readme - see $out/report.log"
		fi
	fi
	cat "$out/results.md"
else
	note "not ok bench:report - see $out/report.log"
fi
passed=$(grep -c '^KQTEST ok ' "$results")
failed=$(grep -c '^KQTEST not ok ' "$results")
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
