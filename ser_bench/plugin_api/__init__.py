"""The plugin API: the hooks, the spec records they return, the registry and plugin manager,
parameter checking, declared search spaces, the run context plugins receive, conformance checks
(:mod:`ser_bench.plugin_api.testing`) and the scaffolding of new plugins.
"""
