"""Corpus expressions as dataset names: a view of one corpus (``ravdess[sex=female]+telephone``, see
:mod:`ser_bench.data.domains`) or a union of corpora (``emodb|turev``, see :mod:`ser_bench.data.unions`).
The registry asks this plugin for any dataset name holding ``[``, ``|`` or ``+``."""
from ser_bench import hookimpl
from ser_bench.plugin_api.registry import Entry


@hookimpl
def ser_bench_dataset_view(registry, name):
    """The entry of the view or union ``name``, attributed to the plugin of the corpus it starts from."""
    from ser_bench.data.domains import corpus_view, parse, union_parts
    from ser_bench.data.unions import union_spec

    parts = union_parts(name)
    if parts:
        first = registry.entry("datasets", parts[0])
        spec = union_spec(registry, name)
    else:
        first = registry.entry("datasets", parse(name).base)
        spec = corpus_view(registry, name)
    return Entry(kind="datasets", spec=spec, plugin=first.plugin, distribution=first.distribution,
                 version=first.version)
