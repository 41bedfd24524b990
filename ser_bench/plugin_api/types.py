"""Frozen records that plugin hooks return, and the plain values that flow between stages.

Hooks return *specs*: a name, JSON-able default parameters, human text, and a factory. Factories are
called at run time with the context they need (input size, number of classes, ...), so a spec never
holds a live model or a loaded corpus.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Literal, Mapping, Optional, Protocol, runtime_checkable

Params = Mapping[str, Any]
# The contract's closed vocabularies: a spec holding another value is refused when it registers.
EncoderKind = Literal["siamese", "embedding"]  # siamese: also pair_logits and feature_layers
LossOutput = Literal["pair", "embedding"]  # what a loss trains: pair scores, or an embedding
HeadNeeds = Literal["embedding", "pair"]  # what a head asks of the model


@runtime_checkable
class Extractor(Protocol):
    """What ``FeatureSpec.build(**params)`` returns."""

    columns: list

    def __call__(self, signal, sample_rate: int) -> Any:
        """The clip's feature vector (a 1-d numpy array of ``dim`` numbers)."""


class Loss(Protocol):
    """What ``LossSpec.build(**params)`` returns for a method that trains: a callable (or a
    ``torch.nn.Module``) giving a scalar tensor."""

    def __call__(self, model, x, y) -> Any:
        """The loss of ``model`` on the batch ``x`` with targets ``y``."""


class Head(Protocol):
    """``HeadSpec.predict``."""

    def __call__(self, model, x_test, x_support, y_support, n_classes: int, rule: str = "mean",
                 **params) -> Any:
        """Class indices (a ``LongTensor``), one per test clip, naming only classes in ``y_support``."""


@runtime_checkable
class Executor(Protocol):
    """What ``ExecutorSpec.build(workers=None)`` returns (``start()`` is optional)."""

    workers: int

    def map_unordered(self, fn: Callable[[Any], Any], items: Iterable) -> Iterator[tuple]:
        """``(item, result or exception)`` as each item finishes."""

    def close(self) -> None:
        """Stop: items still running are abandoned."""


@dataclass(frozen=True)
class DatasetSpec:
    """A corpus. ``load(ctx, **params)`` returns a manifest DataFrame.

    ``load(ctx, **params)`` finds the corpus with ``ctx.find_corpus`` and reports unusable files with
    ``ctx.report_bad_file``. The manifest has one row per clip with columns ``path, speaker, emotion,
    corpus, language`` and, when the corpus records them, ``sentence, intensity, gender, arousal,
    valence``. ``emotion`` uses the common vocabulary (:data:`ser_bench.data.labels.VOCABULARY`); the
    ``expected_*`` fields describe a complete copy for ``ser-bench datasets check``.
    """

    name: str
    load: Callable[..., Any]
    summary: str
    params: Params = field(default_factory=dict)
    folder_names: tuple[str, ...] = ()
    simulated: bool = False
    homepage: str = ""
    licence: str = ""
    reference: str = ""
    language: str = "en"
    label_map: Mapping[str, str] = field(default_factory=dict)  # corpus code -> common vocabulary
    expected_speakers: tuple[str, ...] = ()  # speaker ids of a complete copy, when fixed
    expected_per_speaker: Mapping[str, int] = field(default_factory=dict)  # emotion -> clips per speaker
    expected_clips: int = 0
    bounds: Mapping[str, Any] = field(default_factory=dict)  # param -> ser_bench.plugin_api.params.Range, checked up front


