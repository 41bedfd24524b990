"""Conformance checks for plugin authors: call them from your plugin's tests.

    from ser_bench.plugin_kit.testing import check_loss
    def test_my_loss():
        check_loss("my_loss")

There is one check per plugin kind: ``check_dataset``, ``check_feature``, ``check_encoder``,
``check_loss``, ``check_protocol``, ``check_executor``, ``check_recipe``, ``check_head`` and
``check_channel``; :data:`CHECKS` maps each kind to its check. ``check_defaults`` (every kind) checks
that a spec's declared defaults are its factory's, so the two cannot drift apart.

Each check raises ``AssertionError`` with a message saying what the plugin got wrong.
"""
from __future__ import annotations

import inspect
import json

from ser_bench.plugin_kit.model_checks import _registry, check_encoder, check_head, check_loss


def check_dataset(name: str, ctx, registry=None, **params) -> None:
    """A dataset's manifest has the required columns, one speaker and one emotion per clip, known labels."""
    from ser_bench.data.labels import VOCABULARY

    spec = _registry(registry).get("datasets", name)
    json.dumps(dict(spec.params))
    manifest = spec.load(ctx, **{**spec.params, **params})
    missing = {"path", "speaker", "emotion", "corpus"} - set(manifest.columns)
    assert not missing, f"dataset {name!r}: manifest lacks columns {sorted(missing)}"
    assert len(manifest), f"dataset {name!r}: empty manifest"
    unknown = set(manifest["emotion"]) - set(VOCABULARY)
    assert not unknown, f"dataset {name!r}: emotions {sorted(unknown)} are not in the common vocabulary"
    assert manifest["path"].is_unique, f"dataset {name!r}: duplicate paths in the manifest"
    assert manifest["speaker"].notna().all(), f"dataset {name!r}: clips without a speaker"


def _speech_like(sample_rate: int, seconds: float = 1.0, seed: int = 0):
    """A voiced test signal: a 140 Hz harmonic series under a syllable-rate envelope, plus a little noise."""
    import numpy as np

    t = np.arange(int(seconds * sample_rate)) / sample_rate
    voice = sum(np.sin(2 * np.pi * 140 * h * t) / h for h in range(1, 30) if 140 * h < sample_rate / 2)
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)
    noise = 0.01 * np.random.default_rng(seed).standard_normal(len(t))
    return (0.3 * voice / np.max(np.abs(voice)) * envelope + noise).astype(np.float32)


def check_channel(name: str, registry=None) -> None:
    """A channel's defaults are JSON-able and it has a version; what it builds takes
    ``(signal, sample_rate, seed)`` at 16 and 22.05 kHz and returns a finite mono float signal with a
    sample rate, of about the input's duration, without changing its input; the same seed gives the
    same output."""
    import numpy as np

    spec = _registry(registry).get("channels", name)
    json.dumps(dict(spec.params))
    assert isinstance(spec.version, str) and spec.version, f"channel {name!r}: version must be a non-empty string"
    apply = spec.build(**spec.params)
    assert callable(apply), f"channel {name!r}: build() must return apply(signal, sample_rate, seed)"
    for rate in (16000, 22050):
        signal = _speech_like(rate)
        before = signal.copy()
        returned = apply(signal, rate, 1234)
        assert isinstance(returned, tuple) and len(returned) == 2, \
            f"channel {name!r}: apply must return (signal, sample_rate), got {type(returned).__name__}"
        out, out_rate = returned
        out = np.asarray(out)
        assert np.array_equal(signal, before), f"channel {name!r} changed its input array in place"
        assert isinstance(out_rate, (int, np.integer)) and out_rate > 0, \
            f"channel {name!r}: sample rate {out_rate!r} is not a positive whole number"
        assert out.ndim == 1 and np.isfinite(out).all(), f"channel {name!r}: output is not a finite mono signal"
        seconds = len(out) / out_rate
        assert abs(seconds - len(signal) / rate) < 0.05, \
            f"channel {name!r}: {len(signal) / rate:.2f} s in, {seconds:.2f} s out"
        assert np.any(out), f"channel {name!r} returned silence for speech-like input"
        again, _ = apply(signal.copy(), rate, 1234)
        assert np.array_equal(out, np.asarray(again)), f"channel {name!r}: the same seed gave another output"


# The callables each kind's spec is built or called through (the factories of :mod:`types`).
FACTORIES = {"datasets": ("load",), "features": ("build",), "encoders": ("build",), "losses": ("build",),
             "protocols": ("splits", "validation"), "executors": ("build",), "recipes": ("cells", "report"),
             "heads": ("predict",), "channels": ("build",)}


