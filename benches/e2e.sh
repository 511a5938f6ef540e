#!/usr/bin/env bash
# End-to-end benchmark: `gatelog analyze` against the DuckDB job a user would write by hand
# (benches/e2e_duckdb.py), on the same synthetic export, alternating A B A B, with wall time
# and peak RSS of every run from GNU time (`/usr/bin/time -v`). See docs/PERFORMANCE.md.
#
#   benches/e2e.sh                      # ~2 GB, plain and gzip, 2 rounds, plus the 1→2 thread run
#   E2E_GB=0.5 E2E_TOOLS=gatelog E2E_VARIANTS=plain E2E_SCALING=0 benches/e2e.sh   # RSS at 0.5 GB
#
# Environment (all optional):
#   E2E_GB          uncompressed size of the input both tools read, in GB (default 2)
#   E2E_ROUNDS      rounds per variant; each round runs every tool once (default 2)
#   E2E_VARIANTS    "plain gzip" (default), "plain" or "gzip"
#   E2E_TOOLS       "gatelog duckdb" (default), or one of them
#   E2E_SCALING     1 (default): also run gatelog --threads 1 and --threads 2, alternating
#   E2E_THREADS     gatelog --threads for the comparison runs (default: all cores)
#   E2E_EXECUTION   1: also give gatelog the execution logs in one extra run per round
#                   (DuckDB's job does not read them); default 0
#   E2E_DIR         work directory: venv, generated data, outputs (default target/e2e)
#   DUCKDB_VERSION  the duckdb wheel installed from PyPI into E2E_DIR/venv (default 1.5.6)
#   GATELOG_BIN     use this gatelog binary instead of building target/release/gatelog
#
# What is compared: both tools read the same files, the stage access logs (NDJSON, enhanced
# and troubleshooting layouts) and the two Lambda authorizers' logs (text), as produced by
# `gatelog generate --container lines` (plain) or `--container lines --gzip`; both join by
# request id, classify and write Hive-partitioned Parquet (dt=…, zstd). MB/s is always MB
# (10^6 bytes) of uncompressed input per second of wall time, for the gzip variant too.
# The page cache is warmed before each variant (the input is read once with cat), so the
# disk is not measured. Numbers from one run only: compare ratios, not absolute MB/s across
# runs (the machine drifts ±10–25 %).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
GB=${E2E_GB:-2}
ROUNDS=${E2E_ROUNDS:-2}
VARIANTS=${E2E_VARIANTS:-plain gzip}
TOOLS=${E2E_TOOLS:-gatelog duckdb}
SCALING=${E2E_SCALING:-1}
THREADS=${E2E_THREADS:-}
EXECUTION=${E2E_EXECUTION:-0}
WORK=${E2E_DIR:-$ROOT/target/e2e}
DUCKDB_VERSION=${DUCKDB_VERSION:-1.5.6}
SEED=20251103

say() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'e2e.sh: %s\n' "$*" >&2; exit 1; }

[ -x /usr/bin/time ] && /usr/bin/time -v true 2>/dev/null ||
  die "needs GNU time at /usr/bin/time (Debian: apt-get install time)"
command -v python3 >/dev/null || die "needs python3 (for the DuckDB venv and the summary)"
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

# 1. gatelog, release build.
if [ -n "${GATELOG_BIN:-}" ]; then
  BIN=$GATELOG_BIN
else
  say "building gatelog (release)"
  (cd "$ROOT" && cargo build --release --quiet)
  BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/gatelog
fi
[ -x "$BIN" ] || die "no gatelog binary at $BIN"

# 2. DuckDB from PyPI, pinned, in a venv of its own.
PY=$WORK/venv/bin/python
if [[ " $TOOLS " == *" duckdb "* ]]; then
  if ! "$PY" -c "import duckdb, sys; sys.exit(duckdb.__version__ != '$DUCKDB_VERSION')" 2>/dev/null; then
    say "installing duckdb==$DUCKDB_VERSION into $WORK/venv"
    rm -rf "$WORK/venv"
    python3 -m venv "$WORK/venv"
    "$WORK/venv/bin/pip" install --quiet --disable-pip-version-check "duckdb==$DUCKDB_VERSION"
  fi
fi

