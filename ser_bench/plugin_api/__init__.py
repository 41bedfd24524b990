"""The plugin API, the contract every plugin is written against: the hooks, the spec records they
return, the registry and plugin manager, parameter checking, declared search spaces, the common emotion
vocabulary and the run context plugins receive.

The floor of ser-bench: it imports nothing of ser-bench but its errors and the package root (``hookimpl``,
``__version__``). The conformance kit and scaffolds stand on top of everything, in
:mod:`ser_bench.plugin_kit`.
"""
