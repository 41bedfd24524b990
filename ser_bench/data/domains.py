"""Corpus expressions: domain shifts built from the corpora at hand.

``BASE[column=value]...+channel[:param=value...]...`` names a view of a registered corpus:

- ``ravdess[sex=female]`` keeps the clips whose manifest column equals the value; several brackets AND
  together and ``v1|v2`` ORs values. ``sex`` and ``gender`` name the same column, whichever the
  manifest carries.
- ``ravdess[half=1]`` / ``[half=2]``: a fixed halving of the corpus's speakers, balanced by sex when the
  manifest records it, so that two halves share no speaker.
- ``+telephone``, ``+noise:snr=10``: channels (``ChannelSpec`` plugins) the audio passes through before
  feature extraction, in order.

:func:`corpus_view` turns an expression into a :class:`ViewSpec` (a ``DatasetSpec`` whose ``load``
filters and whose ``view.channels`` the feature extractor applies); the registry returns it for any
expression. Commas are refused because the command line splits lists on them.
"""
from __future__ import annotations

import difflib
import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ser_bench.errors import SerBenchError
from ser_bench.plugin_api.types import DatasetSpec

HALF = "half"  # the pseudo-column of the speaker halving
SEX_COLUMNS = ("sex", "gender")  # two names for one column: either works, whichever the manifest has
_NAME = re.compile(r"[A-Za-z0-9_.-]+")
SYNTAX = "BASE[column=value]...+channel[:param=value]..., e.g. ravdess[sex=female]+noise:snr=10"


@dataclass(frozen=True)
class Filter:
    """One bracket: keep the clips whose ``column`` holds one of ``values``."""

    column: str
    values: tuple[str, ...]

    def text(self) -> str:
        return f"[{self.column}={'|'.join(self.values)}]"


@dataclass(frozen=True)
class Expression:
    """A parsed corpus expression: the base corpus, its filters and its channels with their raw params."""

    text: str
    base: str
    filters: tuple[Filter, ...] = ()
    channels: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()  # (name, ((param, text), ...))


@dataclass(frozen=True)
class AppliedChannel:
    """A channel of a view with its parameters resolved (defaults filled in, types checked)."""

    name: str
    version: str
    params: Mapping[str, Any]
    build: Callable[..., Any]

    def record(self) -> dict:
        """What a result and the feature cache key record of this channel."""
        return {"name": self.name, "version": self.version, "params": dict(self.params)}


UNION_SEPARATOR = "|"  # emodb|turev: the union of two corpora (see ser_bench.data.unions)


def union_parts(text: str) -> tuple[str, ...]:
    """The parts of a union (``"emodb|turev"`` -> ``("emodb", "turev")``); ``()`` for a single corpus.
    A ``|`` inside brackets (``ravdess[sex=male|female]``) separates values of a filter, not corpora."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += (char == "[") - (char == "]")
        if char == UNION_SEPARATOR and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    if not parts:
        return ()
    parts.append(text[start:].strip())
    if not all(parts):
        raise SerBenchError(f"corpus union {text!r} has an empty part: write corpora separated by '|', e.g. "
                            "emodb|turev")
    return tuple(parts)


def is_union(text: str) -> bool:
    """Whether ``text`` names several corpora (``a|b``)."""
    return bool(union_parts(text))


def is_expression(name: str) -> bool:
    """Whether ``name`` is a corpus expression rather than a plain dataset name."""
    return "[" in name or "+" in name


def _refuse(text: str, problem: str) -> SerBenchError:
    return SerBenchError(f"corpus expression {text!r}: {problem}. The syntax is {SYNTAX}.")


def parse(text: str) -> Expression:
    """Split an expression into base, filters and channels; a malformed one raises saying what is wrong."""
    text = text.strip()
    if "," in text:
        raise _refuse(text, "commas separate list items on the command line, so an expression cannot hold "
                            "one: write v1|v2 to allow several values and ':' between channel parameters")
    head, plus, tail = text.partition("+")
    base, bracket, rest = head.partition("[")
    if not _NAME.fullmatch(base):
        raise _refuse(text, f"{base!r} is not a corpus name")
    filters = []
    rest = bracket + rest
    while rest:
        match = re.match(r"\[([^\[\]=]*)=([^\[\]]*)\]", rest)
        if not match:
            raise _refuse(text, f"{rest!r} is not a [column=value] filter (channels come after the filters)")
        column, values = match.group(1).strip(), tuple(v.strip() for v in match.group(2).split("|"))
        if not column or not all(values):
            raise _refuse(text, f"{match.group(0)!r} needs a column and one or more values")
        filters.append(Filter(column, values))
        rest = rest[match.end():]
    channels = []
    for segment in tail.split("+") if plus else []:
        name, *pairs = segment.split(":")
        if "[" in segment:
            raise _refuse(text, f"the filter in {'+' + segment!r} comes after a channel; filters come first, "
                                f"e.g. {base}[sex=female]+telephone")
        if not _NAME.fullmatch(name):
            raise _refuse(text, f"{segment!r} is not a channel (+name or +name:param=value)")
        params = []
        for pair in pairs:
            key, eq, value = pair.partition("=")
            if not eq or not key.strip() or not value.strip():
                raise _refuse(text, f"channel parameter {pair!r} of {name!r} is not param=value")
            params.append((key.strip(), value.strip()))
        channels.append((name, tuple(params)))
    return Expression(text=text, base=base, filters=tuple(filters), channels=tuple(channels))


def resolve_channels(registry, expression: Expression) -> tuple[AppliedChannel, ...]:
    """The expression's channels looked up and their parameters checked; each is built once here so that
    a bad value (a cross-parameter rule) fails before any work."""
    from ser_bench.plugin_api.params import check_params

    applied = []
    for name, pairs in expression.channels:
        spec = registry.get("channels", name)
        what = f"channel {name!r} in {expression.text!r}"
        params = {**dict(spec.params), **check_params(what, spec, dict(pairs))}
        spec.build(**params)
        applied.append(AppliedChannel(name=spec.name, version=str(spec.version), params=params, build=spec.build))
    return tuple(applied)


def _natural(speaker) -> tuple:
    text = str(speaker)
    return (0, int(text), text) if text.isdigit() else (1, 0, text)


def sex_column(manifest) -> str | None:
    """The manifest's sex column (``sex`` or ``gender``), or ``None``."""
    return next((c for c in SEX_COLUMNS if c in manifest.columns), None)


