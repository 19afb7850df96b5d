# SPDX-License-Identifier: GPL-2.0
"""Stress b: malformed generic-netlink messages to the "kvm_quanta" family,
as root and as user nobody, with VMs present: unknown and truncated headers,
unknown commands, wrong flags, unknown/truncated/oversized/wrong-typed/nested
attributes and out-of-range values on every command, and (as nobody) valid
SET_CONFIG requests.  Each must be refused with an error (with an extack
message where the kernel's attribute validation or the module gives one),
or, for the few shapes netlink itself drops (a length that does not fit
the datagram, no NLM_F_REQUEST), get no reply; the configuration must be
unchanged after every message.

Counts: KQ_STRESS_NETLINK_MSGS (short 400, long 10000), half of them as
nobody.  Seed: KQ_STRESS_SEED.
"""
import json
import os
import random
import socket
import struct

import kqtest as t
import stress_common as sc

MSGS = sc.count("netlink_msgs", 400, 10000)
SEED = int(os.environ.get("KQ_STRESS_SEED", "1"))

NETLINK_GENERIC = 16
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP, NLM_F_ACK_TLVS = 1, 4, 0x300, 0x200
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLMSGERR_ATTR_MSG = 1
NLA_F_NESTED, NLA_F_NET_BYTEORDER = 0x8000, 0x4000
GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME = 0x10, 3, 1, 2

# include/uapi/linux/kvm_quanta.h
CMD_SAMPLES, CMD_GET_STATE, CMD_GET_CONFIG, CMD_SET_CONFIG = 1, 2, 3, 4
A_PAD, A_SEQ, A_TIME_NS, A_DROPS, A_INTERVAL_MS, A_MODE, A_VCPU, A_NR_VCPUS = range(1, 9)
A_MAX = 8
INTERVAL_MIN, INTERVAL_MAX = 10, 10000


def nla(atype, payload):
    hdr = struct.pack("=HH", 4 + len(payload), atype)
    return hdr + payload + b"\0" * (-len(payload) % 4)


def genl(family, cmd, attrs=b"", flags=NLM_F_REQUEST | NLM_F_ACK, seq=0, version=1, reserved=0):
    body = struct.pack("=BBH", cmd, version, reserved) + attrs
    return struct.pack("=IHHII", 16 + len(body), family, flags, seq, 0) + body


class Sock:
    def __init__(self):
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        self.s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.s.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.s.bind((0, 0))
        self.seq = 100

    def next_seq(self):
        self.seq += 1
        return self.seq

    def replies(self, until_seq):
        """Messages received up to and including the final one of until_seq."""
        out = []
        while True:
            data = self.s.recv(1 << 17)
            off = 0
            while off + 16 <= len(data):
                ln, typ, flags, seq, _pid = struct.unpack_from("=IHHII", data, off)
                if ln < 16:
                    break
                out.append((typ, flags, seq, data[off + 16:off + ln]))
                off += (ln + 3) & ~3
                if seq == until_seq and (typ in (NLMSG_ERROR, NLMSG_DONE) or not flags & 2):
                    return out

    def family_id(self, name):
        seq = self.next_seq()
        msg = genl(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, nla(CTRL_ATTR_FAMILY_NAME, name.encode() + b"\0"),
                   NLM_F_REQUEST, seq)
        self.s.send(msg)
        for typ, _f, s, payload in self.replies(seq):
            if s == seq and typ == GENL_ID_CTRL:
                off = 4
                while off + 4 <= len(payload):
                    ln, at = struct.unpack_from("=HH", payload, off)
                    if at == CTRL_ATTR_FAMILY_ID:
                        return struct.unpack_from("=H", payload, off + 4)[0]
                    off += (ln + 3) & ~3
            if typ == NLMSG_ERROR:
                return None
        return None

    def get_config(self, family):
        """(interval, mode) through GET_CONFIG, or the errno."""
        seq = self.next_seq()
        self.s.send(genl(family, CMD_GET_CONFIG, flags=NLM_F_REQUEST, seq=seq))
        for typ, _f, s, payload in self.replies(seq):
            if s != seq:
                continue
            if typ == NLMSG_ERROR:
                return struct.unpack_from("=i", payload)[0]
            attrs, off = {}, 4
            while off + 4 <= len(payload):
                ln, at = struct.unpack_from("=HH", payload, off)
                attrs[at & 0x3fff] = payload[off + 4:off + ln]
                off += (ln + 3) & ~3
            return (struct.unpack("=I", attrs[A_INTERVAL_MS])[0],
                    struct.unpack("=I", attrs[A_MODE])[0])
        return None

    def exchange(self, raw, seq, family):
        """Send raw (seq inside), then a probe; what came back for seq."""
        self.s.send(raw)
        probe = self.next_seq()
        self.s.send(genl(family, CMD_GET_CONFIG, flags=NLM_F_REQUEST | NLM_F_ACK, seq=probe))
        got = [m for m in self.replies(probe) if m[2] == seq]
        if not got:
            return {"outcome": "silent"}
        for typ, flags, _s, payload in got:
            if typ == NLMSG_ERROR:
                err = struct.unpack_from("=i", payload)[0]
                ext = ""
                if flags & NLM_F_ACK_TLVS:
                    off = 4 + 16  # error, then the request's header (NETLINK_CAP_ACK)
                    while off + 4 <= len(payload):
                        ln, at = struct.unpack_from("=HH", payload, off)
                        if ln < 4:
                            break
                        if at == NLMSGERR_ATTR_MSG:
                            ext = payload[off + 4:off + ln].rstrip(b"\0").decode(errors="replace")
                        off += (ln + 3) & ~3
                return {"outcome": "error" if err < 0 else "ack0", "errno": -err, "extack": ext}
        return {"outcome": "data"}


