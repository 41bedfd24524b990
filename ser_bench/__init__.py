"""ser-bench: a benchmark suite for metric learning in speech emotion recognition.

Plugins implement the hooks in :mod:`ser_bench.plugin_api.hookspecs` using :data:`hookimpl`.
"""
import pluggy

__version__ = "0.2.0"

hookimpl = pluggy.HookimplMarker("ser_bench")

__all__ = ["hookimpl", "__version__"]
