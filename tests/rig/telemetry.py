# SPDX-License-Identifier: GPL-2.0
"""Rig tests for the netlink telemetry: 32 vCPUs in 4 VMs of mixed
character are all published every window, windows are complete and come
every ~100 ms, nothing is dropped, io-storm vCPUs look exit-heavy next to
compute ones; GET_STATE, GET_CONFIG and SET_CONFIG work, bad values and
unprivileged writers are refused and change nothing.  At scale, nothing is
dropped either: the same 32 vCPUs every 10 ms (the module's shortest
window), and 256 vCPUs (KQ_TELEMETRY_SCALE) every 100 ms.  Runs inside the
QEMU guest, through kq-nlwatch."""
import json
import os
import statistics
import subprocess

import kqtest as t
from kqtest import SYSFS, check, result

NLWATCH = os.path.join(t.REPO, "build", "userspace", "nl", "kq-nlwatch")
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
# The watch starts once every vCPU ran (see all_running); the programs last
# long enough for that and the 3 s watch; the report waits for them.
PROG_MS = 12000
VM_PROGS = ",".join([f"compute:{PROG_MS}", f"iostorm:{PROG_MS}", f"cpuidstorm:{PROG_MS}",
                     f"compute:{PROG_MS}", f"iostorm:{PROG_MS}", f"compute:{PROG_MS}",
                     f"iostorm:{PROG_MS}", f"cpuidstorm:{PROG_MS}"])
N_VMS, PER_VM = 4, 8
SCALE_VCPUS = int(os.environ.get("KQ_TELEMETRY_SCALE", "256"))
FAST_MS = 10  # KQ_INTERVAL_MIN_MS


def nlwatch(*args, user=None, timeout=120):
    cmd = (NOBODY if user == "nobody" else []) + [NLWATCH, *args]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = e.stdout or b""
        out = out.decode(errors="replace") if isinstance(out, bytes) else out
        return subprocess.CompletedProcess(cmd, -1, out, "timeout")


def get_config(user=None):
    p = nlwatch("config", "--json", user=user)
    if p.returncode != 0:
        return None, p.stderr.strip()
    return json.loads(p.stdout), ""


def parse_watch(out):
    windows, summary = [], None
    for line in out.splitlines():
        if not line.startswith("{"):
            continue
        obj = json.loads(line)
        if "summary" in obj:
            summary = obj["summary"]
        else:
            windows.append(obj)
    return windows, summary


def expected_vcpus(pid):
    """(vm_id, vcpu_idx) of every vCPU of pid, from sysfs (<pid>-<id>)."""
    out = set()
    for vm in t.vms_of(pid):
        vm_id = int(vm.split("-")[1])
        try:
            idxs = os.listdir(os.path.join(SYSFS, "vms", vm, "vcpus"))
        except OSError:
            continue  # the VM's directory is there, its vcpus/ not yet
        for idx in idxs:
            out.add((vm_id, int(idx)))
    return out


def all_running(pid):
    """Every vCPU of pid has been in the guest: a VM scan (a burst of new
    vCPUs) lists vCPUs before their threads start."""
    try:
        return all(int(t.read(os.path.join(SYSFS, "vms", vm, "vcpus", idx, "total",
                                           "guest_ns"))) > 0
                   for vm in t.vms_of(pid)
                   for idx in os.listdir(os.path.join(SYSFS, "vms", vm, "vcpus")))
    except (OSError, ValueError):
        return False


def test_config_default():
    conf, err = get_config()
    check("config-default", conf and conf["interval_ms"] == 100 and conf["mode"] == "observe",
          f"config {conf} {err}")