def speaker_halves(manifest) -> dict:
    """speaker -> 1 or 2: the speakers of each sex (in id order) go alternately to the two halves, so
    both halves have as many speakers and as many of each sex as can be (within one)."""
    column = sex_column(manifest)
    sexes = (manifest.groupby("speaker")[column].agg(lambda s: str(s.mode().iloc[0]) if s.notna().any() else "")
             if column else {})
    order = sorted(manifest["speaker"].unique(), key=lambda s: (str(sexes[s]) if column else "", _natural(s)))
    return {speaker: 1 + i % 2 for i, speaker in enumerate(order)}


def _column(manifest, wanted: str, text: str) -> str:
    if wanted in manifest.columns:
        return wanted
    if wanted in SEX_COLUMNS and sex_column(manifest):
        return sex_column(manifest)
    columns = sorted({*manifest.columns, HALF, *(SEX_COLUMNS if sex_column(manifest) else ())})
    close = difflib.get_close_matches(wanted, columns, n=2, cutoff=0.6)
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    raise SerBenchError(f"corpus expression {text!r}: the manifest has no column {wanted!r}.{hint} "
                        f"Columns: {', '.join(columns)}.")


def _values_text(values) -> str:
    shown = sorted(values, key=_natural)
    return ", ".join(shown[:30]) + (f" ... ({len(shown)} in all)" if len(shown) > 30 else "")


def select(manifest, expression: Expression):
    """The rows of ``manifest`` (the base corpus's) that every filter of ``expression`` keeps.

    Each value must select some clip of the base corpus (a misspelt value is an error listing the valid
    ones), and the filters together must leave at least one clip. The halving is computed on the whole
    base corpus, so filters commute: ``[sex=female][half=1]`` is ``[half=1][sex=female]``.
    """
    keep = None
    for flt in expression.filters:
        if flt.column == HALF:
            column = manifest["speaker"].map(speaker_halves(manifest)).astype(str)
            valid = {"1", "2"}
        else:
            column = manifest[_column(manifest, flt.column, expression.text)].astype(str)
            valid = set(column.unique())
        unknown = [v for v in flt.values if v not in valid]
        if unknown:
            raise SerBenchError(f"corpus expression {expression.text!r}: {flt.column}={'|'.join(unknown)} selects "
                                f"no clip of {expression.base}. Values of {flt.column}: {_values_text(valid)}.")
        chosen = column.isin(flt.values).to_numpy()
        keep = chosen if keep is None else keep & chosen
    if keep is None:
        return manifest
    if not keep.any():
        raise SerBenchError(f"corpus expression {expression.text!r}: the filters together select no clip of "
                            f"{expression.base} (each does alone); drop or change one.")
    return manifest[keep].reset_index(drop=True)


class _ViewLoader:
    """``load(ctx, **params)`` of a view: the base corpus's load, then :func:`select`. Its signature is
    the base's, so parameter checks see the base's parameters."""

    def __init__(self, base_load: Callable, expression: Expression):
        self.base_load = base_load
        self.expression = expression
        self.__signature__ = inspect.signature(base_load)

    def __call__(self, ctx, **params):
        return select(self.base_load(ctx, **params), self.expression)


