"""The plugin author's kit, on top of the contract (:mod:`ser_bench.plugin_api`): conformance checks that
run a plugin through the core as a run would (:mod:`ser_bench.plugin_kit.testing`), scaffolds of new
plugins (:mod:`ser_bench.plugin_kit.scaffold`), and the helpers a plugin may use
(:mod:`ser_bench.plugin_kit.helpers`). Part of the public surface; it may import any of ser-bench.
"""
