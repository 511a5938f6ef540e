#!/usr/bin/env bash
# Instructions per access line of the `access_record` benchmarks (benches/parse.rs), counted by
# valgrind's callgrind: the same count whatever else the machine is doing, where the MB/s of
# `cargo bench --bench parse` swing by ±30 % from run to run on a shared machine
# (docs/PERFORMANCE.md §1).
#
#   benches/parse_instructions.sh                       # every access fixture
#   benches/parse_instructions.sh console_clf           # one
#   PARSE_BENCH_BIN=/tmp/parse-before benches/parse_instructions.sh   # another build's binary
#
# Each fixture's benchmark runs twice under callgrind (`--profile-time 1`, then 4 seconds); the
# difference in `AccessParser::parse`'s inclusive instructions over the difference in its calls
# is the cost of one line, without the one-off costs (formats compiled, the first mapping).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
die() { printf 'parse_instructions.sh: %s\n' "$*" >&2; exit 1; }
command -v valgrind >/dev/null || die "needs valgrind (Debian: apt-get install valgrind)"
command -v python3 >/dev/null || die "needs python3"

if [ -n "${PARSE_BENCH_BIN:-}" ]; then
  BIN=$PARSE_BENCH_BIN
else
  BIN=$(cd "$ROOT" && cargo bench --bench parse --locked --no-run 2>&1 |
    sed -n 's/.*Executable benches\/parse.rs (\(.*\))/\1/p' | tail -1)
  case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac
fi
[ -x "$BIN" ] || die "no benchmark binary at '$BIN'"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# parse_cost FILE: "instructions calls" of AccessParser::parse in a callgrind file.
parse_cost() {
  callgrind_annotate --tree=caller --inclusive=yes --threshold=100 "$1" 2>/dev/null | python3 -c '
import re, sys
best = None
for block in sys.stdin.read().split("\n\n"):
    lines = block.strip("\n").split("\n")
    me = [l for l in lines if re.search(r"\*  .*gatelog::records::access::AccessParser::parse( \[|$)", l)]
    if not me:
        continue
    total = int(me[0].split("(")[0].replace(",", ""))
    calls = sum(int(m.group(1).replace(",", "")) for l in lines if "<" in l and "parse.rs" in l
                for m in [re.search(r"\(([\d,]+)x\)", l)] if m)
    if calls and (best is None or total > best[0]):
        best = (total, calls)
if best is None:
    sys.exit("no AccessParser::parse calls in the profile")
print(*best)'
}

FIXTURES=("$@")
[ ${#FIXTURES[@]} -gt 0 ] || FIXTURES=(enhanced_json troubleshooting_json console_clf console_csv console_xml)
for f in "${FIXTURES[@]}"; do
  for t in 1 4; do
    (cd "$WORK" && valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.$t" \
      "$BIN" --bench "access_record/$f" --profile-time $t >/dev/null 2>&1) ||
      die "the $f benchmark failed under valgrind"
  done
  read -r i1 c1 < <(parse_cost "$WORK/cg.1")
  read -r i4 c4 < <(parse_cost "$WORK/cg.4")
  [ "$c4" -gt "$c1" ] || die "$f: no more calls in the longer run"
  printf '%-22s %7d instructions a line\n' "$f" $(((i4 - i1) / (c4 - c1)))
done
