"""Corpora prepared for a run: each corpus a grid uses is loaded, label-mapped, label-filtered and
featurised once.

Cells that use the same corpus with the same feature, labels, label maps and loader parameters share one
:class:`CorpusData` (keyed by :func:`corpus_key`). Before any feature is extracted, every corpus of the
run is read: missing corpora are reported all at once, a label set some corpus lacks is refused naming
what each corpus has, and a source sharing speakers with its target is refused. A union of corpora
(``emodb|turev``, :mod:`ser_bench.data.unions`) is prepared part by part and stacked.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Sequence

from ser_bench.data.domains import base_corpus, check_speakers_disjoint, union_parts
from ser_bench.data.features import extract_features
from ser_bench.data.labels import apply_label_map, missing_labels
from ser_bench.data.unions import parts_of, stack
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


@dataclass
class LoadedCorpus:
    """One corpus (or view) as its loader gave it, the user's label map applied: every clip, the files
    the loader left out (``--skip-bad-files``) and the map from the corpus's codes to the names used."""

    name: str
    spec: object
    manifest: object
    loader_skipped: list
    label_map: dict


def load_corpus(name: str, dataset_params: dict, registry, ctx, label_maps: dict | None = None) -> LoadedCorpus:
    """Read the manifest of the corpus or view ``name`` (not a union) and apply the user's label map of
    its base corpus (``label_maps[base]``, ``{from: to}``)."""
    spec = registry.get("datasets", name)
    already_skipped = len(ctx.skipped_files)
    manifest = spec.load(ctx, **dataset_params).reset_index(drop=True)
    loader_skipped = list(ctx.skipped_files[already_skipped:])
    check_listed_once(name, manifest)
    mapping = dict((label_maps or {}).get(base_corpus(name)) or {})
    manifest = apply_label_map(manifest, mapping, base_corpus(name))
    composed = {code: mapping.get(emotion, emotion) for code, emotion in dict(spec.label_map).items()}
    if mapping and not spec.label_map:  # a corpus whose names are already the vocabulary's (csv)
        composed = dict(mapping)
    return LoadedCorpus(name=name, spec=spec, manifest=manifest, loader_skipped=loader_skipped, label_map=composed)


def prepare_corpus(name: str, feature: str, labels: Sequence[str], dataset_params: dict, registry, ctx,
                   feature_params: dict | None = None, memo: dict | None = None, label_maps: dict | None = None,
                   loaded: dict | None = None) -> CorpusData:
    """Load a corpus, extract (or read cached) features, keep the clips whose emotion is in ``labels``.

    ``feature_params`` are the cell's (resolved) feature parameters; ``memo``, a dict the caller keeps,
    lets cells that use parts of one extraction (the layers of one model) read its cache once;
    ``label_maps`` the user's renamings (``{corpus: {from: to}}``); ``loaded`` corpora already read
    (``{name: LoadedCorpus}``), not read again.

    Files the loader or the extractor could not use are an error naming each, or with
    ``ctx.skip_bad_files`` left out and listed in :attr:`CorpusData.skipped` (and so in every result).
    A corpus expression (``ravdess[sex=female]+telephone``) is loaded filtered, and its channels are
    applied to the audio before the features are extracted (and cached apart). A union (``emodb|turev``)
    takes ``dataset_params`` per part (``{part: params}``) and is prepared part by part, then stacked.
    """
    import numpy as np

    from ser_bench.data.domains import view_of

    spec = registry.get("datasets", name)
    parts = parts_of(spec)
    if parts:
        pieces = {part: prepare_corpus(part, feature, labels, dataset_params.get(part, {}), registry, ctx,
                                       feature_params=feature_params, memo=memo, label_maps=label_maps,
                                       loaded=loaded) for part in parts}
        return _stacked(pieces)
    corpus = (loaded or {}).get(name) or load_corpus(name, dataset_params, registry, ctx, label_maps)
    manifest = corpus.manifest
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
    kept["digest"] = digests  # the content hash of each clip: the audio-leak checks of every split read it
    check_one_speaker_per_recording(name, kept)
    skipped = sorted(corpus.loader_skipped) + sorted(matrix.skipped.values())
    if skipped:  # allowed by --skip-bad-files, and said at run time as well as in every result
        more = f"; ... and {len(skipped) - 3} more" if len(skipped) > 3 else ""
        warn(ctx, f"corpus {name!r}: {len(skipped)} files left out (--skip-bad-files), listed in the "
                   f"skipped_files of every result that uses it: {'; '.join(skipped[:3])}{more}")
    return CorpusData(manifest=kept, features=matrix.values[keep], skipped=skipped,
                      manifest_hash=manifest_hash(kept, digests), n_clips_total=len(manifest),
                      label_map=corpus.label_map)