def gen_attr_junk(rng):
    """(attrs, label, wants an extack) that the family's strict policy must refuse."""
    r = rng.randrange(14)
    if r == 0:
        at = rng.choice([0, A_MAX + 1, A_MAX + 2, 100, 0x3fff])
        return nla(at, struct.pack("=I", rng.randrange(2**32))), f"unknown-attr-{at}", True
    if r == 1:
        at = rng.choice([A_PAD, A_SEQ, A_TIME_NS, A_DROPS, A_NR_VCPUS])
        return nla(at, struct.pack("=Q", rng.randrange(2**64))), f"unexpected-attr-{at}", True
    if r == 2:
        return nla(A_VCPU | NLA_F_NESTED, nla(3, struct.pack("=I", 1))), "nested-vcpu", True
    if r == 3:
        at = rng.choice([A_INTERVAL_MS, A_MODE])
        n = rng.choice([0, 1, 2, 3, 5, 6, 8, 16])
        return nla(at, bytes(rng.randrange(256) for _ in range(n))), f"wrong-size-{at}-{n}", True
    if r == 4:
        v = rng.choice([0, 1, INTERVAL_MIN - 1, INTERVAL_MAX + 1, 2**31, 2**32 - 1])
        return nla(A_INTERVAL_MS, struct.pack("=I", v)), f"interval-range-{v}", True
    if r == 5:
        v = rng.choice([2, 3, 255, 2**31, 2**32 - 1])
        return nla(A_MODE, struct.pack("=I", v)), f"mode-range-{v}", True
    if r == 6:
        at = rng.choice([A_INTERVAL_MS, A_MODE])
        return nla(at | NLA_F_NESTED, nla(1, struct.pack("=I", 0))), f"nested-flag-{at}", True
    if r == 7:
        ln = rng.randrange(0, 4)
        return struct.pack("=HH", ln, A_MODE) + b"\0" * 4, f"nla-len-{ln}", False
    if r == 8:
        ln = rng.choice([12, 100, 4096, 65535])
        return struct.pack("=HH", ln, A_INTERVAL_MS) + struct.pack("=I", 100), f"nla-overrun-{ln}", True
    if r == 9:
        good = nla(A_INTERVAL_MS, struct.pack("=I", rng.randrange(INTERVAL_MIN, INTERVAL_MAX + 1)))
        return good + b"\x01\x02\x03"[:rng.randrange(1, 4)], "trailing-bytes", True
    if r == 10:
        # Oversized: a valid value buried among thousands of unknown attributes.
        n = rng.choice([1000, 4000, 8000])
        junk = b"".join(nla(A_MAX + 1 + (i % 50), b"\0" * 4) for i in range(n))
        return nla(A_INTERVAL_MS, struct.pack("=I", 50)) + junk, f"oversized-{n}", True
    if r == 11:
        # All or nothing: a valid interval next to a bad mode.
        return (nla(A_INTERVAL_MS, struct.pack("=I", rng.randrange(INTERVAL_MIN, INTERVAL_MAX + 1)))
                + nla(A_MODE, struct.pack("=I", 7))), "valid-interval-bad-mode", True
    if r == 12:
        big = bytes(rng.randrange(256) for _ in range(rng.choice([200, 1500, 60000])))
        return nla(A_MAX + 1, big), f"big-unknown-{len(big)}", True
    deep = nla(1, struct.pack("=I", 1))
    for _ in range(rng.randrange(1, 30)):
        deep = nla(NLA_F_NESTED | rng.choice([A_VCPU, A_SEQ, A_MODE]), deep)
    return deep, "deep-nest", True