def check_watch(tag, windows, summary, want_vcpus, lo, hi):
    if not result(f"{tag}-ran", summary is not None and len(windows) >= 2,
                  f"{len(windows)} windows, summary {summary}"):
        return
    check(f"{tag}-windows-complete", summary["incomplete"] == 0 and summary["missed"] == 0 and
          all(w["complete"] for w in windows),
          f"summary {summary}")
    check(f"{tag}-no-drops", summary["kernel_drops"] == 0 and summary["enobufs"] == 0,
          f"kernel drops {summary['kernel_drops']}, ENOBUFS {summary['enobufs']}")
    seen = {(v["vm_id"], v["vcpu_idx"]) for w in windows for v in w["vcpus"]}
    if want_vcpus is not None:
        check(f"{tag}-all-vcpus", want_vcpus <= seen,
              f"missing {sorted(want_vcpus - seen)} (saw {len(seen)})")
    first, last = windows[0], windows[-1]
    span = (last["time_ns"] - first["time_ns"]) / 1e9
    rate = (last["seq"] - first["seq"]) / span if span > 0 else 0
    print(f"# {tag}: {len(windows)} windows, seq {first['seq']}..{last['seq']} over "
          f"{span:.2f} s: {rate:.1f}/s", flush=True)
    t.timing(f"{tag}-window-rate", lo <= rate <= hi, f"{rate:.1f} windows/s, want {lo}..{hi}")
    check(f"{tag}-nr-vcpus-consistent", all(w["nr_vcpus"] == w["received"] for w in windows),
          "a window's nr_vcpus differs from what arrived")


def program_groups(report):
    """tid -> program kind, from kq-testvmm's report."""
    return {v["tid"]: v["program"].split(":")[0] for vm in report["vms"] for v in vm["vcpus"]}


def test_character(windows, report):
    kinds = program_groups(report)
    per_tid = {}
    for w in windows:
        for v in w["vcpus"]:
            if "exit_rate_milli" in v and "mean_run_ns" in v:
                per_tid.setdefault(v["tid"], []).append((v["exit_rate_milli"], v["mean_run_ns"]))
    groups = {}
    for tid, vals in per_tid.items():
        kind = kinds.get(tid)
        if kind:
            groups.setdefault(kind, []).append(
                (statistics.median(r for r, _ in vals), statistics.median(m for _, m in vals)))
    io, comp = groups.get("iostorm", []), groups.get("compute", [])
    if not t.timing("character-data", io and comp,
                    f"groups {sorted(groups)} from {len(per_tid)} tids"):
        return
    io_rate = statistics.median(r for r, _ in io)
    comp_rate = statistics.median(r for r, _ in comp)
    io_run = statistics.median(m for _, m in io)
    comp_run = statistics.median(m for _, m in comp)
    print(f"# iostorm: exit rate {io_rate / 1000:.1f}/ms, mean run {io_run} ns; "
          f"compute: {comp_rate / 1000:.1f}/ms, {comp_run} ns", flush=True)
    check("iostorm-exit-rate-higher", io_rate > 2 * comp_rate,
          f"iostorm {io_rate} vs compute {comp_rate} (exits/ms x1000)")
    check("iostorm-mean-run-shorter", io_run * 2 < comp_run,
          f"iostorm {io_run} ns vs compute {comp_run} ns")


def test_guest_by_cpu(windows):
    """Each sample's guest time by CPU (the ledger's split) adds up to its
    guest time exactly: the exit path charges both in one step, the
    sampler reads both in one.  The rig has fewer CPUs than the module
    keeps per vCPU, so nothing drops out of the split."""
    ran, bad = 0, []
    ncpu = os.cpu_count()
    for w in windows:
        for v in w["vcpus"]:
            split = v.get("guest_ns_by_cpu")
            if v.get("guest_ns", 0) == 0:
                if split:
                    bad.append(f"tid {v['tid']}: no guest time, split {split}")
                continue
            ran += 1
            if not split or sum(c["ns"] for c in split) != v["guest_ns"] or \
                    any(c["cpu"] >= ncpu for c in split) or \
                    len({c["cpu"] for c in split}) != len(split):
                bad.append(f"tid {v['tid']}: guest_ns {v['guest_ns']}, split {split}")
    check("guest-ns-by-cpu-exact", ran and not bad,
          f"{ran} samples with guest time; {len(bad)} wrong: {bad[:3]}")


