#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# scripts/deb.sh - build the Debian packages (make deb) and check them with lintian.
#
# Usage: scripts/deb.sh
#   Copies the repository's files (tracked and new, not ignored) to build/deb/src, runs
#   dpkg-buildpackage there (binary packages, unsigned) and leaves kvm-quanta-dkms_*.deb,
#   quantad_*.deb and the .changes/.buildinfo in build/deb/.  Then lintian on them:
#   prints every tag and fails on any error or warning not overridden (debian/*.lintian-overrides).
#   Prints "KQTEST ok deb:build" / "KQTEST ok deb:lintian" lines (or "not ok").
#   Environment: DEB_BUILD_OPTIONS (default nocheck: make check runs the unit tests;
#   set it empty to run them in the package build too), KQ_JOBS (default 2).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -eq 0 ] || {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}
out="$KQ_REPO/build/deb"
src="$out/src/kvm-quanta"
rm -rf "$out"
mkdir -p "$src"
# A clean copy: no build/, conf/ or other leftovers of the working tree end up in the source.
(cd "$KQ_REPO" && git ls-files -z --cached --others --exclude-standard |
	rsync -a --from0 --files-from=- --ignore-missing-args ./ "$src/")

export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS-nocheck} parallel=${KQ_JOBS:-2}"
kq_log "dpkg-buildpackage (DEB_BUILD_OPTIONS=$DEB_BUILD_OPTIONS)"
if (cd "$src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1; then
	echo "KQTEST ok deb:build"
else
	tail -n 40 "$out/build.log" >&2
	echo "KQTEST not ok deb:build - dpkg-buildpackage failed; see $out/build.log"
	exit 1
fi
# dpkg-buildpackage writes next to the source directory.
mv "$out"/src/*.deb "$out"/src/*.changes "$out"/src/*.buildinfo "$out/"
ls "$out"/*.deb

# lintian: every tag shown (info and pedantic too), errors and warnings fail.
changes=$(ls "$out"/*.changes)
if lintian --info --display-info --pedantic --fail-on error,warning "$changes" >"$out/lintian.log" 2>&1; then
	echo "KQTEST ok deb:lintian"
	cat "$out/lintian.log"
else
	cat "$out/lintian.log" >&2
	echo "KQTEST not ok deb:lintian - $(grep -cE '^[EW]: ' "$out/lintian.log") errors/warnings; see $out/lintian.log"
	exit 1
fi
