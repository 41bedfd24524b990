"""csv: bring your own corpus as a CSV manifest.

Columns: ``path`` (absolute, or relative to the CSV), ``speaker``, and ``emotion`` and/or ``arousal``
and ``valence``; optional ``sentence``, ``intensity``, ``gender``, ``language``. Emotions must use the
common vocabulary (or give ``label_map`` as ``code=name`` pairs). Use it with
``--dataset-param csv.path=/data/mine.csv``.
"""
from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from ser_bench import hookimpl
from ser_bench.errors import SerBenchError
from ser_bench.data.labels import VOCABULARY, add_dimensions
from ser_bench.plugin_api.params import defaults_of
from ser_bench.plugin_api.types import DatasetSpec


def load(ctx, path: str = "", name: str = "csv", label_map: Mapping[str, str] = MappingProxyType({})):
    """Read the manifest CSV at ``path``; missing audio files and unknown labels go to ``ctx.report_bad_file``."""
    import pandas as pd

    if not path:
        raise SerBenchError("the csv dataset needs its manifest: --dataset-param csv.path=/path/to/manifest.csv")
    csv = Path(path).expanduser()
    if not csv.is_file():
        raise SerBenchError(f"manifest {csv} does not exist")
    frame = pd.read_csv(csv, dtype={"speaker": str})
    missing = {"path", "speaker"} - set(frame.columns)
    if missing or not ({"emotion"} <= set(frame.columns) or {"arousal", "valence"} <= set(frame.columns)):
        raise SerBenchError(f"{csv}: needs columns path, speaker and emotion (or arousal and valence); "
                            f"it has {', '.join(frame.columns)}")
    frame["path"] = [str(p if Path(p).is_absolute() else (csv.parent / p)) for p in frame["path"]]
    if "emotion" in frame:
        frame["emotion"] = frame["emotion"].map(lambda e: (label_map or {}).get(e, e))
    keep = []
    for i, row in frame.iterrows():
        if not Path(row["path"]).is_file():
            ctx.report_bad_file(row["path"], f"listed in {csv} (row {i + 2}) but missing")
        elif "emotion" in frame and row["emotion"] not in VOCABULARY and pd.notna(row["emotion"]):
            ctx.report_bad_file(row["path"], f"emotion {row['emotion']!r} (row {i + 2} of {csv}) is not one of "
                                f"{', '.join(VOCABULARY)}; map it with label_map")
        else:
            keep.append(i)
    frame = frame.loc[keep].reset_index(drop=True)
    frame["corpus"] = name
    frame["language"] = frame["language"] if "language" in frame else "unknown"
    return add_dimensions(frame) if "emotion" in frame else frame


SPEC = DatasetSpec(
    name="csv", load=load, params=defaults_of(load, "datasets"),
    summary="your own corpus from a CSV manifest (path, speaker, emotion and/or arousal/valence)",
    licence="yours", homepage="(your files)", reference="",
)


@hookimpl
def ser_bench_datasets():
    return [SPEC]
