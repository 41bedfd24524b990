"""ser-bench: a benchmark suite for metric learning in speech emotion recognition.

Plugins implement the hooks in :mod:`ser_bench.plugin_api.hookspecs` using :data:`hookimpl`.
"""
import pluggy

from ser_bench import _moved

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("ser_bench")

_moved.install()

__all__ = ["hookimpl", "__version__"]