def _declared(kind: str, spec) -> dict:
    return dict(spec.options if kind == "recipes" else spec.params)


def check_defaults(kind: str, name: str, registry=None) -> None:
    """A spec's declared defaults (``params``; a recipe's ``options``) are JSON-able and are exactly its
    factories' keyword defaults (:func:`ser_bench.plugin_api.params.defaults_of`: same names, same
    values and types, tuples read as lists), so the two cannot drift; each declared name is accepted
    by every factory. A factory default of ``None`` means "not set": it may go undeclared, or be
    declared as ``None`` or an empty list or mapping (a mutable default cannot sit in a signature)."""
    from ser_bench.plugin_api.params import defaults_of
    from ser_bench.plugin_api.types import SINGULAR

    spec = _registry(registry).get(kind, name)
    what = f"{SINGULAR[kind]} {name!r}"
    declared = _declared(kind, spec)
    try:
        json.dumps(declared)
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"{what}: declared defaults are not JSON-able ({exc})") from None
    for attr in FACTORIES[kind]:
        factory = getattr(spec, attr, None)
        if factory is None:
            continue
        signature = inspect.signature(factory)
        open_ended = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
        unaccepted = sorted(set(declared) - set(signature.parameters)) if not open_ended else []
        assert not unaccepted, f"{what}: {attr}() does not take the declared parameters {unaccepted}"
        for key, value in defaults_of(factory, kind).items():
            if key not in declared:
                assert value is None, (f"{what}: {attr}() has the default {key}={value!r}, which the spec does "
                                       f"not declare; declare params=defaults_of({attr})")
            elif value is None:
                assert declared[key] in (None, [], {}), (
                    f"{what}: {attr}() leaves {key} unset (None) but the spec declares {key}={declared[key]!r}")
            else:
                assert json.dumps(value) == json.dumps(declared[key]), (
                    f"{what}: the spec declares {key}={declared[key]!r} but {attr}() defaults to {value!r}; "
                    f"declare params=defaults_of({attr}) so the default is written once")


def _protocol_data(target_speakers: int = 24, source_speakers: int = 12, clips: int = 2):
    """A synthetic :class:`ProtocolData`: four emotions, ``clips`` clips of each per speaker; the sizes
    of the paper's corpora, so the protocols' own defaults (few-shot k up to 20) apply."""
    import pandas as pd

    from ser_bench.plugin_api.types import ProtocolData

    emotions = ("anger", "happiness", "sadness", "fear")

    def manifest(prefix, speakers):
        return pd.DataFrame([{"path": f"{prefix}{s}-{e}-{i}.wav", "speaker": f"{prefix}{s}", "emotion": e,
                              "corpus": prefix} for s in range(speakers) for e in emotions for i in range(clips)])

    return ProtocolData(target=manifest("tgt", target_speakers), source=manifest("src", source_speakers))


def _check_splits(what: str, splits, manifests: dict) -> None:
    """Splits are :class:`Split` records with uniquely named, in-range, non-empty parts, speaker-disjoint
    unless a split says overlap is its design (``info["speaker_overlap_allowed"]``)."""
    from ser_bench.errors import ProtocolError
    from ser_bench.plugin_api.types import Split, Subset
    from ser_bench.running.splits import check_speaker_disjoint

    assert isinstance(splits, list) and splits, f"{what} must return a non-empty list of Split"
    names = [getattr(s, "name", None) for s in splits]
    assert len(set(names)) == len(names), f"{what}: split names repeat"
    for split in splits:
        assert isinstance(split, Split), f"{what}: returned a {type(split).__name__}, not a Split"
        for part_name in ("train", "support", "test", "finetune"):
            part = getattr(split, part_name)
            if part is None and part_name == "finetune":
                continue
            for subset in part if isinstance(part, tuple) else (part,):
                assert isinstance(subset, Subset), f"{what}: {split.name}.{part_name} is not a Subset"
                frame = manifests.get(subset.domain)
                assert frame is not None, f"{what}: {split.name}.{part_name} uses the {subset.domain!r} domain, absent"
                bad = [i for i in subset.indices if not 0 <= int(i) < len(frame)]
                assert not bad, f"{what}: {split.name}.{part_name} has indices out of range: {bad[:5]}"
        assert split.test.indices, f"{what}: {split.name} tests on nothing"
        try:
            check_speaker_disjoint(split, manifests)
        except ProtocolError as exc:
            raise AssertionError(f"{what}: {exc}") from None
        json.dumps(dict(split.info), default=str)


