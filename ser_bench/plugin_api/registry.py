"""Name -> spec lookup for each plugin kind, with provenance of who registered what."""
from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

from ser_bench.errors import DuplicatePluginError, PluginLoadError, UnknownPluginError
from ser_bench.plugin_api.types import SINGULAR, SPEC_TYPES

# What a registered name may hold: it is typed on the command line (where ':' separates a variant, '|'
# joins corpora and '[...]' filters one), written into result file names, and shown in every board and
# export, where '=', '|', '<' or a line break would be a formula, a forged row or markup.
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
SAFE_NAME_RULE = ("a name holds only ASCII letters, digits, '_', '-' and '.', and starts with a letter or a digit "
                  "(on the command line ':' adds a variant, as in pml:CircleLoss)")


def is_safe_name(name) -> bool:
    """Whether ``name`` may be registered (:data:`SAFE_NAME`): ``sim-ravdess``, ``is09-64``, ``linear_svm``."""
    return isinstance(name, str) and SAFE_NAME.fullmatch(name) is not None


def _is_corpus_expression(name: str) -> bool:
    # In "ravdess+noise:snr=10" the ':' separates a channel's parameters, it is not a variant; in
    # "emodb|turev" the '|' joins corpora (a union).
    return "[" in name or "|" in name or "+" in name.split(":", 1)[0]


def base_name(name: str) -> str:
    """``"pml:CircleLoss"`` -> ``"pml"``: a plugin name with an optional ``:variant`` (a corpus
    expression such as ``ravdess+noise:snr=10`` is returned whole: it has no variant)."""
    return name if _is_corpus_expression(name) else name.split(":", 1)[0]


def variant(name: str) -> str | None:
    """``"pml:CircleLoss"`` -> ``"CircleLoss"``; ``None`` without a variant (and for corpus expressions)."""
    return name.split(":", 1)[1] if ":" in name and not _is_corpus_expression(name) else None


@functools.lru_cache(maxsize=None)
def _hints(spec_type) -> dict:
    import typing

    return typing.get_type_hints(spec_type)


def _outside_vocabulary(spec) -> str:
    """The first field of ``spec`` typed with a ``Literal`` (or a tuple of one) whose value is not one of
    its choices, said in words (``kind='siamse', which is none of 'siamese', 'embedding'``); ``""`` if none."""
    import dataclasses
    import typing

    hints = _hints(type(spec))  # type: ignore[arg-type]  # a class is hashable; mypy reads its __hash__ as unbound
    for f in dataclasses.fields(spec):
        hint = hints.get(f.name)
        value = getattr(spec, f.name)
        if typing.get_origin(hint) is tuple and typing.get_args(hint)[-1:] == (Ellipsis,):
            hint, values = typing.get_args(hint)[0], value if isinstance(value, (tuple, list)) else [value]
        else:
            values = [value]
        if typing.get_origin(hint) is typing.Literal:
            choices = typing.get_args(hint)
            for v in values:
                if v not in choices:
                    return f"{f.name}={value!r}, which is none of {', '.join(map(repr, choices))}"
    return ""


@dataclass(frozen=True)
class Entry:
    """A registered spec and where it came from (plugin name, distribution, version)."""

    kind: str
    spec: Any
    plugin: str
    distribution: str
    version: str


