"""What a script may leave in task data: JSON-shaped values SpiffWorkflow can serialize.

Task data is serialized with every snapshot and reloaded for later commands, so a value must
come back equal: JSON types (tuples become lists here, at once, rather than after the next
reload, so that live runs and replays see the same data) plus ``datetime`` and ``timedelta``,
which SpiffWorkflow's default serializer round-trips. Anything else is refused with a hint.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

#: Deepest nesting of lists and dicts stored in task data.
MAX_DEPTH = 64
# JSON cannot write ints above 4300 digits (CPython's int/str conversion limit).
_MAX_INT_BITS = 14_000
STORABLE_SCALARS: frozenset[type] = frozenset({str, int, float, bool, type(None), datetime, timedelta})
_HINTS = {
    "date": "; store d.isoformat() (or a datetime) instead",
    "set": "; store a sorted list instead",
    "frozenset": "; store a sorted list instead",
    "range": "; wrap it in list()",
    "list_reverseiterator": "; wrap it in list()",
}


class Unstorable(Exception):
    """A value cannot go into task data; the message completes "variable 'x' ..."."""


def to_task_data(value: Any, max_items: int, max_chars: int) -> Any:
    """``value`` in task-data shape: tuples turned into lists, in place where possible.

    Shared references count once per reference, as JSON writes them.

    Raises:
        Unstorable: a value of another type, a non-string dict key, too deep (or
            self-referencing), more than ``max_items`` items or ``max_chars`` characters.
    """
    if type(value) in STORABLE_SCALARS and type(value) is not int:
        return value  # the common case (conditions): no walk
    budget = [max_items, max_chars]

    def convert(item: Any, depth: int) -> Any:
        kind = type(item)
        budget[0] -= 1
        if kind is str:
            budget[1] -= len(item)
        if budget[0] < 0 or budget[1] < 0:
            raise Unstorable("is too large to store in task data")
        if kind in STORABLE_SCALARS:
            if kind is int and item.bit_length() > _MAX_INT_BITS:
                raise Unstorable("holds a number too large to store")
            return item
        if depth >= MAX_DEPTH:
            raise Unstorable("is nested too deeply (or contains itself)")
        if kind is list:
            for index, element in enumerate(item):
                converted = convert(element, depth + 1)
                if converted is not element:
                    item[index] = converted
            return item
        if kind is tuple:
            return [convert(element, depth + 1) for element in item]
        if kind is dict:
            for key, element in item.items():
                if type(key) is not str:
                    raise Unstorable(
                        f"has the {type(key).__name__} key {key!r:.40}; task data keys must be strings"
                    )
                converted = convert(element, depth + 1)
                if converted is not element:
                    item[key] = converted  # replacing a value does not resize the dict
            return item
        hint = _HINTS.get(kind.__name__, "")
        raise Unstorable(f"holds a {kind.__name__} value, which task data cannot store{hint}")

    return convert(value, 0)
