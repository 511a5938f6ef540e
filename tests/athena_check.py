#!/usr/bin/env python3
"""Independent check of a gatelog dataset with DuckDB (tests/athena.rs runs this).

    python3 tests/athena_check.py --out DIR --ddl athena.sql --classify classify.sql \
        --requirements scripts/duckdb-requirements.txt

1. athena.sql: every column type of both tables equals the Parquet type DuckDB reads, mapped to
   Athena's names; no column is missing or extra.
2. summary.json: request, denied and refused counts, counts by phase and by (phase, class) with
   their confidence mix, and the authorizer invocation counts agree with the Parquet.
3. classify.sql, run by DuckDB over a view `requests` of the Parquet, returns for every row the
   denial_phase, denial_class and candidates gatelog wrote.

Prints one JSON line of counts on success; exits 1 with every finding on failure, 2 when DuckDB
is missing or not the pinned version.
"""

import argparse
import collections
import glob
import json
import os
import re
import sys

PIP = "python3 -m pip install -r scripts/duckdb-requirements.txt"


def fail_setup(msg):
    print(f"athena_check: {msg}; run `{PIP}`", file=sys.stderr)
    sys.exit(2)


def pinned_version(requirements):
    with open(requirements, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"\s*duckdb\s*==\s*([^\s#;]+)", line)
            if m:
                return m.group(1)
    fail_setup(f"{requirements} pins no duckdb version")


def duck_to_athena(t):
    """A DuckDB type name as Athena spells the same Parquet type."""
    t = t.strip()
    if t.endswith("[]"):
        return f"array<{duck_to_athena(t[:-2])}>"
    m = re.fullmatch(r"MAP\((.*)\)", t)
    if m:
        k, v = split_top(m.group(1))
        return f"map<{duck_to_athena(k)},{duck_to_athena(v)}>"
    m = re.fullmatch(r"STRUCT\((.*)\)", t)
    if m:
        fields = []
        for part in split_top(m.group(1)):
            name, ty = part.strip().split(" ", 1)
            fields.append(f"{name.strip(chr(34))}:{duck_to_athena(ty)}")
        return f"struct<{','.join(fields)}>"
    simple = {
        "VARCHAR": "string",
        "INTEGER": "int",
        "BIGINT": "bigint",
        "DOUBLE": "double",
        "BOOLEAN": "boolean",
        # TIMESTAMP(MILLIS, isAdjustedToUTC=true) reads as TIMESTAMPTZ; Athena's is `timestamp`.
        "TIMESTAMP WITH TIME ZONE": "timestamp",
    }
    return simple.get(t, f"<unmapped DuckDB type {t}>")


