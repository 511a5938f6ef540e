#!/usr/bin/env python3
"""Prints the criterion results as a Markdown table in decimal units (MB/s = 10^6 bytes/s).

    cargo bench --bench parse --bench input --bench json --bench stages
    scripts/bench_table.py [target/criterion]

For every benchmark: the median time per iteration (criterion's `median` estimate, with its
95 % interval) and the throughput it implies: MB/s for `Throughput::Bytes`, thousand
elements/s for `Throughput::Elements`. Single-threaded benches, so MB/s is per core.
"""
import json
import os
import sys


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.environ.get("CARGO_TARGET_DIR", "target"), "criterion")
    rows = []
    for dirpath, _dirs, files in os.walk(root):
        if os.path.basename(dirpath) != "new" or "benchmark.json" not in files:
            continue
        bench = json.load(open(os.path.join(dirpath, "benchmark.json")))
        est = json.load(open(os.path.join(dirpath, "estimates.json")))["median"]
        t = est["point_estimate"] / 1e9  # seconds per iteration
        lo = est["confidence_interval"]["lower_bound"] / 1e9
        hi = est["confidence_interval"]["upper_bound"] / 1e9
        tp = bench.get("throughput") or {}
        if "Bytes" in tp or "BytesDecimal" in tp:
            n = tp.get("Bytes", tp.get("BytesDecimal"))
            rate = f"{n / t / 1e6:,.0f} MB/s ({n / hi / 1e6:,.0f}–{n / lo / 1e6:,.0f})"
        elif "Elements" in tp:
            n = tp["Elements"]
            rate = f"{n / t / 1e3:,.0f} k elem/s ({n / hi / 1e3:,.0f}–{n / lo / 1e3:,.0f})"
        else:
            rate = ""
        rows.append((bench["group_id"], bench["function_id"], t, rate))
    if not rows:
        sys.exit(f"no criterion results under {root}")
    print("| group | bench | median time | throughput (95 % CI) |")
    print("|---|---|---:|---:|")
    for g, f, t, rate in sorted(rows):
        unit = f"{t * 1e3:.2f} ms" if t >= 1e-3 else f"{t * 1e6:.1f} µs"
        print(f"| {g} | {f} | {unit} | {rate} |")


if __name__ == "__main__":
    main()
