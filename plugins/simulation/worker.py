"""Entry point of the simulator's worker processes: ``python -m ser_bench_plugins.simulation.worker``.

It reads one pickled job (a speaker's clips) from standard input and writes the files. A fresh
interpreter per speaker, started the same way whoever calls it, makes eSpeak NG's output
reproducible: the library's waveform generator depends on the process's history, not only its inputs.
"""
from __future__ import annotations

import pickle
import sys


def main() -> None:
    from ser_bench_plugins.simulation.generate import render_speaker

    job = pickle.loads(sys.stdin.buffer.read())
    sys.stdout.write(str(render_speaker(job)))


if __name__ == "__main__":
    main()
