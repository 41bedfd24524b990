"""The emotions each corpus of a grid has, for the label set ``shared`` (what every corpus has)."""
from __future__ import annotations

from ser_bench.data.domains import union_parts


def grid_corpora(grid, registry) -> list[str]:
    """Every single corpus (or view) a grid reads, unions taken apart, in order of appearance (its
    sources only when one of its protocols takes a source)."""
    sourced = any(registry.get("protocols", p).needs_source for p in grid.protocols)
    return _parts(list(grid.loco) + list(grid.targets) + [s for s in grid.sources if s and sourced])


def grid_emotions(grid, registry, ctx) -> dict:
    """``{corpus: set of emotions}`` for every corpus of ``grid`` as a run would read it
    (:func:`corpus_emotions`)."""
    return corpus_emotions(grid_corpora(grid, registry), registry, ctx, grid.base)


def resolve_label_set(labels, corpora, registry, ctx, base: dict | None = None) -> tuple:
    """The emotions ``labels`` stands for over ``corpora``: a list as given (checked), a named set's
    emotions, or for ``shared`` the emotions every corpus (union parts apart) has, read with ``ctx``
    under ``base``'s ``dataset_params`` and ``label_maps`` (without ``ctx``: as the corpora's plugins
    declare them, :func:`declared_emotions`)."""
    from ser_bench.data.labels import LABEL_SETS, SHARED, named_set, shared_labels
    from ser_bench.errors import SerBenchError
    from ser_bench.plugin_api.params import check_labels

    if not isinstance(labels, str):
        return check_labels(labels)
    found = named_set(labels)
    if found is None:
        raise SerBenchError(f"no label set called {labels!r}: name one of {', '.join([*LABEL_SETS, SHARED])}, "
                            "or list emotions, comma-separated")
    if found != SHARED:
        return tuple(found)
    if ctx is None:
        return shared_labels(declared_emotions(corpora, registry, base or {}))
    return shared_labels(corpus_emotions(corpora, registry, ctx, base or {}))


def declared_emotions(corpora, registry, base: dict) -> dict:
    """``{corpus: set of emotions}`` as each corpus's plugin declares them (``DatasetSpec.label_map``),
    the user's label maps applied: what a complete copy has, known without reading it. A corpus that
    declares none (a CSV manifest) must be read: a :class:`SerBenchError` says so."""
    from ser_bench.data.domains import base_corpus
    from ser_bench.errors import SerBenchError

    out = {}
    for name in _parts(corpora):
        declared = set(dict(registry.get("datasets", name).label_map).values())
        if not declared:
            raise SerBenchError(f"the label set 'shared' needs the emotions of {name!r}, which only reading it tells: "
                                "expand the grid with a run context")
        mapping = dict((base.get("label_maps") or {}).get(base_corpus(name)) or {})
        out[name] = {mapping.get(e, e) for e in declared}
    return out


def _parts(corpora) -> list[str]:
    out: list[str] = []
    for name in corpora:
        for part in union_parts(name) or (name,):
            if part not in out:
                out.append(part)
    return out


def corpus_emotions(corpora, registry, ctx, base: dict) -> dict:
    """``{corpus: set of emotions}`` of each corpus (union parts apart) as a run reads it: its
    ``--dataset-param`` settings (``base["dataset_params"]``) and the user's label map
    (``base["label_maps"]``) applied. Reading a manifest lists and parses file names; no audio is decoded."""
    return {name: set(m["emotion"].dropna()) for name, m in _manifests(corpora, registry, ctx, base).items()}


def speaker_counts(corpora, registry, ctx, base: dict) -> dict:
    """``{corpus: number of speakers}`` of each of ``corpora`` (a union: of all its parts) with an
    emotion of ``base["labels"]``."""
    manifests = _manifests(corpora, registry, ctx, base)
    labels = set(base.get("labels") or ())
    out = {}
    for name in corpora:
        count = 0
        for part in union_parts(name) or (name,):
            m = manifests[part]
            count += m.loc[m["emotion"].isin(labels), "speaker"].nunique() if labels else m["speaker"].nunique()
        out[name] = count
    return out


def _manifests(corpora, registry, ctx, base: dict) -> dict:
    from ser_bench.running.cells import dataset_params_given
    from ser_bench.running.corpora import load_corpus

    given = base.get("dataset_params") or {}
    label_maps = base.get("label_maps") or {}
    before = len(ctx.skipped_files)
    try:
        return {name: load_corpus(name, dataset_params_given(given, name), registry, ctx, label_maps).manifest
                for name in _parts(corpora)}
    finally:
        # The run reads them again and lists what its loaders leave out; not twice.
        del ctx.skipped_files[before:]
