"""Calibration of the simulated corpora with a plain classifier (logistic regression on is09-64).

Reports 4-class (anger, happiness, sadness, fear) UAR for in-domain leave-one-speaker-out on a target
and for cross-corpus transfer from each source. Usage:

    python scripts/calibrate_simulator.py [--cache-dir DIR]
"""
from __future__ import annotations

import argparse

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import recall_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ser_bench.plugin_api.context import RunContext
from ser_bench.data.features import extract_features
from ser_bench.plugin_api.manager import load_registry

LABELS = ["anger", "happiness", "sadness", "fear"]


def corpus(registry, ctx, name):
    manifest = registry.get("datasets", name).load(ctx)
    feats = extract_features(manifest, registry.get("features", "is09-64"), None, ctx).values
    keep = manifest["emotion"].isin(LABELS).to_numpy()
    return manifest[keep].reset_index(drop=True), feats[keep]


def classifier():
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir")
    args = parser.parse_args()
    ctx = RunContext(**({"cache_dir": args.cache_dir} if args.cache_dir else {}))
    registry = load_registry()
    target_m, target_x = corpus(registry, ctx, "sim-ravdess")
    y = target_m["emotion"].to_numpy()
    uars = []
    for spk in sorted(target_m["speaker"].unique()):
        test = (target_m["speaker"] == spk).to_numpy()
        clf = classifier().fit(target_x[~test], y[~test])
        uars.append(recall_score(y[test], clf.predict(target_x[test]), average="macro"))
    print(f"sim-ravdess in-domain LOSO UAR: {100 * np.mean(uars):.1f} % (sd over speakers {100 * np.std(uars):.1f})")
    for source in ("sim-crema", "sim-enterface"):
        m, x = corpus(registry, ctx, source)
        clf = classifier().fit(x, m["emotion"].to_numpy())
        uar = recall_score(y, clf.predict(target_x), average="macro")
        print(f"{source} -> sim-ravdess cross-corpus UAR: {100 * uar:.1f} %")


if __name__ == "__main__":
    main()
