"""A disk cache of trained models, shared by every cell (and worker) that starts from the same model.

The key covers everything that determines the weights: the training data (manifest hash and row
indices), feature, encoder and its parameters, loss and its parameters, training parameters,
normalisation and seed. Entries are written atomically with a checksum; a per-key lock (``filelock``,
on every platform) makes concurrent workers that need the same model train it once.
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
    """``get_or_train(key, build, train)``: load ``key`` if cached, else build, train, save, return.

    Each entry ``<key>.pt`` has a sidecar ``<key>.pt.sha256`` holding the SHA-256 of its bytes, written
    with it: an entry that does not match (altered, zeroed, cut) or has no checksum is retrained,
    never trusted, and named in :attr:`warnings`. A failure to save (a full disk) is a warning too:
    the trained model is used all the same.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.hits = 0
        self.misses = 0
        self.warnings: list[str] = []

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.pt"

    @contextlib.contextmanager
    def _lock(self, key: str):
        from filelock import FileLock

        path = self._path(key).with_suffix(".lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(path)):  # released by the OS if this process dies
            yield

    def _load(self, path: Path):
        """The verified state dict at ``path``, or ``(None, why)`` when it is absent or cannot be trusted."""
        import io

        import torch

        if not path.exists():
            return None, ""
        sidecar = path.with_name(path.name + ".sha256")
        try:
            blob = path.read_bytes()
            expected = sidecar.read_text().strip() if sidecar.exists() else None
        except OSError as exc:
            return None, f"is unreadable ({exc.strerror or exc})"
        if expected is None:
            return None, "has no checksum"
        if hashlib.sha256(blob).hexdigest() != expected:
            return None, "does not match its checksum (altered or damaged)"
        try:
            return torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True), ""
        except Exception as exc:  # noqa: BLE001 - a matching checksum over bytes torch cannot read
            return None, f"cannot be loaded ({exc.__class__.__name__})"

    def _save(self, path: Path, model) -> None:
        import io

        import torch

        buffer = io.BytesIO()
        torch.save(model.state_dict(), buffer)
        blob = buffer.getvalue()
        sidecar = path.with_name(path.name + ".sha256")
        tmps = [path.with_name(f".{path.name}.{os.getpid()}.tmp"), sidecar.with_name(f".{sidecar.name}.{os.getpid()}.tmp")]
        try:
            tmps[0].write_bytes(blob)
            tmps[1].write_text(hashlib.sha256(blob).hexdigest() + "\n")
            # The entry first, then its checksum: a crash in between leaves an entry that fails the check.
            os.replace(tmps[0], path)
            os.replace(tmps[1], sidecar)
        except OSError as exc:
            for tmp in tmps:
                tmp.unlink(missing_ok=True)
            self.warnings.append(f"could not save the model cache entry {path} ({exc.strerror or exc}); the "
                                 "model was trained and used, and will be trained again next time: free space "
                                 "or fix the cache folder")

    def get_or_train(self, key: str, build, train):
        """The model for ``key``; ``build()`` makes a fresh one and ``train(model)`` fits it in place."""
        path = self._path(key)
        with self._lock(key):
            model = build()
            state, why = self._load(path)
            if state is not None:
                try:
                    model.load_state_dict(state)
                    model.eval()
                    self.hits += 1
                    return model
                except Exception:  # noqa: BLE001 - an entry of another shape (code changed under the key)
                    why = "does not fit the model"
                    model = build()
            if why:
                self.warnings.append(f"model cache entry {path} {why}: retrained")
            train(model)
            self._save(path, model)
            self.misses += 1
            return model
