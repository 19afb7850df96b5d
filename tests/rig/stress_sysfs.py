# SPDX-License-Identifier: GPL-2.0
"""Stress a: random and boundary writes over every writable file under
/sys/kernel/kvm_quanta (global, policy/, per-VM policy/) while VMs come and
go.  Each write is refused (errno) or applied whole: a refusal leaves every
writable file as the snapshot taken before it; an acceptance changes the
target to the value a model of the file's syntax expects (kstrtou32/64,
kstrtobool, the mode names, the events list) and nothing else.

Counts: KQ_STRESS_SYSFS_WRITES (short 300, long 10000).  Seed:
KQ_STRESS_SEED (default 1), printed so that a failure can be replayed.
"""
import os
import random
import re
import threading

import kqtest as t
import stress_common as sc

WRITES = sc.count("sysfs_writes", 300, 10000)
SEED = int(os.environ.get("KQ_STRESS_SEED", "1"))

EVENT_NAMES = ["cycles", "cpu-cycles", "instructions", "cache-references", "cache-misses",
               "llc-misses", "branch-instructions", "branches", "branch-misses",
               "LLC-load-misses"]
# Aliases count the same event, or fill the same role: both make a duplicate.
EVENT_KEY = {"cycles": "c", "cpu-cycles": "c", "instructions": "i", "cache-references": "cr",
             "cache-misses": "l", "llc-misses": "l", "LLC-load-misses": "l",
             "branch-instructions": "b", "branches": "b", "branch-misses": "bm"}
U32, U64 = 2**32 - 1, 2**64 - 1
NUMS = [0, 1, 2, 9, 10, 11, 99, 100, 101, 999, 1000, 1001, 9999, 10000, 10001, 65535, 65536,
        100000, 100001, 1000000, 1000001, 10000000, 10000001, 1000000000, 1000000001,
        2**31 - 1, 2**31, U32 - 1, U32, U32 + 1, 2**63 - 1, 2**63, U64 - 1, U64, U64 + 1,
        10**30]


def kind_of(path):
    base = os.path.basename(path)
    if base == "mode":
        return "mode"
    if base == "events":
        return "events"
    if base == "enabled":
        return "bool"
    if "/vms/" in path or base == "sample_interval_ms":
        return "u32"
    return "u64"


def model_uint(data, bits):
    """kstrtou{32,64}(s, 10): the value, 'inval' or 'range' (embedded NUL: 'nul')."""
    if b"\0" in data:
        return "nul"
    try:
        s = data.decode("ascii")
    except UnicodeDecodeError:
        return "inval"
    if s.startswith("+"):
        s = s[1:]
    if s.endswith("\n"):
        s = s[:-1]
    if not s or not s.isdigit() or not s.isascii():
        return "inval"
    v = int(s)
    return v if v < 2**bits else "range"


def model_bool(data):
    if b"\0" in data:
        return "nul"
    if not data:
        return "inval"
    c = chr(data[0])
    if c in "yYtT1":
        return 1
    if c in "nNfF0":
        return 0
    if c in "oO" and len(data) > 1:
        if chr(data[1]) in "nN":
            return 1
        if chr(data[1]) in "fF":
            return 0
    return "inval"


def model_mode(data):
    if b"\0" in data:
        return "inval"
    s = data[:-1] if data.endswith(b"\n") else data
    return s.decode() if s in (b"observe", b"enforce") else "inval"


def model_events(data):
    """The token list, or 'inval' (empty element, unknown, duplicate, none+x, >8)."""
    if b"\0" in data:
        return "inval"
    try:
        s = data.decode("ascii")
    except UnicodeDecodeError:
        return "inval"
    s = s.strip(" \t\n")
    if not s:
        return "inval"
    toks = re.split(r"[ \t\n]*,[ \t\n]*|[ \t\n]+", s)
    if any(tok == "" for tok in toks):
        return "inval"  # an empty element (issue 8, defect 9)
    if toks == ["none"]:
        return toks
    if "none" in toks or len(toks) > 8:
        return "inval"
    keys = []
    for tok in toks:
        if tok not in EVENT_KEY:
            return "unknown"  # raw type:config or junk: not modelled
        keys.append(EVENT_KEY[tok])
    if len(set(keys)) != len(keys):
        return "inval"
    return toks


