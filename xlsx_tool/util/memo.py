"""Bounded in-process caches: what a collection or a generation run computes once and reuses.

Every cache here is emptied when it reaches its limit rather than evicting one entry at a time: what
it holds is cheap to compute again, and a full table is usually the sign of entries that will not be
asked for again (one book's own rows, one entity's footer).
"""

from __future__ import annotations

from collections.abc import Callable


def remember(table: dict, key, value, limit: int):
    """table[key] = value, the table emptied first when it holds `limit` entries. Returns value."""
    if len(table) >= limit:
        table.clear()
    table[key] = value
    return value


def per_object(table: dict, obj, derive: Callable, limit: int = 64):
    """derive(obj), computed once per object: for immutable objects compared by identity (catalogs).
    The object is kept with its result, so that its id cannot be reused while the entry lives."""
    known = table.get(id(obj))
    if known is None or known[0] is not obj:
        known = remember(table, id(obj), (obj, derive(obj)), limit)
    return known[1]
