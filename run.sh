#!/usr/bin/env bash
# The one-command demo: builds grsu, fetches the embedded model if needed, and runs a small beam
# search (config/demo.toml) on the project's own demo dataset with the embedded CPU model as both
# the CRS and the simulated user. Ends with the metrics table; outputs land in results/demo.
set -euo pipefail
cd "$(dirname "$0")"

echo "== building grsu"
cargo build --quiet --bin grsu
GRSU=target/debug/grsu

echo "== embedded model"
"$GRSU" model fetch

echo "== demo run (results/demo; run again to resume, delete the folder to start over)"
start=$(date +%s)
"$GRSU" run config/demo.toml
echo "wall time: $(( $(date +%s) - start )) s"

echo "== look inside"
echo "report (tables and figures, one file that opens from disk): $(pwd)/results/demo/report.html"
echo "explorer (samples, conversations, search trees; http://127.0.0.1:7575/): $GRSU view results/demo"
echo "the same explorer as static files to share: $GRSU view results/demo --bundle results/demo/explorer"
