#!/usr/bin/env bash
# scripts/build-module.sh - build kvm_quanta.ko for one suite's kernel.
#
# Usage: scripts/build-module.sh SUITE        (SUITE: bookworm | trixie | sid)
#   Output: build/SUITE/kvm_quanta.ko (repo-relative), full log in build/SUITE/build.log.
#   The repo source (minus build/ and .git) is copied first, so suites never share objects:
#     bookworm: copy in build/SUITE/src, built on the host against /usr/src/linux-headers-KVER.
#     trixie/sid: copy in CHROOT/build/kvm-quanta, built with chroot (that suite's gcc and
#                 kbuild), /proc mounted in the chroot for the build only.
#   Build command: `make -C SRC modules KDIR=KDIR W=1` when the top-level Makefile exists,
#   else `make -C KDIR M=SRC W=1 modules` (needs a Kbuild file).
#   Fails (non-zero) on a build error or on any "warning:" line (zero warnings with W=1),
#   printing the warnings. Needs `scripts/kernels.sh fetch SUITE` first (deps.sh does it).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -eq 1 ] || {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}
SUITE=$1
kq_check_suite "$SUITE"

info=$("$KQ_REPO/scripts/kernels.sh" info "$SUITE")
eval "$info"
: "${KVER:?}" "${KDIR:?}"

out="$KQ_REPO/build/$SUITE"
mkdir -p "$out"
kq_lock "$KQ_CACHE/locks/build-$SUITE.lock"

if [ ! -f "$KQ_REPO/Makefile" ] && [ ! -f "$KQ_REPO/Kbuild" ]; then
	kq_die "no Makefile or Kbuild in $KQ_REPO: nothing to build"
fi

if [ -z "$CHROOT" ]; then
	src="$out/src"
	src_in="$src"
	run() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C "$@"; }
	[ -f "$KDIR/Makefile" ] || kq_die "headers $KDIR missing: run scripts/kernels.sh fetch $SUITE"
else
	src="$CHROOT/build/kvm-quanta"
	src_in="/build/kvm-quanta"
	[ -f "$CHROOT$KDIR/Makefile" ] || kq_die "headers $KDIR missing in $CHROOT: run scripts/kernels.sh fetch $SUITE"
	proc_mounted=""
	cleanup() { if [ -n "$proc_mounted" ]; then umount "$CHROOT/proc" || true; fi; }
	trap cleanup EXIT
	if ! mountpoint -q "$CHROOT/proc"; then
		mount -t proc proc "$CHROOT/proc"
		proc_mounted=1
	fi
	run() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C chroot "$CHROOT" "$@"; }
fi

mkdir -p "$src"
rsync -a --delete --delete-excluded --exclude=/build/ --exclude=/.git/ --exclude=/conf/ --exclude='*.o' --exclude='*.ko' \
	--exclude='*.mod' --exclude='*.mod.c' --exclude='.*.cmd' --exclude=/Module.symvers \
	--exclude=/modules.order "$KQ_REPO/" "$src/"

jobs=$(nproc)
if [ -f "$src/Makefile" ]; then
	cmd=(make -C "$src_in" -j"$jobs" modules "KDIR=$KDIR" W=1)
else
	cmd=(make -C "$KDIR" "M=$src_in" -j"$jobs" W=1 modules)
fi
kq_log "building for $SUITE ($KVER): ${cmd[*]}"
rc=0
run "${cmd[@]}" >"$out/build.log" 2>&1 || rc=$?
if [ "$rc" -ne 0 ]; then
	cat "$out/build.log" >&2
	kq_die "module build for $SUITE failed (rc=$rc)"
fi
if grep -i 'warning:' "$out/build.log" >&2; then
	kq_die "module build for $SUITE printed warnings (W=1 must be warning-free); log: $out/build.log"
fi
ko=$(find "$src" -maxdepth 1 -name kvm_quanta.ko | head -n1)
[ -n "$ko" ] || kq_die "build succeeded but no kvm_quanta.ko in $src"
cp "$ko" "$out/kvm_quanta.ko"
kq_log "built $out/kvm_quanta.ko ($(modinfo -F vermagic "$out/kvm_quanta.ko" 2>/dev/null || echo '?'))"
