"""serial: run cells one after another in this process (debugging, tiny grids, tests)."""
from ser_bench import hookimpl
from ser_bench.plugin_api.types import ExecutorSpec


class SerialExecutor:
    """Runs each item in turn; a failing item yields its exception and the others still run."""

    def __init__(self, workers=None) -> None:
        self.workers = 1

    def map_unordered(self, fn, items):
        for item in items:
            try:
                yield item, fn(item)
            except Exception as exc:
                yield item, exc

    def close(self) -> None:
        pass


@hookimpl
def ser_bench_executors():
    return [ExecutorSpec(name="serial", build=SerialExecutor, summary="one cell at a time in this process")]
