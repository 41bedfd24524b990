"""Several corpora as one: ``emodb|turev`` is the union of their clips.

A union is how a model is trained on more than one corpus (a multi-corpus source, and the source of
leave-one-corpus-out). Each part is a corpus name or expression (``ravdess[half=1]+telephone|emodb``):
it is loaded, label-mapped and featurised as it would be alone, with its own ``--dataset-param``
settings, and the parts are stacked. In the stacked manifest a speaker is named ``CORPUS/SPEAKER``
(``emodb/03``), since corpora reuse speaker ids, and the ``corpus`` column names the part's corpus, so
that per-corpus normalisation and speaker checks see each corpus apart.

Two parts of one base corpus are refused: their clips could overlap (``ravdess[sex=male]|ravdess[intensity=strong]``);
one expression with ``[column=v1|v2]`` says the same without the ambiguity.
"""
from __future__ import annotations

from dataclasses import dataclass

from ser_bench.data.domains import base_corpus, union_parts
from ser_bench.errors import SerBenchError
from ser_bench.plugin_api.types import DatasetSpec

def speaker_name(corpus: str, speaker) -> str:
    """A speaker's name in a union: ``corpus/speaker``."""
    return f"{corpus}/{speaker}"


@dataclass(frozen=True)
class UnionSpec(DatasetSpec):
    """The ``DatasetSpec`` of a union: ``parts`` are the corpus names or expressions it stacks."""

    parts: tuple[str, ...] = ()


class _UnionLoader:
    """``load(ctx)`` of a union: every part's manifest at its default parameters, stacked (a run loads
    the parts itself, each with its own parameters: :func:`stack`)."""

    def __init__(self, specs: dict):
        self.specs = specs

    def __call__(self, ctx):
        return stack({part: spec.load(ctx) for part, spec in self.specs.items()})


def stack(manifests: dict):
    """One manifest from ``{part: manifest}``: speakers named ``CORPUS/SPEAKER`` and ``corpus`` the part's
    base corpus, rows in part order."""
    import pandas as pd

    frames = []
    for part, manifest in manifests.items():
        corpus = base_corpus(part)
        frame = manifest.copy()
        frame["corpus"] = corpus
        frame["speaker"] = [speaker_name(corpus, s) for s in frame["speaker"].astype(str)]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def union_spec(registry, text: str) -> UnionSpec:
    """The spec of the union ``text``: each part looked up (an unknown name or bad expression fails
    here), two parts of one base corpus refused."""
    parts = union_parts(text)
    specs = {part: registry.get("datasets", part) for part in parts}
    bases: dict = {}
    for part in parts:
        bases.setdefault(base_corpus(part), []).append(part)
    repeated = {base: named for base, named in bases.items() if len(named) > 1}
    if repeated:
        base, named = next(iter(repeated.items()))
        raise SerBenchError(f"corpus union {text!r} names {base} more than once ({', '.join(named)}): their clips "
                            f"could overlap. Select several values in one expression instead, e.g. "
                            f"{base}[column=value1|value2].")
    languages = sorted({spec.language for spec in specs.values()})
    return UnionSpec(name=text, load=_UnionLoader(specs), parts=parts,
                     summary="the union of " + ", ".join(parts), language="+".join(languages),
                     simulated=all(spec.simulated for spec in specs.values()),
                     licence="; ".join(f"{part}: {spec.licence}" for part, spec in specs.items()),
                     reference="; ".join(spec.reference for spec in specs.values() if spec.reference))


def parts_of(spec) -> tuple[str, ...]:
    """The parts of a union spec, ``()`` for any other dataset spec."""
    return tuple(getattr(spec, "parts", ()) or ())
