"""The ``ser-bench`` command line: argument parsing (:mod:`~ser_bench.cli.main`), shared option
parsing (:mod:`~ser_bench.cli.options`) and the sub-commands (:mod:`~ser_bench.cli.commands`).
"""

from ser_bench.cli.main import main

__all__ = ["main"]