def gen_case(rng, family, seq, privileged):
    """(raw bytes, label, allowed outcomes, wants an extack)."""
    r = rng.random()
    cmds = [CMD_GET_CONFIG, CMD_SET_CONFIG, CMD_GET_STATE]
    if not privileged and r < 0.15:
        # Valid SET_CONFIG: an unprivileged sender must get EPERM.
        attrs = rng.choice([nla(A_INTERVAL_MS, struct.pack("=I", 10)),
                            nla(A_MODE, struct.pack("=I", 1)),
                            nla(A_INTERVAL_MS, struct.pack("=I", 10000)) +
                            nla(A_MODE, struct.pack("=I", 0))])
        return genl(family, CMD_SET_CONFIG, attrs, seq=seq), "nobody-set", {"error"}, False
    if r < 0.25:
        cmd = rng.choice([0, CMD_SAMPLES, 5, 6, 42, 255])
        return genl(family, cmd, seq=seq), f"unknown-cmd-{cmd}", {"error"}, False
    if r < 0.32:
        cmd = rng.choice(cmds)
        return (genl(family, cmd, seq=seq, reserved=rng.randrange(1, 65536)),
                f"reserved-{cmd}", {"error"}, False)
    if r < 0.38:
        # Truncated genl header: the netlink header is fine, the genl one is short.
        full = genl(family, rng.choice(cmds), seq=seq)
        n = rng.randrange(16, 20)
        return struct.pack("=I", n) + full[4:n], f"short-genlhdr-{n}", {"error"}, False
    if r < 0.43:
        # A netlink length that does not fit the datagram (or its header): netlink drops it.
        full = genl(family, rng.choice(cmds), nla(A_MODE, struct.pack("=I", 1)), seq=seq)
        n = rng.choice([0, 4, 15, len(full) + 4, 65536])
        return struct.pack("=I", n) + full[4:], f"bad-nlmsg-len-{n}", {"silent"}, False
    if r < 0.48:
        # Wrong flags for the command: dump of a do-command, do of the dump.
        cmd = rng.choice(cmds)
        flags = NLM_F_REQUEST | NLM_F_ACK | (0 if cmd == CMD_GET_STATE else NLM_F_DUMP)
        attrs = nla(A_MODE, struct.pack("=I", 1)) if cmd == CMD_SET_CONFIG else b""
        return genl(family, cmd, attrs, flags, seq), f"wrong-flags-{cmd}", {"error"}, False
    if r < 0.51:
        # No NLM_F_REQUEST: netlink ignores it (an ack of 0 if asked for), never runs it.
        attrs = nla(A_MODE, struct.pack("=I", 1))
        return (genl(family, CMD_SET_CONFIG, attrs, NLM_F_ACK, seq), "no-request-flag",
                {"silent", "ack0"}, False)
    if r < 0.54 and privileged:
        return genl(family, CMD_SET_CONFIG, seq=seq), "set-nothing", {"error"}, True
    cmd = rng.choice(cmds)
    attrs, label, ext = gen_attr_junk(rng)
    flags = NLM_F_REQUEST | NLM_F_ACK | (NLM_F_DUMP if cmd == CMD_GET_STATE else 0)
    # As nobody, SET_CONFIG is refused for the permission before its attributes are read.
    ext = ext and (privileged or cmd != CMD_SET_CONFIG)
    return genl(family, cmd, attrs, flags, seq), f"{label}-cmd{cmd}", {"error"}, ext


