"""A session row's record, read back as an Exchange only if it has the shape one writes.

Which reader applies is told by what ``data`` holds: JSON text (format 1), a
pickle of the exchange's fields (format 2, and exchanges imported whole), or a
pickle of the list of its events (format 3: the event log, folded here).

A session file may come from anywhere: each ``data`` value is decoded as data
only (:func:`inspector.wire.loads_plain` with ``strict``, or JSON for format 1),
then every field :meth:`inspector.model.Exchange.from_dict` reads is checked
for its type before an Exchange is built; an event log is folded first and
its exchange's fields checked the same way. Anything else is an
:class:`UnreadableRecord` whose text says why, in a few words.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Callable

from ..model import Exchange
from ..wire import ProtocolError, check_plain, loads_plain, loads_records
from .eventlog import fold


class UnreadableRecord(Exception):
    """A row that cannot be shown; ``str()`` is the reason, e.g. "its method is NULL"."""


def exchange_from_row(data: Any, request_body: Any, response_body: Any, *,
                      strict: bool = True, xid: int = 0) -> Exchange:
    """The exchange ``xid`` of one row's ``data``, ``request_body`` and ``response_body``.

    ``strict=False`` skips the data-only checks of the pickle, for rows this
    process wrote itself (they cost about 3x the unpickling).
    """
    for name, body in (("request body", request_body), ("response body", response_body)):
        if type(body) is not bytes:
            raise UnreadableRecord(f"its {name} is {_kind(body)}, not bytes")
    plain = _decode(data, strict)
    if type(plain) is list:  # format 3: the event log (its bodies are in the events)
        return _from_log(xid, plain, strict)
    check_record(plain)
    plain["request_body"] = plain["response_body"] = ""
    try:
        x = Exchange.from_dict(plain)
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise UnreadableRecord(f"its record does not fit ({type(exc).__name__})") from None
    x.request_body = request_body
    x.response_body = response_body
    return x


def _from_log(xid: int, items: list[Any], strict: bool) -> Exchange:
    """The exchange folded from its events (each a ring record's bytes or the event
    itself); from a file, checked as a record is."""
    events = _events(items, strict)
    for event in events:
        if type(event) is not dict or type(event.get("type")) is not str:
            raise UnreadableRecord(f"an event of its log is {_kind(event)}, not an event")
        if "wire_body" in event and type(event["wire_body"]) is not bytes:  # bytes(n)
            raise UnreadableRecord("its wire body is not bytes")
    x = fold(xid, events)
    if not strict:
        return x
    # Crafted events may fold into fields of other types: the record they make
    # must pass the checks a stored record passes.
    try:
        plain = x.to_dict(bodies=False)
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise UnreadableRecord(f"its events do not fit ({type(exc).__name__})") from None
    check_record(plain)
    for name, body in (("request body", x.request_body), ("response body", x.response_body)):
        if type(body) not in (bytes, bytearray):
            raise UnreadableRecord(f"its {name} is {_kind(body)}, not bytes")
    if x.wire_body is not None and type(x.wire_body) is not bytes:
        raise UnreadableRecord(f"its wire body is {_kind(x.wire_body)}, not bytes")
    return x


def _events(items: list[Any], strict: bool) -> list[Any]:
    """The log's events: its ring records (bytes) decoded together, the rest as they are."""
    records = [item for item in items if type(item) is bytes]
    if not records:
        return items
    try:
        decoded = iter(loads_records(records, strict=strict))
    except ProtocolError as exc:
        raise UnreadableRecord(f"an event of its log: {exc}") from None
    return [next(decoded) if type(item) is bytes else item for item in items]


def _decode(data: Any, strict: bool) -> Any:
    try:
        if isinstance(data, str):  # format 1: JSON text
            plain = json.loads(data)
            if strict:
                check_plain(plain, len(data))
            return plain
        if isinstance(data, bytes):
            return loads_plain(data, strict=strict)
    except ProtocolError as exc:
        raise UnreadableRecord(str(exc)) from None
    except (ValueError, RecursionError) as exc:  # JSON: bad text, or nested too deep
        raise UnreadableRecord(f"its record is not JSON ({type(exc).__name__})") from None
    raise UnreadableRecord(f"its record is {_kind(data)}")


# -- the shape of a record --------------------------------------------------------------

Check = Callable[[Any], bool]


def _is(*kinds: type) -> Check:
    return lambda v: type(v) in kinds


_TEXT = _is(str)
_INT = _is(int)
_NUMBER = _is(int, float)
_OPT_NUMBER = _is(int, float, type(None))
_OPT_TEXT = _is(str, type(None))
_BOOL = _is(bool)
_SCALAR = _is(str, bytes, int, float, bool, type(None))


def _ANY(value: Any) -> bool:
    """Free-form plain data (an edit's values): any of the record's types, at most
    MAX_DEPTH deep, as the window shows it nested."""
    try:
        check_plain(value, sys.maxsize)  # its size was bounded by loads_plain already
    except ProtocolError:
        return False
    return True