@dataclass(frozen=True)
class FeatureSpec:
    """An acoustic feature extractor.

    ``build(**params)`` returns an object with ``columns`` (list of names) and
    ``__call__(signal, sample_rate) -> 1-d numpy array``. ``version`` is part of the cache key: bump it
    whenever the same audio would give different numbers. ``params`` are set per cell
    (``--feature-param NAME.KEY=VALUE``), recorded in its result and part of the cache key.

    The optional hooks below serve features whose parameters name something outside the code (a
    pretrained model) or select part of what one extraction gives; a feature without them (openSMILE
    functionals) keeps the plain per-clip path, run in worker processes.

    - ``dim``: the vector's length; 0 when it depends on the parameters, then ``dim_of(**params)`` gives it.
    - ``resolve(**params) -> params``: the parameters as this machine resolves them, called once per cell
      before anything runs: a model's revision and the hash of its files filled in, ``auto`` choices made.
      The cell records the result, so a changed model is another cell. Raise a ``SerBenchError`` for what
      cannot be used (a model that is not there, saying how to fetch it).
    - ``variants(**params) -> [params, ...]``: one cell per entry (``layers=all``: one cell per layer).
    - ``store(**params) -> params`` and ``select(values, **params) -> values``: what is extracted and
      cached (every layer) when a cell uses part of it, and how to take that part from the
      (clips x stored dim) matrix. Cells that differ only in the part share one cache and one extraction.
    - ``shares``: parameter names an encoder with a parameter of the same name receives from the cell's
      feature unless it is given its own (the layers a layer-weighted encoder mixes).
    - ``batched=True``: the built extractor also has ``batch(signals, sample_rate) -> [vector, ...]``;
      the core feeds it length-sorted batches (of at most ``batch_size`` clips and ``batch_samples``
      padded samples) in this process, decoding the next clips meanwhile at ``sample_rate``, and
      refuses clips shorter than ``min_samples`` (the model's receptive field) naming them.
    - ``example(folder) -> params``: parameters for a self-contained conformance check when the
      defaults need something a machine may lack (a downloaded model): e.g. a tiny random model
      written under ``folder``.
    - ``default=True``: the feature a cell uses when none is named (the built-in ``is09-64``); one
      feature in a registry says so (see :meth:`~ser_bench.plugin_api.registry.Registry.default`).
    """

    name: str
    build: Callable[..., Extractor]
    summary: str
    version: str
    dim: int
    params: Params = field(default_factory=dict)
    reference: str = ""
    dim_of: Optional[Callable[..., int]] = None
    resolve: Optional[Callable[..., dict]] = None
    variants: Optional[Callable[..., list]] = None
    store: Optional[Callable[..., dict]] = None
    select: Optional[Callable[..., Any]] = None
    shares: tuple[str, ...] = ()
    batched: bool = False
    example: Optional[Callable[..., dict]] = None
    default: bool = False


@dataclass(frozen=True)
class EncoderSpec:
    """A trainable network. ``build(input_dim, **params)`` returns a ``torch.nn.Module``.

    Every encoder provides ``embed(x)``; ``"siamese"`` ones also ``pair_logits(z_a, z_b)`` (scored with the
    support-set log-sum rule) and ``feature_layers()`` (what few-shot fine-tuning may freeze). An encoder
    with ``combine_loss(x, metric_loss, unlabelled)`` adds its own objective (e.g. reconstruction).

    ``batchable=True`` says that M copies of the module can be trained as one
    (:mod:`ser_bench.model.batched`): all its parameters are in ``nn.Linear`` layers (it has no
    buffers), the methods training calls (``embed``, ``pair_logits``) apply those layers and only
    row-wise operations on the last dimension, so that they run unchanged on ``[M, B, d]`` inputs once
    each ``nn.Linear`` holds M weight sets, it draws no random numbers, and it has no ``combine_loss``.
    Training is then batched where the loss has a batched twin too (an optimisation of some built-in
    losses, :mod:`ser_bench.model.twins`); otherwise (the default) one model at a time, with the same numbers.

    ``default=True``: the encoder of a loss that names no ``default_encoder`` (the built-in
    ``siamese-mlp``); one encoder in a registry says so.
    """

    name: str
    build: Callable[..., Any]
    summary: str
    kind: EncoderKind = "siamese"
    params: Params = field(default_factory=dict)
    reference: str = ""
    bounds: Mapping[str, Any] = field(default_factory=dict)  # param -> ser_bench.plugin_api.params.Range, checked up front
    search_space: Mapping[str, str] = field(default_factory=dict)  # param -> range text (ser_bench.plugin_api.search)
    batchable: bool = False
    default: bool = False


@dataclass(frozen=True)
class LossContext:
    """Run-time facts a loss factory may need (classifier and proxy losses size their weights by them)."""

    num_classes: int
    embedding_dim: int
    input_dim: int


@dataclass(frozen=True)
class LossSpec:
    """A training objective. ``build(**params)`` returns ``loss(model, x, y) -> scalar tensor``.

    With ``needs_context`` the factory is called as ``build(context=LossContext(...), **params)``. A
    loss that is a ``torch.nn.Module`` has its own parameters optimised with the encoder's. ``output``
    says what the loss trains: ``"pair"`` (a Siamese encoder's same/different decision, scored with the
    support-set log-sum rule) or ``"embedding"`` (scored by nearest prototype, k-NN or a linear probe).
    A loss object may set ``targets`` (e.g. ``("arousal",)``): the manifest columns it is trained on
    instead of the emotion class index. A ``variant`` parameter is filled from ``name:variant`` on the
    command line (``pml:CircleLoss``).

    ``trains=False`` marks a method with nothing to train by gradient (a classical baseline such as
    logistic regression on the features): the encoder is used as built and the head does all the
    fitting on the support set. ``default_encoder`` is the encoder a cell uses when none is named
    (``--encoder auto``); ``None`` means the registry's default encoder (the one whose spec says
    ``default=True``: the Siamese MLP of the paper). ``pretrain_loss`` is the loss that trains the source
    model before this one fine-tunes it (``--pretrain-loss auto``); ``None`` means the loss itself (the
    ratio distance loss names the pair BCE, as in the paper).
    """

    name: str
    build: Callable[..., Optional[Loss]]
    summary: str
    params: Params = field(default_factory=dict)
    reference: str = ""
    encoder_kinds: tuple[EncoderKind, ...] = ("siamese",)
    output: LossOutput = "pair"
    needs_context: bool = False
    default_head: str = "siamese"
    trains: bool = True
    default_encoder: Optional[str] = None
    bounds: Mapping[str, Any] = field(default_factory=dict)  # param -> ser_bench.plugin_api.params.Range, checked up front
    search_space: Mapping[str, str] = field(default_factory=dict)  # param -> range text (ser_bench.plugin_api.search)
    pretrain_loss: Optional[str] = None


