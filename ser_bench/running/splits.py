"""What a split is made of: its parts, their identity (hashes), and the leakage checks run on each.

A part of a split (``finetune``, ``support``) is one :class:`~ser_bench.plugin_api.types.Subset` or a tuple of
them from different domains, e.g. the k target speakers' clips plus source clips rehearsed alongside.
"""
from __future__ import annotations

import hashlib

import numpy as np

from ser_bench.errors import ProtocolError
from ser_bench.plugin_api.types import Split, Subset


def parts(part) -> tuple[Subset, ...]:
    """The subsets of a split part: ``()`` for ``None``, ``(s,)`` for one subset, the tuple otherwise."""
    if part is None:
        return ()
    return (part,) if isinstance(part, Subset) else tuple(part)


def gather(values: dict, part):
    """Rows of ``part`` (one subset or several domains') from ``{domain: tensor}``, concatenated."""
    import torch

    pieces = [values[p.domain][list(p.indices)] for p in parts(part)]
    return pieces[0] if len(pieces) == 1 else torch.cat(pieces)


def size(part) -> int:
    """Number of rows in a split part, over all its domains."""
    return sum(len(p.indices) for p in parts(part))


def _digest(*pieces) -> str:
    h = hashlib.sha1()
    for piece in pieces:
        h.update(repr(tuple((p.domain, p.indices) for p in parts(piece))).encode())
    return h.hexdigest()[:16]


def split_hash(split: Split) -> str:
    """SHA-1 of every index set of a split: equal hashes mean identical data on every side."""
    return _digest(split.train, split.finetune, split.support, split.test)


def episode_hash(split: Split) -> str:
    """SHA-1 of the test set and the labelled clips drawn from the test domain.

    Two methods evaluated on the same episode draw share it even when one of them also rehearses or
    supports with source clips, so they can be compared pairwise on identical target data.
    """
    domain = split.test.domain
    own = lambda part: tuple(p for p in parts(part) if p.domain == domain)  # noqa: E731
    return _digest(own(split.finetune), own(split.support), split.test)


def _rows_of(part, domain: str) -> list[int]:
    return [i for p in parts(part) if p.domain == domain for i in p.indices]


def check_speaker_disjoint(split: Split, manifests: dict) -> list[str]:
    """Speakers on both the training side and the test side of a split (same domain).

    Raises :class:`ProtocolError` when there are any, unless the split allows overlap by design
    (``info["speaker_overlap_allowed"]``), in which case they are returned to be recorded.
    """
    domain = split.test.domain
    speakers = _speakers(manifests[domain])
    test_speakers = set(speakers[list(split.test.indices)].tolist())
    seen = set()
    for part in (split.train, split.finetune, split.support):
        seen.update(speakers[_rows_of(part, domain)].tolist())
    overlap = sorted(seen & test_speakers)
    if overlap and not split.info.get("speaker_overlap_allowed"):
        raise ProtocolError(f"split {split.name!r} leaks speakers into its test set: {overlap[:10]}")
    return overlap


def audio_overlap(split: Split, manifests: dict) -> list[str]:
    """Test clips whose audio (content hash, the manifest's ``digest`` column) is also on the training side
    of ``split``, in any domain: the names of those test files. A speaker-independent split can hold
    none (the corpora are checked for one recording under two speakers); the paper's "remaining samples"
    few-shot variant can, when a speaker recorded the same take twice, and records it. Raises
    :class:`ProtocolError` otherwise."""
    frames = {d: m for d, m in manifests.items() if m is not None and "digest" in m}
    test = frames.get(split.test.domain)
    if test is None:
        return []
    repeated = _repeated_digests(frames)
    if not repeated:  # no recording is in the data twice (the usual case): nothing can overlap
        return []
    seen = set()
    for part in (split.train, split.finetune, split.support):
        for p in parts(part):
            if p.domain in frames:
                digests = _strings(frames[p.domain], "digest", lambda m: m["digest"].to_numpy(dtype=object))
                seen.update(d for d in digests[list(p.indices)] if d in repeated)
    tested = test.iloc[list(split.test.indices)]
    found = sorted(str(path) for path, d in zip(tested["path"], tested["digest"]) if d in seen)
    if found and not split.info.get("speaker_overlap_allowed"):
        raise ProtocolError(f"split {split.name!r} tests {len(found)} clip(s) whose identical audio it also trains "
                            f"or is supported on: {found[:3]}")
    return found


_REPEATED: dict = {}  # ids of the manifests -> (the manifests, digests found on more than one row)


