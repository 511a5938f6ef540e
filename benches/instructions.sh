#!/usr/bin/env bash
# Instructions a whole `gatelog analyze` run executes, counted by valgrind's callgrind: the
# same count for the same binary and input whatever else the machine is doing, so a change
# of a few percent of CPU work shows in one run, where wall times swing by ±20 % from hour to
# hour (docs/PERFORMANCE.md §1). It counts work, not waiting: the two threads' overlap and
# the kernel's page faults are the end-to-end benchmark's (benches/e2e.sh) to show.
#
#   benches/instructions.sh                         # this tree's release build
#   INSTR_BASE=/tmp/gatelog-before benches/instructions.sh   # and another binary, then the ratio
#
# Environment (all optional):
#   INSTR_REQUESTS  requests in the generated export (default 50000: ~67 MB, ~40 s a run)
#   INSTR_BASE      a second gatelog binary to count on the same input (say, main's build)
#   INSTR_DIR       work directory: data, outputs, callgrind files (default target/instructions)
#   GATELOG_BIN     count this binary instead of building target/release/gatelog
#
# Each run is `analyze --threads 1` on the stage access logs and the authorizers' logs of
# `gatelog generate --container lines`, at the default memory limit. The callgrind files are
# kept: `callgrind_annotate --inclusive=yes FILE` lists where the instructions went.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
REQUESTS=${INSTR_REQUESTS:-50000}
WORK=${INSTR_DIR:-$ROOT/target/instructions}
SEED=20251103

die() { printf 'instructions.sh: %s\n' "$*" >&2; exit 1; }
command -v valgrind >/dev/null || die "needs valgrind (Debian: apt-get install valgrind)"
mkdir -p "$WORK"

if [ -n "${GATELOG_BIN:-}" ]; then
  BIN=$GATELOG_BIN
else
  (cd "$ROOT" && cargo build --release --locked --quiet)
  BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/gatelog
fi
[ -x "$BIN" ] || die "no gatelog binary at $BIN"

DATA=$WORK/data-$REQUESTS
if [ ! -f "$DATA/.done" ]; then
  rm -rf "$DATA"
  "$BIN" generate --requests "$REQUESTS" --seed $SEED --container lines --out "$DATA" \
    >/dev/null 2>&1
  touch "$DATA/.done"
fi

# count LABEL BINARY: prints the label, the instructions and the instructions per request.
count() {
  local out=$WORK/callgrind.$1
  valgrind --tool=callgrind --callgrind-out-file="$out" \
    "$2" analyze "$DATA/aws" --out "$WORK/out-$1" --quiet --overwrite --threads 1 \
    2>"$WORK/valgrind-$1.log" >/dev/null || die "the $1 run failed: see $WORK/valgrind-$1.log"
  local n
  n=$(sed -n 's/^summary: //p' "$out")
  printf '%-5s %12d instructions  %6d per request  (%s)\n' "$1" "$n" $((n / REQUESTS)) "$out"
  echo "$n" >"$WORK/count-$1"
}

count this "$BIN"
if [ -n "${INSTR_BASE:-}" ]; then
  [ -x "$INSTR_BASE" ] || die "no gatelog binary at $INSTR_BASE"
  count base "$INSTR_BASE"
  python3 -c "print(f'this / base: {$(cat "$WORK/count-this")} / {$(cat "$WORK/count-base")} = {$(cat "$WORK/count-this") / $(cat "$WORK/count-base"):.4f}')"
fi
