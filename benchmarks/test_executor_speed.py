"""Wall time of one small grid on a two-node Ray cluster against the process executor on this machine.

Run: ``make benchmark`` (or ``.venv/bin/python -m pytest benchmarks/test_executor_speed.py
--benchmark-only --benchmark-enable``). The cluster (``ray.cluster_utils.Cluster``, two nodes of one
CPU, on this machine) is started once, as an existing cluster would be; each round then joins it,
runs every cell afresh (no stored results, no model cache) and leaves. The process executor gets the
same two CPUs. Features are extracted before timing, as both executors read them from the driver's
cache. Quote medians and their ratio from one run (machines here are shared and noisy).
"""
from __future__ import annotations

import itertools

import pytest

from ser_bench.plugin_api.context import RunContext
from ser_bench.plugin_api.manager import PluginSettings, load_registry
from ser_bench.running.grid import Grid, expand
from ser_bench.running.runner import run

TINY = {"sim-ravdess": {"speakers": 4}, "sim-crema": {"speakers": 4}}
TRAINING = {"epochs": 10, "batch_size": 64, "finetune_steps": 5}
ROUNDS = 3


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """Four cells (OODT and IDT, two losses) and a context whose feature cache is already filled."""
    registry = load_registry(PluginSettings(entry_points=False))
    ctx = RunContext(data_dirs=[], cache_dir=tmp_path_factory.mktemp("cache"), workers=2)
    cells = expand(Grid(protocols=["oodt", "idt"], losses=["bce_pair", "ratio_distance"], targets=["sim-ravdess"],
                        sources=["sim-crema"], base={"training": TRAINING, "dataset_params": TINY}), registry)
    run(cells, registry, ctx, tmp_path_factory.mktemp("warm"), executor="serial", cache_models=False)
    return registry, ctx, cells


@pytest.fixture(scope="module")
def cluster():
    cluster_utils = pytest.importorskip("ray.cluster_utils")
    c = cluster_utils.Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    c.add_node(num_cpus=1)
    c.wait_for_nodes()
    yield c
    c.shutdown()


def _time_grid(benchmark, grid, tmp_path, executor, params=None):
    registry, ctx, cells = grid
    folders = (tmp_path / f"round{i}" for i in itertools.count())

    def fresh():
        return (next(folders),), {}

    def once(results):
        report = run(cells, registry, ctx, results, executor=executor, executor_params=params, cache_models=False)
        assert len(report.ran) == len(cells) and not report.failed, report.failed

    benchmark.pedantic(once, setup=fresh, rounds=ROUNDS, iterations=1)


def test_small_grid_process_executor_two_workers(benchmark, grid, tmp_path):
    """Four cells on a pool of two worker processes."""
    _time_grid(benchmark, grid, tmp_path, "process")


def test_small_grid_ray_two_node_cluster(benchmark, grid, cluster, tmp_path):
    """The same four cells as Ray tasks on a two-node cluster (one CPU each), joined by address."""
    _time_grid(benchmark, grid, tmp_path, "ray", {"address": cluster.address})
