#!/usr/bin/env bash
# scripts/deps.sh - idempotently install everything kvm-quanta needs on a Debian 12 machine.
#
# Usage: scripts/deps.sh [--no-kernels]
#   Installs the missing apt packages (one `apt-get update` only when something is missing),
#   then runs `scripts/kernels.sh fetch all` (rig kernels + trixie/sid build chroots) unless
#   --no-kernels is given. Takes seconds when everything is already there. Safe to run in
#   parallel (flock on $KQ_CACHE/locks/deps.lock). Environment: KQ_CACHE.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGES=(
	qemu-system-x86 busybox-static debootstrap build-essential cmake googletest libgtest-dev
	libgmock-dev flex bison bc libelf-dev libssl-dev python3 xz-utils zstd cpio kmod rsync
	linux-source-6.1 linux-headers-amd64 gzip util-linux mount debian-archive-keyring
	ca-certificates bpftrace libnl-3-dev libnl-genl-3-dev libtomlplusplus-dev libcli11-dev
	libspdlog-dev libfmt-dev libcpp-httplib-dev libsystemd-dev libsqlite3-dev pkg-config
	bpftool libbpf-dev clang clang-format nlohmann-json3-dev
	debhelper dh-dkms dkms lintian devscripts fakeroot help2man python3-matplotlib
)

fetch_kernels=1
case "${1:-}" in
--no-kernels) fetch_kernels="" ;;
"") ;;
*)
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
	;;
esac

[ "$(id -u)" = 0 ] || kq_die "deps.sh must run as root"

kq_lock "$KQ_CACHE/locks/deps.lock"

mapfile -t missing < <(
	dpkg-query -W -f '${Package} ${db:Status-Abbrev}\n' "${PACKAGES[@]}" 2>/dev/null |
		awk '$2 == "ii" { ok[$1] = 1 } END { for (p in ok) print p }' |
		sort | comm -13 - <(printf '%s\n' "${PACKAGES[@]}" | sort)
)
if [ "${#missing[@]}" -gt 0 ]; then
	kq_log "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -q update >/dev/null
	apt-get -q install -y --no-install-recommends "${missing[@]}" >/dev/null
else
	kq_log "apt packages: all present"
fi

if [ -n "$fetch_kernels" ]; then
	"$KQ_REPO/scripts/kernels.sh" fetch all
fi
