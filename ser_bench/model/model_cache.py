"""A disk cache of trained models, shared by every cell (and worker) that starts from the same model.

The key covers everything that determines the weights: the training data (manifest hash and row
indices), feature, encoder and its parameters, loss and its parameters, training parameters,
normalisation and seed. Entries are written atomically with a checksum that also names their key; a
per-key lock (``filelock``, on every platform) makes concurrent workers that need the same model train
it once.

Nothing here relies on the lock for correctness, because on a cluster the folder may be on a
filesystem whose locks do not work (NFS without a lock daemon) or may not exist at all on a worker's
node: a lock that cannot be taken only costs a duplicate training, and a folder that cannot be written
is replaced by a node-local one (or by no cache), with one warning.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import tempfile
import uuid
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


def node_local_folders() -> list[Path]:
    """Where a worker caches models when the folder the driver named is unusable on its node, best first:
    this node's own cache (``SER_BENCH_CACHE_DIR`` or ``~/.cache/ser-bench``), then a private folder of
    this user under the system's temporary folder."""
    from ser_bench.plugin_api.context import default_cache_dir

    user = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    return [default_cache_dir() / "models", Path(tempfile.gettempdir()) / f"ser-bench-{user}" / "models"]


def folder_problem(folder: Path, private: bool = False) -> str:
    """Why models cannot be cached in ``folder`` on this node ("" when they can): it is created if
    missing, then a file is written and removed in it. A ``private`` folder must also be this user's
    alone (no one else may write in it or in its parents up to the temporary folder), so that no other
    user of a shared temporary folder can plant entries in it."""
    probe = folder / f".probe-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if private and hasattr(os, "getuid"):
            top = Path(tempfile.gettempdir())
            for part in [folder, *folder.parents]:
                if part == top or part == part.parent:
                    break
                info = part.stat()
                if info.st_uid != os.getuid() or info.st_mode & 0o022:
                    return f"{part} belongs to another user or others may write in it"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        blocking = next((p for p in [folder, *folder.parents] if p.exists() and not p.is_dir()), None)
        return f"{blocking} is a file, not a folder" if blocking else (exc.strerror or str(exc))
    return ""


def cpu_state(state):
    """``state`` (a state dict) with every tensor on the CPU: what an entry holds, readable on any
    machine. A state already there is returned as it is (the same bytes as before devices existed)."""
    if all(t.device.type == "cpu" for t in state.values()):
        return state
    out = type(state)((k, v.detach().cpu()) for k, v in state.items())
    if hasattr(state, "_metadata"):
        out._metadata = state._metadata  # module versions, which load_state_dict reads
    return out


