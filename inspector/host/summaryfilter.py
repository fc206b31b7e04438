"""The filter language (:mod:`inspector.filtering`) applied to a session's exchanges.

The list, ``--filter`` and the exports all come here. Most terms test the
:class:`~inspector.host.eventlog.Summary` every exchange keeps in memory (a
few attribute reads each: 100k rows filter in tens of milliseconds). Body,
header and ``has:edits`` terms are answered by the session's full-text index
(:mod:`inspector.host.bodyindex`) as sets of ids, looked up once per filter,
then tested per row as ``id in found``: so a filter costs one index query per
such term plus the pass over the summaries.

- :func:`parse` gives the test of a text's summary terms alone;
- :func:`select` gives the summaries a filter matches in a store;
- :func:`predicate` the per-summary test, given what the index found;
- :func:`exchange_matches` tests one whole exchange without any index (a HAR
  file read entry by entry), reading its bodies and headers as the index would.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import Any, Callable

from ..filtering import Filter, FilterError, Search
from ..filtering import parse as parse_filter
from ..model import Exchange
from . import bodyindex

__all__ = ["Filter", "FilterError", "Predicate", "accept_all", "exchange_matches", "find",
           "parse", "parse_filter", "predicate", "select"]

Predicate = Callable[[Any], bool]


def accept_all(summary: Any) -> bool:
    """What an empty filter gives; callers may test ``predicate is accept_all``."""
    return True


def parse(text: str) -> Predicate:
    """The per-summary test of ``text`` (FilterError if it cannot be read); its body
    and header terms find nothing here: :func:`select` looks them up."""
    return predicate(parse_filter(text))


def predicate(flt: Filter, found: dict[Search, set[int]] | None = None) -> Predicate:
    """The per-summary test of ``flt`` (``found``: its searches' ids)."""
    return accept_all if flt.empty else flt.predicate(found)


def find(store: Any, flt: Filter) -> dict[Search, set[int]]:
    """The ids each search term of ``flt`` finds in ``store``'s index (which a
    session without one in its file builds first, in memory: see bodyindex)."""
    return store.search_index.find(flt.searches) if flt.searches else {}


def select(store: Any, flt: Filter, summaries: Iterable[Any] | None = None) -> list[Any]:
    """The summaries of ``store`` (or those given, in id order) that ``flt`` matches,
    in order. A search term that must hold narrows the rows tested to what it found."""
    found = find(store, flt)
    test = predicate(flt, found)
    rows = store.summaries() if summaries is None else list(summaries)
    needed = [found[t.search] for t in flt.terms if t.search is not None and not t.negate]
    if needed and len(min(needed, key=len)) * 8 < len(rows):
        rows = _with_ids(rows, min(needed, key=len))
    return [s for s in rows if test(s)]


def _with_ids(rows: list[Any], ids: set[int]) -> list[Any]:
    """Those of ``rows`` (in id order) whose id is in ``ids``, found by bisection."""
    keys = [s.id for s in rows]
    out = []
    for xid in sorted(ids):
        at = bisect.bisect_left(keys, xid)
        if at < len(keys) and keys[at] == xid:
            out.append(rows[at])
    return out


def exchange_matches(flt: Filter, x: Exchange) -> bool:
    """Does ``flt`` match this exchange? Everything read from the exchange itself."""
    from .store import summarize  # the store imports this module's neighbours

    found: dict[Search, set[int]] = {}
    if flt.searches:
        row = bodyindex.row_from_exchange(x)
        found = {s: {x.id} if bodyindex.row_matches(row, s) else set() for s in flt.searches}
    return predicate(flt, found)(summarize(x))
