#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the instruction-count plugin and the marker tool:
#   build.sh OUTDIR -> OUTDIR/kq_insn.so, OUTDIR/kq-mark
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUTDIR}
mkdir -p "$out"
${CC:-gcc} -O2 -Wall -Wextra ${KQ_WERROR:+-Werror} -shared -fPIC -o "$out/kq_insn.so" "$here/kq_insn.c"
${CC:-gcc} -O2 -Wall -Wextra ${KQ_WERROR:+-Werror} -o "$out/kq-mark" "$here/kq_mark.c"
