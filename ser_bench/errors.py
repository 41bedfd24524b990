"""Errors a user can act on. The CLI prints their message without a traceback."""
from __future__ import annotations


class SerBenchError(Exception):
    """Base class: the message says what went wrong and what to do."""


class UnknownPluginError(SerBenchError, KeyError):
    """No plugin of that kind and name (the message lists close matches and every name)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return self.args[0]


class DuplicatePluginError(SerBenchError):
    pass


class PluginLoadError(SerBenchError):
    pass


class CorpusNotFoundError(SerBenchError):
    pass


class BadAudioError(SerBenchError):
    pass


class ProtocolError(SerBenchError):
    pass


class DivergedError(SerBenchError, ArithmeticError):
    """Training produced a non-finite loss, parameters or embeddings: there is no trained model to score.

    ``step`` is the training step (1-based) where it was seen, ``index`` which model of a batch of
    models trained together (``fit_many``), ``None`` for a model trained alone. Callers that know the
    method and the split say them (:meth:`within`). An ``ArithmeticError``, so that a tuning trial that
    diverges counts as failed rather than scored."""

    def __init__(self, message: str, step: int | None = None, index: int | None = None) -> None:
        super().__init__(message)
        self.step, self.index = step, index

    def within(self, what: str) -> "DivergedError":
        """The same error, its message led by ``what`` (the method and split)."""
        return DivergedError(f"{what}: {self.args[0]}", step=self.step, index=self.index)


class Interrupted(KeyboardInterrupt):
    """A stop asked for by a signal other than Ctrl-C (SIGTERM): handled exactly like Ctrl-C (finished
    cells kept, the same message), but the exit status still says which signal it was."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by signal {signum}")
        self.signum = signum


def exit_status(interruption: KeyboardInterrupt) -> int:
    """The shell's convention, 128 + the signal number: 130 after Ctrl-C (SIGINT), 143 after SIGTERM."""
    return 128 + getattr(interruption, "signum", 2)


class SerBenchWarning(UserWarning):
    """Something the user should know that does not stop the work: a cache entry recomputed, a result
    file left out, a split excluded from a mean. The message names the thing and what was done."""


def warnings_on_one_line() -> None:
    """Every warning prints as one ``ser-bench: warning: ...`` line: ser-bench's own as their message,
    a library's (scikit-learn, torch, ...) with its category and the package it came from instead of
    Python's ``file:line`` prefix and source line. ser-bench's own are printed here; any other goes to
    the ``showwarning`` in place (which prints it in this format, or records it under
    ``warnings.catch_warnings(record=True)``). Called by the command line and by every worker process
    it starts (:func:`ser_bench.processes.workers.start_worker`), whose warnings reach the same terminal."""
    import sys
    import warnings

    def one_line(message, category, filename, lineno, line=None):
        text = " ".join(str(message).split())
        if not issubclass(category, SerBenchWarning) and category.__name__ != "PluginWarning":
            text = f"{category.__name__} from {package_of(filename)}: {text}"
        return f"ser-bench: warning: {text}\n"

    show = warnings.showwarning

    def show_ours(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, SerBenchWarning):
            print(one_line(message, category, filename, lineno), end="", file=sys.stderr)
        else:
            show(message, category, filename, lineno, file, line)

    warnings.formatwarning = one_line
    warnings.showwarning = show_ours


def package_of(filename: str) -> str:
    """The top-level package a source file belongs to (``sklearn`` for .../site-packages/sklearn/x.py)."""
    import os

    parts = os.path.normpath(str(filename)).split(os.sep)
    for marker in ("site-packages", "dist-packages"):
        if marker in parts and parts.index(marker) + 1 < len(parts):
            return parts[parts.index(marker) + 1].removesuffix(".py")
    return os.path.splitext(os.path.basename(str(filename)))[0] or "python"
