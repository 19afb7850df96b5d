#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The demo, run inside the rig guest by scripts/demo.sh: VMs of different
# character run under kvm_quanta while the sysfs view is printed.
set -euo pipefail
repo=${KQ_REPO:?}
out=${KQ_OUT:-/tmp}
insmod "$KQ_MODULE"
echo enforce >/sys/kernel/kvm_quanta/mode
echo "kvm_quanta loaded on $(uname -r), mode $(cat /sys/kernel/kvm_quanta/mode)"

rm -f "$out/demo.json" "$out/demo.release"
"$repo/build/testvmm/kq-testvmm" --pin 0 --report "$out/demo.json" \
	--hold-file "$out/demo.release" \
	--vm compute:4000 --vm iostorm:4000 --vm cpuidstorm:4000 \
	--vm hlt:2000,io:20000 >"$out/demo-vmm.log" 2>&1 &
vmm=$!

show() {
	local vm v
	printf '%-12s %-5s %-7s %10s  %s\n' VM VCPU TID EXITS "BY KIND (nonzero)"
	for vm in /sys/kernel/kvm_quanta/vms/*/; do
		[ -d "$vm" ] || continue
		for v in "$vm"vcpus/*/; do
			printf '%-12s %-5s %-7s %10s  %s\n' "$(basename "$vm")" "$(basename "$v")" \
				"$(cat "$v/tid" 2>/dev/null)" "$(cat "$v/exits" 2>/dev/null)" \
				"$(awk '$2 > 0 { printf "%s=%s ", $1, $2 }' "$v/exit_reasons" 2>/dev/null)"
		done
	done
}

start=$(date +%s%N)
while [ ! -e "$out/demo.json" ] && kill -0 "$vmm" 2>/dev/null; do
	sleep 1
	echo "--- VMs running, $((($(date +%s%N) - start) / 1000000)) ms"
	show
done
echo "--- every vCPU finished; the VMM still holds the VMs' fds"
show
touch "$out/demo.release"
wait "$vmm" || true
echo "--- the VMM's own view (userspace exits, schedstat per vCPU thread)"
python3 - "$out/demo.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for vm in r["vms"]:
    for v in vm["vcpus"]:
        s = v.get("schedstat", {})
        q = s.get("run_ns", 0) / max(s.get("timeslices", 1), 1) / 1e6
        print(f"vm{vm['index']} vcpu{v['index']} {v['program']:<14} tid {v['tid']:<6} "
              f"ran {v['run_ms']} ms, mean quantum {q:.2f} ms, exits {v['userspace_exits']}")
PY
sleep 1
echo "--- after the VMM exited (VMs removed within 1 s)"
show
rmmod kvm_quanta
echo "KQTEST ok demo"
