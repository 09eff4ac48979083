#!/usr/bin/env python3
"""Median table of bench/rs-bench.sh results (results.jsonl), with ratios to BIRD 2."""
import json
import statistics
import sys

BASE = "bird2"
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
order_sc, order_rs = [], []
for r in rows:
    if r["scenario"] not in order_sc:
        order_sc.append(r["scenario"])
    if r["rs"] not in order_rs:
        order_rs.append(r["rs"])
DESC = {
    "full-1": "full table x 1 sender",
    "full-4": "full table split over 4 senders",
    "100k-4": "100k x 4 senders (each all)",
    "full-32": "full table split over 32 senders",
}
# The revalidation column appears when some run measured it (RPKI=1, INVALIDATE > 0).
REVAL = any(r.get("revalidation_s") is not None for r in rows)


def med(runs, key):
    v = [r[key] for r in runs if r["ok"] and r.get(key) is not None]
    return statistics.median(v) if v else None


def fmt(v, nd=2):
    return "—" if v is None else f"{v:,.{nd}f}"


def ratio(v, b):
    return "" if v is None or not b else f" ({v / b:.2f}x)"


head = "| scenario | route server | ok runs | paths | convergence s | RS CPU s | RS CPU settled s | peak RSS MiB | bytes/path |"
if REVAL:
    head += " revalidation s | revalidation CPU s |"
print(head)
print("|---" * (head.count("|") - 1) + "|")
for sc in order_sc:
    base = [r for r in rows if r["scenario"] == sc and r["rs"] == BASE]
    b = {k: med(base, k) for k in ("convergence_s", "rs_cpu_s", "rs_cpu_settled_s", "peak_rss_mib", "bytes_per_path", "revalidation_s", "rs_cpu_revalidation_s")}
    for rs in order_rs:
        runs = [r for r in rows if r["scenario"] == sc and r["rs"] == rs]
        if not runs:
            continue
        m = {k: med(runs, k) for k in b}
        ok = sum(r["ok"] for r in runs)
        cells = [
            fmt(m["convergence_s"]) + ratio(m["convergence_s"], b["convergence_s"]),
            fmt(m["rs_cpu_s"]) + ratio(m["rs_cpu_s"], b["rs_cpu_s"]),
            fmt(m.get("rs_cpu_settled_s")) + ratio(m.get("rs_cpu_settled_s"), b.get("rs_cpu_settled_s")),
            fmt(m["peak_rss_mib"], 0) + ratio(m["peak_rss_mib"], b["peak_rss_mib"]),
            fmt(m["bytes_per_path"], 0) + ratio(m["bytes_per_path"], b["bytes_per_path"]),
        ]
        if REVAL:
            rv = [r for r in runs if r.get("revalidation_s") is not None]
            cells += [
                fmt(m["revalidation_s"]) + ratio(m["revalidation_s"], b["revalidation_s"]) + f" [{len(rv)}/{len(runs)}]",
                fmt(m["rs_cpu_revalidation_s"]) + ratio(m["rs_cpu_revalidation_s"], b["rs_cpu_revalidation_s"]),
            ]
        print(f"| {DESC.get(sc, sc)} | {rs} | {ok}/{len(runs)} | {runs[0]['paths']:,} | " + " | ".join(cells) + " |")
