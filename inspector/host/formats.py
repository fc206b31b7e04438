"""Every export format by name: what the window's "Copy as…" menu and ``--export`` call.

``FORMATS`` maps a name to a :class:`Format` (a label for a menu, a file suffix and
the function that writes it); :func:`render` turns a sequence of exchanges into
that format's text (or bytes, for raw HTTP). Secrets are left out unless
``redact=False`` (:mod:`inspector.host.sanitize`), as in the HAR export.

``base_url`` (``http://127.0.0.1:8123``) sends the requests to where the app is
served now instead of the recorded host. The pytest format needs to know which
app answered (``app``: spec and folder, see :mod:`inspector.host.appref`).
Qt-free: the window and the command line share it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable, Union

from ..model import Exchange
from . import copyas, pytestgen
from .appref import AppRef
from .export import ExportError, har_entry, raw_request, raw_response, strict_json, to_har
from .export import raw as raw_exchange
from .sanitize import sanitized

__all__ = ["FORMATS", "AppRef", "Context", "ExportError", "Format", "names", "render"]

Output = Union[str, bytes]


@dataclass(frozen=True)
class Context:
    """How to render: where to send requests, whether to keep secrets, which app."""

    base_url: str | None = None
    redact: bool = True
    app: AppRef | None = None


@dataclass(frozen=True)
class Format:
    label: str  # for a menu: "Copy as cURL"
    suffix: str  # for a file dialog: ".sh"
    write: Callable[[Sequence[Exchange], Context], Output]

    @property
    def binary(self) -> bool:
        """True when the output is bytes (raw HTTP), not text."""
        return self.suffix == ".http"


# -- the simple ones, from export.py ------------------------------------------------------

def _raw_request(exchanges: Sequence[Exchange], ctx: Context) -> bytes:
    return _join_raw(raw_request(_clean(x, ctx)) for x in exchanges)


def _raw_response(exchanges: Sequence[Exchange], ctx: Context) -> bytes:
    return _join_raw(raw_response(_clean(x, ctx)) for x in exchanges if x.start_response)


def _raw(exchanges: Sequence[Exchange], ctx: Context) -> bytes:
    return _join_raw(raw_exchange(x, redact=ctx.redact) for x in exchanges)


def _join_raw(parts: object) -> bytes:
    # A blank line after each message: bodies need not end in a newline.
    return b"".join(part + b"\r\n\r\n" for part in parts)  # type: ignore[attr-defined]


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
        raise ExportError("The session does not say which app answered these requests, so "
                          "no test can import it; export from a session recorded by this "
                          "version, or name the app with APP and --app-dir.")
    return pytestgen.test_file(exchanges, ctx.app)


FORMATS: dict[str, Format] = {
    "curl": Format("cURL", ".sh", copyas.curl_script),
    "httpie": Format("HTTPie", ".sh", copyas.httpie_script),
    "python": Format("Python (requests)", ".py", copyas.python_script),
    "fetch": Format("JavaScript fetch", ".js", copyas.fetch_script),
    "raw-request": Format("Raw HTTP request", ".http", _raw_request),
    "raw-response": Format("Raw HTTP response", ".http", _raw_response),
    "raw": Format("Raw HTTP request and response", ".http", _raw),
    "har-entry": Format("HAR entry", ".json", _har_entry),
    "har": Format("HAR file", ".har", _har),
    "pytest": Format("pytest test", ".py", _pytest),
}


def names() -> str:
    """The format names, for a message: "curl, httpie, ... or pytest"."""
    *first, last = FORMATS
    return ", ".join(first) + " or " + last


def render(name: str, exchanges: Sequence[Exchange], *, base_url: str | None = None,
           redact: bool = True, app: AppRef | None = None) -> Output:
    """``exchanges`` in the format ``name`` (a key of FORMATS); ExportError if unknown,
    empty, or the format cannot be made from them."""
    fmt = FORMATS.get(name)
    if fmt is None:
        raise ExportError(f"{name!r} is not an export format; use one of {names()}.")
    if not exchanges:
        raise ExportError("There is no exchange to export; select one or widen the filter.")
    return fmt.write(list(exchanges), Context(base_url, redact, app))