def check_listed_once(name: str, manifest) -> None:
    """Refuse a manifest that lists one file twice (a CSV with every row repeated, or one clip under two
    emotions or speakers), naming the file, its rows and what they say, before any work."""
    import pandas as pd

    paths = pd.Series(resolved(manifest["path"].tolist()), index=manifest.index)
    repeated = paths[paths.duplicated(keep=False)]
    if repeated.empty:
        return
    lines = []
    for path, rows in list(repeated.groupby(repeated, sort=False).groups.items())[:5]:
        said = manifest.loc[rows, [c for c in ("speaker", "emotion") if c in manifest]].astype(str)
        # A CSV manifest says which row of the file (as a spreadsheet numbers them, the header row 1).
        where = [f"row {manifest.loc[i, 'row']}: " if "row" in manifest else "" for i in rows]
        what = "; ".join(w + ", ".join(f"{c} {v}" for c, v in said.loc[i].items()) for w, i in zip(where, rows))
        conflict = " (they disagree)" if len(said.drop_duplicates()) > 1 else ""
        lines.append(f"{path} is listed {len(rows)} times{conflict}: {what}")
    more = f"\n... and {repeated.nunique() - 5} more files" if repeated.nunique() > 5 else ""
    raise SerBenchError(f"corpus {name!r} lists {repeated.nunique()} file(s) more than once:\n"
                        + "\n".join(lines) + more + "\nList each clip once, with one speaker and one emotion.")


def resolved(paths) -> list:
    """``str(Path(p).resolve())`` of each of ``paths``, resolving each folder once: a corpus of 100,000
    clips lies in a few hundred folders, and resolving every path whole took 2 s per 10,000 clips.

    A path whose last part is a symbolic link (or ``.``, ``..``, empty) is resolved whole, so the result is
    what ``Path.resolve`` gives for every path."""
    import os
    from collections import Counter

    from ser_bench.data.path_parts import in_folders, join_name

    parts = in_folders(paths, os.path.realpath)
    listed = Counter(folder for _, folder, _ in parts if folder is not None)
    links: dict = {}  # folder -> names of its symbolic links, for folders that list many clips
    out = []
    for path, folder, name in parts:
        if folder is None:
            out.append(os.path.realpath(path))
            continue
        if folder not in links:
            links[folder] = _symlinks_in(folder) if listed[folder] >= _LISTING_FROM else None
        full = join_name(folder, name)
        known = links[folder]
        out.append(os.path.realpath(path) if (name in known if known is not None else os.path.islink(full)) else full)
    return out


# From this many clips listed in one folder on, the folder is listed once (one system call per few dozen
# entries, with each entry's type) rather than each clip asked whether it is a link (one call per clip).
_LISTING_FROM = 64


def _symlinks_in(folder: str):
    """The names of the symbolic links in ``folder``; None when it cannot be listed (each path is then
    asked on its own, as for a small folder)."""
    import os

    try:
        with os.scandir(folder) as entries:
            return {entry.name for entry in entries if entry.is_symlink()}
    except OSError:
        return None


def check_one_speaker_per_recording(name: str, manifest) -> None:
    """Refuse identical audio under two speakers (the same recording listed again as another speaker): it
    would sit on both sides of a speaker-independent split. Identical audio within one speaker (RAVDESS
    has such a pair) is allowed: each split reports it if it crosses (``audio_overlap``)."""
    speakers = manifest.groupby("digest")["speaker"].nunique()
    shared = speakers[speakers > 1]
    if shared.empty:
        return
    lines = []
    for digest in shared.index[:5]:
        rows = manifest[manifest["digest"] == digest]
        lines.append(" = ".join(f"{p} (speaker {s})" for p, s in zip(rows["path"], rows["speaker"])))
    more = f"\n... and {len(shared) - 5} more recordings" if len(shared) > 5 else ""
    raise SerBenchError(f"corpus {name!r}: {len(shared)} recording(s) appear under more than one speaker (identical "
                        "audio content), which would put the same clip on both sides of a speaker-independent "
                        "split:\n" + "\n".join(lines) + more + "\nKeep one copy of each, under its speaker.")