def gen_number(rng, kind):
    r = rng.random()
    if r < 0.55:
        n = rng.choice(NUMS) if rng.random() < 0.7 else rng.randrange(0, 2 * 10**6)
        s = str(n)
        s = rng.choice(["", "", "+", "0", "00"]) + s
        s += rng.choice(["", "\n", "\n", " ", "\n\n", "x"])
        return s.encode()
    return gen_junk(rng)


def gen_junk(rng):
    return rng.choice([
        b"\n", b" ", b"-1", b"-0", b"0x10", b"1e3", b"1.5", b"5\x00", b"5\x00junk",
        b"\x005", b" 5", b"5 5", b"\t5", b"five", b"\xff\xfe", "\u00e9".encode(), b"1" * 4095,
        b"9" * 200, b"+", b"++5", b"5\r\n", b"observe", b"on", b"y", b"18446744073709551616",
        bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 40))),
    ])


# A write(2) of zero bytes never reaches a sysfs store method: none is generated.
def gen_value(rng, kind):
    if kind == "mode":
        return rng.choice([b"observe", b"enforce", b"observe\n", b"enforce\n", b"enforce\n\n",
                           b"Enforce", b"enforce ", b" observe", b"observ", b"enforce\x00x",
                           b"observe\x00", b"\n", b"1", b"on"] + [gen_junk(rng)])
    if kind == "bool":
        return rng.choice([b"0", b"1", b"y", b"n", b"Y\n", b"N\n", b"on", b"off", b"of", b"o",
                           b"true", b"false", b"2", b"-1", b"\n", b"yes-please",
                           b"1\x00", gen_junk(rng)])
    if kind == "events":
        if rng.random() < 0.3:
            return rng.choice([b"cycles,,instructions", b",cycles", b"cycles,", b"none",
                               b"none,cycles", b"cycles none", b"cycles,cycles",
                               b"cycles,cpu-cycles", b"cycles\ninstructions\n",
                               b"\n", b",", b"4:0x10", b"4:0x1,4:0x1", b"65536:1", b"4:",
                               b"cycles\x00instructions", b"x" * 5000,
                               b"cycles,instructions,llc-misses,branch-misses\n"])
        names = [rng.choice(EVENT_NAMES) for _ in range(rng.randrange(1, 11))]
        seps = [rng.choice([",", " ", ", ", "\t", ",,", "\n"]) for _ in names]
        return "".join(n + s for n, s in zip(names, seps)).rstrip(",\t ").encode() or b","
    return gen_number(rng, kind)


def expected(kind, data):
    """What the write must do: ('ok', readback text), ('refuse', why) or ('any', why)."""
    if kind == "mode":
        m = model_mode(data)
        return ("refuse", "bad mode") if m == "inval" else ("ok", m)
    if kind == "bool":
        m = model_bool(data)
        if m == "nul":
            return ("refuse", "embedded NUL")
        return ("refuse", "not a bool") if m == "inval" else ("ok", str(m))
    if kind == "events":
        m = model_events(data)
        if m == "inval":
            return ("refuse", "bad event list")
        if m == "unknown":
            return ("any", "raw or unknown event")
        return ("ok", m)
    m = model_uint(data, 32 if kind == "u32" else 64)
    if m == "nul":
        return ("refuse", "embedded NUL")
    if m in ("inval", "range"):
        return ("refuse", f"kstrtou: {m}")
    # In syntax; the file's own range (or min <= base <= max) may still refuse it.
    return ("maybe", str(m))


def snapshot(paths):
    return {p: sc.read_or_none(p) for p in paths}


def diff(before, after, skip=None):
    """Files present in both whose content changed (other than skip)."""
    return [p for p in before if p != skip and before[p] is not None and
            after.get(p) is not None and before[p] != after[p]]


class Churn(threading.Thread):
    """VMMs with two held VMs each, started and released over and over."""

    def __init__(self, rng):
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.rng = rng
        self.cycles = 0
        self.error = ""

    def run(self):
        i = 0
        while not self.stop.is_set():
            vmm = t.Vmm(f"stress-sysfs-churn{i % 2}", ["io:200,hlt:3", "cpuid:100"], timeout=120)
            rep = vmm.wait_report(120)
            if rep is None:
                self.error = f"kq-testvmm produced no report (rc {vmm.proc.poll()})"
                vmm.kill()
                return
            self.stop.wait(self.rng.uniform(0.2, 1.5))  # the VMs live a while, then go
            vmm.release()
            if vmm.wait(60) != 0:
                self.error = "kq-testvmm did not exit cleanly"
                return
            self.cycles += 1
            i += 1


