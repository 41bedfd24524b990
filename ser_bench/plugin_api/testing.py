"""Conformance checks for plugin authors: call them from your plugin's tests.

    from ser_bench.plugin_api.testing import check_loss
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

from ser_bench.plugin_api.manager import PluginSettings, load_registry


def _registry(registry):
    return registry or load_registry(PluginSettings.from_env())


def _encoder_for(registry, kinds, input_dim=8):
    for entry in registry.entries("encoders"):
        if entry.spec.kind in kinds:
            model = entry.spec.build(input_dim=input_dim, **entry.spec.params)
            if any(True for _ in model.parameters()):  # a loss must be tested on something it can train
                return model
    raise AssertionError(f"no registered trainable encoder of kind {kinds} to test the loss with")


def _blobs(n_per_class=12, classes=(0, 1, 2), dim=8, seed=0):
    """Well separated Gaussian clusters: (x, y) with ``n_per_class`` clips of each class."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    centres = 6.0 * torch.eye(dim)[: max(classes) + 1]
    y = torch.tensor([c for c in classes for _ in range(n_per_class)])
    return centres[y] + torch.randn(len(y), dim, generator=gen), y


def _check_defaults(registry, spec) -> None:
    """``encoder="auto"`` and ``head="auto"`` of a loss give a cell that runs, not a skipped one."""
    from ser_bench.running.cells import DEFAULT_ENCODER
    from ser_bench.model.heads import incompatibility

    encoder_name = spec.default_encoder or DEFAULT_ENCODER
    encoder, head = registry.get("encoders", encoder_name), registry.get("heads", spec.default_head)
    reason = incompatibility(head, spec, encoder)
    assert reason is None, f"loss {spec.name!r}: its default encoder and head do not fit: {reason}"


def _check_fitted_by_head(name, spec, registry, loss_fn) -> None:
    """A method with nothing to train: its build gives an object, and its head does the learning."""
    import torch

    from ser_bench.running.cells import DEFAULT_ENCODER
    from ser_bench.model.heads import get_head

    assert loss_fn is not None, f"loss {name!r} (trains=False): build() must return an object, not None"
    encoder = registry.get("encoders", spec.default_encoder or DEFAULT_ENCODER)
    torch.manual_seed(0)
    model = encoder.build(input_dim=8, **encoder.params)
    x, y = _blobs()
    pred = get_head(registry, spec.default_head)(model, x[1::2], x[::2], y[::2], 3, rule="mean")
    accuracy = (pred == y[1::2]).float().mean().item()
    assert accuracy > 0.9, (f"loss {name!r} (trains=False) with its default encoder and head reaches only "
                            f"{accuracy:.2f} accuracy on well separated clusters")


def check_loss(name: str, registry=None) -> None:
    """A loss gives a finite scalar whose gradients reach the encoder (and its own weights, if it has
    any), copes with a batch of one class or one sample, is deterministic under a seed, and has
    JSON-serialisable parameters. ``name`` may carry a variant (``pml:ArcFaceLoss``).

    Every loss's default encoder and head must exist and fit it. A loss with ``trains=False`` (a method
    fitted by its head alone) needs no gradient: its ``build`` must return an object, and its default
    head on its default encoder must classify well separated clusters."""
    import torch

    from ser_bench.running.evaluation import build_loss
    from ser_bench.plugin_api.registry import variant
    from ser_bench.plugin_api.types import LossContext

    registry = _registry(registry)
    spec = registry.get("losses", name)
    params = {**spec.params, **({"variant": variant(name)} if variant(name) else {})}
    json.dumps(params)
    _check_defaults(registry, spec)
    if not spec.trains:
        context = LossContext(num_classes=3, embedding_dim=8, input_dim=8)
        return _check_fitted_by_head(name, spec, registry, build_loss(registry, name, params, context))

    def value(x, y, seed=0):
        torch.manual_seed(seed)
        model = _encoder_for(registry, spec.encoder_kinds)
        with torch.no_grad():
            dim = model.embed(x[:1]).shape[1]
        loss_fn = build_loss(registry, name, params, LossContext(num_classes=4, embedding_dim=dim, input_dim=8))
        targets = tuple(getattr(loss_fn, "targets", ("emotion",)))
        if targets != ("emotion",):  # continuous labels in [-1, 1], one column per target
            y = torch.linspace(-1, 1, len(y))[torch.randperm(len(y), generator=torch.Generator().manual_seed(1))]
            y = y if len(targets) == 1 else torch.stack([y, y.flip(0)], 1)
        return model, loss_fn, loss_fn(model, x, y)

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(12, 8, generator=gen)
    y = torch.tensor([0, 1, 2, 3] * 3)
    model, loss_fn, out = value(x, y)
    assert out.dim() == 0, f"loss {name!r} must return a scalar, got shape {tuple(out.shape)}"
    assert torch.isfinite(out), f"loss {name!r} is not finite on a random batch: {out}"
    try:
        out.backward()
    except RuntimeError as exc:
        raise AssertionError(f"loss {name!r}: no gradient reaches the encoder ({exc})") from None
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads), f"loss {name!r}: no gradient reaches the encoder"
    if isinstance(loss_fn, torch.nn.Module) and any(True for _ in loss_fn.parameters()):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in loss_fn.parameters()), \
            f"loss {name!r}: its own weights get no gradient"
    for xb, yb, what in ((x[:4], torch.zeros(4, dtype=torch.long), "one class"), (x[:1], y[:1], "one sample")):
        _, _, o = value(xb, yb)
        assert torch.isfinite(o), f"loss {name!r} is not finite on a batch with {what}: {o}"
    assert value(x, y, 3)[2].item() == value(x, y, 3)[2].item(), f"loss {name!r} is not deterministic under a seed"
    if spec.batchable:
        _check_batched(name, params, registry)