def _stacked(pieces: dict) -> CorpusData:
    """One :class:`CorpusData` from the prepared parts of a union (``{part: CorpusData}``), in part order;
    its hash is over the parts' names and hashes."""
    import numpy as np

    digest = hashlib.sha256("".join(f"{part}|{data.manifest_hash}\n" for part, data in pieces.items()).encode())
    return CorpusData(manifest=stack({part: data.manifest for part, data in pieces.items()}),
                      features=np.concatenate([data.features for data in pieces.values()]),
                      skipped=[f for data in pieces.values() for f in data.skipped],
                      manifest_hash=digest.hexdigest(),
                      n_clips_total=sum(data.n_clips_total for data in pieces.values()),
                      label_map={part: data.label_map for part, data in pieces.items()})


def _check_labels(name: str, labels, clips, manifest) -> None:
    """Every label of the set must have clips (before extraction, and again once unusable files are out)."""
    missing = sorted(set(labels) - set(clips["emotion"].unique()))  # unique(): no Python loop over clips
    if missing:
        raise SerBenchError(f"corpus {name!r} has no clips of {missing}; its emotions are "
                            f"{sorted(manifest['emotion'].unique())}. Choose another label set with --labels.")


def dataset_params_of(cell: Cell, name: str) -> dict:
    """The loader parameters ``prepare_corpus`` takes for the corpus ``name`` of ``cell``: the corpus's own,
    or for a union ``{part: params}``."""
    parts = union_parts(name)
    if parts:
        return {part: cell.dataset_params.get(part, {}) for part in parts}
    return cell.dataset_params.get(name, {})


def corpus_key(cell: Cell, role: str):
    """What makes two cells share a prepared corpus in ``role`` (``None`` when the cell has no such role)."""
    name = getattr(cell, role)
    if not name:
        return None
    return (name, cell.feature, cell.labels, json.dumps(dataset_params_of(cell, name), sort_keys=True),
            json.dumps(cell.feature_params, sort_keys=True), json.dumps(cell.label_maps, sort_keys=True))


def load_all(cells: list, registry, ctx) -> dict:
    """Every corpus (or union part) the cells use, read once: ``{(name, params, maps): LoadedCorpus}``.
    Missing corpora are reported all at once; then a label set some corpus lacks is refused, naming what
    each corpus has, and a source sharing speakers with its target is refused: all before any work."""
    loaded: dict = {}
    missing: list = []
    for cell in cells:
        for role in ("source", "target"):
            name = getattr(cell, role)
            for part in (union_parts(name) or (name,)) if name else ():
                key = _load_key(cell, part)
                if key in loaded or part in {m[0] for m in missing}:
                    continue
                try:
                    loaded[key] = load_corpus(part, cell.dataset_params.get(part, {}), registry, ctx, cell.label_maps)
                except CorpusNotFoundError as exc:
                    missing.append((part, exc))
    if missing:  # say everything that is missing at once, not one corpus per attempt
        raise CorpusNotFoundError("\n\n".join(str(exc) for _, exc in missing))
    problems: list = []
    # Once per corpus, not per cell: a grid of a thousand cells over one corpus of 100,000 clips.
    found = {key: set(corpus.manifest["emotion"].dropna().unique()) for key, corpus in loaded.items()}
    for cell in cells:
        emotions = {part: found[_load_key(cell, part)]
                    for name in filter(None, (cell.source, cell.target)) for part in (union_parts(name) or (name,))}
        problem = missing_labels(cell.labels, emotions)
        if problem and problem not in problems:
            problems.append(problem)
    if problems:
        raise SerBenchError("\n".join(problems))
    for cell in cells:
        _check_validation_speakers(cell, registry, loaded)
    for cell in cells:  # before any training: a source sharing speakers or files with its target is refused
        if cell.source:
            source, target = _labelled(cell, cell.source, loaded), _labelled(cell, cell.target, loaded)
            check_speakers_disjoint(cell.source, source, cell.target, target)
            _check_files_disjoint(cell.source, source, cell.target, target)
    return loaded