def state():
    return tuple(sc.read_or_none(os.path.join(t.SYSFS, f)) for f in
                 ("mode", "sample_interval_ms", "events"))


def fuzz(n, privileged, rng, report):
    """Child side as nobody (report() syncs with the parent), or in-process as root."""
    sk = Sock()
    fam = sk.family_id("kvm_quanta")
    if fam is None:
        report({"fatal": "family kvm_quanta not found"})
        return
    for _ in range(n):
        seq = sk.next_seq()
        raw, label, allowed, want_ext = gen_case(rng, fam, seq, privileged)
        res = sk.exchange(raw, seq, fam)
        res.update(label=label, allowed=sorted(allowed), want_ext=want_ext, size=len(raw))
        report(res)


def run_as_nobody(n, rng_seed, check):
    rfd, wfd = os.pipe()
    grfd, gwfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        os.close(gwfd)
        try:
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
            out = os.fdopen(wfd, "w")
            go = os.fdopen(grfd, "rb", buffering=0)

            def report(res):
                out.write(json.dumps(res) + "\n")
                out.flush()
                go.read(1)  # the parent has checked the state
            fuzz(n, False, random.Random(rng_seed), report)
        except Exception as e:  # noqa: BLE001 - any failure goes to the parent
            os.write(wfd, (json.dumps({"fatal": repr(e)}) + "\n").encode())
        os._exit(0)
    os.close(wfd)
    os.close(grfd)
    with os.fdopen(rfd) as inp:
        for line in inp:
            check(json.loads(line))
            os.write(gwfd, b"g")
    os.close(gwfd)
    os.waitpid(pid, 0)


def main():
    suite = sc.Suite("netlink")
    ok, err = sc.load()
    if not suite.check("load", ok, f"insmod: {err}"):
        t.finish()
    vmm = t.Vmm("stress-netlink", ["io:300,cpuid:200", "hlt:5,io:100"], timeout=3600)
    suite.check("vms", vmm.wait_report(120) is not None, "kq-testvmm gave no report")
    before = state()
    root_sock = Sock()
    fam = root_sock.family_id("kvm_quanta")
    cfg_before = root_sock.get_config(fam)
    print(f"# stress netlink: {MSGS} messages, seed {SEED}, family {fam}, config {cfg_before}",
          flush=True)
    stats = {"error": 0, "silent": 0, "ack0": 0, "data": 0, "extack": 0}
    problems = {"accepted": [], "no-extack": [], "state-changed": [], "errors": []}

    def check(res):
        if "fatal" in res:
            problems["errors"].append(res["fatal"])
            return
        stats[res["outcome"]] += 1
        if res.get("extack"):
            stats["extack"] += 1
        who = "nobody" if res.get("nobody") else "root"
        if res["outcome"] not in res["allowed"]:
            problems["accepted"].append(f"{who} {res['label']} ({res['size']} B): {res['outcome']}")
        elif res["outcome"] == "error" and res["want_ext"] and not res.get("extack"):
            problems["no-extack"].append(f"{who} {res['label']}: errno {res['errno']}")
        now = state()
        cfg = root_sock.get_config(fam)
        if now != before or cfg != cfg_before:
            problems["state-changed"].append(f"{who} {res['label']}: {before} -> {now}, "
                                             f"{cfg_before} -> {cfg}")

    half = MSGS // 2
    fuzz(half, True, random.Random(SEED), check)
    run_as_nobody(MSGS - half, SEED + 7, lambda r: check({**r, "nobody": True}))
    print(f"# stress netlink: outcomes {stats}", flush=True)
    suite.check("coverage", stats["error"] >= MSGS // 2 and stats["silent"] > 0,
                f"outcomes {stats}")
    for name, items in problems.items():
        suite.check(name, not items, f"{len(items)}x, e.g. " + " | ".join(items[:3]))
    vmm.release()
    suite.check("vmm-exit", vmm.wait(120) == 0, "kq-testvmm failed")
    suite.finish()
    t.finish()


if __name__ == "__main__":
    main()
