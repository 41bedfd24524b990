"""``python -m ser_bench.cli``: the ``ser-bench`` command."""
import sys

from ser_bench.cli.main import main

sys.exit(main())
