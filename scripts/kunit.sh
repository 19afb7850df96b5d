#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/kunit.sh - run every KUnit suite in kunit/*_test.c on UML.
#
# The pure decision logic (src/core/*.c) and the suites (kunit/*_test.c) are
# built into the kernel of a UML build of Debian's linux-source-6.1, as an
# in-tree driver overlaid at drivers/misc/kvm_quanta_kunit/, and run with
# tools/testing/kunit/kunit.py.
#
# Usage: scripts/kunit.sh [extra kunit.py run args, e.g. a filter glob 'suite*']
#
# Environment:
#   KQ_CACHE            cache root (default /var/cache/kvm-quanta); uses
#                       $KQ_CACHE/kunit/{linux-source-6.1,build,.lock}
#   KQ_KUNIT_JOBS       make jobs (default: nproc)
#   KQ_KUNIT_TIMEOUT    kunit.py --timeout in seconds for the test run (default 300)
#   KQ_KUNIT_EXTRA_WARN 1 (default): W=1-style warnings for our object; 0: off.
#                       Either way our object is built with -Werror.
#
# Output contract:
#   build/logs/kunit.log   full kunit.py output (config, build, raw KTAP is in
#                          $KQ_CACHE/kunit/build/test.log and appended to the log)
#   stdout                 one line per test case:
#                            KQTEST ok kunit:<suite>.<case>
#                            KQTEST ok kunit:<suite>.<case> # SKIP <reason>
#                            KQTEST not ok kunit:<suite>.<case> - <reason>
#                          Parameterized cases are reported once per case (the
#                          case's own KTAP result); failing params are named in
#                          the reason.  Infrastructure problems use pseudo names:
#                            KQTEST not ok kunit:build - <first error line>
#                            KQTEST not ok kunit:<suite> - <suite-level failure>
#                            KQTEST not ok kunit:run - <reason>
#                            KQTEST not ok kunit:lock - <reason>
#   exit status            0 iff every case passed (skips allowed) and at least
#                          one case passed; 1 test failure; 2 build/config
#                          failure; 3 setup/lock failure.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${KQ_CACHE:-/var/cache/kvm-quanta}
KDIR=$CACHE/kunit
SRC=$KDIR/linux-source-6.1
BUILD=$KDIR/build
TARBALL=/usr/src/linux-source-6.1.tar.xz
DRV_REL=drivers/misc/kvm_quanta_kunit
DRV=$SRC/$DRV_REL
KUNITCONFIG=$REPO/kunit/.kunitconfig
LOGDIR=$REPO/build/logs
LOG=$LOGDIR/kunit.log
JOBS=${KQ_KUNIT_JOBS:-$(nproc)}
TIMEOUT=${KQ_KUNIT_TIMEOUT:-300}
EXTRA_WARN=${KQ_KUNIT_EXTRA_WARN:-1}

say() { echo "kunit.sh: $*" >&2; }
fail_setup() { echo "KQTEST not ok kunit:${2:-run} - $1"; say "$1"; exit 3; }

mkdir -p "$KDIR" "$LOGDIR"

# ---- one run at a time per cache -------------------------------------------
exec 9>"$KDIR/.lock"
if ! flock -n 9; then
	fail_setup "another scripts/kunit.sh is using $KDIR (lock $KDIR/.lock held); retry when it finishes" lock
fi

# ---- host dependencies -------------------------------------------------------
# command -> Debian package
declare -A NEED=([python3]=python3 [make]=make [gcc]=gcc [flex]=flex [bison]=bison
	[bc]=bc [rsync]=rsync [xz]=xz-utils [perl]=perl [flock]=util-linux)
