#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Mutation testing of the pure core (src/core/*.c), driven by mutate.sh.

  mutate.py list FILE            print the mutants of FILE, one per line:
                                 ID<TAB>LINE<TAB>ORIGINAL<TAB>MUTATED
  mutate.py apply FILE ID OUT    write FILE with mutant ID applied to OUT
  mutate.py all FILE DIR         write every mutant of FILE to DIR/ID.c

A mutant changes one operator or constant on one line of code: comparison
flips (< <=, > >=, == !=), && <-> ||, binary + <-> -, an integer constant
+1 and -1, true <-> false, and a dropped logical not.  Comments,
preprocessor lines, strings and array/table initialisers are left alone
(the nice-to-weight table is checked value by value by the tests anyway).
"""
import re
import sys

OPS = [
    (r"(?<![<>=!])<(?![<=])", "<="),
    (r"<=", "<"),
    (r"(?<![-<>=])>(?![>=])", ">="),
    (r">=", ">"),
    (r"==", "!="),
    (r"!=", "=="),
    (r"&&", "||"),
    (r"\|\|", "&&"),
    (r"(?<=[\w\)\]] )\+(?= [\w\(])", "-"),
    (r"(?<=[\w\)\]] )-(?= [\w\(])", "+"),
    (r"\btrue\b", "false"),
    (r"\bfalse\b", "true"),
    (r"!(?=[\w\(])", ""),
]

NUM = re.compile(r"(?<![\w.])(\d+)(ULL|UL|U|LL|L)?(?![\w.])")


def code_lines(text):
    """Yield (index, line) of lines that hold code to mutate."""
    in_comment = False
    in_table = False
    for i, line in enumerate(text.split("\n")):
        s = line.strip()
        if in_comment:
            if "*/" in s:
                in_comment = False
            continue
        if s.startswith("/*"):
            in_comment = "*/" not in s
            continue
        if s.startswith("*") or s.startswith("//") or s.startswith("#") or not s:
            continue
        # Designated-initialiser tables (reason names, nice weights).
        if re.search(r"=\s*\{\s*$", s) and ("static const" in s or "[" in s):
            in_table = True
        if in_table:
            if s.startswith("};"):
                in_table = False
            continue
        yield i, line


def strip(line):
    """The code part of a line: no trailing comment, strings blanked."""
    line = re.sub(r'"(\\.|[^"\\])*"', lambda m: '"' + " " * (len(m.group(0)) - 2) + '"', line)
    cut = line.find("/*")
    if cut >= 0:
        line = line[:cut] + " " * (len(line) - cut)
    return line


def mutants(text):
    out = []
    for i, line in code_lines(text):
        code = strip(line)
        for pat, rep in OPS:
            for m in re.finditer(pat, code):
                new = line[: m.start()] + rep + line[m.end():]
                out.append((i, line, new))
        for m in NUM.finditer(code):
            v = int(m.group(1))
            suf = m.group(2) or ""
            for nv in (v + 1, v - 1):
                if nv < 0:
                    continue
                new = line[: m.start()] + str(nv) + suf + line[m.end():]
                out.append((i, line, new))
    return out


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    text = open(path).read()
    ms = mutants(text)
    if cmd == "list":
        for n, (i, old, new) in enumerate(ms):
            print(f"{n}\t{i + 1}\t{old.strip()}\t{new.strip()}")
    elif cmd == "apply":
        n = int(sys.argv[3])
        i, old, new = ms[n]
        lines = text.split("\n")
        lines[i] = new
        open(sys.argv[4], "w").write("\n".join(lines))
    elif cmd == "all":
        lines = text.split("\n")
        for n, (i, old, new) in enumerate(ms):
            mut = list(lines)
            mut[i] = new
            open(f"{sys.argv[3]}/{n}.c", "w").write("\n".join(mut))
    else:
        sys.exit("usage: mutate.py list FILE | apply FILE ID OUT | all FILE DIR")


if __name__ == "__main__":
    main()