class DiskModelCache:
    """``get_or_train(key, build, train)``: load ``key`` if cached, else build, train, save, return.

    Each entry ``<key>.pt`` has a sidecar ``<key>.pt.sha256`` holding the SHA-256 of its bytes and the
    key it was written for, written with it: an entry that does not match (altered, zeroed, cut, or
    written for another key) or has no checksum is retrained, never trusted, and named in
    :attr:`warnings`. A failure to save (a full disk) is a warning too: the trained model is used all
    the same.

    The folder is checked on first use, on the node where the cache is used: when it cannot be created
    or written there (a cluster node that does not mount it), the first usable of
    :func:`node_local_folders` takes its place, else models are trained without a cache; either way
    with one warning, and the cell goes on. :attr:`folder` is then the folder actually used (or None).

    Entries hold CPU tensors whatever the device a model was trained on, and are loaded onto
    ``device`` (the run's, ``run --device``; ``map_location``), where ``build()`` puts its models too.
    """

    lock_timeout = 1800.0  # seconds; longer than any one model's training here

    def __init__(self, folder: str | Path, device: str = "cpu") -> None:
        self.requested = Path(folder)
        self.device = str(device)
        self.folder: Path | None = self.requested
        self.hits = 0
        self.misses = 0
        self.warnings: list[str] = []
        self._checked = False
        self._locks_work = True

    def _usable_folder(self) -> Path | None:
        """The folder to use on this node, decided once (with its warning)."""
        if self._checked:
            return self.folder
        self._checked = True
        why = folder_problem(self.requested)
        if not why:
            return self.folder
        node = socket.gethostname()
        for candidate in node_local_folders():
            if candidate != self.requested and not folder_problem(candidate, private=True):
                self.folder = candidate
                self.warnings.append(
                    f"the model cache folder {self.requested} cannot be used on node {node} ({why}); models "
                    f"trained there are cached in {candidate} on that node instead. To share one model cache, "
                    "mount the same folder at the same path on every node, or pass --cache-dir a folder that "
                    "every node can write")
                return self.folder
        self.folder = None
        self.warnings.append(
            f"the model cache folder {self.requested} cannot be used on node {node} ({why}), nor any folder "
            f"of that node ({', '.join(map(str, node_local_folders()))}); models are trained there without a "
            "cache. Give the node a writable SER_BENCH_CACHE_DIR, or mount the cache folder on it")
        return None

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.pt"

    @contextlib.contextmanager
    def _lock(self, key: str):
        """The per-key lock, or none where this filesystem cannot lock or a lock is held past
        :attr:`lock_timeout` (one warning): atomic, verified entries keep that safe, and two workers may
        then train the same model twice."""
        from filelock import FileLock, Timeout

        path = self._path(key).with_suffix(".lock")
        lock = FileLock(str(path))
        held = False
        if self._locks_work:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                # A lock file left on a filesystem without flock (filelock then uses a plain marker file)
                # outlives a killed worker: waiting for it forever would hang the cell.
                lock.acquire(timeout=self.lock_timeout)  # a real lock is released by the OS if we die
                held = True
            except Timeout:
                self.warnings.append(
                    f"the model cache lock {path} was held for more than {self.lock_timeout:.0f} s (a long "
                    "training elsewhere, or a lock left by a killed worker on a filesystem without file locks); "
                    "went on without it, so this model may be trained twice. Delete the .lock file if no run "
                    "is using it")
            except (OSError, NotImplementedError) as exc:
                self._locks_work = False
                self.warnings.append(
                    f"file locks do not work in the model cache folder {self.folder} on node "
                    f"{socket.gethostname()} ({getattr(exc, 'strerror', None) or exc}); workers may train the "
                    "same model twice there, and entries stay safe. Put the cache on a filesystem with working "
                    "locks to avoid the duplicate work")
        try:
            yield
        finally:
            if held:
                lock.release()

    def _load(self, path: Path, key: str):
        """The verified state dict at ``path``, or ``(None, why)`` when it is absent or cannot be trusted."""
        import io

        import torch

        if not path.exists():
            return None, ""
        sidecar = path.with_name(path.name + ".sha256")
        try:
            blob = path.read_bytes()
            recorded = sidecar.read_text().split() if sidecar.exists() else None
        except OSError as exc:
            return None, f"is unreadable ({exc.strerror or exc})"
        if not recorded:
            return None, "has no checksum"
        if recorded[1:] != [key]:
            return None, "was not written for this key (moved, copied or left by an older ser-bench)"
        if hashlib.sha256(blob).hexdigest() != recorded[0]:
            return None, "does not match its checksum (altered, damaged, or replaced while being read)"
        try:
            return torch.load(io.BytesIO(blob), map_location=self.device, weights_only=True), ""
        except Exception as exc:  # noqa: BLE001 - a matching checksum over bytes torch cannot read
            return None, f"cannot be loaded ({exc.__class__.__name__})"

    def _save(self, path: Path, key: str, model) -> None:
        import io

        import torch

        buffer = io.BytesIO()
        torch.save(cpu_state(model.state_dict()), buffer)
        blob = buffer.getvalue()
        sidecar = path.with_name(path.name + ".sha256")
        # Unique per writer: two nodes of a shared folder can have the same process id, and two threads
        # of one process always do.
        writer = f"{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex}"
        tmps = [path.with_name(f".{path.name}.{writer}.tmp"), sidecar.with_name(f".{sidecar.name}.{writer}.tmp")]
        try:
            tmps[0].write_bytes(blob)
            tmps[1].write_text(f"{hashlib.sha256(blob).hexdigest()} {key}\n")
            # The entry first, then its checksum: a crash in between, or a second writer whose replaces
            # interleave with ours, leaves an entry that fails the check and is retrained.
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
        if self._usable_folder() is None:
            model = build()
            train(model)
            self.misses += 1
            return model
        path = self._path(key)
        with self._lock(key):
            model = build()
            state, why = self._load(path, key)
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
            self._save(path, key, model)
            self.misses += 1
            return model
