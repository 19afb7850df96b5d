# SPDX-License-Identifier: GPL-2.0
"""Rig tests for who may read and control what (Documentation/security.rst):
tenants' data in sysfs and over netlink is refused to an unprivileged user,
given to the reader group when one is set at load time, and nobody but
root changes a knob.  Runs inside the guest, as root, and drops to user
nobody in child processes."""
import json
import os
import stat
import subprocess
import sys

import kqtest as t
from kqtest import SYSFS, check, result

NOBODY = 65534
READERS = 4242

# A child that reads files and talks generic netlink as the user it was
# started as, and prints what it got as JSON.
CHILD = r'''
import errno, json, os, socket, struct, sys
NETLINK_GENERIC, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP = 16, 270, 1
NLMSG_ERROR, NLMSG_DONE, NLM_F_REQUEST, NLM_F_DUMP = 2, 3, 1, 0x300
GENL_ID_CTRL, CTRL_CMD_GETFAMILY = 0x10, 3
CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, CTRL_ATTR_MCAST_GROUPS = 1, 2, 7
CMD_GET_STATE, CMD_GET_CONFIG, CMD_SET_CONFIG = 2, 3, 4
A_MODE = 6  # KVM_QUANTA_A_MODE; 1 is enforce

def nla(kind, data):
    n = 4 + len(data)
    return struct.pack("=HH", n, kind) + data + b"\0" * (-n % 4)

def attrs(buf):
    out, off = {}, 0
    while off + 4 <= len(buf):
        n, kind = struct.unpack_from("=HH", buf, off)
        if n < 4:
            break
        out.setdefault(kind & 0x3fff, []).append(buf[off + 4:off + n])
        off += (n + 3) & ~3
    return out

def request(sock, family, cmd, flags, payload=b""):
    body = struct.pack("=BBH", cmd, 1, 0) + payload
    sock.send(struct.pack("=IHHII", 16 + len(body), family, flags | NLM_F_REQUEST, 1, 0) + body)
    msgs = []
    while True:
        data = sock.recv(65536)
        off = 0
        while off < len(data):
            n, kind, fl, seq, pid = struct.unpack_from("=IHHII", data, off)
            msgs.append((kind, data[off + 16:off + n]))
            off += (n + 3) & ~3
            if kind == NLMSG_ERROR or kind == NLMSG_DONE:
                return msgs
        if not flags & NLM_F_DUMP:
            return msgs

def errno_of(msgs):
    for kind, body in msgs:
        if kind == NLMSG_ERROR:
            return -struct.unpack_from("=i", body)[0]
    return 0

out = {"uid": os.getuid(), "groups": os.getgroups()}
readable, refused = [], []
for root in ("/sys/kernel/kvm_quanta/vms", "/sys/kernel/kvm_quanta/cpus"):
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            try:
                open(p).read()
                readable.append(p)
            except PermissionError:
                refused.append(p)
out["tenant_readable"], out["tenant_refused"] = len(readable), len(refused)
out["global_readable"] = all(
    os.access(f"/sys/kernel/kvm_quanta/{f}", os.R_OK) and bool(open(f"/sys/kernel/kvm_quanta/{f}").read())
    for f in ("mode", "events", "pmu", "objects", "lost_exits", "sample_interval_ms"))
out["mode_write"] = None
if os.getuid():
    try:
        with open("/sys/kernel/kvm_quanta/mode", "w") as f:
            f.write("enforce")
        out["mode_write"] = 0
    except OSError as e:
        out["mode_write"] = e.errno

s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
s.bind((0, 0))
fam = request(s, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0, nla(CTRL_ATTR_FAMILY_NAME, b"kvm_quanta\0"))
a = attrs(fam[0][1][4:])
family = struct.unpack("=H", a[CTRL_ATTR_FAMILY_ID][0][:2])[0]
group = None
for grp in attrs(a[CTRL_ATTR_MCAST_GROUPS][0]).values():
    g = attrs(grp[0])
    if g[1][0].rstrip(b"\0") == b"samples":
        group = struct.unpack("=I", g[2][0][:4])[0]
dump = request(s, family, CMD_GET_STATE, NLM_F_DUMP)
out["get_state_errno"] = errno_of(dump)
out["get_state_msgs"] = sum(1 for kind, _ in dump if kind == family)
out["get_config_errno"] = errno_of(request(s, family, CMD_GET_CONFIG, 0))
out["set_config_errno"] = None
if os.getuid():  # root would switch the module to enforce
    out["set_config_errno"] = errno_of(
        request(s, family, CMD_SET_CONFIG, 0, nla(A_MODE, struct.pack("=I", 1))))
try:
    s.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group)
    out["join_errno"] = 0
except OSError as e:
    out["join_errno"] = e.errno
print(json.dumps(out))
'''


def run_as(uid, gid, groups):
    def drop():
        os.setgroups(groups)
        os.setgid(gid)
        os.setuid(uid)
    p = subprocess.run(["/usr/bin/python3", "-c", CHILD], capture_output=True, text=True,
                       preexec_fn=drop if uid else None, timeout=120)
    try:
        return json.loads(p.stdout)
    except ValueError:
        return {"error": p.stderr.strip()[-300:]}


