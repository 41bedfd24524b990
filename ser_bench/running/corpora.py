"""Corpora prepared for a run: each corpus a grid uses is loaded, label-filtered and featurised once.

Cells that use the same corpus with the same feature, labels and loader parameters share one
:class:`CorpusData` (keyed by :func:`corpus_key`); missing corpora are reported all at once, and a source
sharing speakers with its target is refused before any training.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Sequence

from ser_bench.data.domains import check_speakers_disjoint
from ser_bench.data.features import extract_features
from ser_bench.errors import CorpusNotFoundError, SerBenchError
from ser_bench.plugin_api.context import warn
from ser_bench.results.store import manifest_hash
from ser_bench.running.cells import Cell


@dataclass
class CorpusData:
    """A corpus ready for protocols: label-filtered manifest, feature matrix, skipped files, hash."""

    manifest: object
    features: object
    skipped: list
    manifest_hash: str
    n_clips_total: int
    label_map: dict = field(default_factory=dict)


def prepare_corpus(name: str, feature: str, labels: Sequence[str], dataset_params: dict, registry, ctx,
                   feature_params: dict | None = None, memo: dict | None = None) -> CorpusData:
    """Load a corpus, extract (or read cached) features, keep the clips whose emotion is in ``labels``.

    ``feature_params`` are the cell's (resolved) feature parameters; ``memo``, a dict the caller keeps,
    lets cells that use parts of one extraction (the layers of one model) read its cache once.

    Files the loader or the extractor could not use are an error naming each, or with
    ``ctx.skip_bad_files`` left out and listed in :attr:`CorpusData.skipped` (and so in every result).
    A corpus expression (``ravdess[sex=female]+telephone``) is loaded filtered, and its channels are
    applied to the audio before the features are extracted (and cached apart).
    """
    import numpy as np

    from ser_bench.data.domains import view_of

    spec = registry.get("datasets", name)
    already_skipped = len(ctx.skipped_files)
    manifest = spec.load(ctx, **dataset_params)
    loader_skipped = ctx.skipped_files[already_skipped:]
    # Only the clips of the label set are decoded and extracted: the others would be thrown away.
    wanted = manifest[manifest["emotion"].isin(list(labels)).to_numpy()].reset_index(drop=True)
    _check_labels(name, labels, wanted, manifest)
    matrix = extract_features(wanted, registry.get("features", feature), feature_params, ctx,
                              channels=view_of(spec).channels, memo=memo)
    # Only the files extract_features skipped (and listed, under --skip-bad-files) are left out here:
    # a clip is never dropped without being named in the result.
    keep = np.array([d is not None for d in matrix.digests], dtype=bool)
    kept = wanted[keep].reset_index(drop=True)
    _check_labels(name, labels, kept, manifest)
    digests = [d for d, k in zip(matrix.digests, keep) if k]
    skipped = sorted(loader_skipped) + sorted(matrix.skipped.values())
    if skipped:  # allowed by --skip-bad-files, and said at run time as well as in every result
        more = f"; ... and {len(skipped) - 3} more" if len(skipped) > 3 else ""
        warn(ctx, f"corpus {name!r}: {len(skipped)} files left out (--skip-bad-files), listed in the "
                   f"skipped_files of every result that uses it: {'; '.join(skipped[:3])}{more}")
    return CorpusData(manifest=kept, features=matrix.values[keep], skipped=skipped,
                      manifest_hash=manifest_hash(kept, digests), n_clips_total=len(manifest),
                      label_map=dict(spec.label_map))


def _check_labels(name: str, labels, clips, manifest) -> None:
    """Every label of the set must have clips (before extraction, and again once unusable files are out)."""
    missing = sorted(set(labels) - set(clips["emotion"]))
    if missing:
        raise SerBenchError(f"corpus {name!r} has no clips of {missing}; its emotions are "
                            f"{sorted(manifest['emotion'].unique())}. Choose another label set with --labels.")


def corpus_key(cell: Cell, role: str):
    """What makes two cells share a prepared corpus in ``role`` (``None`` when the cell has no such role)."""
    name = getattr(cell, role)
    if not name:
        return None
    return (name, cell.feature, cell.labels, json.dumps(cell.dataset_params.get(name, {}), sort_keys=True),
            json.dumps(cell.feature_params, sort_keys=True))


def prepare_all(cells: list, registry, ctx) -> dict:
    """Every corpus the cells use, prepared once (features come from the cache after the first run)."""
    corpora: dict = {}
    missing: list = []
    memo: dict = {}  # stored feature matrices, shared by cells that use parts of one extraction
    for cell in cells:
        for role in ("source", "target"):
            key = corpus_key(cell, role)
            if key and key not in corpora and key[0] not in {m[0] for m in missing}:
                try:
                    corpora[key] = prepare_corpus(key[0], cell.feature, cell.labels,
                                                  cell.dataset_params.get(key[0], {}), registry, ctx,
                                                  feature_params=cell.feature_params, memo=memo)
                except CorpusNotFoundError as exc:
                    missing.append((key[0], exc))
    if missing:  # say everything that is missing at once, not one corpus per attempt
        raise CorpusNotFoundError("\n\n".join(str(exc) for _, exc in missing))
    for cell in cells:  # before any training: a source sharing speakers with its target is refused
        if cell.source:
            check_speakers_disjoint(cell.source, corpora[corpus_key(cell, "source")].manifest,
                                    cell.target, corpora[corpus_key(cell, "target")].manifest)
    return corpora


def roles_of(cell: Cell, corpora: dict) -> dict:
    """``{role: CorpusData}`` of the corpora ``cell`` uses (target, and source when it has one)."""
    return {role: corpora[corpus_key(cell, role)] for role in ("target", "source") if getattr(cell, role)}
