"""Every export format by name: what the window's "Copy as…" menu and ``--export`` call.

``FORMATS`` maps a name to a :class:`Format` (a label for a menu, a file suffix and
the function that writes it); :func:`render` turns a sequence of exchanges into
that format's text (or bytes, for raw HTTP). Secrets are left out unless
``redact=False`` (:mod:`inspector.host.sanitize`), as in the HAR export.

``base_url`` (``http://127.0.0.1:8123``) sends the requests to where the app is
served now instead of the recorded host. The pytest format needs to know which
app answered (``app``: spec and folder, see :mod:`inspector.host.appref`).
Formats made of one piece per exchange also offer :attr:`Format.parts`, which
takes the exchanges one at a time, so the command line writes a session of any
size in flat memory. Qt-free: the window and the command line share it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Callable, Union

from ..model import Exchange
from . import copyas, pytestgen
from .appref import AppRef
from .export import ExportError, har_entry, raw_request, raw_response, strict_json, to_har
from .export import raw as raw_exchange
from .exportcontext import Context
from .sanitize import sanitized

__all__ = ["FORMATS", "AppRef", "Context", "ExportError", "Format", "names", "render"]

Output = Union[str, bytes]


Writer = Callable[[Sequence[Exchange], Context], Output]
Parts = Callable[[Iterable[Exchange], Context], Iterator[Output]]


@dataclass(frozen=True)
class Format:
    label: str  # for a menu: "cURL"
    suffix: str  # for a file dialog: ".sh"
    write: Writer
    binary: bool = False  # the output is bytes (raw HTTP), not text
    # The same output piece by piece, taking the exchanges one at a time; None: the
    # format needs them all at once.
    parts: Parts | None = None


def _streamed(label: str, suffix: str, parts: Parts, binary: bool = False) -> Format:
    def write(exchanges: Sequence[Exchange], ctx: Context) -> Output:
        pieces = parts(exchanges, ctx)
        return b"".join(pieces) if binary else "".join(pieces)  # type: ignore[arg-type]
    return Format(label, suffix, write, binary, parts)


# -- the simple ones, from export.py ------------------------------------------------------

def _raw_request(exchanges: Iterable[Exchange], ctx: Context) -> Iterator[bytes]:
    # A blank line after each message: bodies need not end in a newline.
    return (raw_request(_clean(x, ctx)) + b"\r\n\r\n" for x in exchanges)


def _raw_response(exchanges: Iterable[Exchange], ctx: Context) -> Iterator[bytes]:
    return (raw_response(_clean(x, ctx)) + b"\r\n\r\n" for x in exchanges if x.start_response)


def _raw(exchanges: Iterable[Exchange], ctx: Context) -> Iterator[bytes]:
    return (raw_exchange(x, redact=ctx.redact) + b"\r\n\r\n" for x in exchanges)


def _clean(x: Exchange, ctx: Context) -> Exchange:
    return sanitized(x) if ctx.redact else x


def _har_entry(exchanges: Sequence[Exchange], ctx: Context) -> str:
    """One exchange: its entry object; several: a JSON array of entries."""
    entries = [har_entry(x, redact=ctx.redact) for x in exchanges]
    return strict_json(entries[0] if len(entries) == 1 else entries, indent=2) + "\n"


def _har(exchanges: Sequence[Exchange], ctx: Context) -> str:
    return strict_json(to_har(exchanges, redact=ctx.redact), indent=2) + "\n"


def _pytest(exchanges: Sequence[Exchange], ctx: Context) -> str:
    if ctx.app is None:
        raise ExportError("The session does not say which app answered these requests, or "
                          "names one that is not a project on this machine, so no test can "
                          "import it; serve the app and export again, or on the command "
                          "line name the app (APP and --app-dir).")
    return pytestgen.pytest_file(exchanges, ctx.app, redact=ctx.redact, out=ctx.out)


FORMATS: dict[str, Format] = {
    "curl": _streamed("cURL", ".sh", copyas.curl_parts),
    "httpie": _streamed("HTTPie", ".sh", copyas.httpie_parts),
    "python": _streamed("Python (requests)", ".py", copyas.python_parts),
    "fetch": _streamed("JavaScript fetch", ".js", copyas.fetch_parts),
    "raw-request": _streamed("Raw HTTP request", ".http", _raw_request, binary=True),
    "raw-response": _streamed("Raw HTTP response", ".http", _raw_response, binary=True),
    "raw": _streamed("Raw HTTP request and response", ".http", _raw, binary=True),
    "har-entry": Format("HAR entry", ".json", _har_entry),
    "har": Format("HAR file", ".har", _har),
    "pytest": Format("pytest test", ".py", _pytest),
}


def names() -> str:
    """The format names, for a message: "curl, httpie, ... or pytest"."""
    *first, last = FORMATS
    return ", ".join(first) + " or " + last


def render(name: str, exchanges: Sequence[Exchange], *, base_url: str | None = None,
           redact: bool = True, app: AppRef | None = None, out: str | None = None) -> Output:
    """``exchanges`` in the format ``name`` (a key of FORMATS); ExportError if unknown,
    empty, or the format cannot be made from them. ``out``: the file it will be saved
    to, if known (a pytest file in the app's folder then finds the app relative to
    itself)."""
    fmt = FORMATS.get(name)
    if fmt is None:
        raise ExportError(f"{name!r} is not an export format; use one of {names()}.")
    if not exchanges:
        raise ExportError("There is no exchange to export; select one or widen the filter.")
    return fmt.write(list(exchanges), Context(base_url, redact, app, out))