# 3. Data: N requests such that access + authorizer logs come to about E2E_GB GB.
DATA=$WORK/data-${GB}gb
# The marker says both variants were generated; a variant removed since (to free disk) is
# generated again from the same seed and request count.
if [ -f "$DATA/.done" ] && { [ ! -d "$DATA/plain/aws" ] || [ ! -d "$DATA/gz/aws" ]; }; then
  N=$(cat "$DATA/.done")
  for v in plain gz; do
    if [ ! -d "$DATA/$v/aws" ]; then
      say "generating the missing $v variant ($N requests)"
      rm -rf "${DATA:?}/$v"
      gzip_flag=()
      [ "$v" = gz ] && gzip_flag=(--gzip)
      "$BIN" generate --requests "$N" --seed $SEED --container lines "${gzip_flag[@]}" \
        --out "$DATA/$v" >/dev/null
    fi
  done
fi
if [ ! -f "$DATA/.done" ]; then
  say "calibrating the generator (20,000 requests)"
  rm -rf "$WORK/calibrate" "$DATA"
  "$BIN" generate --requests 20000 --seed $SEED --container lines --out "$WORK/calibrate" >/dev/null
  per_req=$(find "$WORK/calibrate/aws" -type f -printf '%s\n' | awk '{s+=$1} END {print s/20000}')
  N=$(python3 -c "print(max(1000, int($GB * 1e9 / $per_req)))")
  rm -rf "$WORK/calibrate"
  mkdir -p "$DATA"
  say "generating $N requests (~$GB GB of access + authorizer logs; execution logs too)"
  /usr/bin/time -f 'generate plain: %e s' "$BIN" generate --requests "$N" --seed $SEED \
    --container lines --out "$DATA/plain" >/dev/null
  /usr/bin/time -f 'generate gzip: %e s' "$BIN" generate --requests "$N" --seed $SEED \
    --container lines --gzip --out "$DATA/gz" >/dev/null
  echo "$N" >"$DATA/.done"
fi
N=$(cat "$DATA/.done")

files_of() { find "$1" -type f -path "*/$2/*" | sort; }
BYTES=$(find "$DATA/plain/aws" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
EXEC_BYTES=$(find "$DATA/plain" -type f -path '*API-Gateway-Execution-Logs_*' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
GZ_BYTES=$(find "$DATA/gz/aws" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')

RESULTS=$WORK/results-${GB}gb.tsv
printf 'variant\ttool\tround\twall_s\tmax_rss_kb\tinput_bytes\n' >"$RESULTS"

# run VARIANT TOOL ROUND INPUT_BYTES CMD...: one timed run, appended to RESULTS.
run() {
  local variant=$1 tool=$2 round=$3 bytes=$4
  shift 4
  local log=$WORK/log-$variant-$tool-$round.txt tv=$WORK/time.txt
  rm -rf "$WORK/out-$tool"
  local rc=0
  /usr/bin/time -v -o "$tv" "$@" >"$log" 2>&1 || rc=$?
  # gatelog exits 3 when rejected lines pass --max-reject-rate: written all the same.
  if [ $rc -ne 0 ] && ! { [ $rc -eq 3 ] && [[ $tool == gatelog* ]]; }; then
    cat "$log" >&2
    die "$tool ($variant, round $round) failed with exit $rc"
  fi
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$tv")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tv")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$variant" "$tool" "$round" "$wall" "$rss" "$bytes" >>"$RESULTS"
  printf '  %-6s %-17s round %s: %7.2f s  %8.1f MB/s  peak RSS %6.0f MB\n' "$variant" "$tool" \
    "$round" "$wall" "$(python3 -c "print($bytes/1e6/$wall)")" "$(python3 -c "print($rss/1024)")" >&2
  # gatelog's own stage timings (manifest run.timings_s), kept per run.
  local manifest=$WORK/out-$tool/_manifest.json
  if [ -f "$manifest" ]; then
    cp "$manifest" "$WORK/manifest-$variant-$tool-$round.json"
    python3 -c "import json,sys; t=json.load(open(sys.argv[1])).get('run',{}).get('timings_s',{}); \
print('    stages (s):', ', '.join(f'{k} {v:.2f}' for k,v in t.items()))" "$manifest" >&2 || true
  fi
}

# gatelog_cmd OUT THREADS INPUT...: sets CMD to the analyze command line.
gatelog_cmd() {
  local out=$1 threads=$2
  shift 2
  CMD=("$BIN" analyze "$@" --out "$out" --quiet)
  [ -z "$threads" ] || CMD+=(--threads "$threads")
}

say "input: $N requests; $((BYTES / 1000000)) MB plain, $((GZ_BYTES / 1000000)) MB gzip ($(nproc) cores)"
for variant in $VARIANTS; do
  src=$DATA/plain
  [ "$variant" = gzip ] && src=$DATA/gz
  [ "$variant" = plain ] || [ "$variant" = gzip ] || die "unknown variant $variant"
  mapfile -t access < <(files_of "$src/aws" apigateway)
  mapfile -t authz < <(files_of "$src/aws" lambda)
  say "variant $variant: warming the page cache"
  cat "${access[@]}" "${authz[@]}" >/dev/null
  for round in $(seq 1 "$ROUNDS"); do
    for tool in $TOOLS; do
      case $tool in
        gatelog)
          gatelog_cmd "$WORK/out-gatelog" "$THREADS" "$src/aws"
          run "$variant" gatelog "$round" "$BYTES" "${CMD[@]}"
          if [ "$round" = 1 ] && [ -f "$WORK/out-gatelog/_manifest.json" ]; then
            python3 -c "import json,sys; c=json.load(open(sys.argv[1]))['counts']; print('  gatelog wrote', c)" \
              "$WORK/out-gatelog/_manifest.json" >&2
          fi
          ;;
        duckdb)
          run "$variant" duckdb "$round" "$BYTES" "$PY" "$ROOT/benches/e2e_duckdb.py" "$WORK/out-duckdb" \
            --access "${access[@]}" --authorizer "${authz[@]}"
          if [ "$round" = 1 ]; then
            printf '  duckdb wrote %s\n' "$("$PY" "$ROOT/benches/e2e_duckdb.py" --check "$WORK/out-duckdb")" >&2
          fi
          ;;
        *) die "unknown tool $tool" ;;
      esac
      if [ "$tool" = gatelog ] && [ "$EXECUTION" = 1 ]; then
        gatelog_cmd "$WORK/out-gatelog+execution" "$THREADS" "$src"
        run "$variant" gatelog+execution "$round" "$((BYTES + EXEC_BYTES))" "${CMD[@]}"
      fi
    done
  done
