#!/usr/bin/env bash
# Regenerate every committed result folder under results/ with the exact commands used.
#   scripts/regenerate_results.sh /path/to/ravdess     (a RAVDESS copy; the simulated runs need nothing)
set -euo pipefail
RAVDESS=${1:?usage: $0 /path/to/ravdess}
SB="${SER_BENCH:-ser-bench} -q"
cd "$(dirname "$0")/.."
rm -rf results/sim-demo results/ravdess-idt results/feng2020 results/loss-zoo results/ratio-weight results/LEADERBOARD.md

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
# The ratio distance loss's weight (Eq. 1 is added to the pair BCE with weight 1 by default).
for target in sim-ravdess ravdess; do
    $SB run --protocol fewshot --loss bce_pair --source sim-crema,sim-enterface --target $target \
        --corpus-path ravdess="$RAVDESS" --preset demo --protocol-param fewshot.repeats=5 \
        --results results/ratio-weight/$target > /dev/null
    for weight in 0.1 0.3 1 3 10; do
        $SB run --protocol fewshot --loss ratio_distance --loss-param weight=$weight \
            --source sim-crema,sim-enterface --target $target --corpus-path ravdess="$RAVDESS" --preset demo \
            --protocol-param fewshot.repeats=5 --results results/ratio-weight/$target > /dev/null
    done
done

for d in results/sim-demo results/ravdess-idt; do
    $SB leaderboard "$d" -o "$d/LEADERBOARD.md"
done
for d in results/loss-zoo/*; do
    $SB leaderboard "$d" --paired "bce_pair (siamese)" -o "$d/LEADERBOARD.md"
done
for d in results/ratio-weight/*; do
    $SB leaderboard "$d" --paired bce_pair -o "$d/LEADERBOARD.md"
done
