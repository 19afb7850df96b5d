#!/usr/bin/env bash
# scripts/kernels.sh - fetch and describe the Debian kernels the rig boots.
#
# Usage:
#   kernels.sh fetch SUITE|all      download + unpack SUITE's kernel (linux-image-amd64's
#                                   dependency, never hard-coded) into $KQ_CACHE/kernels/SUITE,
#                                   decompress the modules the rig needs, and (trixie, sid)
#                                   build/refresh the debootstrap chroot $KQ_CACHE/chroots/SUITE
#                                   with that suite's compiler + linux-headers-KVER.
#                                   bookworm builds on the host: installs linux-headers-KVER there.
#                                   A second fetch is a no-op (apt lists refreshed once a day).
#   kernels.sh info SUITE           print shell-sourceable KVER= VMLINUZ= MODROOT= MODDIR= KDIR=
#                                   CHROOT= (CHROOT empty for bookworm; KDIR as seen inside CHROOT).
#   kernels.sh modorder SUITE MOD...  print absolute .ko paths to insmod, in load order, for the
#                                   given module names and their dependencies (from modules.dep;
#                                   built-in modules are skipped).
# SUITE: bookworm | trixie | sid, or debug (scripts/debug-kernel.sh builds it: fetch builds,
# info describes it).  Environment: KQ_CACHE (default /var/cache/kvm-quanta).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Module trees decompressed so that plain insmod works (relative to lib/modules/KVER/kernel).
KQ_MOD_DIRS="arch/x86/kvm virt drivers/crypto/ccp drivers/virtio net/9p fs/9p fs/netfs fs/fscache"
# Modules whose dependency closure is decompressed too (whatever they need on that version).
KQ_MOD_NEEDED="kvm-amd kvm-intel irqbypass ccp virtio_pci virtio_ring 9pnet_virtio 9p"

kdir_of() { printf '%s/kernels/%s\n' "$KQ_CACHE" "$1"; }

# resolve_kver SUITE: the KVER linux-image-amd64 depends on in SUITE's lists.
resolve_kver() {
	local suite=$1 dep
	dep=$(kq_apt_cache "$suite" depends linux-image-amd64 |
		sed -n 's/^ *Depends: linux-image-\([0-9][^ ]*\)$/\1/p' | head -n1)
	[ -n "$dep" ] || kq_die "cannot resolve linux-image-amd64 dependency for $suite"
	printf '%s\n' "$dep"
}

# moddir ROOT KVER: the lib/modules/KVER (or usr/lib/modules/KVER) dir under ROOT.
moddir_of() {
	local root=$1 kver=$2 d
	for d in "$root/usr/lib/modules/$kver" "$root/lib/modules/$kver"; do
		if [ -f "$d/modules.dep" ]; then
			printf '%s\n' "$d"
			return 0
		fi
	done
	return 1
}

vmlinuz_of() {
	local root=$1 kver=$2 f
	for f in "$root/boot/vmlinuz-$kver" "$root/usr/lib/modules/$kver/vmlinuz" "$root/lib/modules/$kver/vmlinuz"; do
		if [ -f "$f" ]; then
			printf '%s\n' "$f"
			return 0
		fi
	done
	return 1
}

