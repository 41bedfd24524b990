"""ray: run the cells on a Ray cluster (``--executor-param address=auto`` or ``ray://host:10001``, or
``--ray-address``), or on a local Ray started for the run when no address is given.

Ray is optional: ``pip install 'ser-bench[ray]'``. Each cell is a Ray task with one CPU, spread over
every node's CPUs; results come back to the driver, which writes them, so the nodes need no shared
filesystem for results. Corpora are prepared (features extracted) on the driver and travel in the jobs;
a corpus that several jobs hold (what they declare ``shared``, see :class:`ser_bench.plugin_api.jobs.SharedWork`)
is put in Ray's object store once. Trained models are cached by the workers under the cache folder the
driver names, or on a node-local folder where that one is not usable on their node (see
:class:`ser_bench.model.model_cache.DiskModelCache`).
"""
from __future__ import annotations

import os
import socket
from collections import Counter

from ser_bench import __version__, hookimpl
from ser_bench.errors import SerBenchError
from ser_bench.plugin_api.jobs import SharedWork
from ser_bench.plugin_api.params import defaults_of
from ser_bench.plugin_api.types import ExecutorSpec
from ser_bench.plugin_kit.helpers import signals_deferred

INSTALL = "install the driver's ser-bench ({version}, with the same plugins) on every node: pip install 'ser-bench[ray]'"


def _node_probe() -> tuple:
    """On one node: its host name and the ser-bench version its workers import."""
    return socket.gethostname(), __version__


def _on_node(fn, item):
    """Run ``fn(item)`` on a worker, with the objects :func:`_share` put in the store fetched back;
    returns the node it ran on beside the result."""
    import ray

    if isinstance(item, SharedWork):
        item = item.with_shared({k: ray.get(v) if isinstance(v, ray.ObjectRef) else v for k, v in item.shared.items()})
    return ray.get_runtime_context().get_node_id(), fn(item)


def _share(ray, items: list) -> list:
    """``items`` with every object that several of them share (:class:`~ser_bench.plugin_api.jobs.SharedWork`:
    a corpus the jobs of several cells hold) put in the object store once, instead of once per task."""
    counts = Counter(id(v) for item in items if isinstance(item, SharedWork) for v in item.shared.values())
    refs: dict = {}

    def swap(value):
        if counts[id(value)] < 2:
            return value
        if id(value) not in refs:
            refs[id(value)] = ray.put(value)
        return refs[id(value)]

    return [item.with_shared({k: swap(v) for k, v in item.shared.items()}) if isinstance(item, SharedWork) else item
            for item in items]


