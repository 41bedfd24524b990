"""Copying a trained torch module for each few-shot episode, as ``copy.deepcopy`` does but without its
generic walk over every attribute of every submodule (most of them empty hook dictionaries).

Importing this module never imports torch.
"""
from __future__ import annotations

import copy
import copyreg
from collections import OrderedDict

_ATOMIC = (bool, int, float, str, type(None))  # deepcopy returns these themselves
_EMPTY = (dict, OrderedDict, set)


def _copies_plainly(cls) -> bool:
    """Whether ``copy.deepcopy`` copies an instance of ``cls`` through ``torch.nn.Module``'s own
    ``__getstate__``/``__setstate__``, which :func:`copy_module` repeats."""
    import torch

    return (getattr(cls, "__deepcopy__", None) is None and cls not in copyreg.dispatch_table
            and cls.__reduce_ex__ is object.__reduce_ex__ and cls.__reduce__ is object.__reduce__
            and cls.__getstate__ is torch.nn.Module.__getstate__
            and cls.__setstate__ is torch.nn.Module.__setstate__)


def copy_module(module, memo: dict | None = None):
    """A copy of the torch module ``module`` equal to ``copy.deepcopy(module)``: the same classes, each
    parameter and buffer copied by its own ``__deepcopy__`` (new storage, same values and
    ``requires_grad``), the same training flags, hooks and attributes, objects shared inside the module
    shared in the copy (``memo`` is deepcopy's). A module class that customises copying or pickling is
    handed to ``copy.deepcopy`` itself."""
    memo = {} if memo is None else memo
    done = memo.get(id(module))
    if done is not None:
        return done
    cls = type(module)
    if not _copies_plainly(cls):
        return copy.deepcopy(module, memo)
    new = cls.__new__(cls)
    memo[id(module)] = new
    state = {}
    for name, value in module.__getstate__().items():
        kind = type(value)
        if kind in _ATOMIC:
            state[name] = value
        elif name == "_modules" and kind in (dict, OrderedDict):
            state[name] = kind((key, None if sub is None else copy_module(sub, memo)) for key, sub in value.items())
        elif name in ("_parameters", "_buffers") and kind in (dict, OrderedDict):
            state[name] = kind((key, copy.deepcopy(t, memo)) for key, t in value.items())
        elif kind in _EMPTY and not value:
            state[name] = kind()
        else:
            state[name] = copy.deepcopy(value, memo)
    new.__setstate__(state)
    return new
