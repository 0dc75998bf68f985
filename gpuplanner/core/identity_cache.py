"""Values kept by the identity of the frozen objects they were worked out from (a rig, a layout, a
catalog), the most recently used few.

Plans are frozen, so an edited rig or layout is a new object and an unchanged one is the very same
object: identity is an exact and cheap key. Each entry holds its key objects, so their ``id()``s cannot
be reused by other objects while it lives. Safe to share with a worker thread (Plan for me): a lost
race only drops an entry or works a value out again.
"""

from __future__ import annotations

from collections import OrderedDict
from contextlib import suppress
from operator import is_
from typing import Generic, TypeVar

V = TypeVar("V")


class IdentityCache(Generic[V]):
    """At most ``size`` values, each by the identity of the objects it was worked out from."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[int, ...], tuple[tuple[object, ...], V]] = OrderedDict()

    def get(self, *objects: object) -> V | None:
        """The value kept for exactly these objects, else None."""
        key = tuple(map(id, objects))
        entry = self._entries.get(key)
        # the very objects (a C loop: a 512-GPU layout's rings and hops look their rig up 100 times)
        if entry is None or len(entry[0]) != len(objects) or not all(map(is_, entry[0], objects)):
            return None
        with suppress(KeyError):  # dropped meanwhile by another thread
            self._entries.move_to_end(key)
        return entry[1]

    def put(self, value: V, *objects: object) -> V:
        """Keep ``value`` for these objects (dropping the least recently used past ``size``); returns it."""
        self._entries[tuple(map(id, objects))] = (objects, value)
        while len(self._entries) > self.size:
            with suppress(KeyError):
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        self._entries.clear()