def _check_files_disjoint(source: str, source_manifest, target: str, target_manifest) -> None:
    """Refuse a source and target that list the same audio file (two names for one corpus, such as two
    ``csv:NAME`` corpora read from one manifest): the speaker check compares one corpus's views only."""
    ours = set(resolved(source_manifest["path"]))
    shared = sorted(str(p) for p, full in zip(target_manifest["path"], resolved(target_manifest["path"]))
                    if full in ours)
    if shared:
        more = f" ... ({len(shared)} in all)" if len(shared) > 3 else ""
        raise SerBenchError(f"source {source!r} and target {target!r} share {len(shared)} audio files "
                            f"({', '.join(shared[:3])}{more}): the target would be tested on clips the source "
                            "trained on. Point them at different corpora or speaker-disjoint views.")


def _check_validation_speakers(cell: Cell, registry, loaded: dict) -> None:
    """A tuned cell's ``validation_speakers`` must leave speakers to train (and test) on, in the domain its
    protocol validates on: said before any work, not when the cell starts."""
    wanted = int((cell.tuning or {}).get("validation_speakers") or 0)
    if not wanted:
        return
    spec = registry.get("protocols", cell.protocol)
    domain = (cell.tuning or {}).get("validation_on") or spec.validation_on[0]
    name = cell.source if domain == "source" else cell.target
    if not name:
        return
    speakers = _labelled(cell, name, loaded)["speaker"].nunique()
    if wanted >= speakers:
        raise SerBenchError(f"--validation-speakers {wanted}: {name} has {speakers} speakers with these labels, "
                            f"and tuning {cell.protocol} sets {domain} speakers aside, so at most {speakers - 1} "
                            "can validate (leave the option out for a quarter of them)")


def _load_key(cell: Cell, part: str) -> tuple:
    return (part, json.dumps(cell.dataset_params.get(part, {}), sort_keys=True),
            json.dumps(cell.label_maps.get(base_corpus(part), {}), sort_keys=True))


def _labelled(cell: Cell, name: str, loaded: dict):
    """The clips of ``name`` (stacked, for a union) with an emotion of the cell's label set."""
    frames = {part: loaded[_load_key(cell, part)].manifest for part in (union_parts(name) or (name,))}
    frames = {part: m[m["emotion"].isin(list(cell.labels)).to_numpy()] for part, m in frames.items()}
    return stack(frames) if union_parts(name) else frames[name]


def prepare_all(cells: list, registry, ctx) -> dict:
    """Every corpus the cells use, prepared once (features come from the cache after the first run).
    A source holding a recording of its target (identical audio) is refused once features are read."""
    loaded = load_all(cells, registry, ctx)
    corpora: dict = {}
    memo: dict = {}  # stored feature matrices, shared by cells that use parts of one extraction
    for cell in cells:
        for role in ("source", "target"):
            key = corpus_key(cell, role)
            if key and key not in corpora:
                name = getattr(cell, role)
                mine = {part: loaded[_load_key(cell, part)] for part in (union_parts(name) or (name,))}
                corpora[key] = prepare_corpus(name, cell.feature, cell.labels, dataset_params_of(cell, name),
                                              registry, ctx, feature_params=cell.feature_params, memo=memo,
                                              label_maps=cell.label_maps, loaded=mine)
    for cell in cells:
        if cell.source:
            source, target = (corpora[corpus_key(cell, role)].manifest for role in ("source", "target"))
            _check_recordings_disjoint(cell.source, source, cell.target, target)
    return corpora


def _check_recordings_disjoint(source: str, source_manifest, target: str, target_manifest) -> None:
    """Refuse a source and target holding the same recording (identical audio under other names)."""
    ours = dict(zip(source_manifest["digest"], source_manifest["path"]))
    shared = [(ours[d], p) for d, p in zip(target_manifest["digest"], target_manifest["path"]) if d in ours]
    if shared:
        shown = "; ".join(f"{a} = {b}" for a, b in shared[:3])
        shown += f" ... ({len(shared)} in all)" if len(shared) > 3 else ""
        raise SerBenchError(f"source {source!r} and target {target!r} hold {len(shared)} identical recording(s) "
                            f"({shown}): the target would be tested on clips the source trained on.")


def roles_of(cell: Cell, corpora: dict) -> dict:
    """``{role: CorpusData}`` of the corpora ``cell`` uses (target, and source when it has one)."""
    return {role: corpora[corpus_key(cell, role)] for role in ("target", "source") if getattr(cell, role)}
