"""``--filter EXPR`` and ``--break FILTER`` on the command line (see inspector.filtering).

``--filter`` limits what the command line shows and writes: the access-log
lines of ``--headless``, the HAR at its end, and the exchanges ``--open FILE
--har OUT`` converts (a session through its index, a HAR file entry by entry);
the window opens with it in the list's filter box.
A filter or breakpoint that cannot be read ends the command before anything
starts, with the parser's one sentence (exit code 2).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator
from typing import Any, Callable

from ..filtering import Filter, FilterError, parse, parse_breakpoint
from ..model import Exchange
from . import summaryfilter

HELP = ("only the exchanges matching EXPR: printed and exported with --headless, "
        "converted with --open FILE --har OUT, listed in the window; e.g. 'method:POST "
        "status:5xx' or 'body:token -path:/static' (the filter syntax: see the README)")


def checked(args: argparse.Namespace, error: Callable[[str], Exception]) -> Filter | None:
    """The parsed ``--filter`` (None without one); ``error(sentence)`` is raised for it
    or for a ``--break`` that cannot be read."""
    for text in args.breaks:
        try:
            parse_breakpoint(text)
        except FilterError as exc:
            raise error(f"--break {text!r}: {exc}") from None
    if args.filter is None:
        return None
    try:
        return parse(args.filter)
    except FilterError as exc:
        raise error(f"--filter {args.filter!r}: {exc}") from None


def of(args: argparse.Namespace) -> Filter | None:
    """The filter :func:`checked` read into ``args`` (None if it did not run)."""
    return getattr(args, "filter_parsed", None)


def store_exchanges(store: Any, flt: Filter | None) -> Iterator[Exchange]:
    """The exchanges of ``store`` that ``flt`` matches, loaded one at a time."""
    if flt is None:
        yield from store.exchanges()
        return
    for s in summaryfilter.select(store, flt):
        try:
            yield store.get(s.id)
        except KeyError:  # deleted meanwhile, or unreadable (the store notes why)
            continue


def matching(exchanges: Iterable[Exchange], flt: Filter | None) -> Iterator[Exchange]:
    """Those of ``exchanges`` (a HAR file read entry by entry) that ``flt`` matches."""
    for x in exchanges:
        if flt is None or summaryfilter.exchange_matches(flt, x):
            yield x


def filtered_summaries(store: Any, flt: Filter | None,
                       show: Callable[[list[Any]], None]) -> Callable[[list[Any]], None]:
    """``show`` (the access log) given only the summaries ``flt`` matches. Body and
    header terms ask the index about just those rows: the writer calls this after
    committing them, index rows included."""
    if flt is None:
        return show
    writer = store.search_index.writer
    if flt.searches and writer is not None:
        writer.defer = False  # each batch's rows are looked up as it is committed

    def summaries(batch: list[Any]) -> None:
        ended = [s for s in batch if s.state not in ("active", "paused")]
        if not ended:
            return
        among = [s.id for s in ended]
        found = {s: store.search_index.lookup(s, among) for s in flt.searches}
        test = summaryfilter.predicate(flt, found)
        shown = [s for s in ended if test(s)]
        if shown:
            show(shown)
    return summaries