@dataclass(frozen=True)
class CorpusView:
    """What a view adds to its ``DatasetSpec``: the base corpus, the filters and the resolved channels."""

    base: str = ""
    filters: tuple[Filter, ...] = ()
    channels: tuple[AppliedChannel, ...] = ()


@dataclass(frozen=True)
class ViewSpec(DatasetSpec):
    """The ``DatasetSpec`` of a corpus expression: the base corpus's, renamed, with a filtering ``load``."""

    view: CorpusView = field(default_factory=CorpusView)


def corpus_view(registry, text: str):
    """The ``DatasetSpec`` named ``text``: the base corpus's spec with ``name=text``, a filtering
    ``load`` and a ``view`` (:class:`CorpusView`) holding the channels. Every name, the syntax and each
    channel parameter is checked here; columns and values when the manifest is loaded."""
    from dataclasses import fields

    expression = parse(text)
    base = registry.get("datasets", expression.base)
    inherited = {f.name: getattr(base, f.name) for f in fields(DatasetSpec)}
    return ViewSpec(**{**inherited, "name": expression.text, "load": _ViewLoader(base.load, expression),
                       "summary": f"{base.summary}; view {expression.text}", "expected_speakers": (),
                       "expected_per_speaker": {}, "expected_clips": 0},
                    view=CorpusView(base=base.name, filters=expression.filters,
                                    channels=resolve_channels(registry, expression)))


def view_of(spec) -> CorpusView:
    """The view part of a dataset spec (empty for a plain corpus)."""
    return getattr(spec, "view", None) or CorpusView(base=spec.name)


def describe(registry, name: str) -> dict:
    """What a result records of a corpus: the expression, the base corpus, the filters and each channel
    with its resolved parameters and version; for a union (``emodb|turev``), that of each part."""
    parts = union_parts(name)
    if parts:
        return {"expression": name, "base": "union", "parts": [describe(registry, part) for part in parts]}
    view = view_of(registry.get("datasets", name))
    return {"expression": name, "base": view.base,
            "filters": [{"column": f.column, "values": list(f.values)} for f in view.filters],
            "channels": [c.record() for c in view.channels]}


def base_corpus(name: str) -> str:
    """The corpus an expression (or plain name) is a view of."""
    return parse(name).base if is_expression(name) else name


def speakers_by_corpus(name: str, manifest) -> dict:
    """``{base corpus: set of its speaker ids}`` of the clips of ``manifest`` (the corpus ``name``'s): one
    entry for a corpus or view, one per part for a union (whose speakers are named ``CORPUS/SPEAKER``)."""
    speakers = manifest["speaker"].astype(str)
    if not union_parts(name):
        return {base_corpus(name): set(speakers)}
    out: dict = {}
    for corpus, speaker in zip(manifest["corpus"].astype(str), speakers):
        out.setdefault(corpus, set()).add(speaker.removeprefix(f"{corpus}/"))
    return out


def with_filter(name: str, flt: str) -> str:
    """``name`` with the filter ``flt`` (``"[half=1]"``) inserted before its channels."""
    head, plus, tail = name.partition("+")
    return f"{head}{flt}{plus}{tail}"


def check_speakers_disjoint(source: str, source_manifest, target: str, target_manifest) -> None:
    """Refuse a source and target drawn from one base corpus that share speakers: a transfer claim
    would then be tested on voices the model was trained on. Different corpora may reuse speaker ids
    (``"01"``), so only views of the same base corpus are compared; a union (``emodb|ravdess[half=1]``)
    is compared part by part."""
    theirs = speakers_by_corpus(target, target_manifest)
    for corpus, ours in speakers_by_corpus(source, source_manifest).items():
        shared = sorted(ours & theirs.get(corpus, set()), key=_natural)
        if not shared:
            continue
        union = is_union(source) or is_union(target)
        if union:
            fix = (f"Leave {corpus} out of the source, or use speaker-disjoint views of it such as "
                   f"{corpus}[half=1] in the source and {corpus}[half=2] as the target")
        else:
            fix = (f"Use speaker-disjoint views, e.g. --source '{with_filter(source, '[half=1]')}' --target "
                   f"'{with_filter(target, '[half=2]')}', or split by a column, e.g. [sex=male] -> [sex=female]")
        verb = "both hold" if union else "are both"
        raise SerBenchError(
            f"source {source!r} and target {target!r} {verb} {corpus} and share {len(shared)} speakers "
            f"({_values_text(shared)}): the target would be tested on voices the source trained on. {fix}.")
