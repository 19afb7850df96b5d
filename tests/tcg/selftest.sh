#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Self-test of the instruction-count plugin (kq_insn.c), on the host, as a
# test: builds it and a complete guest (selftest.S: marker, a loop of N
# two-instruction iterations, marker, power off) for two N, boots each under
# QEMU's TCG with the plugin, and checks that the counts between the markers
# differ by exactly 2 x the difference of N, and that the profile puts the
# loop's 2 x (N - 1) at one address.  Prints "KQTEST ok|not ok tcg:<name>".
#   KQ_TCG_OUT  build directory (default build/tcg)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${KQ_TCG_OUT:-$here/../../build/tcg}
mkdir -p "$out"
fail=0
ok() { echo "KQTEST ok tcg:$1"; }
bad() {
	echo "KQTEST not ok tcg:$1 - $2"
	fail=1
}

if ! "$here/build.sh" "$out" >"$out/build.log" 2>&1; then
	bad plugin-build "$(tail -n 3 "$out/build.log" | tr '\n' ' ')"
	exit 1
fi
ok plugin-build

declare -A delta=() top=()
for n in 1000 3000; do
	if ! gcc -m32 -nostdlib -static -DKQ_LOOPS=$n -Wl,-Ttext=0x100000 -Wl,--build-id=none \
		-o "$out/selftest-$n.elf" "$here/selftest.S" 2>"$out/selftest-$n.err"; then
		bad "guest-build-$n" "$(head -n 2 "$out/selftest-$n.err" | tr '\n' ' ')"
		exit 1
	fi
	rm -f "$out/selftest-$n.log"
	# isa-debug-exit: the guest's "out 0" ends QEMU with status 1.
	timeout 60 qemu-system-x86_64 -machine q35 -accel tcg -nographic -no-reboot -m 64 \
		-device isa-debug-exit,iobase=0xf4,iosize=4 -kernel "$out/selftest-$n.elf" \
		-plugin "$out/kq_insn.so,profile=on,min=100" -d plugin -D "$out/selftest-$n.log" \
		</dev/null >"$out/selftest-$n.console" 2>&1
	rc=$?
	marks=$(awk '$1 == "kq-mark" { print $3 }' "$out/selftest-$n.log" 2>/dev/null)
	if [ "$rc" -ne 1 ] || [ "$(wc -w <<<"$marks")" -ne 2 ]; then
		bad "run-$n" "qemu rc $rc (want 1), marks: $(tr '\n' ' ' <<<"$marks")"
		exit 1
	fi
	read -r m1 m2 <<<"$(tr '\n' ' ' <<<"$marks")"
	delta[$n]=$((m2 - m1))
	top[$n]=$(awk '$1 == "kq-tb" && $2 == 2 { print $4; exit }' "$out/selftest-$n.log")
done
ok runs
slope=$((delta[3000] - delta[1000]))
if [ "$slope" -eq 4000 ]; then
	ok count-exact
else
	bad count-exact "between the markers: ${delta[1000]} (N=1000), ${delta[3000]} (N=3000); difference $slope, want 4000"
fi
# The first iteration runs in the block that starts at the marker, the other
# N - 1 in the loop's own block.
if [ "${top[1000]:-}" = 1998 ] && [ "${top[3000]:-}" = 5998 ]; then
	ok profile-exact
else
	bad profile-exact "the loop's address counts ${top[1000]:-none} and ${top[3000]:-none} (want 1998 and 5998)"
fi
exit $fail