@dataclass(frozen=True)
class HeadSpec:
    """An evaluation head: how a test clip gets a class from the labelled support set.

    ``predict(model, x_test, x_support, y_support, n_classes, rule="mean", **params)`` returns a
    ``LongTensor`` of class indices, one per test clip, naming only classes present in ``y_support``
    (a support set may lack classes, or hold a single one). ``params`` are JSON-able keyword arguments
    bound to ``predict`` when the head is looked up. ``needs`` says what the model must provide:
    ``"embedding"`` (only ``model.embed``; any encoder) or ``"pair"`` (a Siamese encoder's
    ``pair_logits``, trained with a pair loss).

    ``probabilities`` (optional) takes the arguments of ``predict`` (and the same bound ``params``) and
    returns the class probabilities of the test clips: a float tensor ``(len(x_test), n_classes)`` whose
    rows sum to 1, zero for classes absent from ``y_support``; its argmax should be what ``predict``
    returns. ``None``: the head gives none (a hinge-loss SVM). ``calibration`` says in one line, shown on
    boards, how they are obtained (a classifier's own ``predict_proba``; a softmax over the head's scores
    with a temperature fitted leave-one-out on the support set, as
    :func:`~ser_bench.plugin_kit.helpers.tempered_probabilities` does).
    """

    name: str
    predict: Head
    summary: str
    needs: HeadNeeds = "embedding"
    reference: str = ""
    params: Params = field(default_factory=dict)
    search_space: Mapping[str, str] = field(default_factory=dict)  # param -> range text (ser_bench.plugin_api.search)
    probabilities: Optional[Callable[..., Any]] = None  # like predict; -> (test clips, n_classes) rows summing to 1
    calibration: str = ""  # how the probabilities are obtained, one line shown on boards


Unit = Literal["source seeds", "held-out speakers", "folds"]


@dataclass(frozen=True)
class BoardLayout:
    """How boards show a protocol's results; recorded in every result (``board``), so that reporting
    reads it from the results rather than knowing protocols by name.

    ``order``: where the protocol's rows sit among protocols (lower first; the built-ins: OODT 0,
    few-shot 1, IDT 2). ``breakdown``: the split settings (keys of :attr:`Split.info`) that get a table of
    their own, by value, beside the pooled one; its first axis also cuts the blocks of the average ranks
    (few-shot: ``("k", "frozen")``). ``unit``: what a claim generalises over when a cell has several
    splits per seed (IDT: ``"held-out speakers"``; otherwise ``"folds"``; one split per seed: the seeds).
    ``split_noun``: what one split is called in messages (few-shot: ``"episode"``).
    """

    order: int = 1
    breakdown: tuple[str, ...] = ()
    unit: Unit = "folds"
    split_noun: str = "split"

    def record(self) -> dict:
        """What a result records."""
        return {"order": self.order, "breakdown": list(self.breakdown), "unit": self.unit,
                "split_noun": self.split_noun}


@dataclass(frozen=True)
class ProtocolSpec:
    """An evaluation protocol. ``splits(data, seed, **params)`` returns a list of :class:`Split`.

    ``data`` is a :class:`ProtocolData`; protocols only choose indices, they never train.

    ``validation(data, seed, speakers, **params)`` (optional; without it the protocol cannot be tuned)
    returns the splits hyperparameter tuning scores its trials on, built like the protocol's own but
    from validation speakers only: held-out *source* speakers, or ``speakers`` target speakers (0: the
    protocol's choice). Every target speaker a validation split touches is left out of the protocol's
    test splits by the runner, so no test speaker is ever seen while tuning.

    ``board`` (a :class:`BoardLayout`) says how boards order and break down its results, and over what
    unit they generalise.

    ``example(data) -> data`` (optional): the conformance check's synthetic corpus made fit for a protocol
    that reads more of the manifest than speakers and emotions (``official``: a ``partition`` column).
    """

    name: str
    splits: Callable[..., list]
    summary: str
    params: Params = field(default_factory=dict)
    needs_source: bool = False
    reference: str = ""
    bounds: Mapping[str, Any] = field(default_factory=dict)  # param -> ser_bench.plugin_api.params.Range, checked up front
    validation: Optional[Callable[..., list]] = None
    validation_on: tuple[str, ...] = ("target",)
    training_only: Mapping[str, Any] = field(default_factory=dict)
    board: BoardLayout = field(default_factory=BoardLayout)
    example: Optional[Callable[..., Any]] = None


