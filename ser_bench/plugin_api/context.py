"""The run context passed to plugins: where corpora live, where caches go, how to report progress."""
from __future__ import annotations

import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

from ser_bench.errors import CorpusNotFoundError, SerBenchWarning

DATA_DIR_ENV = "SER_BENCH_DATA_DIR"
CACHE_DIR_ENV = "SER_BENCH_CACHE_DIR"
CONFIG_ENV = "SER_BENCH_CONFIG"
CONFIG_FILES = (Path("ser-bench.toml"), Path.home() / ".config" / "ser-bench" / "config.toml")


def load_config(path: Optional[Path] = None) -> dict:
    """The first config file found: ``path``, ``$SER_BENCH_CONFIG``, ``./ser-bench.toml``, ``~/.config/ser-bench/config.toml``.

    Example::

        data_dirs = ["/data/corpora"]
        [corpora]
        ravdess = "/data/RAVDESS-16k"
        crema = "/data/CREMA-D/AudioWAV"
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    candidates = [Path(path)] if path else ([Path(os.environ[CONFIG_ENV])] if os.environ.get(CONFIG_ENV) else [])
    if path and not Path(path).exists():
        from ser_bench.errors import SerBenchError

        raise SerBenchError(f"config file {path} does not exist")
    for candidate in candidates + list(CONFIG_FILES):
        if candidate.is_file():
            with open(candidate, "rb") as fh:
                try:
                    config = tomllib.load(fh)
                except tomllib.TOMLDecodeError as exc:
                    from ser_bench.errors import SerBenchError

                    raise SerBenchError(f"config file {candidate} is not valid TOML: {exc}") from None
            _check_config(candidate, config)
            config["_path"] = str(candidate)
            return config
    return {}


# The config file's keys and the shapes they take (a string where a list is meant would otherwise be
# read one character at a time: data_dirs = "/data" -> "/", "d", "a", ...).
_CONFIG_SHAPES = {"data_dirs": (list, 'a list of folders, e.g. data_dirs = ["/data/corpora"]'),
                  "corpora": (dict, 'a table of corpus = "folder", e.g. [corpora] then ravdess = "/data/RAVDESS"'),
                  "cache_dir": (str, 'a folder, e.g. cache_dir = "/scratch/ser-bench"'),
                  "search": (dict, 'a table of "scope.name" = "range", e.g. [search] then "training.lr" = "1e-4..1e-2:log"')}


def _check_config(path: Path, config: dict) -> None:
    """Each known key of the config file has the shape it needs (a list, a table, a string of a folder),
    and the folders given are strings; else a :class:`SerBenchError` naming the file, the key and the shape."""
    from ser_bench.errors import SerBenchError

    for key, (kind, shape) in _CONFIG_SHAPES.items():
        if key not in config:
            continue
        value = config[key]
        items = value if isinstance(value, list) else list(value.values()) if isinstance(value, dict) else [value]
        if not isinstance(value, kind) or (key in ("data_dirs", "corpora") and not all(isinstance(v, str) for v in items)):
            raise SerBenchError(f"config file {path}: {key} = {value!r} should be {shape}")




def warn(ctx, message: str) -> None:
    """``ctx.warn(message)``, or a :class:`SerBenchWarning` for a context without one (a plugin's own)."""
    if callable(getattr(ctx, "warn", None)):
        ctx.warn(message)
    else:
        warnings.warn(message, SerBenchWarning, stacklevel=3)


class _NullBar:
    def update(self, n: int = 1) -> None:
        pass


@contextmanager
def null_progress(total: int, desc: str) -> Iterator[_NullBar]:
    """A progress reporter that reports nothing (the default; the CLI passes a tqdm one)."""
    yield _NullBar()


def default_cache_dir() -> Path:
    """``$SER_BENCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/ser-bench``, else ``~/.cache/ser-bench``."""
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ser-bench"


def default_data_dirs() -> list[Path]:
    """``$SER_BENCH_DATA_DIR`` (``os.pathsep``-separated), then ``./data`` and ``~/ser-bench-data``."""
    dirs = [Path(p).expanduser() for p in os.environ.get(DATA_DIR_ENV, "").split(os.pathsep) if p]
    return dirs + [Path("data"), Path.home() / "ser-bench-data"]


@dataclass
class RunContext:
    """Everything a dataset or feature plugin may need from the outside world.

    ``corpus_paths`` maps a dataset name to an explicit folder and wins over ``data_dirs``.
    ``progress(total, desc)`` is a context manager yielding an object with ``update(n)``.
    ``on_warning(message)``, when given, receives every warning (the CLI prints them); otherwise they
    are issued as :class:`SerBenchWarning`. Either way they are kept in ``warnings``.
    """

    data_dirs: Sequence[Path] = field(default_factory=default_data_dirs)
    cache_dir: Path = field(default_factory=default_cache_dir)
    corpus_paths: dict = field(default_factory=dict)
    progress: Callable = null_progress
    workers: Optional[int] = None
    skip_bad_files: bool = False
    skipped_files: list = field(default_factory=list)
    on_warning: Optional[Callable[[str], None]] = None
    warnings: list = field(default_factory=list)

    def warn(self, message: str) -> None:
        """Report something the user must know but that does not stop the work (kept in ``warnings``)."""
        self.warnings.append(message)
        if self.on_warning is not None:
            self.on_warning(message)
        else:
            warnings.warn(message, SerBenchWarning, stacklevel=2)

    def report_bad_file(self, path, reason: str) -> None:
        """A loader found a file it cannot use: raise (default) or, with ``skip_bad_files``, record it.

        Skipped files are listed in every result that uses the corpus.
        """
        from ser_bench.errors import BadAudioError

        message = f"{path}: {reason}"
        if not self.skip_bad_files:
            raise BadAudioError(f"{message}\nFix or remove the file, or pass --skip-bad-files to leave it out "
                                "(it is then listed in the results).")
        self.skipped_files.append(message)

    def find_corpus(self, dataset: str, folder_names: Sequence[str]) -> Path:
        """The folder holding ``dataset``: an explicit path, else ``<data dir>/<folder name>``.

        Raises :class:`CorpusNotFoundError` naming every place looked and how to point elsewhere.
        """
        looked: list[Path] = []
        if dataset in self.corpus_paths:  # an explicit path (--corpus-path or the config file) wins
            path = Path(self.corpus_paths[dataset]).expanduser()
            if path.is_dir():
                return path
            looked.append(path)
        for base in self.data_dirs:
            for folder in folder_names:
                path = Path(base) / folder
                if path.is_dir():
                    return path
                looked.append(path)
        places = "\n  ".join(str(p.resolve()) for p in looked)
        raise CorpusNotFoundError(
            f"corpus {dataset!r} not found. Looked in:\n  {places}\n"
            f"Put a copy in one of those folders, or point ser-bench at it with "
            f"--data-dir DIR (a folder containing {' or '.join(folder_names)}), "
            f"{DATA_DIR_ENV}=DIR, --corpus-path {dataset}=DIR, or [corpora] {dataset} = \"DIR\" in "
            f"ser-bench.toml. No copy at hand? The simulated corpora (sim-ravdess, sim-crema, "
            f"sim-enterface) need no download: e.g. --source sim-crema --target sim-ravdess."
        )

    @property
    def n_workers(self) -> int:
        """Worker processes to use: the explicit setting, else every core."""
        return self.workers or os.cpu_count() or 1
