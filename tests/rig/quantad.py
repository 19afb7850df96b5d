# SPDX-License-Identifier: GPL-2.0
"""Rig tests for quantad: with the module loaded and two VMMs running (one in
a libvirt-style machine scope cgroup, named from it, one named pid-<pid>),
quantad names the VMs, exports them and their vCPUs as Prometheus metrics,
applies the configured per-VM policy through sysfs (when the module has the
knobs), re-applies it on SIGHUP, keeps it on a broken config and logs
FILE:LINE, validates files with --check, recovers when the module is
unloaded and loaded again, notifies READY=1, and on SIGTERM exits 0 with the
profiles stored in SQLite.  Runs inside the QEMU guest."""
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request

import kqtest as t
from kqtest import SYSFS, check, result

# The binary: the path given as argument, or build/userspace/quantad/quantad.
QUANTAD = (sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] else
           os.path.join(t.REPO, "build", "userspace", "quantad", "quantad"))
WORK = "/tmp/quantad-rig"
PORT = 19477
CONF = os.path.join(WORK, "quantad.toml")
DB = os.path.join(WORK, "profiles.db")
LOG = os.path.join(t.OUT, "quantad.log")
CGROOT = os.path.join(WORK, "cgroup")
SCOPE = "machine.slice/machine-qemu\\x2d1\\x2dweb1.scope"
PROG_MS = 120000

CONF_A = f"""
[daemon]
metrics_listen = "127.0.0.1:{PORT}"
database = "{DB}"
summary_interval_s = 2
persist_interval_s = 2
history_min_windows = 50

[defaults]
weight = 200

[[vm]]
name = "web*"
min_quantum_us = 500
base_quantum_us = 3000
max_quantum_us = 6000
weight = 300
"""

# Reload: web* raised above its old max (needs max, then base, then min).
CONF_B = CONF_A.replace("min_quantum_us = 500", "min_quantum_us = 7000") \
    .replace("base_quantum_us = 3000", "base_quantum_us = 9000") \
    .replace("max_quantum_us = 6000", "max_quantum_us = 12000") \
    .replace("weight = 300", "weight = 500")

CONF_BAD = CONF_B + "\n[[vm]]\nname = \"db1\"\nweight = 0\n"
BAD_LINE = CONF_BAD.count("\n", 0, CONF_BAD.index("weight = 0")) + 1


def metrics():
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/metrics", timeout=5) as r:
            return r.read().decode()
    except OSError:
        return ""


def series(text, name):
    """[(labels dict, value)] of a metric family."""
    out = []
    for line in text.splitlines():
        m = re.match(name + r"(?:\{(.*)\})? (\S+)$", line)
        if m:
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(1) or ""))
            out.append((labels, float(m.group(2))))
    return out


def value(text, name):
    s = series(text, name)
    return s[0][1] if s else None


def log_text():
    try:
        return t.read(LOG)
    except OSError:
        return ""


def dump_threads(pid):
    """Where quantad's threads are, for a hang."""
    base = f"/proc/{pid}/task"
    try:
        for tid in sorted(os.listdir(base)):
            d = os.path.join(base, tid)
            parts = []
            for f in ("comm", "wchan", "syscall", "stack"):
                try:
                    parts.append(f"{f}: {t.read(os.path.join(d, f)).strip()}")
                except OSError as e:
                    parts.append(f"{f}: {e}")
            print(f"# thread {tid}: " + " | ".join(parts).replace("\n", " / "), flush=True)
    except OSError as e:
        print(f"# {base}: {e}", flush=True)


def setup_cgroup():
    """A cgroup2 hierarchy with a libvirt-style machine scope; None if unavailable."""
    os.makedirs(CGROOT, exist_ok=True)
    p = t.sh("mount", "-t", "cgroup2", "none", CGROOT)
    if p.returncode != 0:
        print(f"# cgroup2 mount: {p.stderr.strip()}", flush=True)
        return None
    path = os.path.join(CGROOT, SCOPE)
    os.makedirs(path, exist_ok=True)
    return os.path.join(path, "cgroup.procs")


