"""Hook specifications: one hook per plugin kind. Each returns an iterable of spec records.

A plugin is any module (or object) with functions named like these hooks and marked with
:data:`ser_bench.hookimpl`. Example, a complete one-file loss plugin::

    from ser_bench import hookimpl
    from ser_bench.plugin_api.types import LossSpec

    def build(margin=1.0):
        def loss(model, x, y):
            import torch
            z = model.embed(x)
            same = (y[:, None] == y[None, :]).float()
            d = torch.cdist(z, z)
            return (same * d**2 + (1 - same) * torch.relu(margin - d) ** 2).mean()
        return loss

    @hookimpl
    def ser_bench_losses():
        return [LossSpec(name="my_contrastive", build=build, params={"margin": 1.0},
                         summary="Hadsell et al. contrastive loss on all pairs of a batch")]
"""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("ser_bench")


@hookspec
def ser_bench_datasets():
    """Return :class:`~ser_bench.plugin_api.types.DatasetSpec` records for the corpora this plugin provides.

    Example: ``return [DatasetSpec(name="mycorpus", load=load, summary="...", folder_names=("MyCorpus",))]``
    where ``load(ctx, **params)`` returns the manifest DataFrame and uses ``ctx.find_corpus`` to locate it.
    """


@hookspec(firstresult=True)
def ser_bench_dataset_view(registry, name):
    """Resolve a dataset name that is an expression over registered corpora, or return ``None``.

    Asked only for names holding ``[``, ``|`` or ``+`` (a view such as ``ravdess[sex=female]+telephone``,
    a union such as ``emodb|turev``); the first implementation that returns something wins. Return an
    :class:`~ser_bench.plugin_api.registry.Entry` of kind ``"datasets"`` whose ``spec`` is a
    :class:`~ser_bench.plugin_api.types.DatasetSpec` and whose provenance is the viewed corpus's
    (``registry.entry("datasets", base)``). The built-in implementation
    (``ser_bench_plugins.datasets.corpus_expressions``) reads the syntax of :mod:`ser_bench.data.domains`
    and :mod:`ser_bench.data.unions`.
    """


@hookspec
def ser_bench_features():
    """Return :class:`~ser_bench.plugin_api.types.FeatureSpec` records (acoustic feature extractors).

    Example: ``return [FeatureSpec(name="rms", build=lambda: RMS(), summary="...", version="1", dim=1)]``.
    """


@hookspec
def ser_bench_encoders():
    """Return :class:`~ser_bench.plugin_api.types.EncoderSpec` records (networks; ``build(input_dim, **params)``).

    Example: ``return [EncoderSpec(name="tiny", build=lambda input_dim: Tiny(input_dim), summary="...")]``.
    """


@hookspec
def ser_bench_losses():
    """Return :class:`~ser_bench.plugin_api.types.LossSpec` records (``build(**params)`` gives ``loss(model, x, y)``).

    See the module docstring for a complete example.
    """


@hookspec
def ser_bench_protocols():
    """Return :class:`~ser_bench.plugin_api.types.ProtocolSpec` records (``splits(data, seed, **params)``).

    Example: ``return [ProtocolSpec(name="half", splits=half_split, summary="first half of speakers trains")]``.
    """


@hookspec
def ser_bench_executors():
    """Return :class:`~ser_bench.plugin_api.types.ExecutorSpec` records (where the cells of a grid run).

    Example: ``return [ExecutorSpec(name="serial", build=SerialExecutor, summary="in this process")]``.
    """


@hookspec
def ser_bench_recipes():
    """Return :class:`~ser_bench.plugin_api.types.RecipeSpec` records: whole experiments for ``ser-bench reproduce``.

    Example: ``return [RecipeSpec(name="mypaper", cells=grid, report=tables, summary="Table 2 of ...")]``
    where ``grid(registry, sources, targets, **options)`` returns cells and ``report(results, out_dir,
    **options)`` writes the paper's tables and figures.
    """


@hookspec
def ser_bench_heads():
    """Return :class:`~ser_bench.plugin_api.types.HeadSpec` records: how a test clip gets a class from the support set.

    ``predict(model, x_test, x_support, y_support, n_classes, rule="mean", **params)`` returns a
    ``LongTensor`` of class indices naming only classes present in ``y_support``. Example, a
    nearest-neighbour head::

        def nearest(model, x_test, x_support, y_support, n_classes, **_):
            import torch
            from ser_bench.plugin_kit.helpers import embed

            z_s, z_t = embed(model, x_support), embed(model, x_test)
            return y_support[torch.cdist(z_t, z_s).argmin(1)]

        @hookimpl
        def ser_bench_heads():
            return [HeadSpec(name="nearest", predict=nearest, summary="class of the nearest support clip")]

    ``needs="pair"`` marks a head that scores pairs with a Siamese encoder's ``pair_logits``.
    """


@hookspec
def ser_bench_channels():
    """Return :class:`~ser_bench.plugin_api.types.ChannelSpec` records: recording channels for corpus expressions
    such as ``ravdess+telephone`` or ``crema+noise:snr=10``.

    ``build(**params)`` returns ``apply(signal, sample_rate, seed) -> (signal, sample_rate)``; a random
    channel draws only from ``seed`` (derived from the clip's content). Example, a gain::

        def build(db=-6.0):
            def apply(signal, sample_rate, seed):
                return signal * 10 ** (db / 20), sample_rate
            return apply

        @hookimpl
        def ser_bench_channels():
            return [ChannelSpec(name="gain", build=build, params={"db": -6.0}, version="1",
                                summary="a fixed gain in dB")]
    """