# dep closure: print modules.dep-relative paths (without compression suffix) in load order.
modorder_rel() {
	local md=$1 builtin
	shift
	builtin="$md/modules.builtin"
	[ -f "$builtin" ] || builtin=/dev/null
	awk -v want="$*" '
		function norm(s) { sub(/.*\//, "", s); sub(/\.ko(\.(xz|zst|gz))?$/, "", s); gsub(/-/, "_", s); return s }
		function strip(s) { sub(/\.(xz|zst|gz)$/, "", s); return s }
		FNR == NR { builtin[norm($1)] = 1; next }
		{
			sub(/:$/, "", $1); n = norm($1); path[n] = strip($1); nd[n] = NF - 1
			for (i = 2; i <= NF; i++) dep[n, i - 1] = strip($i)
		}
		function emit(p) { if (!(p in done)) { done[p] = 1; print p } }
		END {
			k = split(want, w, " ")
			for (j = 1; j <= k; j++) {
				m = norm(w[j])
				if (!(m in path)) {
					if (m in builtin) continue
					print "missing module " w[j] > "/dev/stderr"; bad = 1; continue
				}
				for (i = nd[m]; i >= 1; i--) emit(dep[m, i])
				emit(path[m])
			}
			exit bad
		}' "$builtin" "$md/modules.dep"
}

decompress_modules() {
	local md=$1 rel d
	local -a files=()
	for d in $KQ_MOD_DIRS; do
		[ -d "$md/kernel/$d" ] || continue
		mapfile -t -O "${#files[@]}" files < <(find "$md/kernel/$d" -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz')
	done
	# shellcheck disable=SC2086 # KQ_MOD_NEEDED is a word list
	while IFS= read -r rel; do
		for d in "$md/$rel".xz "$md/$rel".zst "$md/$rel".gz; do
			[ -f "$d" ] && files+=("$d")
		done
	done < <(modorder_rel "$md" $KQ_MOD_NEEDED 2>/dev/null || true)
	local f
	for f in "${files[@]}"; do
		[ -f "$f" ] || continue
		case "$f" in
		*.xz) xz -dqf "$f" ;;
		*.zst) zstd -dqf --rm "$f" ;;
		*.gz) gzip -dqf "$f" ;;
		esac
	done
}

ensure_host_headers() {
	local kver=$1
	if [ "$(dpkg-query -W -f '${Status}' "linux-headers-$kver" 2>/dev/null || true)" = "install ok installed" ] &&
		[ -d "/usr/src/linux-headers-$kver" ]; then
		return 0
	fi
	kq_log "installing linux-headers-$kver on the host"
	if ! apt-cache show "linux-headers-$kver" >/dev/null 2>&1; then
		apt-get -q update >/dev/null
	fi
	DEBIAN_FRONTEND=noninteractive apt-get -q install -y --no-install-recommends "linux-headers-$kver" >/dev/null
}

