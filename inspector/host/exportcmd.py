"""``--open FILE --export FORMAT [--filter EXPR] [--out FILE]``: a saved session or HAR
file in any export format (:mod:`inspector.host.formats`), to a file or standard output.

Each way it can go wrong is an :class:`ExportError` (one sentence); the command
line turns it into exit code 2.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..filtering import Filter, FilterError, parse
from ..model import Exchange
from . import clifilter, summaryfilter
from .appref import AppRef, checked_app, recorded_app
from .export import ExportError, HarError, is_json_file, iter_har, write_har
from .formats import FORMATS, Context, names, render
from .store import SessionError, Store


@dataclass(frozen=True)
class Request:
    """What the command line asked for."""

    source: str
    format: str
    out: str | None = None  # None: standard output
    filter: str = ""
    redact: bool = True
    base_url: str | None = None
    app: AppRef | None = None  # the app named on the command line, else the session's


def parse_filter(text: str) -> Filter | None:
    """The parsed ``--filter`` (None without one); ExportError for text the filter
    language cannot read (:mod:`inspector.filtering`)."""
    if not text:
        return None
    try:
        return parse(text)
    except FilterError as exc:
        raise ExportError(f"--filter {text!r}: {exc}") from None


def run(request: Request, notes: Callable[[str], None]) -> int:
    """Export; return how many exchanges were written. ``notes`` hears rows left out
    and advice about the output's name."""
    if request.format not in FORMATS:
        raise ExportError(f"{request.format!r} is not an export format; use one of "
                          f"{names()}.")
    if request.base_url is not None and not request.base_url.startswith(("http://",
                                                                         "https://")):
        raise ExportError(f"--base-url {request.base_url!r} is not an http:// or https:// "
                          "URL; give one such as http://127.0.0.1:8000.")
    keep = parse_filter(request.filter)
    advice = _name_advice(request)
    if advice:
        notes(advice)
    path = Path(request.source)
    if not path.is_file():
        raise ExportError(f"{request.source} does not exist; give the path of a session or "
                          "HAR file.")
    try:
        with _source(path, keep, notes) as (exchanges, app):
            return _export(request, exchanges, request.app or app)
    except (HarError, SessionError) as exc:
        raise ExportError(str(exc)) from None


def _name_advice(request: Request) -> str:
    """A word about an --out name that would not work as meant, else ""."""
    name = os.path.basename(request.out or "")
    if not name.endswith(".py"):
        return ""
    if request.format == "pytest" and not (name.startswith("test_") or name.endswith("_test.py")):
        return (f"pytest collects files named test_*.py or *_test.py; {name} runs when "
                "named on the command line.")
    if request.format == "python" and name == "requests.py":
        return ("a script named requests.py imports itself instead of requests; give it "
                "another name.")
    return ""


@contextmanager
def _source(path: Path, keep: Filter | None, notes: Callable[[str], None]
            ) -> Iterator[tuple[Iterator[Exchange], AppRef | None]]:
    """The matching exchanges, one at a time, and the app the file says it recorded."""
    if is_json_file(path):
        yield clifilter.matching(iter_har(path), keep), None
        return
    with Store.open(path) as store:
        rows = store.summaries() if keep is None else summaryfilter.select(store, keep)
        wanted = [s.id for s in rows]
        yield _loaded(store, wanted), checked_app(recorded_app(store))
        for note in store.notes:  # rows left out: one line each, the rest goes on
            notes(f"{path}: {note}")


def _loaded(store: Store, ids: list[int]) -> Iterator[Exchange]:
    for xid in ids:
        try:
            yield store.get(xid)
        except KeyError:  # unreadable: named in store.notes
            continue


def _export(request: Request, exchanges: Iterator[Exchange], app: AppRef | None) -> int:
    fmt = FORMATS[request.format]
    if request.format == "har" and request.out is not None:  # streamed: any size
        try:
            count = write_har(request.out, exchanges, redact=request.redact)
        except OSError as exc:
            raise _cannot_write(request.out, exc) from None
        if not count:
            os.unlink(request.out)
            raise _nothing(request)
        return count
    first = next(exchanges, None)
    if first is None:
        raise _nothing(request)
    counted = _Counted(itertools.chain([first], exchanges))
    ctx = Context(request.base_url, request.redact, app, request.out)
    if fmt.parts is not None:  # one exchange at a time: any size in flat memory
        _write(request, fmt.parts(counted, ctx))
    else:
        chosen = list(counted)
        _write(request, [render(request.format, chosen, base_url=request.base_url,
                                redact=request.redact, app=app, out=request.out)])
    return counted.count


class _Counted:
    """Passes exchanges on, counting them."""

    def __init__(self, items: Iterator[Exchange]) -> None:
        self.items = items
        self.count = 0

    def __iter__(self) -> Iterator[Exchange]:
        for item in self.items:
            self.count += 1
            yield item


def _nothing(request: Request) -> ExportError:
    if request.filter:
        return ExportError(f"No exchange in {request.source} matches the filter "
                           f"{request.filter!r}; change or drop --filter.")
    return ExportError(f"{request.source} holds no exchange to export.")


def _write(request: Request, parts: Iterable[str | bytes]) -> None:
    """Write the pieces to standard output, or to --out (a file replaced only once it
    is whole; readable by the user alone when it keeps secrets)."""
    if request.out is None:
        sys.stdout.flush()
        for part in parts:
            sys.stdout.buffer.write(part.encode("utf-8") if isinstance(part, str) else part)
        sys.stdout.buffer.flush()
        return
    target = os.path.abspath(request.out)
    temp = os.path.join(os.path.dirname(target),
                        f".{os.path.basename(target)}.{os.getpid()}.part")
    # Kept secrets: readable by the user alone; else as the umask says.
    mode = 0o666 if request.redact else 0o600
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except OSError as exc:
        raise _cannot_write(request.out, exc) from None
    try:
        with os.fdopen(fd, "wb") as f:
            for part in parts:
                f.write(part.encode("utf-8") if isinstance(part, str) else part)
        if not request.redact:
            os.chmod(temp, 0o600)  # whatever the folder's defaults
        os.replace(temp, target)
    except BaseException as exc:
        os.unlink(temp)
        if isinstance(exc, OSError):
            raise _cannot_write(request.out, exc) from None
        raise


def _cannot_write(out: str, exc: OSError) -> ExportError:
    return ExportError(f"Cannot write {os.path.abspath(out)} ({exc.strerror}); choose "
                       "another path for --out.")