def _check_batched(name: str, params: dict, registry) -> None:
    """A loss declaring ``batchable`` trains, with every batchable encoder it fits, three models together
    (``fit_many``) to exactly the weights training each alone (``fit``) gives: bit for bit, on one thread."""
    import torch

    from ser_bench.model.batched import fit_many
    from ser_bench.model.training import fit
    from ser_bench.plugin_api.types import LossContext
    from ser_bench.running.evaluation import build_loss

    spec = registry.get("losses", name)
    encoders = [e.spec for e in registry.entries("encoders") if e.spec.batchable and e.spec.kind in spec.encoder_kinds]
    assert encoders, f"loss {name!r} is batchable but no registered batchable encoder fits it"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        gen = torch.Generator().manual_seed(0)
        # 21 clips in batches of 8 (8, 7, 6...: odd shapes), three epochs, with weight decay.
        data = [(torch.randn(21, 8, generator=gen), torch.randint(4, (21,), generator=gen)) for _ in range(3)]
        for encoder in encoders:
            runs = []
            for _ in range(2):
                pairs = []
                for i in range(3):
                    torch.manual_seed(i)
                    model = encoder.build(input_dim=8, **encoder.params)
                    with torch.no_grad():
                        dim = model.embed(data[0][0][:1]).shape[1]
                    pairs.append((model, build_loss(registry, name, params, LossContext(4, dim, 8), seed=10 + i)))
                runs.append(pairs)
            settings = {"epochs": 3, "batch_size": 8, "lr": 1e-2, "weight_decay": 1e-3}
            assert callable(getattr(runs[1][0][1], "batched", None)), \
                f"loss {name!r} declares batchable but what build returns has no batched(model, x, y)"
            for (model, loss), (x, y), seed in zip(runs[0], data, range(3)):
                fit(model, x, y, loss, seed=seed, **settings)
            fit_many([m for m, _ in runs[1]], [x for x, _ in data], [y for _, y in data], [lo for _, lo in runs[1]],
                     seeds=list(range(3)), batchable=True, **settings)
            for (alone, loss_alone), (together, loss_together) in zip(*runs):
                states = [dict(alone.state_dict()), dict(together.state_dict())]
                for state, loss in zip(states, (loss_alone, loss_together)):
                    if isinstance(loss, torch.nn.Module):
                        state.update({f"loss.{k}": v for k, v in loss.state_dict().items()})
                differ = [k for k in states[0] if not torch.equal(states[0][k], states[1][k])]
                assert not differ, (f"loss {name!r} declares batchable, but with encoder {encoder.name!r} training "
                                    f"together changes {differ} from training each model alone")
    finally:
        torch.set_num_threads(threads)


