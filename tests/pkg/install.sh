#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# tests/pkg/install.sh - install the packages of build/deb (make deb) into throwaway roots and
# check them as an operator would.  Part of `make deb-check`.
#
# Usage: tests/pkg/install.sh      (root; run `make deb` first)
#
# Two throwaway roots, each an overlay (upper on tmpfs, in a private mount namespace) whose
# lower layer is never written:
#   trixie    $KQ_CACHE/chroots/trixie (scripts/kernels.sh): kvm-quanta-dkms (Architecture:
#             all) is installed with dpkg; its postinst has DKMS build and install the module
#             against the chroot's linux-headers (6.12).  quantad is not installed there: it is
#             built on and for bookworm (its Depends name bookworm's library ABIs, e.g. libfmt9).
#   bookworm  this machine's own root, the suite the packages are built for: both packages;
#             DKMS builds against the host's linux-headers (6.1); the files land where the
#             systemd unit expects them; `quantad --check` passes on the installed config.
# In both, `dpkg --purge` must leave the file list exactly as it was before the install.
# Prints KQTEST lines (pkg:SUITE:NAME).  Environment: KQ_CACHE.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

[ "$(id -u)" = 0 ] || kq_die "install.sh must run as root (chroot, mount)"
debdir="$KQ_REPO/build/deb"
dkms_deb=$(ls "$debdir"/kvm-quanta-dkms_*_all.deb 2>/dev/null | head -n1 || true)
quantad_deb=$(ls "$debdir"/quantad_*_amd64.deb 2>/dev/null | head -n1 || true)
[ -n "$dkms_deb" ] && [ -n "$quantad_deb" ] || kq_die "no packages in $debdir: run make deb first"

# Everything below mounts: do it in a private mount namespace, so that nothing
# leaks to the machine and everything goes away with this process.
if [ "${1:-}" != --in-namespace ]; then
	exec unshare --mount --propagation private "$0" --in-namespace
fi

fails=0
ok() { echo "KQTEST ok pkg:$suite:$1"; }
notok() {
	echo "KQTEST not ok pkg:$suite:$1 - $2"
	fails=$((fails + 1))
}
quiet() { "$@" >/dev/null; }
check() { # check NAME REASON CMD...: ok if CMD succeeds
	local name=$1 why=$2
	shift 2
	if "$@"; then ok "$name"; else notok "$name" "$why"; fi
}

work=$(mktemp -d /tmp/kq-pkgtest.XXXXXX)
mount -t tmpfs -o size=6g tmpfs "$work"

# mkroot NAME LOWER: an overlay root at $work/NAME/root.
mkroot() {
	local d="$work/$1"
	mkdir -p "$d/upper" "$d/work" "$d/root"
	mount -t overlay overlay -o "lowerdir=$2,upperdir=$d/upper,workdir=$d/work" "$d/root"
	root="$d/root"
	mount -t proc proc "$root/proc"
	mount --bind /dev "$root/dev"
	# An empty /run: no service manager is reachable from the root, so maintainer
	# scripts cannot start anything on the machine; policy-rc.d says the same.
	mount -t tmpfs tmpfs "$root/run"
	mount -t tmpfs tmpfs "$root/tmp"
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	mkdir -p "$root/tmp/debs"
	cp "$dkms_deb" "$quantad_deb" "$root/tmp/debs/"
}

in_root() {
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive chroot "$root" "$@"
}

# Every path (with its type and, for symlinks, target) that packages can own or
# maintainer scripts can leave, outside caches and logs that any dpkg run touches.
# Not compared either: dkms's machine owner key (/var/lib/dkms/mok.*), which
# dkms creates on its first build of any module and keeps by design (it is
# the key enrolled for Secure Boot); /build, where scripts/build-module.sh
# builds in the trixie chroot (the lower layer) while this test may run.
snapshot() {
	in_root find / -xdev \( -path /proc -o -path /dev -o -path /run -o -path /tmp \
		-o -path /var/cache/apt -o -path /var/lib/apt/lists -o -path /var/log \
		-o -path /var/cache/man -o -path /var/cache/debconf -o -path /var/cache/ldconfig \
		-o -path /work -o -path /var/cache/kvm-quanta -o -path /root -o -path /home \
		-o -path '/var/lib/dpkg/*-old' -o -path /var/lib/dpkg/triggers \
		-o -path '/var/lib/dkms/mok.*' -o -path /build \) -prune -o \
		-printf '%y %p %l\n' | LC_ALL=C sort
}

