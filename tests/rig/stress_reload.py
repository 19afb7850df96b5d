# SPDX-License-Identifier: GPL-2.0
"""Stress d: module reload cycles (rmmod + insmod) with VMs running in
enforce, while sysfs and netlink writes race the unload (issue 8, defect 2:
the sampler re-armed after it was stopped).  Three pinned VMs (compute, I/O
storm, CPUID storm) keep running across every reload; VMMs are restarted as
they finish, so VMs also come and go.  Racers, each a process of its own:
one writes mode, sample_interval_ms, policy/ and per-VM knobs in a loop;
one sends SET_CONFIG and GET_STATE over netlink in a loop.  Expected: every
rmmod and insmod succeeds, every VMM run ends cleanly, the kernel reports
nothing.

Cycles: KQ_STRESS_RELOAD_CYCLES (short 5, long 100).
"""
import os
import random
import signal
import struct
import subprocess
import threading
import time

import kqtest as t
import stress_common as sc
import stress_netlink as nl

CYCLES = sc.count("reload_cycles", 5, 100)


def sysfs_racer():
    rng = random.Random(os.getpid())
    values = {"mode": [b"enforce", b"observe", b"enforce"], "sample_interval_ms": [b"10", b"100", b"20"],
              "events": [b"cycles,instructions", b"none", b"cycles,instructions,llc-misses,branch-misses"],
              "weight": [b"50", b"200", b"100"], "enabled": [b"0", b"1"],
              "base_quantum_us": [b"3000", b"4000"], "max_quantum_us": [b"20000", b"12000"]}
    while True:
        try:
            paths = sc.sysfs_writable()
        except OSError:
            paths = []
        if not paths:
            time.sleep(0.001)  # the module is away: try again at once
            continue
        for p in rng.sample(paths, min(len(paths), 8)):
            base = os.path.basename(p)
            sc.write_bytes(p, rng.choice(values.get(base, [b"1000", b"50"])))


def netlink_racer():
    rng = random.Random(os.getpid())
    sk = nl.Sock()
    sk.s.settimeout(5)
    while True:
        try:
            fam = sk.family_id("kvm_quanta")
            if fam is None:
                continue
            for _ in range(20):
                seq = sk.next_seq()
                if rng.random() < 0.7:
                    attrs = (nl.nla(nl.A_INTERVAL_MS, struct.pack("=I", rng.choice([10, 50, 100])))
                             + nl.nla(nl.A_MODE, struct.pack("=I", rng.choice([0, 1, 1]))))
                    sk.s.send(nl.genl(fam, nl.CMD_SET_CONFIG, attrs, seq=seq))
                else:
                    sk.s.send(nl.genl(fam, nl.CMD_GET_STATE, flags=nl.NLM_F_REQUEST | nl.NLM_F_DUMP,
                                      seq=seq))
                sk.replies(seq)
        except OSError:
            # The family went away between lookup and use (ENOENT/EOPNOTSUPP in a
            # reply is not an OSError; a timeout or a dead socket is): a new socket.
            sk = nl.Sock()
            sk.s.settimeout(5)


def spawn(fn):
    """fn in a child process, until SIGTERM (its default action) ends it."""
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        try:
            fn()
        finally:
            os._exit(0)
    return pid


class Vmms(threading.Thread):
    """Keeps one pinned VMM of three VMs running; restarts it when it ends."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.runs = 0
        self.failures = []

    def run(self):
        i = 0
        while not self.stop.is_set():
            vmm = t.Vmm(f"stress-reload{i % 2}", ["compute:4000", "iostorm:4000", "cpuidstorm:4000"],
                        pin=0, hold=False, timeout=600)
            rc = vmm.wait(900)
            if rc != 0:
                self.failures.append(f"run {i}: rc {rc}, see {vmm.log.name}")
            self.runs += 1
            i += 1


hung_stack = ""


def rmmod(timeout):
    """rmmod kvm_quanta; None (and hung_stack set) if it does not return in timeout s."""
    global hung_stack
    p = subprocess.Popen(["rmmod", "kvm_quanta"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            hung_stack = " <- ".join(ln.split()[-1] for ln in t.read(f"/proc/{p.pid}/stack").splitlines()[:8])
        except OSError as e:
            hung_stack = f"(no stack: {e})"
        return None
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def main():
    suite = sc.Suite("reload")
    ok, err = sc.load()
    if not suite.check("load", ok, f"insmod: {err}"):
        t.finish()
    t.write(f"{t.SYSFS}/mode", "enforce")
    vmms = Vmms()
    vmms.start()
    t.wait_for(lambda: t.module_loaded() and os.listdir(os.path.join(t.SYSFS, "vms")), 120)
    racers = [spawn(sysfs_racer), spawn(netlink_racer)]
    rmmod_fail, insmod_fail, busy, hung = [], [], 0, False
    for c in range(CYCLES):
        # Let the racers and the VMs meet the loaded module for a moment.
        time.sleep(random.Random(c).uniform(0.05, 0.5))
        while True:
            p = rmmod(300)
            if p is None:
                hung = True
                break
            if p.returncode == 0 or not ("in use" in p.stderr or "temporarily unavailable" in p.stderr) or busy > 100 * CYCLES:
                break
            busy += 1  # a netlink dump holds the module: a moment later
        if hung:
            rmmod_fail.append(f"cycle {c}: rmmod still running after 300 s: {hung_stack}")
            break
        if p.returncode != 0:
            rmmod_fail.append(f"cycle {c}: {p.stderr.strip()}")
        p = t.load_module()
        if p.returncode != 0:
            insmod_fail.append(f"cycle {c}: {p.stderr.strip()}")
            break
        t.write(f"{t.SYSFS}/mode", "enforce")
    for pid in racers:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
    vmms.stop.set()
    if not hung:
        vmms.join(900)
    print(f"# stress reload: {CYCLES} cycles, {vmms.runs} VMM runs, rmmod busy retries {busy}",
          flush=True)
    suite.check("rmmod", not rmmod_fail, f"{len(rmmod_fail)}x: {rmmod_fail[:3]}")
    suite.check("insmod", not insmod_fail, f"{insmod_fail[:3]}")
    suite.check("vmms-clean", vmms.runs > 0 and not vmms.failures,
                f"{len(vmms.failures)} of {vmms.runs} VMM runs failed: {vmms.failures[:3]}")
    if t.module_loaded() and not hung:
        t.write(f"{t.SYSFS}/mode", "observe")
    suite.finish(unload=not hung)
    t.finish()


signal.signal(signal.SIGPIPE, signal.SIG_DFL)
if __name__ == "__main__":
    main()
