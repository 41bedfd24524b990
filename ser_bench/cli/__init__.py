"""The ``ser-bench`` command line: argument parsing (:mod:`~ser_bench.cli.main`), shared option
parsing (:mod:`~ser_bench.cli.options`) and the sub-commands: ``run`` (:mod:`~ser_bench.cli.run_command`),
``reproduce`` (:mod:`~ser_bench.cli.reproduce_command`) and the others (:mod:`~ser_bench.cli.commands`).
"""

from ser_bench.cli.main import main

__all__ = ["main"]