def test_dump(want, user=None, tag="dump"):
    p = nlwatch("dump", "--json", user=user)
    if not result(f"{tag}-runs", p.returncode == 0, f"rc {p.returncode}: {p.stderr.strip()}"):
        return
    d = json.loads(p.stdout)
    seen = {(v["vm_id"], v["vcpu_idx"]) for v in d["vcpus"]}
    check(f"{tag}-lists-all", want <= seen and d["nr_vcpus"] == len(d["vcpus"]),
          f"missing {sorted(want - seen)}; {len(d['vcpus'])} vcpus")


def refused(args, tag, want_conf, user=None, errno_text=None):
    p = nlwatch("set", *args, user=user)
    conf, err = get_config()
    msg = p.stderr.strip()
    ok = p.returncode == 1 and "refused" in msg and conf == want_conf
    if errno_text:
        ok = ok and errno_text in msg
    print(f"# set {' '.join(args) or '(empty)'}: rc {p.returncode}: {msg}", flush=True)
    check(tag, ok, f"rc {p.returncode}, stderr {msg!r}, config now {conf} (want {want_conf})")


def test_set_config(want):
    p = nlwatch("set", "interval=50")
    conf, err = get_config()
    check("set-interval-50", p.returncode == 0 and conf and conf["interval_ms"] == 50,
          f"rc {p.returncode} {p.stderr.strip()}, config {conf}")
    # 50 ms windows: about 20 per second.
    p = nlwatch("watch", "--seconds", "2", "--json")
    windows, summary = parse_watch(p.stdout)
    check_watch("watch50", windows, summary, None, 14, 26)

    base = dict(conf) if conf else None
    for args, name in ((["interval=0"], "interval-0"), (["interval=5"], "interval-5"),
                       (["interval=10001"], "interval-10001"), (["mode=7"], "mode-7"),
                       ([], "empty"), (["interval=200", "mode=7"], "half-bad")):
        refused(args, f"set-refuses-{name}", base)
    p = nlwatch("set", "mode=enforce")
    conf, _ = get_config()
    check("set-mode-enforce", p.returncode == 0 and conf and conf["mode"] == "enforce",
          f"rc {p.returncode}, config {conf}")
    mode_now = t.read(f"{SYSFS}/mode").strip()
    check("set-mode-shows-in-sysfs", mode_now == "enforce", f"sysfs mode {mode_now!r}")
    base = dict(conf) if conf else None
    refused(["interval=100"], "unprivileged-set-refused", base, user="nobody",
            errno_text="Operation not permitted")
    conf, err = get_config(user="nobody")
    check("unprivileged-config", conf == base, f"config {conf} {err}")
    # Per-vCPU samples are tenants' data (Documentation/security.rst).
    p = nlwatch("dump", "--json", user="nobody")
    check("unprivileged-dump-refused",
          p.returncode != 0 and "Operation not permitted" in p.stderr and not p.stdout.strip(),
          f"rc {p.returncode}: {p.stderr.strip()} {p.stdout[:200]!r}")
    p = nlwatch("watch", "--seconds", "1", "--json", user="nobody")
    check("unprivileged-watch-refused",
          p.returncode != 0 and "Operation not permitted" in p.stderr,
          f"rc {p.returncode} {p.stderr.strip()}")
    p = nlwatch("set", "interval=100", "mode=observe")
    conf, _ = get_config()
    check("set-restore", p.returncode == 0 and conf and conf["interval_ms"] == 100 and
          conf["mode"] == "observe", f"rc {p.returncode}, config {conf}")
    p = nlwatch("set", "bogus=1")
    check("set-usage", p.returncode == 2, f"rc {p.returncode}")