class Vmm(t.Vmm):
    """kq-testvmm started inside a cgroup (procs file) when given."""

    def __init__(self, tag, vms, procs=None):
        if procs is None:
            super().__init__(tag, vms, timeout=600)
            return
        # Enter the scope before exec, so the VMM is there from its start.
        real = subprocess.Popen

        def popen(cmd, **kw):
            kw["preexec_fn"] = lambda: open(procs, "w").write(str(os.getpid()))
            return real(cmd, **kw)
        subprocess.Popen = popen
        try:
            super().__init__(tag, vms, timeout=600)
        finally:
            subprocess.Popen = real


def sysfs_policy(vm):
    d = os.path.join(SYSFS, "vms", vm, "policy")
    if not os.path.isdir(d):
        return None
    return {k: int(t.read(os.path.join(d, k))) for k in
            ("enabled", "min_quantum_us", "base_quantum_us", "max_quantum_us", "weight")}


def expected_policy(name, conf, text):
    """What quantad should have written for a VM named name."""
    if name.startswith("web"):
        if conf is CONF_A:
            lo, base, hi, w = 500, 3000, 6000, 300
        else:
            lo, base, hi, w = 7000, 9000, 12000, 500
    else:
        lo, base, hi, w = 1000, 4000, 8000, 200
    # The base as configured: the module owns the history adjustment.
    return {"enabled": 1, "min_quantum_us": lo, "base_quantum_us": base,
            "max_quantum_us": hi, "weight": w}


def check_policies(tag, names, conf):
    """Every VM's sysfs policy matches the config; SKIP if the module has no knobs."""
    vms = [d for pid in names for d in t.vms_of(pid)]
    if vms and sysfs_policy(vms[0]) is None:
        print(f"KQTEST ok quantad-{tag}-policy # SKIP module without per-VM policy knobs",
              flush=True)
        return

    def ok():
        text = metrics()
        for pid, name in names.items():
            for vm in t.vms_of(pid):
                if sysfs_policy(vm) != expected_policy(name, conf, text):
                    return None
        return True
    good, waited = t.wait_for(ok, 10, 0.2)
    detail = {vm: sysfs_policy(vm) for pid in names for vm in t.vms_of(pid)}
    check(f"quantad-{tag}-policy", good, f"sysfs {detail} after {waited:.1f}s")


def check_vms_listed(tag, names, per_vm):
    """/metrics lists every VM with its name and every vCPU with windows."""
    def ok():
        text = metrics()
        info = series(text, "quantad_vm_info")
        wins = series(text, "quantad_vcpu_windows_total")
        for pid, name in names.items():
            for vm in t.vms_of(pid):
                vm_id = vm.split("-")[1]
                if not any(lab.get("vm") == name and lab.get("vm_id") == vm_id and
                           lab.get("pid") == str(pid) for lab, _ in info):
                    return None
                got = {lab["vcpu"] for lab, v in wins if lab.get("vm_id") == vm_id and v > 0}
                if len(got) < per_vm[pid]:
                    return None
        return text
    text, waited = t.wait_for(ok, 30, 0.5)
    check(f"quantad-{tag}-vms-listed", text,
          f"after {waited:.1f}s: {[l for l in metrics().splitlines() if 'vm_info' in l]}")
    return text


def test_check():
    good = os.path.join(WORK, "good.toml")
    bad = os.path.join(WORK, "bad.toml")
    with open(good, "w") as f:
        f.write(CONF_A)
    with open(bad, "w") as f:
        f.write(CONF_BAD)
    p = t.sh(QUANTAD, "--check", "--config", good)
    check("quantad-check-good", p.returncode == 0 and "test is successful" in p.stderr,
          f"rc {p.returncode}: {p.stderr.strip()}")
    p = t.sh(QUANTAD, "--check", "--config", bad)
    want = f"{bad}:{BAD_LINE}: weight = 0 is out of range 1..10000"
    check("quantad-check-bad", p.returncode == 1 and want in p.stderr and "test failed" in p.stderr,
          f"rc {p.returncode}: {p.stderr.strip()!r}, want {want!r}")