def split_top(s):
    """Splits on commas outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def parse_ddl(text):
    """{table: [(column, type)]} from the CREATE EXTERNAL TABLE statements."""
    tables = {}
    stmt = re.compile(
        r"CREATE EXTERNAL TABLE IF NOT EXISTS `[a-z0-9_]+`\.`(\w+)` \(\n(.*?)\n\)\n"
        r"PARTITIONED BY \(`dt` string\)\nSTORED AS PARQUET\nLOCATION '([^']*)'",
        re.S,
    )
    for m in stmt.finditer(text):
        cols = []
        for line in m.group(2).split("\n"):
            cm = re.fullmatch(r"  `(\w+)` (\S+?),?", line)
            if not cm:
                raise SystemExit(f"athena_check: unparsable DDL column line {line!r}")
            cols.append((cm.group(1), cm.group(2)))
        tables[m.group(1)] = cols
    return tables


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--ddl", required=True)
    ap.add_argument("--classify", required=True)
    ap.add_argument("--requirements", required=True)
    a = ap.parse_args()

    try:
        import duckdb
    except ImportError:
        fail_setup("DuckDB is not installed for " + sys.executable)
    want = pinned_version(a.requirements)
    if duckdb.__version__ != want:
        fail_setup(f"DuckDB {duckdb.__version__} is installed, {a.requirements} pins {want}")

    problems = []
    con = duckdb.connect()
    result = {"duckdb": duckdb.__version__}

    # 1. DDL types against the Parquet.
    with open(a.ddl, encoding="utf-8") as f:
        ddl = parse_ddl(f.read())
    if sorted(ddl) != ["authorizer_invocations", "requests"]:
        problems.append(f"athena.sql defines tables {sorted(ddl)}")
    for table, cols in sorted(ddl.items()):
        files = sorted(glob.glob(os.path.join(a.out, table, "*", "*.parquet")))
        outside = []
        for f in files:
            part = os.path.basename(os.path.dirname(f))
            if part == "dt=__HIVE_DEFAULT_PARTITION__":
                # Rows without a time: Hive's null partition, which date projection never lists.
                outside.append(f)
            elif not re.fullmatch(r"dt=\d{4}-\d\d-\d\d", part):
                problems.append(f"{f}: partition directory is not dt=YYYY-MM-DD")
        result[f"{table}_rows_outside_projection"] = (
            con.execute("SELECT count(*) FROM read_parquet(?)", [outside]).fetchone()[0] if outside else 0
        )
        if not files:
            if table == "requests":
                problems.append("no requests Parquet file")
            continue
        described = con.execute(
            "DESCRIBE SELECT * FROM read_parquet(?, hive_partitioning = false)", [files]
        ).fetchall()
        got = [(r[0], duck_to_athena(r[1])) for r in described]
        if got != cols:
            for i in range(max(len(got), len(cols))):
                g = got[i] if i < len(got) else None
                w = cols[i] if i < len(cols) else None
                if g != w:
                    problems.append(f"{table} column {i}: Parquet {g} vs athena.sql {w}")
        result[f"{table}_columns"] = len(cols)

    # 2. summary.json against the Parquet.
    with open(os.path.join(a.out, "summary.json"), encoding="utf-8") as f:
        summary = json.load(f)
    req_glob = os.path.join(a.out, "requests", "*", "*.parquet").replace("'", "''")
    con.execute(
        f"CREATE VIEW requests AS SELECT * FROM read_parquet('{req_glob}', hive_partitioning = true)"
    )
    n, denied, refused = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE denied), count(*) FILTER (WHERE refused) FROM requests"
    ).fetchone()
    for name, got in [("requests", n), ("denied", denied), ("refused", refused)]:
        if summary[name] != got:
            problems.append(f"summary.json {name} = {summary[name]}, Parquet has {got}")
    by_phase = dict(
        con.execute(
            "SELECT coalesce(denial_phase, 'unknown'), count(*) FROM requests WHERE denied GROUP BY 1"
        ).fetchall()
    )
    if by_phase != summary["by_phase"]:
        problems.append(f"by_phase: summary.json {summary['by_phase']} vs Parquet {by_phase}")
    rows = con.execute(
        "SELECT coalesce(denial_phase, 'unknown'), denial_class, coalesce(confidence, 'none'), count(*) "
        "FROM requests WHERE denied GROUP BY ALL"
    ).fetchall()
    parquet_classes = collections.defaultdict(lambda: [0, {}])
    for phase, cls, conf, c in rows:
        e = parquet_classes[(phase, cls)]
        e[0] += c
        e[1][conf] = c
    summary_classes = {
        (e["phase"], e["class"]): [e["count"], e["confidence"]] for e in summary["by_class"]
    }
    if dict(parquet_classes) != summary_classes:
        problems.append(
            f"by_class: summary.json {sorted(summary_classes.items(), key=str)} "
            f"vs Parquet {sorted(parquet_classes.items(), key=str)}"
        )
    inv_files = glob.glob(os.path.join(a.out, "authorizer_invocations", "*", "*.parquet"))
    inv = {"invocations": 0, "matched": 0, "cold_starts": 0}
    decisions = {}
    if inv_files:
        inv_glob = os.path.join(a.out, "authorizer_invocations", "*", "*.parquet").replace("'", "''")
        con.execute(
            "CREATE VIEW authorizer_invocations AS "
            f"SELECT * FROM read_parquet('{inv_glob}', hive_partitioning = true)"
        )
        (
            inv["invocations"],
            inv["matched"],
            inv["cold_starts"],
        ) = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE request_id IS NOT NULL AND match_method IS NOT NULL), "
            "count(*) FILTER (WHERE init_duration_ms IS NOT NULL) FROM authorizer_invocations"
        ).fetchone()
        decisions = dict(
            con.execute(
                "SELECT coalesce(decision, 'unknown'), count(*) FROM authorizer_invocations GROUP BY 1"
            ).fetchall()
        )
    for k, v in inv.items():
        if summary["authorizer"][k] != v:
            problems.append(f"summary.json authorizer.{k} = {summary['authorizer'][k]}, Parquet has {v}")
    if summary["authorizer"]["decisions"] != decisions:
        problems.append(
            f"authorizer.decisions: summary.json {summary['authorizer']['decisions']} vs Parquet {decisions}"
        )

    # 3. classify.sql against the recorded answer, row by row (duplicate request ids are compared
    #    as multisets per (api_id, stage, request_id)).
    with open(a.classify, encoding="utf-8") as f:
        sql = f.read()
    try:
        by_sql = con.execute(sql).fetchall()
    except Exception as e:  # noqa: BLE001 - report DuckDB's own message
        problems.append(f"classify.sql does not run in DuckDB: {e}")
        by_sql = []
    recorded = con.execute(
        "SELECT api_id, stage, request_id, denial_phase, denial_class, candidates FROM requests"
    ).fetchall()

    def index(rows):
        d = collections.defaultdict(collections.Counter)
        for api, stage, rid, phase, cls, cands in rows:
            d[(api, stage, rid)][(phase, cls, tuple(cands))] += 1
        return d

    got, want = index(by_sql), index(recorded)
    mismatches = []
    for key in sorted(set(got) | set(want), key=lambda k: tuple(x or "" for x in k)):
        if got.get(key) != want.get(key):
            mismatches.append(
                f"request {key[2]} (api {key[0]}, stage {key[1]}): gatelog wrote "
                f"{sorted(want.get(key, {}).elements())}, classify.sql gives {sorted(got.get(key, {}).elements())}"
            )
    if len(by_sql) != len(recorded):
        problems.append(f"classify.sql returned {len(by_sql)} rows, requests has {len(recorded)}")
    if mismatches:
        problems.append(f"classify.sql disagrees with gatelog on {len(mismatches)} request(s):")
        problems.extend("  " + m for m in mismatches[:40])
    sql_denied = sum(1 for r in by_sql if r[3] is not None)
    if by_sql and sql_denied != summary["denied"]:
        problems.append(f"classify.sql puts {sql_denied} requests in scope, summary.json says {summary['denied']} denied")

    result.update(
        {
            "requests": n,
            "denied": denied,
            "refused": refused,
            "classes": len(summary_classes),
            "classify_rows": len(by_sql),
            "decided_by_sql": sum(1 for r in by_sql if r[4] is not None),
            "invocations": inv["invocations"],
        }
    )
    if problems:
        print("\n".join(problems), file=sys.stderr)
        sys.exit(1)
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
