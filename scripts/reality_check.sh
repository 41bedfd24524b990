#!/usr/bin/env bash
# The reality check (Musgrave, Belongie & Lim 2020, applied here): every loss and baseline tuned with the
# same budget on validation speakers, beside its default settings on the same test speakers, on
#   (a) sim-crema -> sim-ravdess, (b) real RAVDESS male -> female actors and one half of the actors ->
#   the other half over a telephone channel, (c) real RAVDESS in-domain (leave one speaker out).
#   scripts/reality_check.sh /path/to/ravdess      (writes results/reality-check/)
# Budget: 32 Optuna trials per cell, asked 4 at a time (those of one architecture trained together, each as
# trained alone); few-shot k = 2, 4, 8 with 5 draws and no frozen layer; seeds 0, 1, 2.
set -euo pipefail
RAVDESS=${1:?usage: $0 /path/to/ravdess}
SB="${SER_BENCH:-ser-bench} -q"
PY="${PYTHON:-python}"
cd "$(dirname "$0")/.."
OUT=${REALITY_CHECK_OUT:-results/reality-check}
METHODS=bce_pair,ratio_distance,contrastive,triplet,multi_similarity,supcon,cross_entropy,logreg,linear_svm,softmax_mlp
TRIALS=32
BATCH=4
# Epochs up to 80 (default 60) keep a tuned run's cost near a default one's.
SEARCH="--search training.epochs=20..80:step=10"
FEWSHOT="--protocol-param fewshot.k=2,4,8 --protocol-param fewshot.repeats=5 --protocol-param fewshot.frozen=0"
REAL="--corpus-path ravdess=$RAVDESS"

transfer() {  # NAME SOURCE TARGET [extra options]: default and tuned, oodt and few-shot, 2 validation speakers
    local name=$1 source=$2 target=$3; shift 3
    for tune in "--tune 0" "--tune $TRIALS --tune-batch $BATCH $SEARCH"; do
        # shellcheck disable=SC2086
        $SB run --loss $METHODS --protocol oodt,fewshot --source "$source" --target "$target" $REAL $FEWSHOT \
            --seed 0,1,2 --validation-speakers 2 $tune "$@" --results "$OUT/$name" --no-leaderboard
    done
}

transfer real-male-to-female 'ravdess[sex=male]' 'ravdess[sex=female]'
transfer real-telephone 'ravdess[half=1]' 'ravdess[half=2]+telephone'
# In-domain: 6 target speakers validate (leave one out among them) and are left out of the 18 test folds.
for tune in "--tune 0" "--tune $TRIALS --tune-batch $BATCH $SEARCH"; do
    # shellcheck disable=SC2086
    $SB run --loss $METHODS --protocol idt --target ravdess $REAL --seed 0 --validation-speakers 6 $tune \
        --results "$OUT/real-idt" --no-leaderboard
done
# The simulated pair, with a 12-actor source so that 32 trials x 10 methods x 3 seeds fit in the budget.
transfer sim-crema-to-sim-ravdess sim-crema sim-ravdess --dataset-param sim-crema.speakers=12

$PY scripts/reality_check_summary.py "$OUT"
