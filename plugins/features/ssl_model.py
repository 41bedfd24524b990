"""Where a self-supervised speech checkpoint is, what exactly it is, and loading it, never downloading.

A checkpoint is a Hugging Face hub id found in the local hub cache (``hf download ID`` puts it there)
or a local folder holding ``config.json``, ``preprocessor_config.json`` and the weights, as
``save_pretrained`` writes them. Both are read with ``local_files_only``: a run never reaches the
network, whatever ``HF_HUB_OFFLINE`` says, and a missing model is an error saying how to fetch it.

Identity, for the feature cache and the results: a hub checkpoint's commit, and for every checkpoint
the SHA-256 over its weights and its two configuration files (the hub cache names a weights file by
its SHA-256 already; a local file is hashed once per process).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ser_bench.errors import SerBenchError

FAMILIES = ("wav2vec2", "hubert", "wavlm", "data2vec-audio")  # model_type in config.json
WEIGHTS = ("*.safetensors", "*.bin")
DESCRIBED_BY = ("config.json", "preprocessor_config.json")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class MissingDependency(SerBenchError, ImportError):
    """An optional dependency is not installed; the message says what to install."""


class ModelNotFoundError(SerBenchError):
    """The checkpoint is neither a local folder nor in the hub cache; the message says how to fetch it."""


def require_transformers():
    """The ``transformers`` module, or :class:`MissingDependency` saying how to install it."""
    try:
        import transformers
    except ImportError:
        raise MissingDependency("feature 'ssl' needs Hugging Face transformers, an optional dependency: "
                                "pip install 'ser-bench[ssl]' (or pip install 'transformers>=4.40')") from None
    return transformers


@dataclass(frozen=True)
class Checkpoint:
    """``model`` as a cell records it (a hub id, or a local folder's absolute path), the folder it is read
    from, and the hub commit (``""`` for a local folder)."""

    model: str
    folder: Path
    revision: str


def fetch_hint(model: str) -> str:
    return (f"Fetch it once, where there is a network, with `hf download {model}` (or python -c \"from "
            f"huggingface_hub import snapshot_download; snapshot_download('{model}')\"); on a machine "
            "without one, copy that cache folder there (HF_HOME) and set HF_HUB_OFFLINE=1. Or give a local "
            "folder written by save_pretrained: --feature-param ssl.model=/path/to/folder.")


def locate(model: str, revision: str = "") -> Checkpoint:
    """The checkpoint ``model`` names: a local folder, else a hub id in the local cache at ``revision``
    (a branch, tag or commit; ``""``: the cached ``main``)."""
    folder = Path(model).expanduser()
    if folder.is_dir():
        if revision:
            raise SerBenchError(f"ssl.revision={revision!r} names a hub commit, but {model!r} is a local folder, "
                                "identified by the hash of its files: drop ssl.revision")
        if not (folder / "config.json").is_file():
            raise ModelNotFoundError(f"{folder} holds no config.json: it is not a checkpoint written by "
                                     "save_pretrained (or by `hf download`).")
        return Checkpoint(str(folder.resolve()), folder.resolve(), "")
    require_transformers()
    from huggingface_hub import constants, snapshot_download

    try:
        snapshot = Path(snapshot_download(model, revision=revision or None, local_files_only=True))
    except (OSError, ValueError) as exc:  # not cached (LocalEntryNotFoundError), or not a valid id
        at = f" at revision {revision!r}" if revision else ""
        raise ModelNotFoundError(
            f"ssl model {model!r}{at} is not a local folder and is not in the Hugging Face cache "
            f"({constants.HF_HUB_CACHE}); ser-bench never downloads a model during a run. {fetch_hint(model)}"
            f" ({type(exc).__name__})") from None
    return Checkpoint(model, snapshot, snapshot.name)


@lru_cache(maxsize=64)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes: a hub cache blob's own name (the hub names large files by it), else
    computed once per process for a given size and modification time."""
    real = Path(path).resolve()
    if real.parent.name == "blobs" and _SHA256.fullmatch(real.name):
        return real.name
    stat = real.stat()
    return _sha256(str(real), stat.st_size, stat.st_mtime_ns)


def checkpoint_sha256(folder: Path) -> str:
    """SHA-256 over the names and hashes of the weights and configuration files of ``folder``."""
    weights = sorted({p for pattern in WEIGHTS for p in Path(folder).glob(pattern)})
    if not weights:
        raise ModelNotFoundError(f"{folder} holds no weights (*.safetensors or *.bin): an incomplete copy or "
                                 "download of the checkpoint")
    files = weights + [Path(folder) / n for n in DESCRIBED_BY if (Path(folder) / n).is_file()]
    lines = "\n".join(f"{p.name} {file_sha256(p)}" for p in files)
    return hashlib.sha256(lines.encode()).hexdigest()


@lru_cache(maxsize=16)
def _config(folder: str, stamp: int):
    require_transformers()
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(folder, local_files_only=True)


def model_config(folder: Path):
    """The checkpoint's configuration (transformers' ``AutoConfig``), checked to be of a family this
    plugin extracts from (see :data:`FAMILIES`)."""
    path = Path(folder) / "config.json"
    config = _config(str(folder), path.stat().st_mtime_ns)
    if config.model_type not in FAMILIES:
        raise SerBenchError(f"{folder} is a {config.model_type!r} model; feature 'ssl' extracts from "
                            f"{', '.join(FAMILIES)} checkpoints")
    return config


def receptive_field(config) -> int:
    """Samples the convolutional feature encoder needs for one frame (400, 25 ms at 16 kHz, for the
    published models)."""
    field = 1
    for kernel, stride in reversed(list(zip(config.conv_kernel, config.conv_stride))):
        field = (field - 1) * stride + kernel
    return field


def frames(samples, config):
    """Frames the feature encoder gives for ``samples`` samples (an int or a tensor of them)."""
    for kernel, stride in zip(config.conv_kernel, config.conv_stride):
        samples = (samples - kernel) // stride + 1
    return samples


def load(folder: Path):
    """``(processor, model)``: the checkpoint's feature extractor (normalisation and padding) and its
    base model (``AutoModel``: a fine-tuned classifier checkpoint gives its encoder)."""
    require_transformers()
    from transformers import AutoFeatureExtractor, AutoModel

    if not (Path(folder) / "preprocessor_config.json").is_file():
        raise ModelNotFoundError(
            f"{folder} has no preprocessor_config.json, which says how the model expects its input "
            "(normalised or not, sample rate). Save the checkpoint's feature extractor beside it, e.g. "
            "Wav2Vec2FeatureExtractor.from_pretrained(ORIGINAL_ID).save_pretrained(folder).")
    from transformers.utils import logging as hf_logging

    # transformers draws a bar per checkpoint load ("Loading weights"), even under ser-bench -q; the
    # extraction has its own bar, with clips/s and an ETA.
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        processor = AutoFeatureExtractor.from_pretrained(str(folder), local_files_only=True)
        model = AutoModel.from_pretrained(str(folder), local_files_only=True)
    except OSError as exc:
        raise ModelNotFoundError(f"could not load the checkpoint in {folder}: {exc}") from None
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    return processor, model