def check_protocol(name: str, registry=None) -> None:
    """A protocol's splits, with its declared defaults, on a synthetic corpus of the paper's size: a
    non-empty list of :class:`Split` whose indices lie in their domain's manifest, speaker-disjoint
    where the protocol promises it, the same for the same seed; a protocol without ``needs_source``
    works without a source. Its ``validation()``, if declared, gives such splits too, and leaves target
    speakers to test on (the runner drops every target speaker validation touches from the test)."""
    from ser_bench.plugin_api.types import ProtocolData
    from ser_bench.running.splits import speakers_touched

    spec = _registry(registry).get("protocols", name)
    params = dict(spec.params)
    json.dumps(params)
    data = _protocol_data()
    if not spec.needs_source:
        data = ProtocolData(target=data.target)
    if spec.example is not None:  # the columns the protocol reads beyond speakers and emotions
        data = spec.example(data)
    manifests = {"target": data.target, **({"source": data.source} if data.source is not None else {})}
    what = f"protocol {name!r}"
    try:
        splits = spec.splits(data, seed=0, **params)
    except Exception as exc:
        hint = "" if spec.needs_source else " (without needs_source=True it gets no source: data.source is None)"
        raise AssertionError(f"{what}: splits() with its declared defaults raised {exc!r}{hint}") from exc
    _check_splits(what, splits, manifests)
    assert splits == spec.splits(data, seed=0, **params), f"{what} is not deterministic for a seed"
    if spec.validation is None:
        return
    held = spec.validation(data, seed=0, speakers=0, **params)
    _check_splits(f"{what} validation", held, manifests)
    assert held == spec.validation(data, seed=0, speakers=0, **params), f"{what}: validation is not deterministic"
    touched = speakers_touched(held, manifests, "target")
    assert touched < set(data.target["speaker"]), f"{what}: validation touches every target speaker"


def check_feature(name: str, registry=None) -> None:
    """A feature extractor gives ``columns`` of its declared ``dim`` and, from a short speech-like
    waveform at the pipeline's sample rate, a finite float vector of that size; the same clip gives the
    same numbers; the input is not changed; the version is a non-empty string.

    A feature whose defaults need something a machine may lack is checked with its ``example``
    parameters (e.g. a tiny random model written to a scratch folder), resolved as a cell's are. A
    ``batched`` one also gives each clip of a batch its own vector (within 1e-4 of the clip alone:
    padding must not leak into a clip's features), and one with ``store``/``select`` gives the same
    numbers from the stored extraction as directly."""
    import tempfile

    import numpy as np

    from ser_bench.data.audio import SAMPLE_RATE
    from ser_bench.data.features import feature_dim

    spec = _registry(registry).get("features", name)
    json.dumps(dict(spec.params))
    what = f"feature {name!r}"
    assert isinstance(spec.version, str) and spec.version, f"{what}: version must be a non-empty string"
    with tempfile.TemporaryDirectory() as scratch:
        params = dict(spec.params) if spec.example is None else {**spec.params, **spec.example(scratch)}
        if spec.resolve is not None:
            params = spec.resolve(**params)
            json.dumps(params)
            assert spec.resolve(**params) == params, f"{what}: resolving resolved parameters changed them"
        dim = feature_dim(spec, params)
        extractor = spec.build(**params)
        assert len(list(extractor.columns)) == dim, f"{what}: {len(list(extractor.columns))} columns, dim {dim}"
        signal = _speech_like(SAMPLE_RATE, seconds=1.0)
        before = signal.copy()
        vector = np.asarray(extractor(signal, SAMPLE_RATE))
        assert np.array_equal(signal, before), f"{what} changed its input array in place"
        assert vector.shape == (dim,), f"{what}: expected a vector of {dim}, got shape {vector.shape}"
        assert np.issubdtype(vector.dtype, np.floating), f"{what}: values are {vector.dtype}, not floats"
        assert np.isfinite(vector).all(), f"{what}: values are not finite on a 1 s speech-like clip"
        again = np.asarray(spec.build(**params)(signal.copy(), SAMPLE_RATE))
        assert np.array_equal(vector, again), f"{what}: the same clip gave other numbers"
        if spec.batched:
            longer = _speech_like(SAMPLE_RATE, seconds=2.5, seed=1)
            pair = [np.asarray(v) for v in extractor.batch([signal, longer], SAMPLE_RATE)]
            assert len(pair) == 2, f"{what}: batch() of two clips returned {len(pair)} vectors"
            for got, alone, clip in ((pair[0], vector, "the shorter"), (pair[1], extractor(longer, SAMPLE_RATE),
                                                                          "the longer")):
                assert np.allclose(got, alone, rtol=1e-4, atol=1e-4 * np.abs(alone).max()), (
                    f"{what}: {clip} clip's features change when it is batched with another clip "
                    f"(max difference {np.abs(got - alone).max():.3g}): the padding leaks into them")
        if spec.store is not None:
            stored = spec.store(**params)
            whole = np.asarray(spec.build(**stored)(signal, SAMPLE_RATE))[None]
            assert whole.shape == (1, feature_dim(spec, stored)), f"{what}: the stored extraction has shape {whole.shape}"
            part = np.asarray(spec.select(whole, **params))
            assert np.allclose(part[0], vector, rtol=1e-5, atol=1e-6), \
                f"{what}: select() of the stored extraction differs from the feature extracted directly"


