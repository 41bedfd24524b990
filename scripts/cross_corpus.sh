#!/usr/bin/env bash
# Real transfer between corpora and languages: regenerates results/cross-corpus/ (every ordered pair of
# RAVDESS, EmoDB and TurEV-DB and leave-one-corpus-out; OODT and few-shot k = 1, 2, 4; every loss and
# baseline tuned with 8 Optuna trials on source speakers; per-corpus and per-speaker normalisation;
# source seeds 0, 1, 2), then its LEADERBOARD.md, ranks figure, paired tests and HTML site.
#   scripts/cross_corpus.sh [DATA_DIR]
# DATA_DIR holds the corpora, either under the folder names ser-bench looks for (RAVDESS/, emodb/,
# TurEV-DB/) or as the 16 kHz copies of the development data (ravdess-16k/, emodb-16k/, turev-db-16k/);
# default: ../shared/data beside this checkout. About 3 hours on 2 cores; interrupt and rerun at will,
# finished cells are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data}
SB="${SER_BENCH:-ser-bench}"
PATHS=()
for pair in ravdess:ravdess-16k emodb:emodb-16k turev:turev-db-16k; do
    name=${pair%%:*} folder=${pair#*:}
    if [ -d "$DATA/$folder" ]; then PATHS+=(--corpus-path "$name=$DATA/$folder"); fi
done
$SB -q reproduce cross-corpus --data-dir "$DATA" "${PATHS[@]}" --results results/cross-corpus "${@:2}"
