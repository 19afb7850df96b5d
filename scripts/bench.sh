#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make bench: what kvm_quanta costs, counted.  Per kernel, boots the rig with
# one guest CPU and the instruction-count plugin (tests/tcg/kq_insn.c), runs
# tests/rig/insncost.py (CPUID storms: module not loaded, observe, enforce)
# and writes build/bench/results.json and results.md (scripts/bench_report.py):
# instructions per exit, what the module adds, and in which functions.
#   scripts/bench.sh [--smoke] [KERNEL...]   (default: bookworm trixie sid)
#   --smoke   one kernel, short storms, one repetition, into build/bench-smoke-KERNEL,
#             with the module and kq-testvmm as built (make check runs it per kernel,
#             side by side): checks that the benchmark produces its outputs, not the
#             figures
#   KQ_INSN_EXITS, KQ_INSN_REPS, KQ_INSN_VCPUS   see tests/rig/insncost.py
#   KQ_ICOUNT   QEMU -icount (default shift=0,sleep=off: the guest's clock counts its
#               instructions, so its timers and the module's windows fall at the same
#               instructions every run; "" for the host's clock)
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
out=build/bench
if [ -n "$smoke" ]; then
	[ $# -eq 1 ] || { echo "bench.sh --smoke KERNEL: one kernel" >&2; exit 2; }
	out=build/bench-smoke-$1
fi
mkdir -p "$out" build/logs
results=$out/tests.txt
: >"$results"
note() { echo "KQTEST $*" | tee -a "$results"; }

if [ -n "$smoke" ]; then
	export KQ_INSN_EXITS=${KQ_INSN_EXITS:-960 1920} KQ_INSN_REPS=${KQ_INSN_REPS:-1}
	export KQ_INSN_VCPUS=${KQ_INSN_VCPUS:-1 2} KQ_INSN_SCALE=${KQ_INSN_SCALE-8}
	export KQ_INSN_WINDOWS=${KQ_INSN_WINDOWS:-3}
else
	export KQ_INSN_VCPUS=${KQ_INSN_VCPUS:-1 8 64} KQ_INSN_SCALE=${KQ_INSN_SCALE-64 256 1024}
fi
export KQ_INSN_MARK=$repo/$out/kq-mark
ok=1
tests/tcg/build.sh "$out" >"$out/plugin-build.log" 2>&1 || { note "not ok bench:plugin-build - see $out/plugin-build.log"; ok=""; }
if [ -z "$smoke" ]; then
	make -s testvmm >"$out/testvmm-build.log" 2>&1 || { note "not ok bench:testvmm-build - see $out/testvmm-build.log"; ok=""; }
fi
dirs=()
if [ -n "$ok" ]; then
	for k in $kernels; do
		if [ -z "$smoke" ] && ! scripts/build-module.sh "$k" >"$out/$k-module.log" 2>&1; then
			note "not ok $k:bench-module-build - see $out/$k-module.log"
			continue
		fi
		rm -rf "${out:?}/$k"
		KQ_SMP=1 KQ_TIMEOUT=${KQ_TIMEOUT:-3600} KQ_OUTDIR="$out/$k" \
			KQ_ICOUNT=${KQ_ICOUNT-shift=0,sleep=off} \
			KQ_PLUGIN="$repo/$out/kq_insn.so,profile=on,min=${KQ_INSN_MIN:-500}" \
			scripts/vmtest.sh "$k" tests/rig/insncost.sh >"$out/$k.log" 2>&1
		grep -E '^KQTEST (ok|not ok) ' "$out/$k.log" | tee -a "$results"
		[ -s "$out/$k/insncost-plan.json" ] && [ -s "$out/$k/plugin.log" ] && dirs+=("$out/$k")
	done
fi
if [ ${#dirs[@]} -gt 0 ] && scripts/bench_report.py "$out" "${dirs[@]}" >"$out/report.log" 2>&1; then
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
	cat "$out/results.md"
else
	note "not ok bench:report - see $out/report.log"
fi
passed=$(grep -c '^KQTEST ok ' "$results")
failed=$(grep -c '^KQTEST not ok ' "$results")
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
