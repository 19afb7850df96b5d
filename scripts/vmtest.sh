#!/usr/bin/env bash
# scripts/vmtest.sh - boot a suite's Debian kernel in QEMU/TCG (emulated AMD SVM) and run a
# guest test script there, with kvm + kvm-amd loaded and /dev/kvm present.
#
# Usage: scripts/vmtest.sh SUITE GUEST_SCRIPT [ARGS...]
#   SUITE         bookworm | trixie | sid (run scripts/deps.sh first), or debug: the KASAN/lockdep
#                 kernel of scripts/debug-kernel.sh (its virtio/9p are built in, kvm is modular)
#   GUEST_SCRIPT  a file in the repo (or any host path outside /tmp, /run, /dev, /proc, /sys), run as
#                 `bash GUEST_SCRIPT ARGS...` inside the guest, with the current directory at the
#                 repo root and stdin from /dev/null.
#
# Guest view: the host's / is shared read-only over 9p and is the guest's root (chroot), so host
# tools and the repo are at the same paths (the repo has a 9p share of its own, so it may live
# under /tmp). /tmp, /run and /dev/shm are tmpfs. The guest script gets:
#   KQ_SUITE, KQ_KVER, KQ_REPO (repo path), KQ_MODULE (absolute path of build/SUITE/kvm_quanta.ko;
#   may not exist, and it is NOT loaded: tests load/unload it), KQ_OUT=/tmp/kq-out (writable 9p
#   share; its files appear on the host in KQ_OUTDIR, default build/logs/SUITE-<script>.out/).
#   proc, sysfs, devtmpfs, devpts, debugfs (/sys/kernel/debug), tracefs (/sys/kernel/tracing).
#   The console log level is 1, so kernel messages do not interleave with the script's output.
# Result protocol: the guest script prints `KQTEST ok NAME` / `KQTEST not ok NAME - REASON` on
#   stdout. vmtest.sh adds `dmesg-clean` (no WARNING:/BUG:/Oops/Call Trace/... in the guest's
#   dmesg), `<script>-exit` (not ok only if the script exits non-zero), and `rig-setup`/`boot`/
#   `timeout` (not ok only) when the rig itself fails. It prints every result as
#   `KQTEST ok SUITE:NAME`, then `SUITE: N passed, N failed`, and exits 0 iff all passed and
#   the guest script reported at least one test.
# Logs: build/logs/SUITE-<script basename>.log (console), guest dmesg in KQ_OUTDIR/dmesg.txt.
# Environment: KQ_SMP (default 2), KQ_ACCEL (default tcg,thread=single: see below), KQ_MEM (MiB, default 2048), KQ_TIMEOUT (s, default 900),
#   KQ_CPU (default EPYC,+svm), KQ_STRESS_*, KQ_INSN_* and KQ_LAT_* (passed to the guest script), KQ_APPEND (extra kernel args), KQ_OUTDIR, KQ_VERBOSE=1 (echo
#   the console to stderr while running), KQ_DMESG_IGNORE (extra ERE of dmesg lines that the
#   dmesg-clean check ignores; CPU vulnerability notices are always ignored), KQ_CACHE,
#   KQ_PLUGIN (a TCG plugin and its arguments, "path.so,arg=v,...": QEMU loads it and writes
#   its output to KQ_OUTDIR/plugin.log; see tests/tcg/kq_insn.c), KQ_ICOUNT (QEMU's -icount
#   value, e.g. "shift=0,sleep=off": the guest's clock follows its instruction count, so its
#   timers fire at the same instructions every run).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}
[ $# -ge 2 ] || usage
SUITE=$1
GUEST_SCRIPT=$2
shift 2
kq_check_suite "$SUITE"

case "$GUEST_SCRIPT" in
/*) gs_abs=$GUEST_SCRIPT ;;
*) gs_abs="$(pwd)/$GUEST_SCRIPT" ;;
esac
[ -f "$gs_abs" ] || kq_die "guest script $GUEST_SCRIPT not found"
gs_abs=$(readlink -f "$gs_abs")
case "$gs_abs" in
"$KQ_REPO"/*) ;;
/tmp/* | /run/* | /dev/* | /proc/* | /sys/*)
	kq_die "guest script $gs_abs is hidden in the guest (tmpfs/proc/sys/dev there): put it in the repo" ;;
esac
gs_base=$(basename "$gs_abs" .sh)

info=$("$KQ_REPO/scripts/kernels.sh" info "$SUITE")
eval "$info"
: "${KVER:?}" "${VMLINUZ:?}" "${MODDIR:?}"

SMP=${KQ_SMP:-2}
# Single-threaded TCG: with MTTCG (QEMU 7.2) a vCPU can run stale code
# while another one patches kernel text, and any static key flip (a
# tracepoint enabled, the last VM destroyed) oopses on "int3" about every
# other run on 6.12 and 7.x.  One TCG thread has no such race.
ACCEL=${KQ_ACCEL:-tcg,thread=single}
MEM=${KQ_MEM:-2048}
TIMEOUT=${KQ_TIMEOUT:-900}
CPU=${KQ_CPU:-EPYC,+svm}
logdir="$KQ_REPO/build/logs"
log="$logdir/$SUITE-$gs_base.log"
outdir=${KQ_OUTDIR:-$logdir/$SUITE-$gs_base.out}
mkdir -p "$logdir"
rm -rf "$outdir"
mkdir -p "$outdir"
outdir=$(readlink -f "$outdir")

# ---------------------------------------------------------------- initramfs (cached per KVER)
mapfile -t boot_mods < <("$KQ_REPO/scripts/kernels.sh" modorder "$SUITE" virtio_pci 9pnet_virtio 9p)

read -r -d '' INIT <<'EOF' || true
#!/bin/busybox sh
# kvm-quanta rig init: 9p root from the host, then chroot and run the per-run script.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
die() { echo "KQ-INIT: $*"; echo "KQTEST not ok boot - $*"; sync; poweroff -f; }
while read -r m; do
	insmod "/lib/kq/$m" || echo "KQ-INIT: insmod $m failed"
done < /lib/kq/order
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=loose,ro hostroot /mnt ||
	die "mount hostroot failed"
mount -t proc proc /mnt/proc
mount -t sysfs sysfs /mnt/sys
mount -t devtmpfs devtmpfs /mnt/dev
mkdir -p /mnt/dev/pts /mnt/dev/shm
mount -t devpts devpts /mnt/dev/pts
mount -t tmpfs tmpfs /mnt/dev/shm
mount -t tmpfs tmpfs /mnt/tmp
mount -t tmpfs tmpfs /mnt/run
mount -t debugfs debugfs /mnt/sys/kernel/debug
mount -t tracefs tracefs /mnt/sys/kernel/tracing
mkdir -p /mnt/tmp/kq-out
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 out /mnt/tmp/kq-out || die "mount out failed"
# The repo has a share of its own, mounted at its host path, so a clone
# under /tmp (hidden by the tmpfs above) is there too.
repo=$(cat /mnt/tmp/kq-out/.kq-repo)
mkdir -p "/mnt$repo" 2>/dev/null
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=loose,ro repo "/mnt$repo" ||
	die "mount repo failed"
[ -f /mnt/tmp/kq-out/.kq-run.sh ] || die "no run script"
chroot /mnt /bin/bash /tmp/kq-out/.kq-run.sh
echo "KQ-INIT: run script exited $?"
sync
poweroff -f
EOF

initrd_key=$(printf '%s\n' "$INIT" "${boot_mods[@]}" | sha1sum | cut -c1-12)
initrd="$KQ_CACHE/initramfs/$KVER-$initrd_key.cpio.gz"
if [ ! -f "$initrd" ]; then
	kq_lock "$KQ_CACHE/locks/initramfs-$KVER.lock"
	if [ ! -f "$initrd" ]; then
		kq_log "building initramfs for $KVER"
		stage=$(mktemp -d)
		mkdir -p "$stage"/{bin,dev,proc,sys,mnt,tmp,lib/kq}
		cp /bin/busybox "$stage/bin/busybox"
		printf '%s\n' "$INIT" >"$stage/init"
		chmod 755 "$stage/init"
		: >"$stage/lib/kq/order"
		for m in "${boot_mods[@]}"; do
			cp "$m" "$stage/lib/kq/"
			basename "$m" >>"$stage/lib/kq/order"
		done
		mkdir -p "$KQ_CACHE/initramfs"
		(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) >"$initrd.tmp"
		mv "$initrd.tmp" "$initrd"
		rm -rf "$stage"
	fi
	exec 9>&-
fi

# ---------------------------------------------------------------- per-run script (in the out share)
mapfile -t kvm_mods < <("$KQ_REPO/scripts/kernels.sh" modorder "$SUITE" kvm-amd)
module="$KQ_REPO/build/$SUITE/kvm_quanta.ko"
{
	echo '#!/bin/bash'
	echo '# generated by scripts/vmtest.sh; runs inside the guest chroot'
	printf 'export KQ_SUITE=%q KQ_KVER=%q KQ_MODULE=%q KQ_REPO=%q KQ_OUT=/tmp/kq-out\n' \
		"$SUITE" "$KVER" "$module" "$KQ_REPO"
	printf 'export PATH=%q HOME=/root LC_ALL=C.UTF-8 TERM=dumb\n' "$PATH"
	# The stress suites' counts and switches (tests/rig/stress.sh) reach the guest.
	while IFS='=' read -r k v; do printf 'export %s=%q\n' "$k" "$v"; done < <(env | grep -E '^KQ_(STRESS|INSN|LAT)_[A-Z_]+=' || true)
	printf 'KVM_MODS=(%s)\n' "$(printf '%q ' "${kvm_mods[@]}")"
	printf 'GS=%q\nGS_BASE=%q\nGS_ARGS=(%s)\n' "$gs_abs" "$gs_base" "$(printf '%q ' "$@")"
	cat <<'EOF'
echo 1 >/proc/sys/kernel/printk
echo "KQ-RUN-START $(uname -r)"
setup_err=""
for ko in "${KVM_MODS[@]}"; do
	name=$(basename "$ko" .ko)
	grep -q "^${name//-/_} " /proc/modules && continue
	out=$(insmod "$ko" 2>&1) || { setup_err="insmod $name: $out"; break; }
done
if [ -z "$setup_err" ] && [ ! -c /dev/kvm ]; then setup_err="/dev/kvm missing after loading kvm-amd"; fi
if [ -n "$setup_err" ]; then
	echo "KQTEST not ok rig-setup - $setup_err"
else
	cd "$KQ_REPO"
	rc=0
	bash "$GS" "${GS_ARGS[@]}" </dev/null || rc=$?
	[ "$rc" -eq 0 ] || echo "KQTEST not ok $GS_BASE-exit - exit code $rc"
fi
dmesg >"$KQ_OUT/dmesg.txt" 2>&1 || true
echo "KQ-DMESG-BEGIN"
cat "$KQ_OUT/dmesg.txt"
echo "KQ-DMESG-END"
sync
echo "KQ-RUN-DONE"
EOF
} >"$outdir/.kq-run.sh"
printf '%s\n' "$KQ_REPO" >"$outdir/.kq-repo"

# ---------------------------------------------------------------- boot
# shellcheck disable=SC2054 # commas are QEMU option syntax
qemu=(qemu-system-x86_64 -machine q35 -accel "$ACCEL" -cpu "$CPU" -smp "$SMP" -m "$MEM"
	-nographic -no-reboot -kernel "$VMLINUZ" -initrd "$initrd"
	-append "console=ttyS0 panic=-1 quiet no_timer_check ${KQ_APPEND:-}"
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
	-virtfs "local,path=$outdir,mount_tag=out,security_model=none"
	-virtfs "local,path=$KQ_REPO,mount_tag=repo,security_model=none,readonly=on,multidevs=remap"
	-nic none)
if [ -n "${KQ_PLUGIN:-}" ]; then
	rm -f "$outdir/plugin.log"
	qemu+=(-plugin "$KQ_PLUGIN" -d plugin -D "$outdir/plugin.log")
fi
if [ -n "${KQ_ICOUNT:-}" ]; then
	qemu+=(-icount "$KQ_ICOUNT")
fi
kq_log "booting $SUITE ($KVER) for $gs_base (timeout ${TIMEOUT}s)"
start=$(date +%s)
qrc=0
if [ "${KQ_VERBOSE:-}" = 1 ]; then
	timeout -k 10 "$TIMEOUT" "${qemu[@]}" </dev/null 2>&1 | tee "$log" >&2 || qrc=${PIPESTATUS[0]}
else
	timeout -k 10 "$TIMEOUT" "${qemu[@]}" </dev/null >"$log" 2>&1 || qrc=$?
fi
elapsed=$(($(date +%s) - start))
kq_log "qemu exited rc=$qrc after ${elapsed}s; console log: $log"

# ---------------------------------------------------------------- results
clean=$(tr -d '\r' <"$log")
results=$(printf '%s\n' "$clean" | awk '/^KQ-DMESG-BEGIN$/ { d = 1; next } /^KQ-DMESG-END$/ { d = 0; next }
	!d && /^KQTEST (ok|not ok) / { print }')
dmesg_block=$(printf '%s\n' "$clean" | awk '/^KQ-DMESG-BEGIN$/ { d = 1; next } /^KQ-DMESG-END$/ { d = 0 } d')
if ! grep -q '^KQ-RUN-DONE$' <<<"$clean"; then
	if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
		results+=$'\n'"KQTEST not ok timeout - no result after ${TIMEOUT}s"
	else
		results+=$'\n'"KQTEST not ok boot - guest did not finish (qemu rc=$qrc), see $log"
	fi
fi
if grep -q '^KQ-DMESG-END$' <<<"$clean"; then
	bad_re='WARNING:|BUG:|Oops|general protection|Call Trace|kernel BUG|KASAN|refcount_t:|list_add corruption|list_del corruption|scheduling while atomic|sleeping function called from invalid context'
	# What the debug kernel's checkers print without a WARNING: line.
	bad_re+='|kmemleak: .*suspected memory leak|ODEBUG:|UBSAN:|blocked for more than|self-detected stall|rcu: INFO:'
	# Boot-time CPU vulnerability notices ("...: WARNING: See .../hw-vuln/...") are not bugs.
	ignore_re='hw-vuln|RETBleed: WARNING|Speculative Return Stack Overflow: WARNING'
	[ -n "${KQ_DMESG_IGNORE:-}" ] && ignore_re+="|$KQ_DMESG_IGNORE"
	bad=$(printf '%s\n' "$dmesg_block" | grep -E "$bad_re" | grep -Ev "$ignore_re" | head -n 3 | tr '\n' '|' || true)
	if [ -z "$bad" ]; then
		results+=$'\n'"KQTEST ok dmesg-clean"
	else
		results+=$'\n'"KQTEST not ok dmesg-clean - ($gs_base) ${bad%|}"
		printf '%s\n' "$dmesg_block" | grep -Ev "$ignore_re" | grep -E -B2 -A20 "$bad_re" | head -n 60 >&2 || true
	fi
fi

pass=0 fail=0 guest_tests=0
while IFS= read -r line; do
	[ -n "$line" ] || continue
	case "$line" in
	"KQTEST ok "*)
		pass=$((pass + 1))
		name=${line#KQTEST ok }
		printf 'KQTEST ok %s:%s\n' "$SUITE" "$name"
		;;
	"KQTEST not ok "*)
		fail=$((fail + 1))
		name=${line#KQTEST not ok }
		printf 'KQTEST not ok %s:%s\n' "$SUITE" "$name"
		;;
	*) continue ;;
	esac
	case "${name%% *}" in
	dmesg-clean | boot | timeout | rig-setup | "$gs_base-exit") ;;
	*) guest_tests=$((guest_tests + 1)) ;;
	esac
done <<<"$results"

if [ "$guest_tests" -eq 0 ]; then
	printf 'KQTEST not ok %s:no-tests - %s reported no test\n' "$SUITE" "$gs_base"
	fail=$((fail + 1))
fi
echo "$SUITE: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
