"""Results: the typed record of one cell (:mod:`ser_bench.results.record`) and the folder that
holds them (:mod:`ser_bench.results.store`). Both the running and the reporting side use this
package; it imports neither.
"""


def __getattr__(name: str):
    """0.1's ``ser_bench.results`` module became :mod:`ser_bench.results.store`: its names still resolve
    here, with a DeprecationWarning naming the new path."""
    import importlib
    import warnings

    if name.startswith("__") or name in ("store", "record", "summary"):
        raise AttributeError(f"module 'ser_bench.results' has no attribute {name!r}")
    store = importlib.import_module("ser_bench.results.store")
    if not hasattr(store, name):
        raise AttributeError(f"module 'ser_bench.results' has no attribute {name!r}")
    warnings.warn(f"ser_bench.results.{name} moved to ser_bench.results.store.{name}; import it from there "
                  "(the old path goes in 1.0)", DeprecationWarning, stacklevel=2)
    return getattr(store, name)
