"""A real multi-node Ray cluster on this machine (``ray.cluster_utils.Cluster``, two nodes of one CPU):
a small grid gives per-split results identical to the serial executor's, its cells run on both nodes,
and workers whose node cannot use the driver's model cache folder fall back to the node's own cache.

About 40 s on two shared cores (cluster start and first feature extraction included), so marked
``slow`` (deselect with ``-m "not slow"``); skipped when Ray is not installed.
"""
from __future__ import annotations

import pytest

from ser_bench.plugin_api.context import RunContext
from ser_bench.running.grid import Grid, expand
from ser_bench.running.runner import run

from .conftest import FAST_TRAINING, TINY

pytestmark = pytest.mark.slow
ray = pytest.importorskip("ray")
cluster_utils = pytest.importorskip("ray.cluster_utils")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Two nodes, one CPU each; each node's own cache folder (``SER_BENCH_CACHE_DIR``) is its own."""
    homes = [tmp_path_factory.mktemp(f"node{i}-cache") for i in range(2)]
    node = lambda home: {"num_cpus": 1, "env_vars": {"SER_BENCH_CACHE_DIR": str(home)}}  # noqa: E731
    c = cluster_utils.Cluster(initialize_head=True, head_node_args={**node(homes[0]), "include_dashboard": False})
    c.add_node(**node(homes[1]))
    c.wait_for_nodes()
    yield c, homes
    c.shutdown()


def per_split(report) -> dict:
    return {r.cell_id: [(s.hash, s.metrics) for s in r.splits] for r in report.ran}


def test_a_grid_on_two_ray_nodes_matches_serial_and_falls_back_to_node_caches(
        cluster, registry, cache_dir, tiny_corpora, tmp_path, monkeypatch):
    from ser_bench_plugins.executors.ray_executor import RayExecutor

    c, homes = cluster
    cells = expand(Grid(protocols=["oodt", "idt"], losses=["ratio_distance"], targets=["sim-ravdess"],
                        sources=["sim-crema"], base={"training": FAST_TRAINING, "dataset_params": TINY}), registry)
    serial_ctx = RunContext(data_dirs=[], cache_dir=cache_dir, workers=1)
    serial = run(cells, registry, serial_ctx, tmp_path / "serial", executor="serial", cache_models=False)
    assert len(serial.ran) == 2 and not serial.failed

    # The driver can write its cache folder, but "models" in it is a file: no node can use it, as when
    # the nodes do not mount the driver's cache folder.
    blocked = tmp_path / "driver-cache"
    blocked.mkdir()
    (blocked / "features").symlink_to(cache_dir / "features")  # features come from the driver's cache
    (blocked / "models").write_text("not a folder")
    used = []
    close = RayExecutor.close
    monkeypatch.setattr(RayExecutor, "close", lambda self: (used.append(self), close(self)))
    ctx = RunContext(data_dirs=[], cache_dir=blocked, workers=1)
    report = run(cells, registry, ctx, tmp_path / "ray", executor="ray", executor_params={"address": c.address})

    assert not report.failed, report.failed
    assert per_split(report) == per_split(serial)
    assert len(used[0].placements) == 2 and sum(used[0].placements.values()) == 2  # both nodes ran cells
    fallbacks = [w for w in report.warnings if "cannot be used on node" in w]
    # Said once per node (each names its own folder), not once per cell.
    assert len(fallbacks) == 2 and all(str(blocked / "models") in w for w in fallbacks)
    assert all(any(str(home / "models") in w for w in fallbacks) for home in homes)
    assert all(list((home / "models").rglob("*.pt")) for home in homes)
    assert not list(blocked.glob("models*/**/*.pt"))



def test_one_cell_runs_as_parts_on_both_nodes(cluster, registry, cache_dir, tiny_corpora, tmp_path, monkeypatch):
    """A grid of one IDT cell: its folds are cut into one part per cluster CPU, one on each node, and the
    result equals the whole cell run serially."""
    from ser_bench_plugins.executors.ray_executor import RayExecutor

    c, _ = cluster
    cells = expand(Grid(protocols=["idt"], losses=["cross_entropy"], targets=["sim-ravdess"],
                        base={"training": FAST_TRAINING, "dataset_params": TINY}), registry)
    serial = run(cells, registry, RunContext(data_dirs=[], cache_dir=cache_dir, workers=1), tmp_path / "serial",
                 executor="serial", cache_models=False)
    used = []
    close = RayExecutor.close
    monkeypatch.setattr(RayExecutor, "close", lambda self: (used.append(self), close(self)))
    report = run(cells, registry, RunContext(data_dirs=[], cache_dir=cache_dir), tmp_path / "ray", executor="ray",
                 executor_params={"address": c.address}, cache_models=False)
    assert not report.failed, report.failed
    assert report.ran[0].timings["parts"] == 2 and len(used[0].placements) == 2
    assert per_split(report) == per_split(serial)
