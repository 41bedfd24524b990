"""Errors a user can act on. The CLI prints their message without a traceback."""
from __future__ import annotations


class SerBenchError(Exception):
    """Base class: the message says what went wrong and what to do."""


class UnknownPluginError(SerBenchError, KeyError):
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
