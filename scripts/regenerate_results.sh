#!/usr/bin/env bash
# Regenerate every committed result folder under results/ with the exact commands used.
#   scripts/regenerate_results.sh /path/to/ravdess     (a RAVDESS copy; the simulated runs need nothing)
# Every board runs three source-model seeds (0, 1, 2) and carries the baselines (logistic regression,
# linear SVM, softmax MLP) beside the metric-learning losses.
set -euo pipefail
RAVDESS=${1:?usage: $0 /path/to/ravdess}
SB="${SER_BENCH:-ser-bench} -q"
PY="${PYTHON:-python}"
cd "$(dirname "$0")/.."
rm -rf results/sim-demo results/ravdess-idt results/feng2020 results/loss-zoo results/ratio-weight \
    results/fewshot-source results/LEADERBOARD.md
BASELINES=logreg,linear_svm,softmax_mlp
REAL="--corpus-path ravdess=$RAVDESS"

# The demo (make demo), committed.
$SB run --loss bce_pair,ratio_distance,$BASELINES --source sim-crema --target sim-ravdess --preset demo \
    --results results/sim-demo --no-leaderboard
# The paper's IDT on the real RAVDESS, beside the baselines, with and without per-speaker z-scores;
# the baselines also on all 384 IS09 functionals.
$SB run --loss bce_pair,ratio_distance,$BASELINES --protocol idt --target ravdess $REAL \
    --normalise train,speaker --results results/ravdess-idt --no-leaderboard
$SB run --loss $BASELINES --protocol idt --target ravdess $REAL --feature is09 \
    --normalise train,speaker --results results/ravdess-idt --no-leaderboard
# The paper's whole grid: simulated corpora, then the real RAVDESS as target.
$SB reproduce feng2020 --source sim-crema,sim-enterface --target sim-ravdess > /dev/null
$SB reproduce feng2020 --source sim-crema,sim-enterface --target ravdess $REAL > /dev/null
# Few-shot that keeps what it knows: source clips rehearsed in fine-tuning and/or added to the support.
for target in sim-ravdess ravdess; do
    out=results/fewshot-source/sim-crema__$target
    for opts in "" "--protocol-param fewshot.rehearsal=8" "--protocol-param fewshot.source_support=8" \
                "--protocol-param fewshot.rehearsal=8 --protocol-param fewshot.source_support=8"; do
        # shellcheck disable=SC2086
        $SB run --protocol fewshot --loss bce_pair,softmax_mlp --source sim-crema --target $target $REAL \
            --preset demo --protocol-param fewshot.repeats=5 $opts --results $out --no-leaderboard
    done
done
# Every loss under the few-shot protocol, beside the baselines.
LOSSES=bce_pair,ratio_distance,cross_entropy,contrastive,triplet,supcon,multi_similarity,pml:ArcFaceLoss,continuous_slope,log_ratio
for target in sim-ravdess ravdess; do
    $SB run --protocol fewshot --loss $LOSSES,$BASELINES --source sim-crema --target $target $REAL --preset demo \
        --protocol-param fewshot.repeats=5 --results results/loss-zoo/sim-crema__$target --no-leaderboard
done
# The ratio distance loss's weight (Eq. 1 is added to the pair BCE with weight 1 by default).
for target in sim-ravdess ravdess; do
    $SB run --protocol fewshot --loss bce_pair --source sim-crema,sim-enterface --target $target $REAL \
        --preset demo --protocol-param fewshot.repeats=5 --results results/ratio-weight/$target --no-leaderboard
    for weight in 0.1 0.3 1 3 10; do
        $SB run --protocol fewshot --loss ratio_distance --loss-param weight=$weight \
            --source sim-crema,sim-enterface --target $target $REAL --preset demo \
            --protocol-param fewshot.repeats=5 --results results/ratio-weight/$target --no-leaderboard
    done
done
# What the decision rule does when support classes are unbalanced (fixed models, varied support).
$PY scripts/decision_rule_imbalance.py --ravdess "$RAVDESS" --out results/decision-rule

# Every method tuned with the same budget beside its defaults (writes its own boards and SUMMARY.md).
rm -rf results/reality-check
scripts/reality_check.sh "$RAVDESS"

# Real transfer between RAVDESS, EmoDB and TurEV-DB (about 4 hours on 2 cores; reads ../shared/data or
# CROSS_CORPUS_DATA, see scripts/cross_corpus.sh).
if [ -d "${CROSS_CORPUS_DATA:-../shared/data}" ]; then
    rm -rf results/cross-corpus
    scripts/cross_corpus.sh "${CROSS_CORPUS_DATA:-../shared/data}" > /dev/null
fi

# Every board (markdown and web page) from the records just computed.
scripts/render_boards.sh "$RAVDESS"
