#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/mutate.sh - mutation testing of the pure core: do the tests fail
# when the code is wrong?
#
# Each mutant (scripts/mutate.py: a flipped comparison, && <-> ||, + <-> -,
# a constant +-1, true <-> false, a dropped !) changes one line of one
# src/core/*.c file; the core library is rebuilt (a shared library, so the
# test binary is not relinked) and the core's userspace tests
# (userspace/tests/*_test.cpp: kq_core_tests) run against it.  A mutant the
# tests do not fail is a survivor.  Survivors listed in
# scripts/mutate-equivalent.txt, with the reason they cannot change any
# result, are reported as equivalent.
#
# Usage: scripts/mutate.sh [FILE...]    default: src/core/policy.c src/core/state.c
#   KQ_MUTATE_JOBS   parallel mutants (default 2; each builds in its own tree)
#
# Output: one line per mutant that survives, "KQTEST ok mutate:FILE" or
# "KQTEST not ok mutate:FILE - N survivors" per file, and a tally.  Exit
# status 0 iff no unexplained survivor.  About 2 s per mutant on this
# machine when it is idle: policy.c and state.c (~450 mutants) take
# minutes, more on a loaded machine, so this is `make mutate`, not part of
# `make check`.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JOBS=${KQ_MUTATE_JOBS:-2}
EQUIV=$REPO/scripts/mutate-equivalent.txt
if [ $# -gt 0 ]; then
	FILES=("$@")
else
	FILES=(src/core/policy.c src/core/state.c)
fi

WORK=$(mktemp -d /tmp/kq-mutate.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# One tree per job: src/core, the uapi header, the core's tests and a
# CMakeLists that builds the core as a shared library.
setup_tree() {
	local t=$1
	mkdir -p "$t/src" "$t/include" "$t/tests"
	cp -r "$REPO/src/core" "$t/src/core"
	cp -r "$REPO/include/uapi" "$t/include/uapi"
	for f in "$REPO"/userspace/tests/*_test.cpp; do
		case $(basename "$f") in nl_*) continue ;; esac
		cp "$f" "$t/tests/"
	done
	cat >"$t/CMakeLists.txt" <<-'EOF'
		cmake_minimum_required(VERSION 3.20)
		project(kq_mutate LANGUAGES C CXX)
		# Out-of-bounds and undefined behaviour fail a mutant too.
		add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all)
		add_link_options(-fsanitize=address,undefined)
		set(CMAKE_CXX_STANDARD 20)
		set(CMAKE_C_STANDARD 11)
		file(GLOB CORE src/core/*.c)
		add_library(kq_core SHARED ${CORE})
		target_include_directories(kq_core PUBLIC src/core include/uapi)
		find_package(GTest REQUIRED)
		file(GLOB TESTS tests/*_test.cpp)
		add_executable(kq_core_tests ${TESTS})
		target_link_libraries(kq_core_tests PRIVATE kq_core GTest::gtest_main)
	EOF
	cmake -S "$t" -B "$t/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$t/build" -j1 >/dev/null
	# The unmutated tree must pass, or every mutant would look killed.
	"$t/build/kq_core_tests" --gtest_brief=1 >/dev/null 2>&1 && touch "$t/ready"
}

# run_one TREE FILE ID: 0 if the mutant is killed (build or tests fail).
run_one() {
	local t=$1 file=$2 id=$3 rc=0 filter=-Events.*
	# The event-set parser's tests are slow and test only events.c.
	case $file in *events.c) filter='*' ;; esac
	cp "$WORK/mutants/$id.c" "$t/$file"
	if cmake --build "$t/build" --target kq_core -j1 >/dev/null 2>&1; then
		# In a subshell: a crashing mutant is a kill, not a message.
		(timeout 60 "$t/build/kq_core_tests" --gtest_brief=1 --gtest_fail_fast \
			--gtest_filter="$filter") >/dev/null 2>&1 || rc=$?
	else
		rc=1
	fi
	cp "$REPO/$file" "$t/$file"
	[ "$rc" -ne 0 ]
}

for j in $(seq 1 "$JOBS"); do
	setup_tree "$WORK/t$j" >"$WORK/setup.$j.log" 2>&1 &
done
wait
for j in $(seq 1 "$JOBS"); do
	if [ ! -e "$WORK/t$j/ready" ]; then
		# Unmutated, the build and tests must pass, or every mutant would
		# look killed.
		echo "KQTEST not ok mutate:baseline - the core does not build or its tests fail unmutated"
		tail -20 "$WORK/setup.$j.log"
		exit 1
	fi
done

total_bad=0
for file in "${FILES[@]}"; do
	python3 "$REPO/scripts/mutate.py" list "$REPO/$file" >"$WORK/list"
	rm -rf "$WORK/mutants"
	mkdir -p "$WORK/mutants"
	python3 "$REPO/scripts/mutate.py" all "$REPO/$file" "$WORK/mutants"
	n=$(wc -l <"$WORK/list")
	: >"$WORK/survivors"
	# Jobs take every JOBS-th mutant.
	for j in $(seq 1 "$JOBS"); do
		(
			while IFS=$'\t' read -r id line old new; do
				if [ $(((id % JOBS) + 1)) -ne "$j" ]; then continue; fi
				if ! run_one "$WORK/t$j" "$file" "$id"; then
					printf '%s\t%s\t%s\t%s\n' "$file" "$line" "$old" "$new" >>"$WORK/survivors.$j"
				fi
			done <"$WORK/list"
		) &
	done
	wait
	cat "$WORK"/survivors.* >"$WORK/survivors" 2>/dev/null || true
	rm -f "$WORK"/survivors.*
	bad=0
	equiv=0
	while IFS=$'\t' read -r f line old new; do
		if [ -f "$EQUIV" ] && grep -qFx "$f	$old	$new" <(grep -v '^#' "$EQUIV" | cut -f1-3); then
			equiv=$((equiv + 1))
			continue
		fi
		echo "survivor: $f:$line: $old  ->  $new"
		bad=$((bad + 1))
	done < <(sort -t$'\t' -k2,2n "$WORK/survivors")
	if [ "$bad" -eq 0 ]; then
		echo "KQTEST ok mutate:$file ($n mutants, $equiv equivalent)"
	else
		echo "KQTEST not ok mutate:$file - $bad of $n mutants survive ($equiv more equivalent)"
	fi
	total_bad=$((total_bad + bad))
done
[ "$total_bad" -eq 0 ]
