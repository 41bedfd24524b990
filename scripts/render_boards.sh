#!/usr/bin/env bash
# Re-render every committed board from its result records, computing nothing: LEADERBOARD.md and a
# self-contained web page (site/index.html) per folder, the feng2020 report, and the reality check's
# SUMMARY.md. regenerate_results.sh calls this after computing; run it alone after a reporting change.
#   scripts/render_boards.sh /path/to/ravdess   (the feng2020 report re-reads the real corpus's manifest)
set -euo pipefail
RAVDESS=${1:?usage: $0 /path/to/ravdess}
SB="${SER_BENCH:-ser-bench} -q"
PY="${PYTHON:-python}"
cd "$(dirname "$0")/.."

for d in results/sim-demo results/ravdess-idt; do
    $SB leaderboard "$d" -o "$d/LEADERBOARD.md"
done
for d in results/loss-zoo/* results/fewshot-source/* results/ratio-weight/*; do
    $SB leaderboard "$d" --paired bce_pair -o "$d/LEADERBOARD.md"
done
# The reports of these grids from the results as they are (--report-only computes nothing, whatever the
# results' schema).
$SB reproduce feng2020 --report-only --source sim-crema,sim-enterface --target sim-ravdess > /dev/null
$SB reproduce feng2020 --report-only --source sim-crema,sim-enterface --target ravdess \
    --corpus-path ravdess="$RAVDESS" > /dev/null
$PY scripts/reality_check_summary.py results/reality-check > /dev/null
# cross-corpus reads the corpora's manifests (the shared label set, each target's speakers): give their folder
# as CROSS_CORPUS_DATA (default ../shared/data); its report also writes results/cross-corpus/site/.
if [ -d "${CROSS_CORPUS_DATA:-../shared/data}" ]; then
    scripts/cross_corpus.sh "${CROSS_CORPUS_DATA:-../shared/data}" --report-only > /dev/null
fi
for d in results/sim-demo results/ravdess-idt results/loss-zoo/* results/fewshot-source/* \
         results/ratio-weight/* results/feng2020/* results/reality-check/*/; do
    $SB leaderboard "${d%/}" --format html -o "${d%/}/site"
done
