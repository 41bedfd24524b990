"""csv: bring your own corpus as a CSV manifest.

Columns: ``path`` (absolute, or relative to the CSV), ``speaker``, and ``emotion`` and/or ``arousal``
and ``valence``; optional ``sentence``, ``intensity``, ``gender``, ``language``. Emotions must use the
common vocabulary (or give ``label_map`` as ``code=name`` pairs). Use it with
``--dataset-param csv.path=/data/mine.csv``.

Several CSV corpora in one run are told apart by a name after a colon: ``--source csv:podcast --target
csv:clinic --dataset-param csv:podcast.path=a.csv --dataset-param csv:clinic.path=b.csv``; the name is
what boards show and what the manifest's ``corpus`` column holds.
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


def load(ctx, path: str = "", name: str = "csv", label_map: Mapping[str, str] = MappingProxyType({}),
         variant: str = ""):
    """Read the manifest CSV at ``path``; missing audio files and unknown labels go to ``ctx.report_bad_file``.
    ``variant`` (``csv:NAME``) names the corpus when ``name`` is left at ``csv``."""
    import pandas as pd

    if not path:
        scope = f"csv:{variant}" if variant else "csv"
        raise SerBenchError(f"the csv dataset needs its manifest: --dataset-param {scope}.path=/path/to/manifest.csv")
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
    frame["corpus"] = f"csv:{variant}" if variant and name == "csv" else name
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
