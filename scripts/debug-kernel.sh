#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# scripts/debug-kernel.sh - build (once, cached) the 6.1 debug kernel that `make stress` boots.
#
# Usage:
#   debug-kernel.sh build   extract Debian's linux-source-6.1 into $KQ_CACHE/debug-kernel/src,
#                           configure it (x86_64_defconfig, trimmed to what the rig uses, plus the
#                           bug catchers below), build bzImage + modules in $KQ_CACHE/debug-kernel/build
#                           (the O= dir: the module builds with `make KDIR=` that dir) and install
#                           them into $KQ_CACHE/debug-kernel/root. A second run is a no-op unless
#                           this script's configuration, the source package or the compiler changed.
#   debug-kernel.sh info    print shell-sourceable KVER= VMLINUZ= MODROOT= MODDIR= KDIR= CHROOT=
#                           (the same form as `kernels.sh info SUITE`; CHROOT is empty).
# The rig names this kernel "debug": scripts/vmtest.sh debug ..., scripts/build-module.sh debug.
# Bug catchers: KASAN (generic, inline), PROVE_LOCKING (lockdep) + PROVE_RCU, DEBUG_ATOMIC_SLEEP,
# DEBUG_PREEMPT (full preemption), DEBUG_OBJECTS (work, timers, RCU heads, free), KMEMLEAK (scanned
# on demand: echo scan > /sys/kernel/debug/kmemleak), DEBUG_LIST, hung-task detection.
# Not built: debug info and BTF (no pahole in Debian's build deps here; KASAN and lockdep reports
# are symbolized through kallsyms), so BPF CO-RE programs (kq-bpfquanta) cannot load on it;
# bpftrace on tracepoints works.
# Environment: KQ_CACHE (default /var/cache/kvm-quanta), KQ_DEBUG_JOBS (make -j, default 2).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TARBALL=/usr/src/linux-source-6.1.tar.xz
BASE=$KQ_CACHE/debug-kernel
SRC=$BASE/src
OBJ=$BASE/build
ROOT=$BASE/root
JOBS=${KQ_DEBUG_JOBS:-2}

# y/m/n/"string" per option, applied to x86_64_defconfig with scripts/config, then olddefconfig.
# Every line is checked afterwards: an option that Kconfig silently dropped fails the build.
read -r -d '' OPTIONS <<'EOF' || true
LOCALVERSION="-kqdebug"
LOCALVERSION_AUTO=n
MODULES=y
MODULE_UNLOAD=y
PREEMPT_VOLUNTARY=n
PREEMPT=y
DEBUG_PREEMPT=y
HZ_1000=n
HZ_250=y
VIRTUALIZATION=y
KVM=m
KVM_AMD=m
KVM_INTEL=n
KVM_AMD_SEV=n
KVM_XEN=n
PCI=y
VIRTIO_MENU=y
VIRTIO_PCI=y
NET_9P=y
NET_9P_VIRTIO=y
NETWORK_FILESYSTEMS=y
9P_FS=y
9P_FS_POSIX_ACL=y
DEVTMPFS=y
TMPFS=y
TMPFS_POSIX_ACL=y
BLK_DEV_INITRD=y
RD_GZIP=y
CGROUPS=y
IKCONFIG=y
IKCONFIG_PROC=y
DEBUG_FS=y
PERF_EVENTS=y
FTRACE=y
FUNCTION_TRACER=n
KPROBES=y
KPROBE_EVENTS=y
UPROBE_EVENTS=y
BPF_SYSCALL=y
BPF_JIT=y
BPF_EVENTS=y
SCHEDSTATS=y
SCHED_DEBUG=y
KALLSYMS=y
KALLSYMS_ALL=y
DEBUG_INFO_NONE=y
KASAN=y
KASAN_GENERIC=y
KASAN_INLINE=y
PROVE_LOCKING=y
PROVE_RCU=y
DEBUG_ATOMIC_SLEEP=y
DEBUG_OBJECTS=y
DEBUG_OBJECTS_FREE=y
DEBUG_OBJECTS_WORK=y
DEBUG_OBJECTS_TIMERS=y
DEBUG_OBJECTS_RCU_HEAD=y
DEBUG_KMEMLEAK=y
DEBUG_KMEMLEAK_DEFAULT_OFF=n
DEBUG_KMEMLEAK_AUTO_SCAN=n
DEBUG_KMEMLEAK_MEM_POOL_SIZE=65536
DEBUG_LIST=y
DETECT_HUNG_TASK=y
SOFTLOCKUP_DETECTOR=n
HARDLOCKUP_DETECTOR=n
DRM=n
SOUND=n
USB_SUPPORT=n
WIRELESS=n
WLAN=n
CFG80211=n
RFKILL=n
ETHERNET=n
NETFILTER=n
IPV6=n
HID=n
INPUT_MOUSE=n
INPUT_JOYSTICK=n
INPUT_TABLET=n
INPUT_TOUCHSCREEN=n
AGP=n
FB=n
ATA=n
SCSI=n
MD=n
EXT4_FS=n
ISO9660_FS=n
NFS_FS=n
QUOTA=n
AUDIT=n
SECURITY_SELINUX=n
EFI=n
PCCARD=n
SUSPEND=n
HIBERNATION=n
EOF

