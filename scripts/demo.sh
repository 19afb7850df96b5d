#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make demo: set everything up, then run the rig with several VMs of
# different character under kvm_quanta and show what it sees.
#   KQ_SUITE=bookworm|trixie|sid   kernel to boot (default bookworm)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
suite=${KQ_SUITE:-bookworm}
scripts/deps.sh
make -s testvmm >/dev/null
scripts/build-module.sh "$suite"
KQ_SHOW_CONSOLE=1 scripts/vmtest.sh "$suite" tests/rig/demo.sh
