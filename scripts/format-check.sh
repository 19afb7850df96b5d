#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# clang-format (the repository's .clang-format) over the userspace C++ sources,
# as a test: prints "KQTEST ok|not ok format:<file>" per file.  To fix a file:
#   clang-format -i <file>
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
command -v clang-format >/dev/null || { echo "KQTEST not ok format:setup - clang-format not installed"; exit 1; }
fail=0
while IFS= read -r f; do
	if out=$(clang-format --dry-run -Werror "$f" 2>&1); then
		echo "KQTEST ok format:$f"
	else
		fail=1
		first=$(printf '%s\n' "$out" | grep -m1 'error:' || true)
		echo "KQTEST not ok format:$f - ${first#*error: } (clang-format -i $f)"
	fi
done < <(git ls-files 'userspace/*.cpp' 'userspace/*.hpp' 'userspace/*.h' 'tests/vmm/*.cpp' 'tests/vmm/*.hpp')
exit $fail