def _pair(v: Any) -> bool:
    return type(v) in (list, tuple) and len(v) == 2 and type(v[0]) is str \
        and type(v[1]) is str


def _pairs(v: Any) -> bool:
    return type(v) is list and all(map(_pair, v))


def _text_map(v: Any) -> bool:
    return type(v) is dict and all(type(t) is str for t in v.values())


def _pair_map(v: Any) -> bool:
    return type(v) is dict and all(map(_pair, v.values()))


def _environ(v: Any) -> bool:
    if type(v) is list:  # the compact [texts, others]
        return len(v) == 2 and _text_map(v[0]) and _pair_map(v[1])
    return _pair_map(v)


# Each list field: its items' fields (required ones first, then optional ones).
_ITEMS: dict[str, tuple[dict[str, Check], dict[str, Check]]] = {
    "start_response": ({"status": _SCALAR, "headers": _pairs, "exc_info": _OPT_TEXT,
                        "t": _NUMBER}, {}),
    "chunks": ({"size": _INT, "t": _NUMBER}, {"via": _TEXT}),
    "phases": ({"name": _TEXT, "t": _NUMBER}, {}),
    "findings": ({"code": _TEXT, "severity": _TEXT, "phase": _TEXT, "message": _TEXT},
                 {"pep": _TEXT, "edited": _BOOL, "quote": _TEXT}),
    "output": ({"stream": _TEXT, "text": _TEXT}, {"level": _TEXT, "logger": _TEXT,
                                                  "t": _NUMBER}),
    "edits": ({"phase": _TEXT, "what": _TEXT, "original": _ANY, "edited": _ANY},
              {"t": _NUMBER}),
}
_ERROR = {"phase": _TEXT, "type": _TEXT, "message": _TEXT, "traceback": _TEXT}
_ERROR_OPTIONAL = {"handled": _BOOL, "logged": _TEXT}
_FIELDS: dict[str, Check] = {
    "id": _INT, "start": _NUMBER, "client": _TEXT, "thread": _TEXT, "environ": _environ,
    "request_size": _INT, "response_size": _INT, "file_wrapper": _BOOL, "state": _TEXT,
    "duration": _OPT_NUMBER,
}
_OPTIONAL: dict[str, Check] = {
    "paused": _TEXT, "edits": _ANY, "aborted": _TEXT, "paused_time": _NUMBER,
    "client_dropped": _BOOL, "resent_from": _is(int, type(None)),
    # the wire side (absent in older sessions)
    "wire_version": _TEXT, "wire_status": _TEXT, "wire_headers": _pairs,
    "wire_head_size": _INT, "wire_size": _is(int, type(None)), "wire_body": _OPT_TEXT,
    "client_disconnected": _BOOL, "server_only": _BOOL, "request_line": _TEXT,
}


def check_record(plain: Any) -> None:
    """UnreadableRecord unless ``plain`` has every field ``Exchange.from_dict`` reads,
    each of the type it needs. Fields it does not know are left to their readers."""
    if type(plain) is not dict:
        raise UnreadableRecord(f"its record is {_kind(plain)}, not a table of fields")
    _fields(plain, _FIELDS, _OPTIONAL, "")
    for name, (required, optional) in _ITEMS.items():
        items = plain.get(name, []) if name == "edits" else plain.get(name)
        if type(items) is not list:
            raise UnreadableRecord(f"its {name} is {_kind(items)}, not a list")
        for item in items:
            if type(item) is not dict:
                raise UnreadableRecord(f"an item of its {name} is {_kind(item)}")
            _fields(item, required, optional, f"{name} ")
    error = plain.get("error")
    if error is not None:
        if type(error) is not dict or not set(_ERROR) <= set(error) <= {*_ERROR,
                                                                          *_ERROR_OPTIONAL}:
            raise UnreadableRecord("its error is not an error's fields")
        _fields(error, _ERROR, _ERROR_OPTIONAL, "error ")


def _fields(data: dict[str, Any], required: dict[str, Check], optional: dict[str, Check],
            prefix: str) -> None:
    for name, check in required.items():
        if name not in data:
            raise UnreadableRecord(f"its {prefix}{name} is missing")
        if not check(data[name]):
            raise _wrong(prefix + name, data[name])
    for name, check in optional.items():
        if name in data and not check(data[name]):
            raise _wrong(prefix + name, data[name])


def _wrong(name: str, value: Any) -> UnreadableRecord:
    if type(value) in (list, tuple, dict):  # the right kind, wrong inside
        return UnreadableRecord(f"its {name} is malformed")
    return UnreadableRecord(f"its {name} is {_kind(value)}")


def _kind(value: Any) -> str:
    """A few words for a value of the wrong type: "NULL", "a number", "a list"..."""
    if value is None:
        return "NULL"
    names = {bool: "a true/false value", int: "a number", float: "a number", str: "a text",
             bytes: "bytes", list: "a list", tuple: "a list", dict: "a table of fields"}
    return names.get(type(value), f"a {type(value).__name__}")