def _repeated_digests(frames: dict) -> set:
    """Content hashes on more than one row of ``frames`` (all domains together), worked out once."""
    key = tuple(sorted((d, id(m)) for d, m in frames.items()))
    hit = _REPEATED.get(key)
    if hit is None or any(hit[0][d] is not m for d, m in frames.items()):
        if len(_REPEATED) > 16:
            _REPEATED.clear()
        counts: dict = {}
        for m in frames.values():
            for d in m["digest"].tolist():
                counts[d] = counts.get(d, 0) + 1
        hit = _REPEATED[key] = (dict(frames), {d for d, n in counts.items() if n > 1})
    return hit[1]


def sentence_overlap(split: Split, manifests: dict) -> list[str]:
    """Sentences (texts) heard on both sides of a split within one corpus; reported, not an error."""
    test = manifests[split.test.domain]
    if "sentence" not in test:
        return []
    sentences = _sentences(test)
    seen = set()
    for part in (split.train, split.finetune, split.support):
        seen.update(sentences[_rows_of(part, split.test.domain)].tolist())
    heard = seen & set(sentences[list(split.test.indices)].tolist())
    heard.discard(None)
    return sorted(heard)


_COLUMNS: dict = {}  # (id(manifest), column) -> (manifest, the column as an object array of str)


def _strings(manifest, column: str, convert) -> np.ndarray:
    """``convert(manifest)`` (a column as an object array), computed once per manifest and column: every
    split of a cell asks (thousands in a few-shot grid), and pandas per call cost milliseconds."""
    key = (id(manifest), column)
    hit = _COLUMNS.get(key)
    if hit is None or hit[0] is not manifest:
        if len(_COLUMNS) > 32:
            _COLUMNS.clear()
        hit = _COLUMNS[key] = (manifest, convert(manifest))
    return hit[1]


def _sentences(manifest) -> np.ndarray:
    """The ``sentence`` column as str (None where missing)."""
    def convert(m):
        column = m["sentence"]
        return np.array([None if missing else str(v) for v, missing in zip(column.tolist(), column.isna())],
                        dtype=object)

    return _strings(manifest, "sentence", convert)


def _speakers(manifest) -> np.ndarray:
    """The ``speaker`` column as str (``astype(str)``'s values, as the speaker check has always compared)."""
    return _strings(manifest, "speaker", lambda m: np.array(m["speaker"].astype(str).tolist(), dtype=object))


def unlabelled_rows(split: Split, manifests: dict) -> tuple[str, list[int]] | None:
    """Clips of the fine-tuning speakers (test domain) that are neither labelled nor tested: free
    unlabelled data for semi-supervised encoders. ``(domain, rows)``, or ``None`` without fine-tuning."""
    domain = split.test.domain
    labelled = _rows_of(split.finetune, domain)
    if not labelled:
        return None
    frame = manifests[domain]
    speakers = set(frame["speaker"].iloc[labelled])
    excluded = set(labelled) | set(split.test.indices)
    rows = [int(i) for i in np.flatnonzero(frame["speaker"].isin(speakers).to_numpy()) if i not in excluded]
    return domain, rows


def choose_speakers(manifest, n: int, seed: int, stream: str, minimum: int = 2) -> list[str]:
    """``n`` speakers of ``manifest`` drawn from the stream ``(seed, stream)`` (0: a quarter of them, at
    least ``minimum``), sorted. Tuning uses it to pick validation speakers; the draw depends on nothing
    else, so every method of a grid is tuned and tested on the same speakers."""
    import zlib

    speakers = sorted(set(manifest["speaker"].astype(str)))
    wanted = int(n) if n else max(minimum, round(len(speakers) / 4))
    if wanted < minimum or wanted >= len(speakers):
        raise ProtocolError(f"{wanted} validation speakers impossible with {len(speakers)} speakers: choose "
                            f"between {minimum} and {len(speakers) - 1} (--validation-speakers)")
    rng = np.random.default_rng([int(seed), zlib.crc32(stream.encode())])
    return sorted(rng.choice(speakers, size=wanted, replace=False).tolist())


def rows_of_speakers(manifest, speakers) -> tuple[int, ...]:
    """Row indices of ``manifest`` whose speaker is in ``speakers``."""
    return tuple(int(i) for i in np.flatnonzero(manifest["speaker"].astype(str).isin(list(speakers)).to_numpy()))


def speakers_touched(splits, manifests: dict, domain: str = "target") -> set[str]:
    """Every speaker of ``domain`` that any part (train, fine-tune, support, test) of ``splits`` uses."""
    frame = manifests[domain]["speaker"].astype(str)
    rows = set()
    for split in splits:
        for part in (split.train, split.finetune, split.support, split.test):
            rows.update(_rows_of(part, domain))
    return set(frame.iloc[sorted(rows)]) if rows else set()