def check_encoder(name: str, registry=None) -> None:
    """An encoder builds for any input size, embeds a batch, and (Siamese) scores broadcast pairs."""
    import torch

    spec = _registry(registry).get("encoders", name)
    json.dumps(dict(spec.params))
    model = spec.build(input_dim=10, **spec.params)
    z = model.embed(torch.randn(5, 10))
    assert z.dim() == 2 and z.shape[0] == 5, f"encoder {name!r}: embed must return (batch, dim), got {tuple(z.shape)}"
    if spec.kind == "siamese":
        logits = model.pair_logits(z[:, None, :], z[None, :, :])
        assert logits.shape == (5, 5), \
            f"encoder {name!r}: pair_logits must broadcast to (Q, S), got {tuple(logits.shape)}"
        assert hasattr(model, "feature_layers"), f"encoder {name!r}: Siamese encoders need feature_layers()"
    if spec.batchable:
        _check_stacks(name, spec)


def _check_stacks(name: str, spec) -> None:
    """An encoder declaring ``batchable``: two copies stacked embed (and score pairs) as each alone."""
    import torch

    from ser_bench.model.stacked import stack_modules

    assert not hasattr(spec.build(input_dim=10, **spec.params), "combine_loss"), \
        f"encoder {name!r} declares batchable but has combine_loss (its own objective is not batched)"
    models = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        models.append(spec.build(input_dim=10, **spec.params))
    try:
        stacked = stack_modules(models)
    except ValueError as exc:
        raise AssertionError(f"encoder {name!r} declares batchable but cannot be stacked: {exc}") from None
    x = torch.randn(2, 5, 10, generator=torch.Generator().manual_seed(0))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # batched training is used, and bit for bit, on one thread
    try:
        with torch.no_grad():  # each model alone gets fresh tensors (a slice may start unaligned: other bits)
            z = stacked.embed(x)
            pairs = stacked.pair_logits(z[:, :3], z[:, 2:]) if spec.kind == "siamese" else None
            for m, model in enumerate(models):
                assert torch.equal(z[m], model.embed(x[m].clone())), \
                    f"encoder {name!r}: stacked embed differs from alone"
                if pairs is not None:
                    assert torch.equal(pairs[m], model.pair_logits(z[m, :3].clone(), z[m, 2:].clone())), \
                        f"encoder {name!r}: stacked pair_logits differs from alone"
    finally:
        torch.set_num_threads(threads)


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


class _Features:
    """The features as the embedding, for checking heads apart from any encoder."""

    def embed(self, x):
        return x


def check_head(name: str, registry=None) -> None:
    """A head returns one class index (``torch.long``) per test clip, predicts only classes present in
    the support set, copes with a single support class, is deterministic whatever the global seeds,
    accepts both decision rules, and (embedding heads) classifies well separated clusters."""
    import numpy as np
    import torch

    from ser_bench.model.heads import NEEDS, get_head

    registry = _registry(registry)
    spec = registry.get("heads", name)
    json.dumps(dict(spec.params))
    assert spec.needs in NEEDS, f"head {name!r}: needs must be one of {NEEDS}, not {spec.needs!r}"
    predict = get_head(registry, name)
    if spec.needs == "pair":
        torch.manual_seed(0)
        model = _encoder_for(registry, ("siamese",))
    else:
        model = _Features()
    x, y = _blobs(classes=(0, 2, 3))  # class 1 of 4 has no support clips
    x_sup, y_sup, x_test, y_test = x[::2], y[::2], x[1::2], y[1::2]

    def run(x_support, y_support, seed=0, rule="mean"):
        torch.manual_seed(seed)
        np.random.seed(seed)
        return predict(model, x_test, x_support, y_support, 4, rule=rule)

    pred = run(x_sup, y_sup)
    assert isinstance(pred, torch.Tensor) and pred.dtype == torch.long, \
        f"head {name!r} must return a LongTensor, got {type(pred).__name__} {getattr(pred, 'dtype', '')}"
    assert pred.shape == (len(x_test),), f"head {name!r}: expected shape ({len(x_test)},), got {tuple(pred.shape)}"
    assert set(pred.tolist()) <= {0, 2, 3}, f"head {name!r} predicts classes absent from the support set"
    assert torch.equal(pred, run(x_sup, y_sup, seed=1)), f"head {name!r} is not deterministic"
    run(x_sup, y_sup, rule="sum")
    single = run(x_sup[y_sup == 2], y_sup[y_sup == 2])
    assert single.tolist() == [2] * len(x_test), f"head {name!r}: a support set of one class must predict it"
    if spec.needs == "embedding":
        accuracy = (pred == y_test).float().mean().item()
        assert accuracy > 0.9, f"head {name!r} reaches only {accuracy:.2f} accuracy on well separated clusters"


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
