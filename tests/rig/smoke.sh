#!/usr/bin/env bash
# tests/rig/smoke.sh - guest script proving the rig works (run via scripts/vmtest.sh SUITE tests/rig/smoke.sh).
# Checks /dev/kvm, the running kernel version, and (if built) that kvm_quanta.ko loads and unloads.
set -euo pipefail

ok() { echo "KQTEST ok $1"; }
notok() { echo "KQTEST not ok $1 - $2"; }

if [ -c /dev/kvm ]; then ok rig-kvm; else notok rig-kvm "/dev/kvm missing"; fi

kver=$(uname -r)
if [ "$kver" = "${KQ_KVER:-}" ]; then ok rig-kver; else notok rig-kver "uname -r is $kver, expected ${KQ_KVER:-?}"; fi

if [ -n "${KQ_MODULE:-}" ] && [ -f "$KQ_MODULE" ]; then
	if out=$(insmod "$KQ_MODULE" 2>&1); then
		ok rig-insmod
		if out=$(rmmod kvm_quanta 2>&1); then ok rig-rmmod; else notok rig-rmmod "$out"; fi
	else
		notok rig-insmod "$out"
	fi
fi
