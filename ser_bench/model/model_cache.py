"""A disk cache of trained models, shared by every cell (and worker) that starts from the same model.

The key covers everything that determines the weights: the training data (manifest hash and row
indices), feature, encoder and its parameters, loss and its parameters, training parameters,
normalisation and seed. Entries are kept by a :class:`~ser_bench.cache_store.CacheStore`: written
atomically, they record their key inside (beside the weights, :data:`KEY_ENTRY`) and have a checksum that
also names their key; a per-key lock (``filelock``, on every platform) makes concurrent workers that need
the same model train it once. The key is no secret and the checksum is no signature: they catch damaged,
copied and moved entries (a checksum rewritten to match included), not someone who writes the cache on
purpose (README, "Caches").

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
from pathlib import Path

from ser_bench.cache_store import BadChecksum, CacheStore, probe_writable

# The state dict entry holding the key an entry was computed for (its ASCII bytes as a uint8 tensor, so that
# an entry stays a plain state dict that torch.load reads); no module has a parameter of that name.
KEY_ENTRY = "ser_bench.model_cache_key"


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

    Each entry ``<key>.pt`` holds the key it was computed for beside the weights (:data:`KEY_ENTRY`),
    and has a sidecar ``<key>.pt.sha256`` holding the SHA-256 of its bytes and that key, written with
    it: an entry that does not match (altered, zeroed, cut, written for another key, copied under
    another key with a checksum written to match) or has no checksum is retrained and replaced, never
    trusted, and named in :attr:`warnings`; so is a path that is not a file (a named pipe is never opened for
    reading: it would block). A failure to save (a full disk) is a warning too: the trained model is
    used all the same.

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
        why = probe_writable(self.requested)
        if not why:
            return self.folder
        node = socket.gethostname()
        for candidate in node_local_folders():
            if candidate != self.requested and not probe_writable(candidate, private=True):
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

    def _store(self) -> CacheStore:
        return CacheStore(self.folder, ".pt", checksum=True)

    def _path(self, key: str) -> Path:
        return self._store().path(key)

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

    def _load(self, key: str):
        """The verified state dict of ``key``, or ``(None, why)`` when it is absent or cannot be trusted."""
        import io

        import torch

        store = self._store()
        if not store.path(key).exists():
            return None, ""
        try:
            blob = store.get_bytes(key)
        except OSError as exc:
            return None, f"is unreadable ({exc.strerror or exc})" if exc.errno else f"is {exc}"
        except BadChecksum as exc:
            return None, str(exc)
        try:
            state = torch.load(io.BytesIO(blob), map_location=self.device, weights_only=True)
        except Exception as exc:  # noqa: BLE001 - a matching checksum over bytes torch cannot read
            return None, f"cannot be loaded ({exc.__class__.__name__})"
        recorded = state.pop(KEY_ENTRY, None) if isinstance(state, dict) else None
        if not isinstance(recorded, torch.Tensor):
            return None, "records no key (written by an older ser-bench, or not by ser-bench)"
        written_for = bytes(recorded.to("cpu", torch.uint8).tolist()).decode("ascii", "replace")
        if written_for != key:
            shown = written_for if written_for.isalnum() else "an unreadable key"
            return None, (f"was written for key {shown}, not this one (copied or moved here, its checksum "
                          "rewritten to match)")
        return state, ""

    def _save(self, key: str, model) -> None:
        import io

        import torch

        buffer = io.BytesIO()
        state = cpu_state(model.state_dict())  # a new dict of the model's tensors: adding to it changes nothing
        state[KEY_ENTRY] = torch.tensor(list(key.encode("ascii")), dtype=torch.uint8)
        torch.save(state, buffer)
        store = self._store()
        try:
            store.put_bytes(key, buffer.getvalue())
        except OSError as exc:
            path, sidecar = store.path(key), store.sidecar(key)
            folder = next((p for p in (path, sidecar) if p.is_dir() and not p.is_symlink()), None)
            fix = f"{folder} is a folder, not a file: remove it" if folder else "free space or fix the cache folder"
            self.warnings.append(f"could not save the model cache entry {path} ({exc.strerror or exc}); the "
                                 f"model was trained and used, and will be trained again next time: {fix}")

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
            state, why = self._load(key)
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
            self._save(key, model)
            self.misses += 1
            return model
