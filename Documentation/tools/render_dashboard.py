#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Draw the Grafana dashboard's panels from recorded quantad metrics.

Usage: render_dashboard.py DASHBOARD.json METRICS.jsonl OUT.png [--title TEXT]

Grafana is not in Debian, so this draws what the dashboard would show:
it reads the dashboard JSON (contrib/grafana/kvm-quanta.json), evaluates
each panel's PromQL expressions over a recording of quantad's /metrics
(one {"t": unix time, "text": exposition} per line, as
tests/rig/realqemu.py writes with --record SECONDS) and plots the results
at the panels' grid positions, with their titles, legends and units.

Only the PromQL the dashboard uses is understood: an optional aggregation
(sum, avg, min, max, with "by (labels)"), over a selector or rate(),
increase() or delta() of a selector with a range, and an optional
"/ NUMBER".  Label matchers are =, =~ (dashboard variables match all).
$__rate_interval is four scrape intervals, as Grafana makes it.  rate and
increase handle counter resets; there is no extrapolation to the range's
ends (Prometheus does that), so increase() of a short recording reads the
exact increase over the samples in range.
"""
import argparse
import json
import re
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
LABEL_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def load(path):
    """[(t, {(name, labels tuple): value})]"""
    scrapes = []
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            vals = {}
            for l in rec["text"].splitlines():
                m = SAMPLE_RE.match(l)
                if not m or l.startswith("#"):
                    continue
                labels = tuple(sorted(LABEL_RE.findall(m.group(2) or "")))
                vals[(m.group(1), labels)] = float(m.group(3))
            scrapes.append((rec["t"], vals))
    return scrapes


class Query:
    """One parsed expression of the supported PromQL subset."""
    EXPR_RE = re.compile(
        r'^\s*(?:(?P<agg>sum|avg|min|max)\s*(?:by\s*\((?P<by>[^)]*)\))?\s*\()?\s*'
        r'(?:(?P<fn>rate|increase|delta)\s*\()?\s*'
        r'(?P<metric>[a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(?P<sel>[^}]*)\})?\s*'
        r'(?:\[(?P<range>[^\]]+)\])?\s*\)?\s*\)?\s*(?:/\s*(?P<div>[0-9.e+]+))?\s*$')

    def __init__(self, expr, step):
        m = self.EXPR_RE.match(expr)
        if not m:
            raise ValueError(f"unsupported expression: {expr}")
        self.agg, self.fn, self.metric = m["agg"], m["fn"], m["metric"]
        self.by = [b.strip() for b in (m["by"] or "").split(",") if b.strip()]
        self.div = float(m["div"]) if m["div"] else 1.0
        self.matchers = []
        for part in re.findall(r'(\w+)\s*(=~|=)\s*"([^"]*)"', m["sel"] or ""):
            name, op, val = part
            if "$" in val:
                continue  # a dashboard variable: "All"
            self.matchers.append((name, re.compile(val if op == "=~" else re.escape(val))))
        rng = m["range"]
        if self.fn and not rng:
            raise ValueError(f"{self.fn} without a range: {expr}")
        self.range = None
        if rng:
            self.range = 4 * step if rng == "$__rate_interval" else parse_duration(rng)

    def selects(self, name, labels):
        if name != self.metric:
            return False
        d = dict(labels)
        return all(rx.fullmatch(d.get(k, "")) for k, rx in self.matchers)

    def eval(self, scrapes):
        """{labels tuple of the result: [(t, value)]}"""
        out = {}
        for i, (t, _) in enumerate(scrapes):
            inner = {}
            if self.fn:
                window = [(tt, v) for tt, v in scrapes[:i + 1] if tt >= t - self.range - 1e-6]
                keys = {k for _, v in window for k in v if self.selects(*k)}
                for k in keys:
                    pts = [(tt, v[k]) for tt, v in window if k in v]
                    if len(pts) < 2:
                        continue
                    if self.fn == "delta":
                        inc = pts[-1][1] - pts[0][1]
                    else:
                        inc = sum(b - a if b >= a else b for (_, a), (_, b) in zip(pts, pts[1:]))
                    span = pts[-1][0] - pts[0][0]
                    inner[k[1]] = inc / span if self.fn == "rate" and span > 0 else inc
                    if self.fn == "rate" and span <= 0:
                        del inner[k[1]]
            else:
                for k, v in scrapes[i][1].items():
                    if self.selects(*k):
                        inner[k[1]] = v
            if self.agg:
                groups = {}
                for labels, v in inner.items():
                    d = dict(labels)
                    groups.setdefault(tuple((b, d.get(b, "")) for b in self.by), []).append(v)
                agg = {"sum": sum, "min": min, "max": max,
                       "avg": lambda xs: sum(xs) / len(xs)}[self.agg]
                inner = {g: agg(vs) for g, vs in groups.items()}
            for labels, v in inner.items():
                out.setdefault(labels, []).append((t, v / self.div))
        return out


def parse_duration(s):
    m = re.fullmatch(r"(\d+)([smh])", s.strip())
    if not m:
        raise ValueError(f"unsupported range {s}")
    return int(m[1]) * {"s": 1, "m": 60, "h": 3600}[m[2]]


def legend(fmt, labels):
    d = dict(labels)
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: d.get(m[1], ""), fmt or "") or \
        ",".join(f"{k}={v}" for k, v in labels) or "value"


UNITS = {"ms": "ms", "ops": "per second", "short": ""}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dashboard")
    ap.add_argument("metrics")
    ap.add_argument("out")
    ap.add_argument("--title", default="")
    a = ap.parse_args()
    with open(a.dashboard) as f:
        dash = json.load(f)
    scrapes = load(a.metrics)
    if len(scrapes) < 3:
        sys.exit(f"{a.metrics}: {len(scrapes)} scrapes, need 3 or more")
    steps = [b[0] - a_[0] for a_, b in zip(scrapes, scrapes[1:])]
    step = sorted(steps)[len(steps) // 2]
    t0 = scrapes[0][0]
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in dash["panels"])
    fig = plt.figure(figsize=(16, rows * 0.6))
    gs = fig.add_gridspec(rows, 24, hspace=4, wspace=1.5)
    for p in dash["panels"]:
        g = p["gridPos"]
        ax = fig.add_subplot(gs[g["y"]:g["y"] + g["h"], g["x"]:g["x"] + g["w"]])
        ax.set_title(p["title"], fontsize=10, loc="left")
        unit = p.get("fieldConfig", {}).get("defaults", {}).get("unit", "short")
        results = []
        for tgt in p["targets"]:
            q = Query(tgt["expr"], step)
            for labels, pts in sorted(q.eval(scrapes).items()):
                results.append((legend(tgt.get("legendFormat"), labels), pts))
        if p["type"] == "stat":
            ax.axis("off")
            last = [pts[-1][1] for _, pts in results if pts]
            ax.text(0.5, 0.4, f"{last[0]:.3g}" if last else "no data", ha="center",
                    va="center", fontsize=22, transform=ax.transAxes)
            continue
        stacked = p.get("fieldConfig", {}).get("defaults", {}).get("custom", {}) \
            .get("stacking", {}).get("mode") == "normal"
        if stacked and results:
            ts = sorted({t for _, pts in results for t, _ in pts})
            ys = [[dict(pts).get(t, 0.0) for t in ts] for _, pts in results]
            ax.stackplot([t - t0 for t in ts], ys, labels=[n for n, _ in results], alpha=0.8)
        else:
            for name, pts in results:
                ax.plot([t - t0 for t, _ in pts], [v for _, v in pts], label=name, lw=1.2,
                        ls="--" if name.endswith(" target") else "-")
        ax.set_ylabel(UNITS.get(unit, unit), fontsize=8)
        ax.set_xlabel("seconds", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if results:
            ax.legend(fontsize=7, ncol=3, loc="upper left")
        else:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
    if a.title:
        fig.suptitle(a.title, fontsize=11)
    fig.savefig(a.out, dpi=80, bbox_inches="tight")


if __name__ == "__main__":
    main()
