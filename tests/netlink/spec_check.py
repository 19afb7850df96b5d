#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Checks that Documentation/netlink/specs/kvm_quanta.yaml and
include/uapi/linux/kvm_quanta.h describe the same family: names, values,
attribute types, commands, the multicast group, and the policy limits the
module uses (src/telemetry.h, src/netlink.c).

Prints "KQTEST ok netlink-spec:<what>" / "KQTEST not ok netlink-spec:<what>
- <why>" and exits 0 if everything agrees, else 1.
Usage: tests/netlink/spec_check.py [REPO]
"""
import os
import re
import sys

import yaml

REPO = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
failures = 0


def result(what, problems):
    global failures
    if problems:
        failures += 1
        print(f"KQTEST not ok netlink-spec:{what} - {'; '.join(problems[:5])}"
              + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""))
    else:
        print(f"KQTEST ok netlink-spec:{what}")


def c_name(s):
    return s.upper().replace("-", "_")


def read(rel):
    with open(os.path.join(REPO, rel)) as f:
        return f.read()


def parse_header(text):
    """Enums (name -> [(member, value)]), defines, and kernel-doc types."""
    body = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    enums = {}
    for m in re.finditer(r"enum\s+(\w+)\s*\{(.*?)\};", body, re.S):
        val, members = -1, []
        for item in m.group(2).split(","):
            item = item.strip()
            if not item:
                continue
            if "=" in item:
                name, expr = (x.strip() for x in item.split("=", 1))
                val = int(expr, 0)
            else:
                name, val = item, val + 1
            members.append((name, val))
        enums[m.group(1)] = members
    defines = {}
    for m in re.finditer(r"^#define\s+(\w+)\s+(.+?)\s*$", body, re.M):
        defines[m.group(1)] = m.group(2)
    # "@KVM_QUANTA_A_SEQ: u64, window ..." -> "u64"
    doc_types = {}
    for m in re.finditer(r"@(KVM_QUANTA_[AV]_\w+):\s*([a-z0-9]+)", text):
        doc_types[m.group(1)] = m.group(2)
    return enums, defines, doc_types


def eval_define(defines, name):
    v = defines.get(name)
    if v is None:
        return None
    v = v.strip("()")
    m = re.fullmatch(r"(\w+)\s*-\s*1", v)
    if m:
        return None
    try:
        return int(v, 0)
    except ValueError:
        return v.strip('"')


def check_enum(what, yaml_entries, prefix, members, sentinel=None):
    problems = []
    hdr = dict(members)
    names = []
    for e in yaml_entries:
        e = {"name": e} if isinstance(e, str) else e
        cn = c_name(prefix + e["name"])
        names.append(cn)
        if cn not in hdr:
            problems.append(f"{cn} not in header")
        elif "value" in e and hdr[cn] != e["value"]:
            problems.append(f"{cn}: spec {e['value']}, header {hdr[cn]}")
    extra = [n for n, _ in members if n not in names and n != sentinel]
    if extra:
        problems.append(f"header only: {extra}")
    if sentinel:
        if sentinel not in hdr:
            problems.append(f"{sentinel} missing")
        elif hdr[sentinel] != len(yaml_entries):
            problems.append(f"{sentinel} = {hdr[sentinel]}, spec has {len(yaml_entries)}")
    result(what, problems)


TYPE_WORD = {"u32": "u32", "u64": "u64", "s64": "s64", "nest": "nested", "binary": "binary"}


def main():
    spec = yaml.safe_load(read("Documentation/netlink/specs/kvm_quanta.yaml"))
    enums, defines, doc_types = parse_header(read("include/uapi/linux/kvm_quanta.h"))
    result("yaml-parses", [] if isinstance(spec, dict) else ["not a mapping"])

    # Family, version, group.
    problems = []
    if spec.get("protocol") not in ("genetlink", "genetlink-c", "genetlink-legacy"):
        problems.append(f"protocol {spec.get('protocol')}")
    fam_define = c_name(spec.get("c-family-name", ""))
    if eval_define(defines, fam_define) != spec["name"]:
        problems.append(f"{fam_define} is {defines.get(fam_define)}, spec name {spec['name']}")
    ver_define = c_name(spec.get("c-version-name", ""))
    if eval_define(defines, ver_define) != spec.get("version", 1):
        problems.append(f"{ver_define} is {defines.get(ver_define)}")
    result("family", problems)

    problems = []
    groups = spec["mcast-groups"]["list"]
    for g in groups:
        d = c_name(g.get("c-define-name", ""))
        if eval_define(defines, d) != g["name"]:
            problems.append(f"{d} is {defines.get(d)}, spec group {g['name']}")
    if len(groups) != 1:
        problems.append(f"{len(groups)} groups")
    result("mcast-groups", problems)

    # Definitions.
    for d in spec.get("definitions", []):
        if d["type"] != "enum":
            continue
        members = enums.get(d["enum-name"])
        if members is None:
            result(f"enum-{d['name']}", [f"enum {d['enum-name']} not in header"])
            continue
        check_enum(f"enum-{d['name']}", d["entries"], d["name-prefix"], members,
                   sentinel=c_name(d["name-prefix"] + "nr"))

    # Attribute sets: names, values, types, count/max names.
    structs = {d["name"] for d in spec.get("definitions", []) if d["type"] == "struct"}
    sets = {s["name"]: s for s in spec["attribute-sets"]}
    for s in spec["attribute-sets"]:
        members = enums.get(s["enum-name"])
        what = f"attrs-{s['name']}"
        if members is None:
            result(what, [f"enum {s['enum-name']} not in header"])
            continue
        cnt = c_name(s["attr-cnt-name"])
        check_enum(what, s["attributes"], s["name-prefix"], members, sentinel=cnt)
        problems = []
        mx = c_name(s["attr-max-name"])
        if defines.get(mx, "").replace(" ", "") != f"({cnt}-1)":
            problems.append(f"{mx} is {defines.get(mx)}")
        for a in s["attributes"]:
            cn = c_name(s["name-prefix"] + a["name"])
            t = a["type"]
            if t in ("unused", "pad"):
                continue
            want = TYPE_WORD.get(t)
            got = doc_types.get(cn)
            if want is None:
                problems.append(f"{cn}: unexpected type {t}")
            elif got != want:
                problems.append(f"{cn}: spec {t}, header says {got}")
            if t == "binary" and "struct" in a:
                st = a["struct"]
                if st not in structs:
                    problems.append(f"{cn}: struct {st} not in the spec's definitions")
                elif not re.search(r"struct\s+" + c_name(spec["name"] + "-" + st).lower() +
                                   r"\s*\{", read("include/uapi/linux/kvm_quanta.h")):
                    problems.append(f"{cn}: struct {st} not in the header")
            elif t == "binary" and a.get("sub-type") != "u64":
                problems.append(f"{cn}: binary without sub-type u64 or a struct")
            if t == "nest":
                if a.get("nested-attributes") not in sets:
                    problems.append(f"{cn}: nested set {a.get('nested-attributes')} unknown")
                if not a.get("multi-attr"):
                    problems.append(f"{cn}: repeated nest without multi-attr")
        result(f"types-{s['name']}", problems)

    # Commands.
    ops = spec["operations"]
    members = enums.get(ops["enum-name"])
    if members is None:
        result("operations", [f"enum {ops['enum-name']} not in header"])
    else:
        entries = [{"name": "unspec", "value": 0}] + ops["list"]
        check_enum("operations", entries, ops["name-prefix"], members,
                   sentinel="__" + c_name(ops["name-prefix"] + "max"))
        problems = []
        if defines.get("KVM_QUANTA_CMD_MAX", "").replace(" ", "") != "(__KVM_QUANTA_CMD_MAX-1)":
            problems.append(f"KVM_QUANTA_CMD_MAX is {defines.get('KVM_QUANTA_CMD_MAX')}")
        names = [g["name"] for g in groups]
        for op in ops["list"]:
            if "event" in op and op.get("mcgrp") not in names:
                problems.append(f"{op['name']}: event on unknown group {op.get('mcgrp')}")
            for kind in ("do", "dump", "event"):
                sub = op.get(kind) or {}
                lists = [sub] if kind == "event" else [sub.get("request") or {},
                                                        sub.get("reply") or {}]
                aset = sets[op["attribute-set"]]
                known = {a["name"] for a in aset["attributes"]}
                for lst in lists:
                    for an in lst.get("attributes", []):
                        if an not in known:
                            problems.append(f"{op['name']}.{kind}: unknown attribute {an}")
        result("operations-attributes", problems)

    # The policy limits and permissions the module implements.
    problems = []
    tele = read("src/telemetry.h")
    top = {a["name"]: a for a in sets["kvm-quanta"]["attributes"]}
    for lim, key in (("KQ_INTERVAL_MIN_MS", "min"), ("KQ_INTERVAL_MAX_MS", "max")):
        m = re.search(rf"#define\s+{lim}\s+(\d+)", tele)
        if not m or int(m.group(1)) != top["interval-ms"]["checks"][key]:
            problems.append(f"{lim} {m.group(1) if m else None} vs spec {key}")
    nl_path = os.path.join(REPO, "src", "netlink.c")
    if os.path.exists(nl_path):
        src = read("src/netlink.c")
        m = re.search(r"\.cmd\s*=\s*KVM_QUANTA_CMD_SET_CONFIG,[^}]*GENL_ADMIN_PERM", src)
        admin = [op["name"] for op in ops["list"] if "admin-perm" in op.get("flags", [])]
        if not m or admin != ["set-config"]:
            problems.append(f"admin-perm: spec {admin}, netlink.c "
                            f"{'has' if m else 'lacks'} GENL_ADMIN_PERM on SET_CONFIG")
        if "NLA_POLICY_RANGE(NLA_U32" not in src or \
                "NLA_POLICY_MAX(NLA_U32, KQ_MODE_ENFORCE)" not in src:
            problems.append("netlink.c policy differs from the spec's checks")
    result("policy", problems)

    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
