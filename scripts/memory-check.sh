#!/usr/bin/env bash
# Peak memory of `gatelog analyze` on a generated export of about 500 MB (issue 7), with a
# release build. Not run by CI: it takes a release build and about 1 GB of disk.
#
#   scripts/memory-check.sh [REQUESTS] [-- EXTRA ANALYZE ARGS…]
#
#   REQUESTS        requests to generate (default 180000, about 500 MB of bare lines)
#   CONTAINER=…     generate's container (default lines; s3-export, cli-json, firehose)
#   GZIP=1          gzip the generated files
#   LIMIT_MB=N      fail (exit 1) when the peak RSS exceeds N MiB
#   WORK=DIR        where to generate and write (default: a temp dir, removed at the end)
#
# Example: scripts/memory-check.sh 180000 -- --memory-limit 128M
# It prints the input size, the wall time and the peak RSS (`/usr/bin/time -v`).
set -euo pipefail
cd "$(dirname "$0")/.."

requests=180000
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
    requests=$1
    shift
fi
[ $# -gt 0 ] && [ "$1" = "--" ] && shift
extra=("$@")

if [ ! -x /usr/bin/time ]; then
    echo "memory-check: /usr/bin/time is missing (apt-get install time)" >&2
    exit 2
fi

cargo build --release --locked --quiet
target=${CARGO_TARGET_DIR:-target}
bin=$target/release/gatelog

if [ -n "${WORK:-}" ]; then
    work=$WORK
    mkdir -p "$work"
else
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
fi
rm -rf "$work/in" "$work/out"

gen=(generate --requests "$requests" --out "$work/in" --container "${CONTAINER:-lines}")
[ "${GZIP:-0}" = 1 ] && gen+=(--gzip)
"$bin" "${gen[@]}"
bytes=$(du -sb "$work/in" | cut -f1)

status=0
/usr/bin/time -v -o "$work/time.txt" \
    "$bin" analyze "$work/in" --out "$work/out" --quiet --max-reject-rate 1 \
    ${extra[@]+"${extra[@]}"} || status=$?
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
wall=$(awk -F': ' '/Elapsed \(wall clock\) time/ {print $2}' "$work/time.txt")
rows=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests"])' \
    "$work/out/summary.json" 2>/dev/null || echo "?")

printf 'input:     %s requests, %d MB (%s, gzip %s)\n' "$requests" $((bytes / 1000000)) \
    "${CONTAINER:-lines}" "${GZIP:-0}"
printf 'analyze:   exit %d, %s rows, wall %s, args: %s\n' "$status" "$rows" "$wall" \
    "${extra[*]:-(none)}"
printf 'peak RSS:  %d MiB\n' $((rss_kb / 1024))

if [ "$status" -ne 0 ]; then
    exit "$status"
fi
if [ -n "${LIMIT_MB:-}" ] && [ $((rss_kb / 1024)) -gt "$LIMIT_MB" ]; then
    echo "memory-check: peak RSS $((rss_kb / 1024)) MiB is over LIMIT_MB=$LIMIT_MB" >&2
    exit 1
fi