class Registry:
    """Specs by kind and name. Built by :func:`ser_bench.plugin_api.manager.load_registry`."""

    def __init__(self, view_resolvers: Sequence[Callable[..., Entry | None]] = ()) -> None:
        """``view_resolvers``: the ``ser_bench_dataset_view`` implementations, asked in order for a dataset
        name that is a corpus expression (plain functions, so that a registry pickles)."""
        self._entries: dict[str, dict[str, Entry]] = {kind: {} for kind in SPEC_TYPES}
        self._view_resolvers = tuple(view_resolvers)

    def add(self, entry: Entry) -> None:
        """Register one spec; a second spec with the same kind and name is an error naming both, and so is a
        name that is not safe (:func:`is_safe_name`), naming the plugin."""
        expected = SPEC_TYPES[entry.kind]
        if not isinstance(entry.spec, expected):
            raise TypeError(
                f"plugin {entry.plugin!r} returned {type(entry.spec).__name__} from its {entry.kind} hook; "
                f"expected {expected.__name__}"
            )
        wrong = _outside_vocabulary(entry.spec)
        if wrong:
            raise PluginLoadError(f"plugin {entry.plugin} ({entry.distribution}) registers the {SINGULAR[entry.kind]} "
                                  f"{entry.spec.name!r} with {wrong}. Fix the spec, or uninstall the plugin.")
        if not is_safe_name(entry.spec.name):
            raise PluginLoadError(
                f"plugin {entry.plugin} ({entry.distribution}) registers the {SINGULAR[entry.kind]} "
                f"{entry.spec.name!r}: {SAFE_NAME_RULE}. Rename it, or uninstall the plugin."
            )
        existing = self._entries[entry.kind].get(entry.spec.name)
        if existing is not None:
            raise DuplicatePluginError(
                f"two plugins register the {SINGULAR[entry.kind]} {entry.spec.name!r}: "
                f"{existing.plugin} ({existing.distribution}) and {entry.plugin} ({entry.distribution}). "
                "Uninstall or rename one of them."
            )
        self._entries[entry.kind][entry.spec.name] = entry

    def get(self, kind: str, name: str) -> Any:
        """The spec called ``name``; an unknown name raises with close matches and the full list.

        A dataset name may be a corpus expression (``ravdess[sex=female]+telephone``, see
        :mod:`ser_bench.data.domains`): the spec returned is a view of the base corpus named by the expression;
        or a union of corpora (``emodb|turev``, see :mod:`ser_bench.data.unions`).
        """
        return self.entry(kind, name).spec

    def entry(self, kind: str, name: str) -> Entry:
        """Like :meth:`get` but returns the :class:`Entry` with provenance."""
        if kind not in self._entries:
            raise UnknownPluginError(f"unknown plugin kind {kind!r}; kinds are: {', '.join(self._entries)}")
        if kind == "datasets" and _is_corpus_expression(name):  # a view: ravdess[sex=female]+telephone
            return self._view(name)
        if name not in self._entries[kind] and base_name(name) in self._entries[kind]:
            return self._entries[kind][base_name(name)]  # name:variant, the variant is a parameter
        try:
            return self._entries[kind][name]
        except KeyError:
            names = sorted(self._entries[kind])
            close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise UnknownPluginError(
                f"no {SINGULAR[kind]} called {name!r}.{hint} Available: {', '.join(names) or '(none)'}. "
                "`ser-bench plugins` lists every plugin and where it comes from."
            ) from None

    def default(self, kind: str) -> Any:
        """The spec of ``kind`` whose record says ``default=True`` (the feature a cell uses when none is
        named; the encoder of a loss that names none): the core names no plugin. None, or several, is an
        error naming them."""
        chosen = [e for e in self.entries(kind) if getattr(e.spec, "default", False)]
        if len(chosen) != 1:
            found = ", ".join(f"{e.spec.name} ({e.plugin})" for e in chosen) or "none"
            raise PluginLoadError(f"exactly one {SINGULAR[kind]} must be the default (default=True); found {found}. "
                                  "Name one explicitly, or uninstall the plugin that also claims the default.")
        return chosen[0].spec

    def _view(self, name: str) -> Entry:
        for resolve in self._view_resolvers:
            entry = resolve(registry=self, name=name)
            if entry is not None:
                return entry
        raise UnknownPluginError(
            f"no plugin resolves the corpus expression {name!r} ([...] filters, + channels, | unions are read "
            "by the built-in plugin ser_bench_plugins.datasets.corpus_expressions; this registry was built "
            "without it)")

    def names(self, kind: str) -> list[str]:
        """Sorted names registered for ``kind``."""
        return sorted(self._entries[kind])

    def entries(self, kind: str | None = None) -> Iterator[Entry]:
        """All entries, or those of one kind, sorted by kind then name."""
        kinds = [kind] if kind else list(self._entries)
        for k in kinds:
            for name in sorted(self._entries[k]):
                yield self._entries[k][name]