# The roots have a kernel's headers but not its image package, whose postinst
# would have made the module index (modules.dep and friends): make it, as a
# host with that kernel has it, so that the index files the DKMS install
# rewrites are there before and after.
kernel_index() {
	in_root depmod "$1"
}

# purge_clean NAME PKG...: purge, then the file list must equal the one before install.
purge_clean() {
	local name=$1
	shift
	if ! in_root dpkg --purge "$@" >"$work/purge-$suite.log" 2>&1; then
		notok purge "dpkg --purge $* failed: $(tail -n 3 "$work/purge-$suite.log" | tr '\n' '|')"
		return
	fi
	snapshot >"$work/after-$suite.txt"
	local d
	d=$(diff "$work/before-$suite.txt" "$work/after-$suite.txt" || true)
	if [ -z "$d" ]; then
		ok "$name"
	else
		printf '%s\n' "$d" | head -n 40 >&2
		notok "$name" "file list differs after purge: $(printf '%s\n' "$d" | grep -c '^[<>]') paths, e.g. $(printf '%s\n' "$d" | grep '^[<>]' | head -n 3 | tr '\n' '|')"
	fi
}

# dkms_checks KVER: the module built and installed for KVER by the postinst.
dkms_checks() {
	local kver=$1 st ko vm
	st=$(in_root dkms status kvm-quanta -k "$kver" 2>&1 || true)
	echo "# dkms status: $st"
	check dkms-installed "dkms status for $kver: $st" grep -q 'installed' <<<"$st"
	ko=$(in_root sh -c "ls /lib/modules/$kver/updates/dkms/kvm_quanta.ko* 2>/dev/null" | head -n1 || true)
	if [ -z "$ko" ]; then
		notok module-file "no kvm_quanta.ko* in /lib/modules/$kver/updates/dkms"
		return
	fi
	vm=$(in_root modinfo -F vermagic "$ko" 2>&1 || true)
	echo "# $ko: vermagic $vm"
	check module-vermagic "vermagic '$vm' is not for $kver" grep -q "^$kver " <<<"$vm"
	check module-depmod "kvm_quanta not in modules.dep of $kver" \
		grep -q 'updates/dkms/kvm_quanta.ko' "$root/lib/modules/$kver/modules.dep"
}

# ---------------------------------------------------------------- trixie (6.12)
suite=trixie
eval "$("$KQ_REPO/scripts/kernels.sh" info trixie)"
[ -f "$CHROOT/usr/src/linux-headers-$KVER/Makefile" ] || kq_die "no trixie chroot: run scripts/deps.sh"
mkroot trixie "$CHROOT"
# dkms and what it needs come from trixie's archive (downloads kept between runs).
mkdir -p "$KQ_CACHE/pkgtest/trixie-archives/partial"
mount --bind "$KQ_CACHE/pkgtest/trixie-archives" "$root/var/cache/apt/archives"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
if in_root apt-get -q update >"$work/apt-trixie.log" 2>&1 &&
	in_root apt-get -q install -y --no-install-recommends dkms >>"$work/apt-trixie.log" 2>&1; then
	ok dkms-dependency
else
	tail -n 20 "$work/apt-trixie.log" >&2
	notok dkms-dependency "apt-get install dkms in the trixie root failed"
fi
kernel_index "$KVER"
snapshot >"$work/before-$suite.txt"
if in_root dpkg -i "/tmp/debs/$(basename "$dkms_deb")" >"$work/install-$suite.log" 2>&1; then
	ok install-dkms
else
	notok install-dkms "dpkg -i failed: $(tail -n 5 "$work/install-$suite.log" | tr '\n' '|')"