missing=()
for c in "${!NEED[@]}"; do command -v "$c" >/dev/null 2>&1 || missing+=("${NEED[$c]}"); done
[ -e /usr/include/stdio.h ] || missing+=(libc6-dev)
[ -f "$TARBALL" ] || [ -f "$SRC/.kq-extracted" ] || missing+=(linux-source-6.1)
if [ ${#missing[@]} -gt 0 ]; then
	say "installing missing packages: ${missing[*]}"
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
			{ apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2; } ||
			fail_setup "cannot install ${missing[*]}"
	else
		fail_setup "missing packages: ${missing[*]} (apt-get install them)"
	fi
fi

# ---- 1. extract the kernel source once -----------------------------------------
tarball_id() { stat -c '%s %Y' "$TARBALL" 2>/dev/null || echo none; }
if [ ! -f "$SRC/.kq-extracted" ] ||
   { [ -f "$TARBALL" ] && [ "$(cat "$SRC/.kq-extracted")" != "$(tarball_id)" ]; }; then
	say "extracting $TARBALL into $SRC (once)"
	rm -rf "$SRC" "$KDIR/extract.tmp" "$BUILD"
	mkdir -p "$KDIR/extract.tmp"
	tar -C "$KDIR/extract.tmp" -xf "$TARBALL" || fail_setup "extracting $TARBALL failed"
	mv "$KDIR/extract.tmp/linux-source-6.1" "$SRC"
	rmdir "$KDIR/extract.tmp"
	tarball_id >"$SRC/.kq-extracted"
fi

# ---- 2. overlay our code as drivers/misc/kvm_quanta_kunit ----------------------
mkdir -p "$DRV"
# checksum-based, no mtime copy: unchanged files keep their mtimes (no rebuild),
# changed files get "now" (always newer than their objects).
sync_dir() { # $1 = repo-relative dir
	mkdir -p "$DRV/$1"
	if [ -d "$REPO/$1" ]; then
		rsync -r --checksum --delete --exclude='.*' --exclude='*.o' --exclude='*.cmd' --exclude='*.mod.c' --exclude='*.mod' --exclude='*.ko' \
			"$REPO/$1/" "$DRV/$1/"
	else
		find "$DRV/$1" -mindepth 1 -delete
	fi
}
sync_dir src/core
sync_dir kunit
sync_dir include

# write $2 to $1 only if it differs (keeps mtime otherwise)
put() { if ! cmp -s "$1" <(printf '%s' "$2"); then printf '%s' "$2" >"$1"; fi; }

put "$DRV/Kconfig" 'config KVM_QUANTA_KUNIT_TEST
	tristate "KUnit tests for kvm-quanta core logic" if !KUNIT_ALL_TESTS
	depends on KUNIT
	default KUNIT_ALL_TESTS
	help
	  Builds kvm-quanta src/core/*.c together with kunit/*_test.c
	  (overlaid by scripts/kunit.sh). Only for KUnit runs.
'

core_objs=() test_objs=()
shopt -s nullglob
for f in "$DRV"/src/core/*.c; do core_objs+=("src/core/$(basename "${f%.c}").o"); done
for f in "$DRV"/kunit/*_test.c; do test_objs+=("kunit/$(basename "${f%.c}").o"); done
shopt -u nullglob
if [ ${#test_objs[@]} -eq 0 ]; then
	echo "KQTEST not ok kunit:run - no kunit/*_test.c in $REPO"
	exit 1
fi

warn_flags=""
if [ "$EXTRA_WARN" = 1 ]; then
	# What W=1 adds in 6.1 (scripts/Makefile.extrawarn), for our object only.
	warn_flags='-Wextra -Wunused -Wno-unused-parameter -Wmissing-declarations \
	-Wmissing-format-attribute -Wmissing-prototypes -Wold-style-definition \
	-Wmissing-include-dirs -Wunused-but-set-variable -Wunused-const-variable \
	-Wpacked-not-aligned -Wstringop-truncation -Wno-missing-field-initializers \
	-Wno-sign-compare -Wno-type-limits -Wno-shift-negative-value'
fi
put "$DRV/Makefile" "# SPDX-License-Identifier: GPL-2.0
# Generated by kvm-quanta scripts/kunit.sh - do not edit.
obj-\$(CONFIG_KVM_QUANTA_KUNIT_TEST) += kvm_quanta_kunit.o
kvm_quanta_kunit-y := ${core_objs[*]} ${test_objs[*]}
ccflags-y += -I\$(srctree)/\$(src)/include -I\$(srctree)/\$(src)/include/uapi \\
	-I\$(srctree)/\$(src)/src/core -I\$(srctree)/\$(src)/src -I\$(srctree)/\$(src)
ccflags-y += -Werror $warn_flags
"

grep -qxF 'source "drivers/misc/kvm_quanta_kunit/Kconfig"' "$SRC/drivers/misc/Kconfig" ||
	sed -i '$!b; /^endmenu/i source "drivers/misc/kvm_quanta_kunit/Kconfig"' "$SRC/drivers/misc/Kconfig"
grep -qxF 'source "drivers/misc/kvm_quanta_kunit/Kconfig"' "$SRC/drivers/misc/Kconfig" ||
	fail_setup "could not hook Kconfig into $SRC/drivers/misc/Kconfig"
grep -qxF 'obj-y += kvm_quanta_kunit/' "$SRC/drivers/misc/Makefile" ||
	echo 'obj-y += kvm_quanta_kunit/' >>"$SRC/drivers/misc/Makefile"

# ---- 3/4. run kunit.py -------------------------------------------------------------
[ -f "$KUNITCONFIG" ] || fail_setup "missing $KUNITCONFIG"
rm -f "$BUILD/test.log"
say "kunit.py run (build dir $BUILD, log $LOG)"
start=$(date +%s)
set +e
(
	cd "$SRC" &&
	python3 tools/testing/kunit/kunit.py run --kunitconfig="$KUNITCONFIG" \
		--build_dir="$BUILD" --jobs="$JOBS" --timeout="$TIMEOUT" "$@"
) >"$LOG" 2>&1
krc=$?
set -e
{
	echo "=== kunit.py exit status $krc after $(( $(date +%s) - start ))s"
	if [ -f "$BUILD/test.log" ]; then
		echo "=== raw kernel output ($BUILD/test.log)"
		cat "$BUILD/test.log"
	fi
} >>"$LOG"

# ---- 5. results ----------------------------------------------------------------------
if [ ! -f "$BUILD/test.log" ]; then
	# config or build failure: kunit.py never booted the kernel
	# most specific first: our compile errors, link errors, any compile error,
	# make errors naming our dir, any make error, kunit.py's own error.
	line=
	for re in "$DRV_REL/[^ ]*:[0-9]+(:[0-9]+)?: (fatal )?error:" \
		'undefined reference|multiple definition' \
		'[^ ]+:[0-9]+(:[0-9]+)?: (fatal )?error:' \
		"$DRV_REL.*(error|Error)" \
		'error:|No rule to make|Error [0-9]' \
		'^ERROR:'; do
		line=$(grep -m1 -E "$re" "$LOG" || true)
		[ -z "$line" ] || break
	done
	line=$(printf '%s' "${line:-kunit.py exited $krc before running tests}" |
		sed -E "s#[^ ]*$DRV_REL/##g; s#^ERROR:root:##" | cut -c1-400)
	echo "KQTEST not ok kunit:build - $line"
	echo "KQTEST not ok kunit:build - $line" >>"$LOG"
	say "build failed, see $LOG"
	exit 2
fi

set +e
python3 - "$BUILD/test.log" "$krc" <<'PY' | tee -a "$LOG"
import re, sys

path, krc = sys.argv[1], int(sys.argv[2])
lines = open(path, errors='replace').read().splitlines()

# Find the KTAP start; strip any fixed prefix in front of it (as kunit_parser does).
start = prefix = None
for i, l in enumerate(lines):
    m = re.search(r'K?TAP version \d+', l)
    if m:
        start, prefix = i, m.start()
        break
out, failed, passed = [], 0, 0

def emit(ok, name, reason=None, skip=None):
    global failed, passed
    if ok:
        if skip is None:
            passed += 1
        print(f'KQTEST ok kunit:{name}' + (f' # SKIP {skip}' if skip is not None else ''))
    else:
        failed += 1
        r = re.sub(r'\s+', ' ', reason or 'failed').strip()
        r = re.sub(r'\S*drivers/misc/kvm_quanta_kunit/', '', r)
        print(f'KQTEST not ok kunit:{name} - {r[:400]}')

if start is None:
    emit(False, 'run', f'no KTAP output from the UML kernel (kunit.py exit {krc}); see build/logs/kunit.log')
    sys.exit(1)

res_re = re.compile(r'^(ok|not ok) (\d+)(?: -)? ?([^#]*?)\s*(?:#\s*(SKIP)\b\s*(.*))?$')
subtest = {}          # depth -> name from '# Subtest:'
plans = {}            # depth -> planned count
open_suites = {}      # suite name -> set of reported cases
diag = []             # diagnostics since the last result line
param_fail = {}       # (suite, case) -> [(param, diag)]
suite_seen = []
for raw in lines[start + 1:]:
    l = raw[prefix:] if len(raw) >= prefix else raw.lstrip()
    stripped = l.lstrip(' ')
    ind = len(l) - len(stripped)
    depth = ind // 4
    stripped = stripped.rstrip()
    if not stripped:
        continue
    m = re.match(r'# Subtest: (.*)', stripped)
    if m:
        subtest[depth] = m.group(1).strip()
        for d in list(subtest):
            if d > depth:
                del subtest[d]
        if depth == 1:
            suite_seen.append(subtest[1])
            open_suites[subtest[1]] = set()
        diag = []
        continue
    if re.match(r'K?TAP version', stripped):
        continue
    m = re.match(r'1\.\.(\d+)$', stripped)
    if m:
        plans[depth] = int(m.group(1))
        continue
    m = res_re.match(stripped)
    if m and depth <= 2:
        ok = m.group(1) == 'ok'
        name = m.group(3).strip()
        skip = (m.group(5) or '').strip() if m.group(4) else None
        d = [x for x in diag if not re.match(r'# (\S+: )?(pass:\d+|Totals:)', x)]
        d = [re.sub(r'^#\s*[^:\s]+:\s*', '', x) for x in d]
        d = [re.sub(r'^#\s*', '', x) for x in d]
        diag = []
        if depth == 0:                      # suite result
            suite = name
            if suite in open_suites:
                cases = open_suites.pop(suite)
                if not ok and not cases:
                    emit(False, suite, ' '.join(d) or 'suite failed with no test case results (init/exit failure?)')
            else:
                emit(ok, suite, ' '.join(d) or 'suite failed', skip)
        elif depth == 1:                    # test case result
            suite = subtest.get(1, '?')
            open_suites.setdefault(suite, set()).add(name)
            reason = ' '.join(d)
            pf = param_fail.pop((suite, name), [])
            if pf:
                reason = '; '.join(f'param "{p}": {r}' if r else f'param "{p}" failed' for p, r in pf[:3])
                if len(pf) > 3:
                    reason += f'; ... {len(pf)} params failed'
            if skip is not None and ok:
                emit(True, f'{suite}.{name}', skip=skip or 'skipped')
            else:
                emit(ok, f'{suite}.{name}', reason or 'failed (no diagnostics)')
        else:                                # parameter result
            if not ok:
                key = (subtest.get(1, '?'), subtest.get(2, '?'))
                param_fail.setdefault(key, []).append((name, ' '.join(d)))
        continue
    diag.append(stripped)

crash = next((x.strip() for x in diag if re.search(r'Kernel panic|BUG|Oops|RIP:|timed out|Timeout', x)), None)
crash = f' [{crash}]' if crash else ''
for suite, cases in open_suites.items():
    emit(False, suite, f'incomplete: no result after {len(cases)} case(s) of '
         f'{plans.get(1, "?")}{crash} (kernel crash, hang or timeout?); see build/logs/kunit.log')
    crash = ''
if 0 in plans and len(suite_seen) < plans[0]:
    emit(False, 'run', f'only {len(suite_seen)} of {plans[0]} suites reported; see build/logs/kunit.log')
if passed + failed == 0:
    emit(False, 'run', 'no test cases ran')
if krc != 0 and failed == 0:
    emit(False, 'run', f'kunit.py exited {krc} although every parsed case passed; see build/logs/kunit.log')
sys.exit(1 if failed or passed == 0 else 0)
PY
rc=${PIPESTATUS[0]}
set -e
say "$( [ "$rc" = 0 ] && echo PASS || echo FAIL ) in $(( $(date +%s) - start ))s; full log: $LOG"
exit "$rc"
