#!/usr/bin/env python3
"""stats.py - the benchmarks' arithmetic and result files.

  stats.py quant FILE COL         print "n p50 p99 mean max" of column COL
                                  (0-based) of a TSV without header
  stats.py rtt RAW OUT BASE       spawnlat's raw samples (label op/config)
                                  -> one row per label with n, failures,
                                  p50/p99/mean in ms and p50/p99 ratios
                                  against config BASE of the same op
  stats.py table NAME TSV JSON    TSV with a header line -> JSON result file
                                  (rows plus the machine it ran on), and
                                  the same rows printed as a table

Percentiles are nearest-rank: p99 of n samples is the ceil(0.99 n)-th
smallest, so with 200 samples it is the 2nd largest.
"""
import json
import math
import os
import platform
import sys
import time


def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    k = max(1, math.ceil(p / 100.0 * len(sorted_vals)))
    return sorted_vals[k - 1]


def summary(vals):
    v = sorted(vals)
    if not v:
        return 0, float("nan"), float("nan"), float("nan"), float("nan")
    return len(v), pct(v, 50), pct(v, 99), sum(v) / len(v), v[-1]


def cmd_quant(path, col):
    vals = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) > col:
                try:
                    vals.append(float(parts[col]))
                except ValueError:
                    pass
    n, p50, p99, mean, mx = summary(vals)
    print("%d %.3f %.3f %.3f %.3f" % (n, p50, p99, mean, mx))


def cmd_rtt(raw, out, base):
    groups = {}
    order = []
    with open(raw) as f:
        for line in f:
            label, _rnd, _rc, usec, ok = line.rstrip("\n").split("\t")
            if label not in groups:
                groups[label] = ([], [0])
                order.append(label)
            if ok == "1":
                groups[label][0].append(float(usec) / 1000.0)
            else:
                groups[label][1][0] += 1
    stats = {}
    for label in order:
        stats[label] = summary(groups[label][0])
    with open(out, "w") as f:
        f.write("op\tconfig\tn_ok\tfailed\tp50_ms\tp99_ms\tmean_ms"
                "\tp50_vs_stock\tp99_vs_stock\n")
        for label in order:
            op, config = label.split("/", 1)
            n, p50, p99, mean, _ = stats[label]
            b = stats.get(op + "/" + base)
            r50 = p50 / b[1] if b and b[1] > 0 else float("nan")
            r99 = p99 / b[2] if b and b[2] > 0 else float("nan")
            f.write("%s\t%s\t%d\t%d\t%.2f\t%.2f\t%.2f\t%.3f\t%.3f\n" % (
                op, config, n, groups[label][1][0], p50, p99, mean,
                r50, r99))


def convert(s):
    for kind in (int, float):
        try:
            v = kind(s)
        except ValueError:
            continue
        return None if v != v else v    # NaN: not measured
    return s


def machine():
    try:
        load = open("/proc/loadavg").read().split()[:3]
    except OSError:
        load = []
    return {"host": platform.node(), "kernel": platform.release(),
            "cpus": os.cpu_count(), "loadavg": " ".join(load)}


def print_table(name, header, rows):
    cells = [header] + [[str(r[h]) for h in header] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    print("== %s" % name)
    for c in cells:
        print("  ".join(c[i].rjust(widths[i]) if i else c[i].ljust(widths[i])
                        for i in range(len(header))))


def cmd_table(name, tsv, out):
    with open(tsv) as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    header = lines[0].split("\t")
    rows = [dict(zip(header, (convert(x) for x in l.split("\t"))))
            for l in lines[1:]]
    result = {"benchmark": name,
              "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "quick": os.environ.get("BENCH_QUICK", "0") == "1",
              "machine": machine(), "columns": header, "rows": rows}
    with open(out, "w") as f:
        json.dump(result, f, indent=1, allow_nan=False, default=str)
        f.write("\n")
    print_table(name, header, rows)


def main(argv):
    if len(argv) == 4 and argv[1] == "quant":
        cmd_quant(argv[2], int(argv[3]))
    elif len(argv) == 5 and argv[1] == "rtt":
        cmd_rtt(argv[2], argv[3], argv[4])
    elif len(argv) == 5 and argv[1] == "table":
        cmd_table(argv[2], argv[3], argv[4])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