def main():
    suite = sc.Suite("sysfs")
    ok, err = sc.load()
    if not suite.check("load", ok, f"insmod: {err}"):
        t.finish()
    rng = random.Random(SEED)
    print(f"# stress sysfs: {WRITES} writes, seed {SEED}", flush=True)
    defaults = snapshot([p for p in sc.sysfs_writable() if "/vms/" not in p])
    churn = Churn(random.Random(SEED + 1))
    churn.start()
    t.wait_for(lambda: churn.cycles > 0 or os.listdir(os.path.join(t.SYSFS, "vms")) or
               churn.error, 120)

    stats = {"ok": 0, "refused": 0, "gone": 0}
    problems = {"refused-changed": [], "accepted-not-whole": [], "accepted-bad": [],
                "embedded-nul": [], "wrong-readback": []}
    per_file = {}
    paths = []
    after = None
    for i in range(WRITES):
        # The file list follows the VMs as they come and go; walking the whole
        # tree costs more than a write, so not before every write.
        if i % 20 == 0 or not paths:
            paths = sc.sysfs_writable()
            after = None
        target = rng.choice(paths)
        kind = kind_of(target)
        data = gen_value(rng, kind)
        # Nothing but this loop writes these files: the last write's readback
        # is the next one's snapshot (half the reads on a slow debug kernel).
        before = after if after is not None else snapshot(paths)
        if before[target] is None:
            stats["gone"] += 1
            paths = []  # a VM went away: list the files again
            continue
        err = sc.write_bytes(target, data)
        after = snapshot(paths)
        want, what = expected(kind, data)
        rel = os.path.relpath(target, t.SYSFS)
        per_file[re.sub(r"vms/[^/]+/", "vms/*/", rel)] = per_file.get(
            re.sub(r"vms/[^/]+/", "vms/*/", rel), 0) + 1
        if err is not None:
            if after.get(target) is None:
                stats["gone"] += 1  # the VM went away under the write
                continue
            stats["refused"] += 1
            changed = diff(before, after)
            if changed:
                problems["refused-changed"].append(f"{rel} {data[:40]!r} errno {err}: "
                                                   f"changed {[os.path.relpath(c, t.SYSFS) for c in changed][:3]}")
            continue
        if after.get(target) is None:
            # Applied, then the VM went away before the readback (churn):
            # nothing to compare; it read as "" and looked like a bad value.
            stats["gone"] += 1
            continue
        stats["ok"] += 1
        if want == "refuse":
            key = "embedded-nul" if what == "embedded NUL" else "accepted-bad"
            problems[key].append(f"{rel} {data[:40]!r} accepted ({what}), reads {after[target]!r}")
        others = diff(before, after, skip=target)
        if others:
            problems["accepted-not-whole"].append(
                f"{rel} {data[:40]!r}: also changed {[os.path.relpath(c, t.SYSFS) for c in others][:3]}")
        got = (after.get(target) or "").strip()
        if want in ("ok", "maybe") and kind != "events" and got != what:
            problems["wrong-readback"].append(f"{rel} {data[:40]!r} -> {got!r}, want {what!r}")
        if want == "ok" and kind == "events":
            toks = re.split(r"[ \t\n,]+", got.strip()) if got.strip() else ["none"]
            if len(toks) != len(what) and not (what == ["none"] and got.strip() in ("", "none")):
                problems["wrong-readback"].append(f"{rel} {data[:40]!r} -> {got!r}, want {what}")

    churn.stop.set()
    churn.join(180)
    print(f"# stress sysfs: {stats['ok']} applied, {stats['refused']} refused, "
          f"{stats['gone']} on a VM that went away, {churn.cycles} VMM cycles; "
          f"per file: {sorted(per_file.items())}", flush=True)
    suite.check("vm-churn", churn.cycles > 0 and not churn.error,
                churn.error or "no VMM cycle completed")
    suite.check("coverage", stats["ok"] > 0 and stats["refused"] > 0 and
                any(k.startswith("vms/") for k in per_file),
                f"writes did not reach every kind of file: {stats}, {sorted(per_file)}")
    for name, items in problems.items():
        suite.check(name, not items, f"{len(items)}x, e.g. " + " | ".join(items[:3]))
    # Put the defaults back (events first: it reopens counters).
    for p in sorted(defaults, key=lambda p: not p.endswith("/events")):
        if defaults[p] is not None:
            sc.write_bytes(p, defaults[p].encode())
    suite.finish()
    t.finish()


if __name__ == "__main__":
    main()