fi
sed 's/^/# /' "$work/install-$suite.log"
dkms_checks "$KVER"
purge_clean purge-leaves-nothing kvm-quanta-dkms
check module-removed "kvm_quanta.ko still in /lib/modules/$KVER after purge" \
	bash -c "! ls '$root'/lib/modules/'$KVER'/updates/dkms/kvm_quanta.ko* >/dev/null 2>&1"

# ---------------------------------------------------------------- bookworm (6.1), this machine
suite=bookworm
eval "$("$KQ_REPO/scripts/kernels.sh" info bookworm)"
mkroot bookworm /
kernel_index "$KVER"
snapshot >"$work/before-$suite.txt"
if in_root dpkg -i "/tmp/debs/$(basename "$dkms_deb")" "/tmp/debs/$(basename "$quantad_deb")" \
	>"$work/install-$suite.log" 2>&1; then
	ok install-both
else
	notok install-both "dpkg -i failed: $(tail -n 5 "$work/install-$suite.log" | tr '\n' '|')"
fi
sed 's/^/# /' "$work/install-$suite.log"
dkms_checks "$KVER"

# The unit's programs and files exist where it names them.
unit=/lib/systemd/system/quantad.service
check unit-installed "$unit missing" test -f "$root$unit"
missing=""
while read -r path; do
	[ -e "$root$path" ] || missing+=" $path"
done < <(sed -nE 's/^(ExecStart|ExecStartPre|ExecReload)=[-@!+]*([^ ]+).*/\2/p;
	s/^Exec[A-Za-z]*=.* --config ([^ ]+).*/\1/p;
	s/^Documentation=file:\/\/(.*)/\1/p' "$root$unit" | sort -u)
check unit-paths-exist "named by $unit but missing:$missing" test -z "$missing"
check unit-enabled "deb-systemd-helper did not enable quantad.service" \
	test -L "$root/etc/systemd/system/multi-user.target.wants/quantad.service"
p=$(in_root systemd-analyze verify "$unit" 2>&1 || true)
check unit-verifies "systemd-analyze verify: $(tr '\n' '|' <<<"$p")" test -z "$(grep -v 'Failed to .*cgroup\|Failed to open /dev/tty' <<<"$p" || true)"
conf=$(sed -nE 's/^ExecStartPre=.* --config ([^ ]+).*/\1/p' "$root$unit")
conffiles=$(in_root dpkg-query -W -f '${Conffiles}' quantad 2>&1 || true)
check config-is-conffile "$conf is not a conffile of quantad: $conffiles" grep -q " $conf " <<<"$conffiles"
out=$(in_root /usr/sbin/quantad --check --config "$conf" 2>&1) && rc=0 || rc=$?
echo "# quantad --check --config $conf: rc $rc: $out"
check quantad-check-installed-config "rc $rc: $out" test "$rc" -eq 0
check quantactl-runs "quantactl --help failed" quiet in_root /usr/bin/quantactl --help
hook=/etc/libvirt/hooks/qemu.d/kvm-quanta
check hook-installed "$hook missing or not executable" test -x "$root$hook"
check hook-runs "the hook failed on 'web1 started begin -'" \
	bash -c "in_root() { chroot '$root' \"\$@\"; }; echo '<domain/>' | in_root $hook web1 started begin - >/dev/null"
for f in /usr/share/kvm-quanta/grafana/kvm-quanta.json /usr/share/kvm-quanta/kvm_quanta.bt \
	/usr/share/man/man8/quantad.8.gz /usr/share/man/man1/quantactl.1.gz \
	/usr/share/doc/quantad/fleet.rst /usr/share/doc/quantad/quantad.rst \
	/usr/share/doc/quantad/images/grafana-dashboard.png; do
	check "file:$(basename "$f")" "$f missing" test -f "$root$f"
done
purge_clean purge-leaves-nothing quantad kvm-quanta-dkms

echo "# throwaway roots in $work (tmpfs, gone with this namespace)"
exit $((fails > 0))
