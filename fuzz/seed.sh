#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ from the test fixtures (the corpus directory is not committed).
set -euo pipefail
cd "$(dirname "$0")"
S=../tests/fixtures/samples
B=../tests/fixtures/bad
seed() { local t=$1; shift; mkdir -p "corpus/$t"; for f in "$@"; do
  [ -f "$f" ] || continue
  # Large files are cut: libFuzzer's default -max_len is small anyway.
  head -c 65536 "$f" > "corpus/$t/$(echo "$f" | tr '/ $[]' '_____')"; done; }
containers=$(find $S/containers $B -type f ! -name '*.md')
for t in read_detect read_s3_export read_cli_json read_lines read_firehose read_tail read_insights_csv read_insights_json; do
  # shellcheck disable=SC2086
  seed $t $containers
done
seed access_parser $S/access/* $B/*.jsonl $B/*.log
seed authorizer_log $S/lambda/*
seed execution_log $S/execution/*
mkdir -p corpus/format_compile
i=0
grep -h '\$context\.' $S/formats.txt | while IFS= read -r fmt; do
  i=$((i+1)); printf '%s\n%s\n' "$fmt" "$(head -n 3 $S/access/enhanced.jsonl)" > "corpus/format_compile/fmt-$i"
done
seed scrub $S/lambda/* $S/access/enhanced.jsonl
echo "seeded: $(ls corpus | wc -l) targets"