fetch_kernel() {
	local suite=$1 kver=$2 base stamp pkg
	base=$(kdir_of "$suite")
	stamp="$base/stamp"
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$kver" ] && moddir_of "$base/root" "$kver" >/dev/null &&
		vmlinuz_of "$base/root" "$kver" >/dev/null; then
		return 0
	fi
	kq_log "fetching kernel $kver for $suite"
	rm -rf "$base/root" "$base/debs" "$stamp"
	mkdir -p "$base/debs" "$base/root"
	local -a pkgs=("linux-image-$kver")
	# sid splits the image: vmlinuz in linux-binary, modules in linux-modules, modules.builtin
	# and modules.order in linux-base-KVER.
	local deps
	deps=$(kq_apt_cache "$suite" depends "linux-image-$kver")
	for pkg in "linux-binary-$kver" "linux-modules-$kver" "linux-base-$kver"; do
		if grep -q "Depends: $pkg\$" <<<"$deps"; then
			pkgs+=("$pkg")
		fi
	done
	(cd "$base/debs" && kq_apt "$suite" download "${pkgs[@]}" >/dev/null)
	for pkg in "$base"/debs/*.deb; do
		dpkg -x "$pkg" "$base/root"
	done
	rm -rf "$base/debs"
	# The packages do not ship modules.dep (depmod makes it at install time). depmod -b looks
	# in ROOT/lib/modules, so give a merged-/usr image (sid) a lib -> usr/lib link.
	if [ -d "$base/root/usr/lib/modules/$kver" ] && [ ! -e "$base/root/lib" ]; then
		ln -s usr/lib "$base/root/lib"
	fi
	depmod -b "$base/root" "$kver"
	local md
	md=$(moddir_of "$base/root" "$kver") || kq_die "no modules.dep for $kver in $base/root"
	vmlinuz_of "$base/root" "$kver" >/dev/null || kq_die "no vmlinuz for $kver in $base/root"
	decompress_modules "$md"
	depmod -b "$base/root" "$kver"
	modorder_rel "$md" kvm-amd 9pnet_virtio 9p virtio_pci >/dev/null ||
		kq_die "$suite $kver lacks a module the rig needs"
	printf '%s\n' "$kver" >"$stamp"
}

chroot_apt_sources() {
	local suite=$1 mirror sec
	mirror=$(kq_mirror)
	sec=$(kq_security_mirror)
	printf 'deb %s %s main\n' "$mirror" "$suite"
	if [ "$suite" != sid ]; then
		printf 'deb %s %s-updates main\n' "$mirror" "$suite"
		[ -n "$sec" ] && printf 'deb %s %s-security main\n' "$sec" "$suite"
	fi
	return 0
}

# Run a command inside the chroot with /proc mounted (unmounted afterwards).
in_chroot() {
	local dir=$1
	shift
	local mounted=""
	if ! mountpoint -q "$dir/proc"; then
		mount -t proc proc "$dir/proc"
		mounted=1
	fi
	local rc=0
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive INITRD=No \
		chroot "$dir" "$@" || rc=$?
	[ -n "$mounted" ] && umount "$dir/proc"
	return $rc
}

# Extra packages in the build chroots: W=1 runs kernel-doc (perl with Pod::Usage on 6.12,
# python3 on newer kernels).
KQ_CHROOT_EXTRA="perl python3"

fetch_chroot() {
	local suite=$1 kver=$2 dir stamp mirror
	dir="$KQ_CACHE/chroots/$suite"
	stamp="$KQ_CACHE/chroots/$suite.stamp"
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$kver $KQ_CHROOT_EXTRA" ] &&
		[ -f "$dir/usr/src/linux-headers-$kver/Makefile" ]; then
		return 0
	fi
	mirror=$(kq_mirror)
	if [ ! -x "$dir/usr/bin/make" ] || [ ! -x "$dir/usr/bin/apt-get" ]; then
		kq_log "debootstrap $suite chroot (a few minutes)"
		rm -rf "$dir" "$stamp"
		mkdir -p "$KQ_CACHE/chroots"
		debootstrap --variant=minbase --include=make,gcc,libc6-dev "$suite" "$dir" "$mirror" \
			>"$KQ_CACHE/chroots/$suite.debootstrap.log" 2>&1 || {
			tail -n 30 "$KQ_CACHE/chroots/$suite.debootstrap.log" >&2
			kq_die "debootstrap $suite failed"
		}
	fi
	# The kernel may come from -security/-updates, which debootstrap does not use: install the
	# headers with apt inside the chroot (this also handles a suite that moved to a new KVER).
	chroot_apt_sources "$suite" >"$dir/etc/apt/sources.list"
	# Follow the host's apt policy on expired Release files (the machines' mirror may serve
	# a snapshot whose Valid-Until has passed; the host is configured for that).
	local cvu=""
	eval "$(apt-config shell cvu Acquire::Check-Valid-Until)"
	if [ "$cvu" = false ]; then
		echo 'Acquire::Check-Valid-Until "false";' >"$dir/etc/apt/apt.conf.d/99kq-valid-until"
	else
		rm -f "$dir/etc/apt/apt.conf.d/99kq-valid-until"
	fi
	cp -L /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
	kq_log "installing linux-headers-$kver in the $suite chroot"
	# shellcheck disable=SC2086 # KQ_CHROOT_EXTRA is a word list
	if ! in_chroot "$dir" apt-get -q update >"$KQ_CACHE/chroots/$suite.apt.log" 2>&1 ||
		! in_chroot "$dir" apt-get -q install -y --no-install-recommends "linux-headers-$kver" $KQ_CHROOT_EXTRA \
			>>"$KQ_CACHE/chroots/$suite.apt.log" 2>&1; then
		tail -n 30 "$KQ_CACHE/chroots/$suite.apt.log" >&2
		kq_die "installing linux-headers-$kver in the $suite chroot failed"
	fi
	# Drop headers of older KVERs (the suite moved) and the downloaded .debs.
	local old
	local -a stale=()
	for old in "$dir"/usr/src/linux-headers-*; do
		case "$old" in
		*"-$kver" | *-common | *-common-*) ;;
		*) [ -d "$old" ] && stale+=("$(basename "$old")") ;;
		esac
	done
	if [ "${#stale[@]}" -gt 0 ]; then
		kq_log "removing stale headers from the $suite chroot: ${stale[*]}"
		in_chroot "$dir" apt-get -q purge -y "${stale[@]}" >>"$KQ_CACHE/chroots/$suite.apt.log" 2>&1 || true
		in_chroot "$dir" apt-get -q autoremove --purge -y >>"$KQ_CACHE/chroots/$suite.apt.log" 2>&1 || true
	fi
	in_chroot "$dir" apt-get -q clean >/dev/null 2>&1 || true
	[ -f "$dir/usr/src/linux-headers-$kver/Makefile" ] || kq_die "headers for $kver missing in chroot"
	printf '%s\n' "$kver $KQ_CHROOT_EXTRA" >"$stamp"
}

fetch_suite() {
	local suite=$1 kver
	kq_check_suite "$suite"
	if [ "$suite" = debug ]; then
		"$KQ_REPO/scripts/debug-kernel.sh" build
		return
	fi
	kq_lock "$KQ_CACHE/locks/kernels-$suite.lock"
	kq_apt_update "$suite"
	kver=$(resolve_kver "$suite")
	fetch_kernel "$suite" "$kver"
	if [ "$suite" = bookworm ]; then
		ensure_host_headers "$kver"
	else
		fetch_chroot "$suite" "$kver"
	fi
	kq_log "$suite: KVER=$kver ready"
	exec 9>&-
}

info_suite() {
	local suite=$1 base kver md vmlinuz root kdir chroot=""
	kq_check_suite "$suite"
	if [ "$suite" = debug ]; then
		"$KQ_REPO/scripts/debug-kernel.sh" info
		return
	fi
	base=$(kdir_of "$suite")
	[ -f "$base/stamp" ] || kq_die "$suite kernel not fetched: run scripts/kernels.sh fetch $suite"
	kver=$(cat "$base/stamp")
	root="$base/root"
	md=$(moddir_of "$root" "$kver") || kq_die "$suite: modules for $kver missing"
	vmlinuz=$(vmlinuz_of "$root" "$kver") || kq_die "$suite: vmlinuz for $kver missing"
	if [ "$suite" = bookworm ]; then
		kdir="/usr/src/linux-headers-$kver"
	else
		chroot="$KQ_CACHE/chroots/$suite"
		kdir="/usr/src/linux-headers-$kver"
	fi
	printf 'KVER=%q\nVMLINUZ=%q\nMODROOT=%q\nMODDIR=%q\nKDIR=%q\nCHROOT=%q\n' \
		"$kver" "$vmlinuz" "$root" "$md" "$kdir" "$chroot"
}

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

main() {
	local cmd=${1:-} s suite
	[ $# -ge 2 ] || usage
	case "$cmd" in
	fetch)
		if [ "$2" = all ]; then
			# The suites are independent (own lists, lock, chroot): fetch them in parallel.
			local -a pids=()
			local failed=0 pid
			for s in $KQ_SUITES; do
				(fetch_suite "$s") &
				pids+=("$!")
			done
			for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
			[ "$failed" -eq 0 ] || kq_die "fetching some suite failed (see above)"
		else
			fetch_suite "$2"
		fi
		;;
	info) info_suite "$2" ;;
	modorder)
		suite=$2
		shift 2
		eval "$(info_suite "$suite")"
		# shellcheck disable=SC2153 # MODDIR comes from info_suite
		modorder_rel "$MODDIR" "$@" | sed "s|^|$MODDIR/|"
		;;
	*) usage ;;
	esac
}

# Single line: bash reads scripts lazily, so a long fetch survives edits of this file.
main "$@"; exit $?
