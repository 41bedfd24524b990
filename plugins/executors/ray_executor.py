"""ray: run the cells on a Ray cluster (``--ray-address``), or on a local Ray when none is given.

Ray is optional: ``pip install 'ser-bench[ray]'``. Each cell is a Ray task with one CPU; results come
back to the driver, which writes them, so the cluster's nodes need no shared filesystem. Trained-model
caching is per node (each node's ``SER_BENCH_CACHE_DIR``).
"""
from __future__ import annotations

import os

from ser_bench import hookimpl
from ser_bench.errors import SerBenchError
from ser_bench.types import ExecutorSpec


class RayExecutor:
    """Submits every item as a Ray task and yields results as they complete."""

    def __init__(self, workers=None, address: str | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise SerBenchError("the ray executor needs Ray: pip install 'ser-bench[ray]' "
                                "(or choose --executor process)") from None
        self._ray = ray
        self._owns = not ray.is_initialized()
        if self._owns:
            options = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
            try:
                if address:
                    ray.init(address=address, **options)
                else:
                    ray.init(num_cpus=workers or os.cpu_count() or 1, **options)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise SerBenchError(f"could not start or reach Ray at {address or 'a new local instance'}: {exc}") from None
        self.workers = workers

    def map_unordered(self, fn, items):
        ray = self._ray
        task = ray.remote(num_cpus=1, max_retries=0)(fn)
        pending = {task.remote(item): item for item in items}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            ref = done[0]
            item = pending.pop(ref)
            try:
                yield item, ray.get(ref)
            except ray.exceptions.RayTaskError as exc:
                yield item, exc.as_instanceof_cause()
            except ray.exceptions.RayError as exc:
                yield item, exc

    def close(self) -> None:
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()


@hookimpl
def ser_bench_executors():
    return [ExecutorSpec(name="ray", build=RayExecutor, params={"address": None},
                         summary="Ray tasks on a cluster (--ray-address) or a local Ray; needs ser-bench[ray]")]
