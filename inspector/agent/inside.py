"""Inside the app: the SQL, templates and outbound HTTP of each exchange.

Hooks go in only when the app imports the library they watch: a finder on
``sys.meta_path`` notices the import of ``sqlite3``, ``sqlalchemy``, Django's
database signals or templates, ``jinja2``, ``http.client`` or ``httpx``, lets
the module's own loader run it, and then patches what it defines (a module
imported already is patched at once). Nothing in the user's code or settings
changes, and nothing here imports a library the app did not.

Each hook records only while the thread serves a request: it reads the
exchange the capture layer put in :data:`inspector.agent.output.current`
(the same attribution as print() and logging). A query made outside any
request, at start-up say, costs one ContextVar lookup and is not recorded.
Each record is one event of the exchange (``query``, ``template`` or
``outbound``, see docs/protocol.md), in the ring the moment the call returns.

The patches themselves live in :mod:`.inside_sql`, :mod:`.inside_http` and
:mod:`.inside_templates`; this module holds what they share, and
:mod:`.inside_hooks` installs them (the finder, ``install``, ``uninstall``).
"""

from __future__ import annotations

import os
import sys
import time
from types import CodeType, FrameType, ModuleType
from typing import Any, Callable

from .output import Lane, current

Undo = Callable[[], None]
Patch = Callable[[ModuleType], Undo]

_perf = time.perf_counter
SQL_CAP = 10_000  # characters of a statement kept
STACK_CAP = 30  # frames of a query's stack, when stacks are asked for


class Options:
    """What the host asked for (the ``inside`` command): ``stacks`` adds the user's
    whole stack (at most STACK_CAP frames) to each query, at a few µs more."""

    stacks = False
PREVIEW_CAP = 200  # characters of a parameters' or a value's repr kept


def lane() -> Lane | None:
    """The exchange this thread serves now, or None (outside any request)."""
    return current.get()


def record(flight: Lane, kind: str, start: float, fields: dict[str, Any]) -> None:
    """Emit one event of ``kind`` for ``flight``; ``start`` is a perf_counter time."""
    fields["type"] = kind
    fields["id"] = flight.xid
    fields["t"] = start - flight.t0
    fields["duration"] = _perf() - start
    flight.emit(fields)


def preview(value: Any, cap: int = PREVIEW_CAP) -> str:
    """A repr cut at ``cap`` characters; never raises (a user object's repr may)."""
    try:
        text = repr(value)
    except Exception as exc:
        return f"<unprintable {type(value).__name__}: {type(exc).__name__}>"
    return text if len(text) <= cap else text[: cap - 1] + "…"


def error_text(exc: BaseException) -> str:
    """``Type: message``, the message cut at PREVIEW_CAP characters."""
    try:
        text = str(exc)
    except Exception:  # an exception whose __str__ raises
        text = "(unprintable)"
    if len(text) > PREVIEW_CAP:
        text = text[: PREVIEW_CAP - 1] + "…"
    return f"{type(exc).__name__}: {text}"


# -- the user's line ---------------------------------------------------------------

def _library_roots() -> tuple[str, ...]:
    """The standard library's folder (lib-dynload is inside it); the inspector's own
    files are told apart below (its built-in examples are the user's code here);
    site-packages are told by their folder's name (below). sysconfig would say it
    too, at the cost of importing the build's configuration module."""
    return (os.path.join(os.path.dirname(os.__file__), ""),)


_INSPECTOR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "")
_EXAMPLES = os.path.join(_INSPECTOR, "examples", "")
# The window's package beside it: an app served in the window's own process
# (--in-process) hands its events to it on the request's thread.
_WINDOW = os.path.join(os.path.dirname(os.path.dirname(_INSPECTOR)), "ui", "")


_ROOTS = _library_roots()
_SITE = (os.sep + "site-packages" + os.sep, os.sep + "dist-packages" + os.sep)
# id(code object) -> (the code object, its frame's place, "" for library code): the
# same few code objects run every query, so the walk up the stack is a dict lookup
# per frame. Keyed by id: a code object hashes its whole contents. The value keeps
# the code object alive, so its id is not reused while it is cached.
_places: dict[int, tuple[CodeType, str]] = {}
_PLACES_LIMIT = 20_000


def _place(code: CodeType) -> str:
    hit = _places.get(id(code))
    if hit is not None:
        return hit[1]
    name = code.co_filename
    library = (name.startswith("<") or name.startswith(_ROOTS)
               or any(s in name for s in _SITE)
               or (name.startswith(_INSPECTOR) and not name.startswith(_EXAMPLES))
               or name.startswith(_WINDOW)
               # code with a made-up file name (a binding's embedded loader)
               or (not os.path.isabs(name) and not os.path.exists(name)))
    place = "" if library else _relative(name)
    if len(_places) >= _PLACES_LIMIT:
        _places.clear()
    _places[id(code)] = (code, place)
    return place


def _relative(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive
        return path
    return path if rel.startswith("..") else rel


def user_frame() -> FrameType | None:
    """The first frame up the stack outside the standard library, site-packages,
    the frameworks and the inspector: the line of the user's code that ran this."""
    frame: FrameType | None = sys._getframe(1)
    places = _places
    while frame is not None:
        code = frame.f_code
        hit = places.get(id(code))
        if hit is None:
            if _place(code):
                return frame
        elif hit[1]:
            return frame
        frame = frame.f_back
    return None


def source() -> str:
    """``path/to/file.py:LINE in function`` of the user's line, or ""."""
    frame = user_frame()
    if frame is None:
        return ""
    code = frame.f_code
    key = (id(code), frame.f_lineno)
    text = _sources.get(key)
    if text is None or frame.f_globals.get("__jinja_template__") is not None:
        text = f"{_place(code)}:{_line(frame)} in {code.co_name}"
        if len(_sources) >= _PLACES_LIMIT:
            _sources.clear()
        _sources[key] = text  # the code object is kept alive by _places
    return text


# (id(code object), line) -> its source text: a loop runs the same line every time.
_sources: dict[tuple[int, int], str] = {}


def _line(frame: FrameType) -> int:
    """The frame's line; in a compiled Jinja2 template, the template's own line."""
    template = frame.f_globals.get("__jinja_template__")
    if template is not None:
        try:
            return int(template.get_corresponding_lineno(frame.f_lineno))
        except Exception:  # another version's debug info
            pass
    return frame.f_lineno


def stack(cap: int = STACK_CAP) -> list[str]:
    """The user's frames up the stack, innermost first, at most ``cap``."""
    lines: list[str] = []
    frame = user_frame()
    while frame is not None and len(lines) < cap:
        place = _place(frame.f_code)
        if place:
            lines.append(f"{place}:{_line(frame)} in {frame.f_code.co_name}")
        frame = frame.f_back
    return lines
