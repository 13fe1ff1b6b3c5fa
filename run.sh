#!/usr/bin/env bash
# The one-command demo: builds grsu and runs it on data the project ships or the shared data.
set -euo pipefail
cd "$(dirname "$0")"
cargo build --quiet --bin grsu
GRSU=target/debug/grsu
DATA="${GRSU_SHARED_DATA:-../shared/data}"

if [ -f "$DATA/redial/test_data_processed.jsonl" ]; then
  echo "== ReDial test split, only new items (the paper's protocol)"
  "$GRSU" data stats --format ievalm --path "$DATA/redial/test_data_processed.jsonl" \
    --catalog "$DATA/redial/id2info.json" --only-new
  echo
  echo "== title matching against the ReDial catalog"
  printf 'the matrix\nSophie'"'"'s Choice (1957)\nQuantum Llamas of Saturn (2031)\n' |
    "$GRSU" match --catalog "$DATA/redial/id2info.json" --min-score 80
else
  echo "shared data not found at $DATA (set GRSU_SHARED_DATA)" >&2
  exit 2
fi