class RayExecutor:
    """Submits every item as a Ray task (one CPU, spread over the nodes) and yields results as they complete.

    ``address``: an existing cluster (``auto`` for the one this machine belongs to, ``ray://host:10001``
    for a remote head through Ray Client); its nodes are checked to run the driver's ser-bench before
    any cell starts. Without it, a local Ray with ``workers`` CPUs is started for the run. A Ray this
    process already initialised is used as it is. :attr:`placements` counts the items run per node id.
    """

    def __init__(self, workers=None, address: str | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise SerBenchError("the ray executor needs Ray: pip install 'ser-bench[ray]' "
                                "(or choose --executor process)") from None
        self._ray = ray
        self._owns = not ray.is_initialized()
        self.placements: Counter = Counter()
        self._stopped_by = 0  # the signal (SIGTERM) that stopped the run while Ray waited, 0 if none
        if self._owns:
            options = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
            # ray.init installs its own SIGTERM handler in the driver (a signal dump, exit 1): the run's own
            # (finished cells kept, "interrupted", exit 143) is put back, as it is under every other executor,
            # and a signal that came before Ray's handler is delivered to it then.
            try:
                with signals_deferred():
                    if address:
                        ray.init(address=address, **options)
                    else:
                        ray.init(num_cpus=workers or os.cpu_count() or 1, **options)
                self._note_signals()
            except (ConnectionError, RuntimeError, ValueError) as exc:
                where = f"a Ray cluster at {address}" if address else "a new local Ray"
                hint = (" Start the cluster first (`ray start --head` on one machine, `ray start --address "
                        "HEAD:6379` on the others), or leave out the address for a local Ray."
                        if address else "")
                raise SerBenchError(f"could not start or reach {where}: {exc}.{hint}") from None
            if address:
                try:
                    self._check_nodes()
                except BaseException:
                    ray.shutdown()
                    raise
        # How many tasks run at once (the runner cuts cells into that many parts when there are fewer
        # cells): the CPUs of the cluster joined, or those given to the local Ray.
        self.workers = workers if not address else int(ray.cluster_resources().get("CPU", 1))

    def _note_signals(self) -> None:
        """Wrap the run's SIGTERM handler so that this executor knows the signal: Ray's wait turns whatever
        the handler raises into a plain KeyboardInterrupt, which would exit 130 as if Ctrl-C were pressed."""
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            return
        previous = signal.getsignal(signal.SIGTERM)
        if not callable(previous):
            return

        def noted(signum, frame):
            self._stopped_by = signum
            previous(signum, frame)

        signal.signal(signal.SIGTERM, noted)

    def _check_nodes(self) -> None:
        """Every node with CPUs imports the driver's ser-bench version, or a :class:`SerBenchError` says which not."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        ray = self._ray
        nodes = [n["NodeID"] for n in ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) >= 1]
        if not nodes:
            raise SerBenchError("the Ray cluster has no node with a CPU to run cells on: add a node with "
                                "`ray start --address HEAD:6379 --num-cpus N`")
        probe = ray.remote(num_cpus=0, max_retries=0)(_node_probe)
        refs = {probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)).remote(): node
                for node in nodes}
        problems = []
        for ref, node in refs.items():
            try:
                host, version = ray.get(ref, timeout=120)
            except Exception as exc:  # noqa: BLE001 - the node cannot even import ser-bench
                problems.append(f"node {node[:12]}: {exc.__class__.__name__}: {str(exc).strip().splitlines()[-1]}")
                continue
            if version != __version__:
                problems.append(f"node {node[:12]} ({host}) runs ser-bench {version}")
        if problems:
            raise SerBenchError(f"{len(problems)} of the cluster's {len(nodes)} nodes cannot run this ser-bench "
                                f"({__version__}): {'; '.join(problems)}. {INSTALL.format(version=__version__)}")

    def map_unordered(self, fn, items):
        """Yield ``(item, result or exception)`` as each item finishes; stopped early, the tasks still
        queued or running are cancelled."""
        ray = self._ray
        items = list(items)
        task = ray.remote(num_cpus=1, max_retries=0, scheduling_strategy="SPREAD")(_on_node)
        pending = {task.remote(fn, shared): item for shared, item in zip(_share(ray, items), items)}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                ref = done[0]
                item = pending.pop(ref)
                try:
                    node, result = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:
                    yield item, exc.as_instanceof_cause()
                except ray.exceptions.RayError as exc:
                    yield item, exc
                else:
                    self.placements[node] += 1
                    yield item, result
        except KeyboardInterrupt as exc:
            if self._stopped_by and not getattr(exc, "signum", None):
                from ser_bench.errors import Interrupted

                raise Interrupted(self._stopped_by) from None
            raise
        finally:
            for ref in pending:  # left when the caller stopped early: do not leave them on the cluster
                ray.cancel(ref, force=True)

    def close(self) -> None:
        """Disconnect from (or stop) the Ray this executor started; a Ray the caller started is left."""
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()


@hookimpl
def ser_bench_executors():
    return [ExecutorSpec(name="ray", build=RayExecutor, params=defaults_of(RayExecutor, "executors"),
                         summary="Ray tasks spread over a cluster (--executor-param address=auto or "
                                 "ray://HOST:10001) or a local Ray; needs ser-bench[ray]")]