done

if [ "$SCALING" = 1 ] && [[ " $TOOLS " == *" gatelog "* ]]; then
  say "thread scaling: gatelog --threads 1 vs --threads 2, plain input"
  find "$DATA/plain/aws" -type f -exec cat {} + >/dev/null
  for round in $(seq 1 "$ROUNDS"); do
    for t in 1 2; do
      gatelog_cmd "$WORK/out-gatelog-j$t" "$t" "$DATA/plain/aws"
      run plain "gatelog-j$t" "$round" "$BYTES" "${CMD[@]}"
    done
  done
fi

say "summary (medians over rounds; MB/s of uncompressed input; results in $RESULTS)"
python3 - "$RESULTS" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
by = {}
for r in rows:
    by.setdefault((r["variant"], r["tool"]), []).append(r)
med = {}
print(f"{'variant':8} {'tool':18} {'runs':>4} {'wall s':>8} {'MB/s':>8} {'peak RSS MB':>12}")
for (v, t), rs in by.items():
    wall = statistics.median(float(r["wall_s"]) for r in rs)
    rss = statistics.median(float(r["max_rss_kb"]) / 1024 for r in rs)
    mbs = float(rs[0]["input_bytes"]) / 1e6 / wall
    med[(v, t)] = (wall, mbs, rss)
    print(f"{v:8} {t:18} {len(rs):>4} {wall:>8.2f} {mbs:>8.1f} {rss:>12.0f}")
for v in ("plain", "gzip"):
    if (v, "gatelog") in med and (v, "duckdb") in med:
        g, d = med[(v, "gatelog")], med[(v, "duckdb")]
        print(f"{v}: gatelog is {d[0] / g[0]:.2f}x DuckDB's speed; peak RSS {g[2]:.0f} MB vs {d[2]:.0f} MB")
if ("plain", "gatelog-j1") in med and ("plain", "gatelog-j2") in med:
    print(f"2-thread speed-up: {med[('plain', 'gatelog-j1')][0] / med[('plain', 'gatelog-j2')][0]:.2f}x")
EOF
