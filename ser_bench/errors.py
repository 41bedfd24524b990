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
