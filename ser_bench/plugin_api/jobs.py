"""What an executor may know of the items it runs: :class:`SharedWork`, an item that says which of its
objects other items hold too.

An executor runs ``fn(item)`` for each item and may ship each item to another process or machine.
Items of one run often hold the same large objects (the runner's jobs hold the prepared corpora of
their cells, and a grid's cells share a few corpora), which an executor that copies each item would
send once per item. An item that is :class:`SharedWork` names those objects in :attr:`~SharedWork.shared`,
so that an executor with a store of its own (Ray's object store) ships each once, and gives them back
with :meth:`~SharedWork.with_shared` on the far side. An executor that pickles items (a process pool)
or runs them where they are needs none of this: the protocol is an offer, never a requirement.
"""
from __future__ import annotations

from typing import Any, Mapping, Protocol, runtime_checkable

__all__ = ["SharedWork"]


@runtime_checkable
class SharedWork(Protocol):
    """An item of work that declares the objects several items hold.

    ``shared``: ``{name: object}``, the objects the item holds that other items of the same batch may
    hold too (the same object, by identity: that is how an executor tells them apart).
    ``with_shared(shared)``: the same item holding ``shared`` instead, with the same names: an executor
    swaps the objects for references to its store before it sends the item, and the references for
    the objects before it calls ``fn``. The item itself is left as it was (items are values).

    Example, the way the Ray executor uses it (``put`` stores an object once, ``get`` fetches it)::

        counts = Counter(id(v) for item in items if isinstance(item, SharedWork) for v in item.shared.values())
        sent = [item.with_shared({k: put(v) if counts[id(v)] > 1 else v for k, v in item.shared.items()})
                if isinstance(item, SharedWork) else item for item in items]
        # on the worker:
        item = item.with_shared({k: get(v) for k, v in item.shared.items()})
    """

    @property
    def shared(self) -> Mapping[str, Any]:
        """The objects this item holds that other items may hold too, by name."""

    def with_shared(self, shared: Mapping[str, Any]) -> "SharedWork":
        """This item with ``shared`` (the same names) in place of the objects it holds."""