def windowed(vmm):
    vms = t.vms_of(vmm.pid)
    try:
        return vms and all(int(t.read(os.path.join(SYSFS, "vms", v, "window", "window_ns"))) > 0
                           for v in vms)
    except (OSError, ValueError):
        return False


def wait_vm(vmm):
    # The GET_STATE dump serves the latest window: wait for one.
    seen, _ = t.wait_for(lambda: windowed(vmm), 60)
    return seen


def modes_and_owner(gid):
    """Every tenant file and directory is root:gid, files 0440 or 0640."""
    bad = []
    for base in ("vms", "cpus"):
        for d, dirs, files in os.walk(os.path.join(SYSFS, base)):
            for f in files:
                st = os.stat(os.path.join(d, f))
                mode = stat.S_IMODE(st.st_mode)
                want = 0o640 if os.path.basename(d) == "policy" else 0o440
                if st.st_uid != 0 or st.st_gid != gid or mode != want:
                    bad.append(f"{d}/{f} {st.st_uid}:{st.st_gid} {oct(mode)}")
    return bad


def test_default(vmm):
    bad = modes_and_owner(0)
    check("tenant-files-root-only", not bad, f"{len(bad)} files, e.g. {bad[:3]}")
    r = run_as(NOBODY, NOBODY, [])
    if not result("nobody-child-ran", "error" not in r, r.get("error", "")):
        return
    check("nobody-reads-no-tenant-file",
          r["tenant_readable"] == 0 and r["tenant_refused"] > 10,
          f"readable {r['tenant_readable']}, refused {r['tenant_refused']}")
    check("nobody-reads-global-files", r["global_readable"], "a global file was unreadable")
    check("nobody-cannot-write-mode", r["mode_write"] == 13, f"errno {r['mode_write']}")
    check("nobody-get-state-eperm", r["get_state_errno"] == 1 and r["get_state_msgs"] == 0,
          f"errno {r['get_state_errno']}, {r['get_state_msgs']} messages")
    check("nobody-get-config-ok", r["get_config_errno"] == 0, f"errno {r['get_config_errno']}")
    check("nobody-set-config-eperm", r["set_config_errno"] == 1, f"errno {r['set_config_errno']}")
    check("nobody-cannot-join-samples", r["join_errno"] == 1, f"errno {r['join_errno']}")
    check("mode-unchanged", t.read(f"{SYSFS}/mode").strip() == "observe", "mode changed")

    r = run_as(0, 0, [])
    if not result("root-child-ran", "error" not in r, r.get("error", "")):
        return
    check("root-reads-tenant-files", r["tenant_refused"] == 0 and r["tenant_readable"] > 10,
          f"readable {r['tenant_readable']}, refused {r['tenant_refused']}")
    check("root-get-state", r["get_state_errno"] == 0 and r["get_state_msgs"] >= 1,
          f"errno {r['get_state_errno']}, {r['get_state_msgs']} messages")
    check("root-joins-samples", r["join_errno"] == 0, f"errno {r['join_errno']}")


def test_reader_group():
    p = t.sh("insmod", t.MODULE, f"reader_gid={READERS}")
    if not result("load-reader-gid", p.returncode == 0, p.stderr.strip()):
        return
    vmm = t.Vmm("security-readers", ["io:10"])
    if not result("reader-vm-seen", wait_vm(vmm), "no VM"):
        vmm.kill()
        return
    bad = modes_and_owner(READERS)
    check("tenant-files-reader-group", not bad, f"{len(bad)} files, e.g. {bad[:3]}")
    r = run_as(NOBODY, NOBODY, [READERS])
    if result("reader-child-ran", "error" not in r, r.get("error", "")):
        check("reader-reads-tenant-files", r["tenant_refused"] == 0 and r["tenant_readable"] > 10,
              f"readable {r['tenant_readable']}, refused {r['tenant_refused']}")
        check("reader-get-state", r["get_state_errno"] == 0 and r["get_state_msgs"] >= 1,
              f"errno {r['get_state_errno']}, {r['get_state_msgs']} messages")
        # Generic netlink checks capabilities only when a group is joined.
        check("reader-cannot-join-samples", r["join_errno"] == 1, f"errno {r['join_errno']}")
        check("reader-cannot-write-mode", r["mode_write"] == 13, f"errno {r['mode_write']}")
    vmm.release()
    vmm.wait(60)
    t.unload_module()


def test_bad_gid():
    p = t.sh("insmod", t.MODULE, "reader_gid=4294967295")
    check("invalid-reader-gid-refused", p.returncode != 0 and not t.module_loaded(),
          f"insmod rc {p.returncode}")
    if t.module_loaded():
        t.unload_module()


def main():
    p = t.load_module()
    if not result("load", p.returncode == 0, p.stderr.strip()):
        t.finish()
    vmm = t.Vmm("security", ["io:10"])
    if result("vm-seen", wait_vm(vmm), "no VM"):
        test_default(vmm)
    vmm.release()
    vmm.wait(60)
    p = t.unload_module()
    check("unload", p.returncode == 0, p.stderr.strip())
    test_reader_group()
    test_bad_gid()
    t.finish()


if __name__ == "__main__":
    main()