def test_fast(want):
    """The 32 vCPUs (idle now, still tracked) every 10 ms."""
    p = nlwatch("set", f"interval={FAST_MS}")
    if not check("fast-set", p.returncode == 0, p.stderr.strip()):
        return
    p = nlwatch("watch", "--seconds", "2", "--json")
    nlwatch("set", "interval=100")
    check("fast-watch-exit", p.returncode == 0, f"rc {p.returncode}: {p.stderr.strip()}")
    windows, summary = parse_watch(p.stdout)
    print(f"# fast summary {summary}", flush=True)
    # The sampler keeps a fixed cadence but skips ahead when it falls a
    # whole window behind (TCG is slow): the rate is only bounded below.
    check_watch("fast", windows, summary, want, 20, 1000 // FAST_MS + 5)
    check("fast-every-window-whole", all(w["nr_vcpus"] == len(want) for w in windows),
          f"nr_vcpus {sorted({w['nr_vcpus'] for w in windows})}, want {len(want)}")


def test_scale():
    """SCALE_VCPUS idle vCPUs (VMs of up to 64 that made one exit each and
    are held open) every 100 ms."""
    n = SCALE_VCPUS
    vmm = t.Vmm("telemetry-scale", [",".join(["io:1"] * min(64, n - i)) for i in range(0, n, 64)],
                hold=True, timeout=900)
    report = vmm.wait_report(600)
    up, waited = t.wait_for(lambda: len(expected_vcpus(vmm.pid)) == n, 120, 0.1)
    if check("scale-tracked", report and up,
             f"report {report is not None}, {len(expected_vcpus(vmm.pid))} of {n} tracked "
             f"after {waited:.1f}s"):
        want = expected_vcpus(vmm.pid)
        p = nlwatch("watch", "--seconds", "3", "--json")
        check("scale-watch-exit", p.returncode == 0, f"rc {p.returncode}: {p.stderr.strip()}")
        windows, summary = parse_watch(p.stdout)
        print(f"# scale summary {summary}", flush=True)
        check_watch("scale", windows, summary, want, 7, 13)
        check("scale-every-window-whole", windows and all(w["nr_vcpus"] == n for w in windows),
              f"nr_vcpus {sorted({w['nr_vcpus'] for w in windows})}, want {n}")
    vmm.release()
    check("scale-vmm-exit", vmm.wait(300) == 0, "kq-testvmm did not end cleanly")


def main():
    t.raise_priority()
    p = t.load_module()
    if not check("load", p.returncode == 0 and t.module_loaded(), f"insmod: {p.stderr.strip()}"):
        t.finish()
    if not check("nlwatch-built", os.access(NLWATCH, os.X_OK), f"{NLWATCH} missing"):
        t.unload_module()
        t.finish()
    test_config_default()

    vmm = t.Vmm("telemetry", [VM_PROGS] * N_VMS, timeout=600)
    n, waited = t.wait_for(lambda: len(expected_vcpus(vmm.pid)) == N_VMS * PER_VM, 120, 0.1)
    if not check("vcpus-tracked", n, f"{len(expected_vcpus(vmm.pid))} vCPUs after {waited:.1f}s"):
        vmm.kill()
        t.unload_module()
        t.finish()
    want = expected_vcpus(vmm.pid)
    print(f"# {len(want)} vCPUs tracked after {waited:.1f}s", flush=True)
    running, waited = t.wait_for(lambda: all_running(vmm.pid), 60, 0.1)
    check("vcpus-running", running, f"not every vCPU ran after {waited:.1f}s")
    print(f"# every vCPU ran after another {waited:.1f}s", flush=True)

    p = nlwatch("watch", "--seconds", "3", "--json")
    check("watch-exit", p.returncode == 0, f"rc {p.returncode}: {p.stderr.strip()}")
    windows, summary = parse_watch(p.stdout)
    print(f"# summary {summary}", flush=True)
    check_watch("watch", windows, summary, want, 7, 13)
    test_guest_by_cpu(windows)
    if summary:
        check("watch-distinct-vcpus", summary["distinct_vcpus"] >= N_VMS * PER_VM,
              f"distinct {summary['distinct_vcpus']}")

    test_dump(want)
    report = vmm.wait_report(300)
    if result("vmm-report", report is not None, "no report from kq-testvmm"):
        test_character(windows, report)
    # The VMM holds its VMs (fds open) after the report: still tracked.
    test_set_config(want)
    test_fast(want)

    vmm.release()
    rc = vmm.wait(120)
    check("vmm-exit", rc == 0, f"kq-testvmm exit code {rc}")
    if SCALE_VCPUS:
        test_scale()
    p = t.unload_module()
    check("unload", p.returncode == 0 and not t.module_loaded(), f"rmmod: {p.stderr.strip()}")
    t.finish()


if __name__ == "__main__":
    main()
