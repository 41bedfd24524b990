#!/usr/bin/env bash
# The README's layer-wise figure, docs/ssl-layers-smoke-test.png: a SMOKE TEST of the machinery
# (ssl.layers=all -> one cell per layer -> UAR by layer), not a result. The model is a tiny randomly
# initialised WavLM (4 layers of width 32, from plugins/features/ssl_tiny.py) and the corpora are the
# simulated ones, so the numbers say nothing about any real encoder.
#
#   scripts/ssl_layers_smoke.sh [WORK_DIR]     (default /tmp/ser-bench-ssl-smoke; about a minute)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/ser-bench-ssl-smoke}
bin=.venv/bin
mkdir -p "$work"
"$bin/python" -c "from ser_bench_plugins.features.ssl_tiny import save_tiny_model as s; s('$work/tiny-wavlm', layers=4)" \
    2>/dev/null
"$bin/ser-bench" -q run --protocol oodt,idt,fewshot --preset demo --seed 0 --loss logreg \
    --source sim-crema --target sim-ravdess --feature ssl --feature-param "ssl.model=$work/tiny-wavlm" \
    --feature-param ssl.layers=all --device cpu --results "$work/results" --no-leaderboard
"$bin/python" - "$work/results" docs/ssl-layers-smoke-test <<'EOF'
import sys
from ser_bench.reporting.layers import layer_tables, plot_layers
from ser_bench.results.store import load_results

((title, setting, table),) = layer_tables(load_results(sys.argv[1]))
print(table.to_markdown())
plot_layers(table, sys.argv[2], "SMOKE TEST, not a result:\ntiny random WavLM (4 layers, width 32) on the simulated corpora")
EOF
rm -f docs/ssl-layers-smoke-test.svg  # the png is what the README shows
