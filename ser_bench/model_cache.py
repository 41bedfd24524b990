"""A disk cache of trained models, shared by every cell (and worker) that starts from the same model.

The key covers everything that determines the weights: the training data (manifest hash and row
indices), feature, encoder and its parameters, loss and its parameters, training parameters,
normalisation and seed. Entries are written atomically; a per-key lock makes concurrent workers that
need the same model train it once.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path


def code_fingerprint(*functions) -> str:
    """SHA-1 of the source files defining ``functions``: editing a loss or encoder invalidates its models."""
    import inspect

    h = hashlib.sha1()
    for fn in functions:
        try:
            h.update(Path(inspect.getsourcefile(fn)).read_bytes())
        except (TypeError, OSError):
            h.update(repr(fn).encode())
    return h.hexdigest()


def model_key(**parts) -> str:
    """SHA-1 over the JSON of everything that determines a trained model."""
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class DiskModelCache:
    """``get_or_train(key, build, train)``: load ``key`` if cached, else build, train, save, return."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.pt"

    @contextlib.contextmanager
    def _lock(self, key: str):
        path = self._path(key).with_suffix(".lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w") as fh:
            try:
                import fcntl

                fcntl.flock(fh, fcntl.LOCK_EX)
            except ImportError:  # pragma: no cover - no advisory locks (Windows): may train twice
                pass
            yield

    def get_or_train(self, key: str, build, train):
        """The model for ``key``; ``build()`` makes a fresh one and ``train(model)`` fits it in place."""
        import torch

        path = self._path(key)
        with self._lock(key):
            model = build()
            if path.exists():
                try:
                    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
                    model.eval()
                    self.hits += 1
                    return model
                except Exception:  # noqa: BLE001 - any unreadable entry (truncated, garbage, old format)
                    path.unlink(missing_ok=True)  # a corrupt entry is retrained, never trusted
                    model = build()
            train(model)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            torch.save(model.state_dict(), tmp)
            os.replace(tmp, path)
            self.misses += 1
            return model
