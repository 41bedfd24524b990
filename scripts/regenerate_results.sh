#!/usr/bin/env bash
# Regenerate every committed result folder under results/ with the exact commands used.
#   scripts/regenerate_results.sh /path/to/ravdess     (a RAVDESS copy; the simulated runs need nothing)
set -euo pipefail
RAVDESS=${1:?usage: $0 /path/to/ravdess}
SB="${SER_BENCH:-ser-bench} -q"
cd "$(dirname "$0")/.."
rm -rf results/sim-demo results/ravdess-idt results/feng2020 results/loss-zoo results/LEADERBOARD.md

# The demo (make demo), committed.
$SB run --loss bce_pair,ratio_distance --source sim-crema --target sim-ravdess --preset demo \
    --results results/sim-demo > /dev/null
# The paper's IDT on the real RAVDESS.
$SB run --loss bce_pair,ratio_distance --protocol idt --target ravdess --corpus-path ravdess="$RAVDESS" \
    --results results/ravdess-idt > /dev/null
# The paper's whole grid: simulated corpora, then the real RAVDESS as target.
$SB reproduce feng2020 --source sim-crema,sim-enterface --target sim-ravdess > /dev/null
$SB reproduce feng2020 --source sim-crema,sim-enterface --target ravdess --corpus-path ravdess="$RAVDESS" > /dev/null
# Every loss under the few-shot protocol.
LOSSES=bce_pair,ratio_distance,cross_entropy,contrastive,triplet,supcon,multi_similarity,pml:ArcFaceLoss,continuous_slope,log_ratio
$SB run --protocol fewshot --loss $LOSSES --source sim-crema --target sim-ravdess --preset demo \
    --protocol-param fewshot.repeats=5 --results results/loss-zoo/sim-crema__sim-ravdess > /dev/null
$SB run --protocol fewshot --loss $LOSSES --source sim-crema --target ravdess --corpus-path ravdess="$RAVDESS" \
    --preset demo --protocol-param fewshot.repeats=5 --results results/loss-zoo/sim-crema__ravdess > /dev/null

for d in results/sim-demo results/ravdess-idt results/loss-zoo/*; do
    $SB leaderboard "$d" -o "$d/LEADERBOARD.md"
done