class ConformanceError(Exception):
    """Raised on purpose by the function :func:`check_executor` maps, to see it come back as a value."""


def _square_or_fail(item: int) -> int:
    if item == 3:
        raise ConformanceError("item 3 fails on purpose")
    return item * item


def check_executor(name: str, registry=None, workers: int = 2) -> None:
    """An executor built with ``workers`` maps a function over items and yields every item once as
    ``(item, result)``; an item whose function raises comes back as ``(item, exception)`` while the
    others still run; an empty list yields nothing; ``close()`` may be called twice."""
    spec = _registry(registry).get("executors", name)
    json.dumps(dict(spec.params))
    what = f"executor {name!r}"
    executor = spec.build(workers=workers, **spec.params)
    try:
        got = list(executor.map_unordered(_square_or_fail, range(6)))
        assert all(isinstance(pair, tuple) and len(pair) == 2 for pair in got), f"{what}: yield (item, result) pairs"
        items = sorted(item for item, _ in got)
        assert items == list(range(6)), f"{what} returned items {items}, not each of 0..5 once"
        results = dict(got)
        assert isinstance(results[3], ConformanceError), \
            f"{what}: a failing item must come back as its exception, got {results[3]!r}"
        assert {i: results[i] for i in range(6) if i != 3} == {i: i * i for i in range(6) if i != 3}, \
            f"{what}: wrong results {results}"
        assert list(executor.map_unordered(_square_or_fail, [])) == [], f"{what}: an empty map yields nothing"
    finally:
        executor.close()
    executor.close()


def check_recipe(name: str, registry=None) -> None:
    """A recipe's options are JSON-able, its default sources and targets are registered datasets,
    ``cells(registry, sources, targets, **options)`` gives a non-empty list of distinct cells whose
    plugins are all registered, and ``report(results, out_dir, sources=..., targets=..., **options)``
    takes what the command line passes it."""
    from ser_bench.running.cells import Cell

    registry = _registry(registry)
    spec = registry.get("recipes", name)
    what = f"recipe {name!r}"
    options = dict(spec.options)
    json.dumps(options)
    assert spec.default_sources and spec.default_targets, f"{what}: name default sources and targets"
    for corpus in (*spec.default_sources, *spec.default_targets):
        registry.get("datasets", corpus)
    cells = spec.cells(registry, list(spec.default_sources), list(spec.default_targets), **options)
    assert isinstance(cells, list) and cells, f"{what}: cells() must return a non-empty list"
    assert all(isinstance(c, Cell) for c in cells), f"{what}: cells() must return Cell records"
    ids = [c.cell_id() for c in cells]
    assert len(set(ids)) == len(ids), f"{what}: cells() repeats {len(ids) - len(set(ids))} cells"
    for cell in cells:
        for kind, plugin in (("protocols", cell.protocol), ("losses", cell.loss), ("features", cell.feature),
                             ("datasets", cell.target), ("datasets", cell.source)):
            if plugin is not None:
                registry.get(kind, plugin)
    try:
        inspect.signature(spec.report).bind([], "out", sources=list(spec.default_sources),
                                            targets=list(spec.default_targets), **options)
    except TypeError as exc:
        raise AssertionError(f"{what}: report() cannot take what the command line passes it: {exc}") from None


CHECKS = {"datasets": check_dataset, "features": check_feature, "encoders": check_encoder, "losses": check_loss,
          "protocols": check_protocol, "executors": check_executor, "recipes": check_recipe,
          "heads": check_head, "channels": check_channel}
