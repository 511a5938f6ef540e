#!/usr/bin/env python3
"""Attributes `perf script` samples of a `gatelog analyze` run to pipeline phases.

    perf record -e cpu-clock -F 499 --call-graph dwarf,16384 -o perf.data \
        target/release/gatelog analyze DIR --out OUT --quiet
    perf script -i perf.data | scripts/perf_phases.py

A sample belongs to the first phase in RULES whose marker appears anywhere in its call chain;
within a phase the top leaf functions are listed. Shares are of all samples, both
threads together (CPU time, not wall time). See docs/PERFORMANCE.md.
"""
import collections
import re
import sys

# (phase, marker in the call chain); order matters: the first match wins.
RULES = [
    ("read: records into the store, spill runs (postcard)", "ShardStore::add"),
    ("read: shard batches", "ShardBatch::"),
    ("read: access parse", "AccessParser::parse"),
    ("read: authorizer parse", "AuthorizerLog"),
    ("read: execution parse", "ExecutionLog"),
    ("read: framing, UTF-8, gzip", "input::read_"),
    ("read: other", "process_file"),
    ("join: read spill runs back", "read_unit"),
    ("join: deduplicate units", "dedupe"),
    ("join, rows: read deduplicated units back", "read_requests"),
    ("join: link invocations", "Linker::"),
    ("join: other", "finish_visiting"),
    ("rows: classify", "classify::classify"),
    ("rows: build RequestRow (strings, scrub)", "request_row"),
    ("rows: summary tally", "RowTally"),
    ("rows: sort keys", "par_sort"),
    ("write: Arrow batches", "request_batch"),
    ("write: column encoding + zstd (parallel)", "column_writer"),
    ("write: other parquet", "parquet::"),
    ("write: other", "DatasetWriter"),
    ("drop / free", "drop_in_place"),
    ("group loop: unit take, joined, filter", "pipeline::analyze"),
]


def samples(lines):
    cur = None
    for line in lines:
        if not line.strip():
            if cur is not None:
                yield cur
            cur = None
        elif not line[0].isspace():
            cur = []
        elif cur is not None:
            parts = line.strip().split(None, 1)
            if len(parts) == 2:
                cur.append(re.sub(r"\+0x[0-9a-f]+ .*$", "", parts[1]))
    if cur is not None:
        yield cur


def main():
    by_phase = collections.Counter()
    leaves = collections.defaultdict(collections.Counter)
    total = 0
    for chain in samples(sys.stdin):
        total += 1
        joined = "\n".join(chain)
        phase = next((p for p, m in RULES if m in joined), "other (kernel, rayon idle, main)")
        by_phase[phase] += 1
        leaves[phase][chain[0] if chain else "?"] += 1
    if not total:
        sys.exit("no samples on stdin")
    print(f"{total} samples")
    for phase, n in by_phase.most_common():
        print(f"{100 * n / total:5.1f}%  {phase}")
        for leaf, k in leaves[phase].most_common(4):
            print(f"           {100 * k / total:4.1f}%  {leaf[:110]}")


if __name__ == "__main__":
    main()