@dataclass(frozen=True)
class ExecutorSpec:
    """Where cells run. ``build(workers=None)`` returns an object with
    ``map_unordered(fn, items) -> iterator of (item, result_or_exception)`` and ``close()``, and a
    ``workers`` attribute saying how many items it runs at once (the runner cuts the cells of a small
    grid into that many parts; see :mod:`ser_bench.running.tasks`). Optionally ``start()``: begin
    starting workers without waiting for them; the runner calls it before it prepares the corpora,
    when work is certain, so that workers import torch while the parent reads features.

    An item may be a :class:`ser_bench.plugin_api.jobs.SharedWork`: it names in ``shared`` the objects
    other items hold too (the runner's jobs: their prepared corpora), so an executor that ships items
    through a store of its own (Ray's) may send each once and give them back with ``with_shared`` before
    calling ``fn``; an executor that pickles items or runs them in place can ignore it."""

    name: str
    build: Callable[..., Executor]
    summary: str
    params: Params = field(default_factory=dict)


@dataclass(frozen=True)
class RecipeSpec:
    """A published experiment to reproduce in one command (``ser-bench reproduce NAME``).

    ``cells(registry, sources, targets, ctx=None, **options)`` returns the grid's
    :class:`~ser_bench.running.cells.Cell` list (``ctx``, the run context, reads the corpora when the grid
    depends on them, e.g. the label set ``shared``); ``report(results, out_dir, **options)`` writes the
    paper-shaped tables and figures from the result payloads and returns the paths written. ``options``
    holds the defaults (repeats, k, ...).
    """

    name: str
    cells: Callable[..., list]
    report: Callable[..., list]
    summary: str
    options: Params = field(default_factory=dict)
    default_sources: tuple[str, ...] = ()
    default_targets: tuple[str, ...] = ()
    reference: str = ""


@dataclass(frozen=True)
class ChannelSpec:
    """A recording channel that audio passes through before feature extraction (``ravdess+telephone``).

    ``build(**params)`` returns ``apply(signal, sample_rate, seed) -> (signal, sample_rate)``: mono float32
    in, mono float32 out. ``seed`` is drawn from the clip's content, so a random channel (noise, a
    synthetic room) gives the same output for the same clip every time. ``version`` is part of the
    feature cache key: bump it whenever the same audio would come out differently.
    """

    name: str
    build: Callable[..., Any]
    summary: str
    version: str
    params: Params = field(default_factory=dict)
    bounds: Mapping[str, Any] = field(default_factory=dict)  # param -> ser_bench.plugin_api.params.Range, checked up front
    reference: str = ""


SINGULAR = {"datasets": "dataset", "features": "feature", "encoders": "encoder", "losses": "loss",
            "protocols": "protocol", "executors": "executor", "recipes": "recipe",
            "heads": "head", "channels": "channel"}

SPEC_TYPES: dict[str, type[Any]] = {
    "datasets": DatasetSpec,
    "features": FeatureSpec,
    "encoders": EncoderSpec,
    "losses": LossSpec,
    "protocols": ProtocolSpec,
    "executors": ExecutorSpec,
    "recipes": RecipeSpec,
    "heads": HeadSpec,
    "channels": ChannelSpec,
}


@dataclass(frozen=True)
class Subset:
    """Row indices into one domain's manifest (``"source"`` or ``"target"``)."""

    domain: str
    indices: tuple[int, ...]


@dataclass(frozen=True)
class Split:
    """One fold or episode of a protocol.

    ``train`` is fitted from scratch (or reused from the cache when identical), ``finetune`` continues
    from it with the first ``frozen_layers`` layers frozen, and each ``test`` sample is scored against
    ``support``. ``info`` holds the settings that identify the split (fold speaker, k, repeat, ...).
    """

    name: str
    train: Subset
    support: Subset
    test: Subset
    finetune: Optional[Subset] = None
    frozen_layers: int = 0
    info: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProtocolData:
    """What a protocol sees: the manifests (label-filtered) of the target and, optionally, the source."""

    target: Any
    source: Any = None
