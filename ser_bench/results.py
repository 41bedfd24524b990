"""Result files: one JSON per cell, written atomically, with schema version and provenance."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Iterator

# 2: per-split loss state, support counts and episode hashes; loss state never crosses a split.
SCHEMA_VERSION = 2
TRACKED_PACKAGES = ("ser-bench", "torch", "numpy", "pandas", "scipy", "scikit-learn", "opensmile",
                    "pluggy", "pytorch-metric-learning", "espeakng-loader", "soundfile")


def write_json_atomic(path: Path, payload: dict) -> None:
    """Write ``payload`` to ``path`` so that a reader (or a crash) never sees a partial file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(payload, fh, indent=1, sort_keys=False, allow_nan=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def result_path(results_dir: Path, cell_id: str) -> Path:
    """Where the result of a cell lives."""
    return Path(results_dir) / f"{cell_id}.json"


def is_done(results_dir: Path, cell_id: str) -> bool:
    """True when a readable result of the current schema exists for the cell."""
    path = result_path(results_dir, cell_id)
    try:
        return json.loads(path.read_text()).get("schema_version") == SCHEMA_VERSION
    except (OSError, ValueError):
        return False


def load_results(folder: Path) -> list[dict]:
    """Every result file under ``folder`` (recursively); other JSON files are ignored."""
    return list(iter_results(folder))


def iter_results(folder: Path) -> Iterator[dict]:
    for path in sorted(Path(folder).rglob("*.json")):
        try:
            payload = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(payload, dict) and "schema_version" in payload and "cell_id" in payload:
            payload["_path"] = str(path)
            yield payload


def package_versions() -> dict:
    """Installed versions of the packages that can change a result."""
    out = {}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit() -> str | None:
    """The commit of the ser-bench checkout, when running from one."""
    try:
        here = Path(__file__).resolve().parent
        return subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def manifest_hash(manifest, digests) -> str:
    """SHA-256 over (file name, speaker, emotion, content digest) of every clip used."""
    h = hashlib.sha256()
    for name, spk, emo, dig in zip(manifest["path"].map(lambda p: Path(p).name), manifest["speaker"],
                                   manifest["emotion"], digests):
        h.update(f"{name}|{spk}|{emo}|{dig}\n".encode())
    return h.hexdigest()


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
