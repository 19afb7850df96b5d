#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Runs the kernel's checkpatch.pl --strict over the module's C sources, as
# a test: prints "KQTEST ok|not ok checkpatch:<file>" per file.  checkpatch
# comes from Debian's linux-source-6.1 tarball.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${KQ_CACHE:-/var/cache/kvm-quanta}/checkpatch
tarball=$(ls /usr/src/linux-source-6.1.tar.xz 2>/dev/null || true)

if [ ! -x "$cache/scripts/checkpatch.pl" ]; then
	[ -n "$tarball" ] || { echo "KQTEST not ok checkpatch:setup - linux-source-6.1 not installed"; exit 1; }
	mkdir -p "$cache"
	tar -xJf "$tarball" -C "$cache" --strip-components=1 --wildcards \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch'
fi

# Justified exceptions, per file: "file:TYPE[,TYPE]".
#   src/enforce.c:YIELD  yield() is the early switch that works on CFS and
#   under EEVDF's RUN_TO_PARITY (a reschedule request does not; measured,
#   see Documentation/design.rst, Enforcement).
exceptions="src/enforce.c:YIELD"

cd "$repo"
fail=0
while IFS= read -r f; do
	ignore=FILE_PATH_CHANGES,SPDX_LICENSE_TAG
	for e in $exceptions; do
		[ "${e%%:*}" = "$f" ] && ignore="$ignore,${e#*:}"
	done
	if out=$("$cache/scripts/checkpatch.pl" --strict --no-tree --quiet \
		--ignore "$ignore" -f "$f" 2>&1); then
		echo "KQTEST ok checkpatch:$f"
	else
		fail=1
		first=$(printf '%s\n' "$out" | grep -m1 -E '^(ERROR|WARNING|CHECK)' || true)
		echo "KQTEST not ok checkpatch:$f - $first"
		printf '%s\n' "$out" >&2
	fi
done < <(git ls-files -co --exclude-standard -- 'src/*.[ch]' 'src/core/*.[ch]' \
	'include/uapi/linux/*.h' 'kunit/*.c' | sort -u)
exit $fail