die() { kq_die "debug-kernel: $*"; }

# The build key: what makes a cached build stale.
build_key() {
	{
		printf '%s\n' "$OPTIONS"
		stat -c '%s %Y' "$TARBALL"
		gcc --version | head -n1
	} | sha1sum | cut -c1-16
}

kver_of_build() { cat "$OBJ/include/config/kernel.release" 2>/dev/null; }

configure() {
	local line opt val
	make -C "$SRC" O="$OBJ" -s x86_64_defconfig
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		opt=${line%%=*}
		val=${line#*=}
		case "$val" in
		y) "$SRC/scripts/config" --file "$OBJ/.config" --enable "$opt" ;;
		m) "$SRC/scripts/config" --file "$OBJ/.config" --module "$opt" ;;
		n) "$SRC/scripts/config" --file "$OBJ/.config" --disable "$opt" ;;
		\"*) "$SRC/scripts/config" --file "$OBJ/.config" --set-str "$opt" "$(eval "printf %s $val")" ;;
		*) "$SRC/scripts/config" --file "$OBJ/.config" --set-val "$opt" "$val" ;;
		esac
	done <<<"$OPTIONS"
	make -C "$SRC" O="$OBJ" -s olddefconfig
	# Kconfig drops what it cannot satisfy without a word: check every option landed.
	local bad=""
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		opt=${line%%=*}
		val=${line#*=}
		case "$val" in
		n) if grep -q "^CONFIG_$opt=" "$OBJ/.config"; then bad+=" $opt(want n)"; fi ;;
		*) grep -qx "CONFIG_$opt=$val" "$OBJ/.config" || bad+=" $opt(want $val)" ;;
		esac
	done <<<"$OPTIONS"
	[ -z "$bad" ] || die "Kconfig did not take:$bad"
}

build() {
	[ -f "$TARBALL" ] || die "$TARBALL missing: scripts/deps.sh installs linux-source-6.1"
	kq_lock "$KQ_CACHE/locks/debug-kernel.lock"
	local key kver start
	key=$(build_key)
	if [ -f "$BASE/stamp" ] && [ "$(cat "$BASE/stamp")" = "$key" ] && [ -n "$(kver_of_build)" ] &&
		[ -f "$ROOT/boot/vmlinuz-$(kver_of_build)" ]; then
		kq_log "debug kernel $(kver_of_build) is up to date"
		return 0
	fi
	mkdir -p "$BASE"
	rm -f "$BASE/stamp"
	if [ ! -f "$SRC/.kq-extracted" ] || [ "$(cat "$SRC/.kq-extracted")" != "$(stat -c '%s %Y' "$TARBALL")" ]; then
		kq_log "extracting $TARBALL into $SRC"
		rm -rf "$SRC" "$OBJ"
		mkdir -p "$SRC"
		tar -xJf "$TARBALL" -C "$SRC" --strip-components=1
		stat -c '%s %Y' "$TARBALL" >"$SRC/.kq-extracted"
	fi
	mkdir -p "$OBJ"
	configure
	start=$(date +%s)
	kq_log "building the debug kernel with -j$JOBS (log: $BASE/build.log)"
	if ! make -C "$SRC" O="$OBJ" -j"$JOBS" bzImage modules >"$BASE/build.log" 2>&1; then
		grep -E 'error|Error' "$BASE/build.log" | head -n 20 >&2
		die "build failed; see $BASE/build.log"
	fi
	kver=$(kver_of_build)
	rm -rf "$ROOT"
	mkdir -p "$ROOT/boot"
	make -C "$SRC" O="$OBJ" -s INSTALL_MOD_PATH="$ROOT" INSTALL_MOD_STRIP=1 modules_install >>"$BASE/build.log" 2>&1 ||
		die "modules_install failed; see $BASE/build.log"
	cp "$OBJ/arch/x86/boot/bzImage" "$ROOT/boot/vmlinuz-$kver"
	cp "$OBJ/.config" "$ROOT/boot/config-$kver"
	printf 'built %s in %ss with -j%s; bzImage %s bytes, build dir %s\n' "$kver" "$(($(date +%s) - start))" "$JOBS" \
		"$(stat -c %s "$ROOT/boot/vmlinuz-$kver")" "$(du -sh "$OBJ" | cut -f1)" | tee "$BASE/build-time" >&2
	printf '%s\n' "$key" >"$BASE/stamp"
}

info() {
	local kver
	[ -f "$BASE/stamp" ] || die "not built: run scripts/debug-kernel.sh build"
	kver=$(kver_of_build)
	printf 'KVER=%q\nVMLINUZ=%q\nMODROOT=%q\nMODDIR=%q\nKDIR=%q\nCHROOT=\n' \
		"$kver" "$ROOT/boot/vmlinuz-$kver" "$ROOT" "$ROOT/lib/modules/$kver" "$OBJ"
}

case "${1:-}" in
build) build ;;
info) info ;;
*)
	sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
	;;
esac