def main():
    if not check("quantad-built", os.access(QUANTAD, os.X_OK), f"{QUANTAD} missing"):
        t.finish()
    os.makedirs(WORK, exist_ok=True)
    t.sh("ip", "link", "set", "lo", "up")  # the rig's guest starts with lo down
    for f in (DB, CONF):
        if os.path.exists(f):
            os.unlink(f)
    test_check()
    p = t.load_module()
    if not check("load", p.returncode == 0 and t.module_loaded(), f"insmod: {p.stderr.strip()}"):
        t.finish()
    with open(CONF, "w") as f:
        f.write(CONF_A)

    notify_path = os.path.join(WORK, "notify.sock")
    if os.path.exists(notify_path):
        os.unlink(notify_path)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.settimeout(0.2)
    log = open(LOG, "w")
    qd = subprocess.Popen([QUANTAD, "--config", CONF], stdout=log, stderr=subprocess.STDOUT,
                          env=dict(os.environ, NOTIFY_SOCKET=notify_path))

    got = []

    def drain():  # like systemd, always read the notifications (sd_notify blocks otherwise)
        while True:
            try:
                got.append(notify.recv(4096).decode())
            except socket.timeout:
                pass
            except OSError:
                return
    threading.Thread(target=drain, daemon=True).start()
    ok, _ = t.wait_for(lambda: any("READY=1" in g for g in got), 20, 0.1)
    check("quantad-ready", ok, f"notifications {got}")
    up, waited = t.wait_for(lambda: value(metrics(), "quantad_module_present") == 1, 20, 0.2)
    if not check("quantad-subscribed", up, f"module_present not 1 after {waited:.1f}s"):
        dump_threads(qd.pid)

    procs = setup_cgroup()
    web = Vmm("quantad-web", [f"compute:{PROG_MS},iostorm:{PROG_MS}"], procs=procs)
    plain = Vmm("quantad-plain", [f"iostorm:{PROG_MS}"])
    names = {web.pid: "web1" if procs else f"pid-{web.pid}", plain.pid: f"pid-{plain.pid}"}
    per_vm = {web.pid: 2, plain.pid: 1}
    if not procs:
        print("KQTEST ok quantad-cgroup-naming # SKIP no cgroup2 in the rig", flush=True)
    tracked, waited = t.wait_for(lambda: all(t.vms_of(p) for p in names), 120, 0.2)
    if not check("vms-tracked", tracked, f"after {waited:.1f}s"):
        for v in (web, plain):
            v.kill()
        qd.kill()
        t.finish()

    text = check_vms_listed("start", names, per_vm)
    if not text:
        dump_threads(qd.pid)
    if text:
        print("# " + "\n# ".join(l for l in text.splitlines()
                                 if l.startswith(("quantad_vm_info", "quantad_vcpu_quantum"))),
              flush=True)
        check("quantad-metrics-format", all(
            l.startswith("#") or re.match(r"^[a-z_]+(\{.*\})? -?[0-9.e+]+$", l)
            for l in text.splitlines()), "a line is not in the text format")
        families = set(re.findall(r"^# TYPE (\S+)", text, re.M))
        check("quantad-metrics-families", {"quantad_vcpu_exits_total", "quantad_vcpu_windows_total",
                                           "quantad_module_present", "quantad_telemetry_drops",
                                           "quantad_vcpu_exit_rate_per_ms"} <= families,
              f"families {sorted(families)}")
        # quantad runs as root here: its own BPF tracer measures the vCPUs'
        # achieved quanta at sched_switch, beside the module's numbers.
        bpf_ok, _ = t.wait_for(lambda: value(metrics(), "quantad_bpf_loaded") == 1 and
                               "quantad_vcpu_quantum_bpf_ns{" in metrics(), 10, 0.2)
        if t.has_btf():
            check("quantad-bpf-quanta", bpf_ok,
                  f"bpf_loaded {value(metrics(), 'quantad_bpf_loaded')}, no quantum_bpf_ns series")
        else:
            print("# quantad-bpf-quanta: no kernel BTF (the debug kernel), not tested", flush=True)
    check_policies("start", names, CONF_A)

    # SIGHUP with a changed configuration.
    with open(CONF, "w") as f:
        f.write(CONF_B)
    qd.send_signal(signal.SIGHUP)
    ok, _ = t.wait_for(lambda: log_text().count("reloaded ") >= 1, 10, 0.2)
    check("quantad-reload", ok, "no 'reloaded' in the log")
    check_policies("reload", names, CONF_B)

    # SIGHUP with a broken one: reported with FILE:LINE, the running policy kept.
    with open(CONF, "w") as f:
        f.write(CONF_BAD)
    qd.send_signal(signal.SIGHUP)
    want = f"{CONF}:{BAD_LINE}: weight = 0 is out of range 1..10000"
    ok, _ = t.wait_for(lambda: want in log_text() and "keeping the running" in log_text(), 10, 0.2)
    check("quantad-reload-bad-logged", ok, f"no {want!r} in the log")
    time.sleep(1.5)
    check_policies("reload-bad-kept", names, CONF_B)
    check("quantad-alive-after-bad-reload", qd.poll() is None, f"exited {qd.poll()}")

    # Module unloaded and loaded again while quantad runs.
    text = metrics()
    loads0 = value(text, "quantad_module_loads_total")
    p = t.unload_module()
    check("unload", p.returncode == 0, f"rmmod: {p.stderr.strip()}")
    gone, waited = t.wait_for(lambda: value(metrics(), "quantad_module_present") == 0, 10, 0.2)
    if not check("quantad-sees-unload", gone and value(metrics(), "quantad_vms") == 0,
                 f"after {waited:.1f}s: present {value(metrics(), 'quantad_module_present')}"):
        dump_threads(qd.pid)
    p = t.load_module()
    check("reload-module", p.returncode == 0, f"insmod: {p.stderr.strip()}")
    back, waited = t.wait_for(
        lambda: value(metrics(), "quantad_module_present") == 1 and
        value(metrics(), "quantad_module_loads_total") == loads0 + 1, 20, 0.2)
    check("quantad-resubscribed", back, f"after {waited:.1f}s")
    w0 = value(metrics(), "quantad_windows_total") or 0
    more, _ = t.wait_for(lambda: (value(metrics(), "quantad_windows_total") or 0) >= w0 + 5,
                         20, 0.2)
    check("quantad-new-windows", more,
          f"windows {w0} -> {value(metrics(), 'quantad_windows_total')}")
    tracked, _ = t.wait_for(lambda: all(t.vms_of(p) for p in names), 60, 0.2)
    check("vms-tracked-again", tracked, "VMs not back in sysfs")
    check_vms_listed("after-reload", names, per_vm)
    check_policies("after-reload", names, CONF_B)

    print(f"# notifications: {sorted(set(got))}", flush=True)
    check("quantad-status-notified", any(g.startswith("STATUS=") for g in got) and
          any("RELOADING=1" in g for g in got), f"notifications {got}")

    # Summary lines and the final profile.
    check("quantad-summary-logged", "summary: module present" in log_text(), "no summary line")
    for v in (web, plain):
        v.kill()
    qd.send_signal(signal.SIGTERM)
    try:
        rc = qd.wait(20)
    except subprocess.TimeoutExpired:
        dump_threads(qd.pid)
        qd.kill()
        rc = None
    check("quantad-sigterm-exit-0", rc == 0, f"exit {rc}")
    rows = {}
    try:
        db = sqlite3.connect(DB)
        rows = {r[0]: r[1:] for r in db.execute(
            "SELECT name, windows, exits_per_ms, mean_quantum_ns FROM profile_summary")}
        db.close()
    except sqlite3.Error as e:
        print(f"# sqlite: {e}", flush=True)
    print(f"# profiles {rows}", flush=True)
    # Unnamed VMs' (pid-N) profiles are forgotten once their VM is gone.
    named = [n for n in names.values() if not n.startswith("pid-")]
    check("quantad-profiles-stored", all(n in rows and rows[n][0] > 0 for n in named),
          f"profiles {rows}, want {sorted(named)}")
    m = re.findall(r"^.*applied policy.*$", log_text(), re.M)
    print("# " + "\n# ".join(m[:6]), flush=True)
    if procs:
        t.sh("umount", CGROOT)
    p = t.unload_module()
    check("unload-final", p.returncode == 0, f"rmmod: {p.stderr.strip()}")
    t.finish()


if __name__ == "__main__":
    main()
