"""How two exchanges differ, side by side: the Compare view's rows, without Qt.

:func:`compare` gives sections (request line, status and timing, request
headers, response headers, environ, request body, response body), each a list
of rows ``key, left, right, same``. Headers and environ keys are matched by
name (headers without case); a JSON body is compared structurally, value by
value at each path (``$.items[0].id``), so key order and spacing do not
count; a form's fields by name; a text body line by line (:mod:`difflib`);
anything else by size and SHA-256. The response side is what the client got (the wire), as the list
shows it. :mod:`inspector.difference` is the other comparison: the app's
answer against the wire's, within one exchange.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from .model import Exchange

MAX_TEXT_LINES = 5000  # per body side: beyond, a body is compared by size and hash
MAX_JSON_VALUES = 5000
# A duration differs when one is more than this many times the other (timing is noisy).
TIMING_FACTOR = 2.0
_OBJECT_REPR = " object at 0x"  # environ values shown by repr: compared by type only
_CONTENT_KEYS = {"CONTENT_TYPE": "Content-Type", "CONTENT_LENGTH": "Content-Length"}


@dataclass
class Row:
    key: str
    left: str | None  # None: absent on that side (no such header, key or line)
    right: str | None
    same: bool


@dataclass
class Section:
    title: str
    rows: list[Row] = field(default_factory=list)
    note: str = ""  # how it was compared ("JSON, value by value"), or why it was not

    @property
    def differences(self) -> int:
        return sum(not r.same for r in self.rows)


def compare(a: Exchange, b: Exchange) -> list[Section]:
    """The sections of the comparison of ``a`` (left) with ``b`` (right)."""
    return [
        Section("Request", _rows(_request_line(a), _request_line(b))),
        Section("Response and timing", [*_rows(_response_line(a), _response_line(b)),
                                         *_timing(a, b)]),
        Section("Request headers", _pairs(_request_headers(a), _request_headers(b), True)),
        Section("Response headers", _pairs(a.headers, b.headers, True)),
        _environ(a, b),
        _body("Request body", _request_body(a), _request_body(b)),
        _body("Response body", _response_body(a), _response_body(b)),
    ]


def _rows(left: dict[str, str], right: dict[str, str]) -> list[Row]:
    keys = list(left) + [k for k in right if k not in left]
    return [Row(k, left.get(k), right.get(k), left.get(k) == right.get(k)) for k in keys]


def _request_line(x: Exchange) -> dict[str, str]:
    return {"Method": x.method, "Path": x.path, "Query": x.query,
            "Protocol": x.env("SERVER_PROTOCOL")}


def _response_line(x: Exchange) -> dict[str, str]:
    return {"Status": x.status, "Body size": f"{x.client_size:,} bytes"}


def _timing(a: Exchange, b: Exchange) -> list[Row]:
    rows = []
    for name, left, right in (("Duration", a.app_duration, b.app_duration),
                              ("start_response at", a.phase_time("start_response"),
                               b.phase_time("start_response"))):
        rows.append(Row(name, _ms(left), _ms(right), _close(left, right)))
    return rows


def _ms(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds * 1000:.1f} ms"


def _close(left: float | None, right: float | None) -> bool:
    if left is None or right is None:
        return left is right
    low, high = sorted((left, right))
    return high <= max(low * TIMING_FACTOR, low + 0.001)


def _request_headers(x: Exchange) -> list[tuple[str, str]]:
    """The request headers from the environ (``HTTP_*``, CONTENT_TYPE, CONTENT_LENGTH)."""
    headers = []
    for key, (text, _kind) in x.environ.items():
        if key.startswith("HTTP_"):
            headers.append(("-".join(p.capitalize() for p in key[5:].split("_")), text))
        elif key in _CONTENT_KEYS and text:  # empty means "not sent" (PEP 3333)
            headers.append((_CONTENT_KEYS[key], text))
    return headers


def _pairs(left: Iterable[tuple[str, str]], right: Iterable[tuple[str, str]],
           fold_case: bool) -> list[Row]:
    """Rows by name (without case when ``fold_case``), named as the left side spells it."""
    names: dict[str, str] = {}
    sides = (_grouped(left, fold_case, names), _grouped(right, fold_case, names))
    return [Row(names[r.key], r.left, r.right, r.same) for r in _rows(*sides)]


def _grouped(pairs: Iterable[tuple[str, str]], fold_case: bool,
             names: dict[str, str]) -> dict[str, str]:
    """Key -> its values, one a line (a header may repeat); ``names`` gets each key's
    first spelling."""
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        key = name.lower() if fold_case else name
        names.setdefault(key, name)
        values.setdefault(key, []).append(str(value))
    return {k: "\n".join(v) for k, v in values.items()}


def _environ(a: Exchange, b: Exchange) -> Section:
    rows = []
    for key in list(a.environ) + [k for k in b.environ if k not in a.environ]:
        left, right = a.environ.get(key), b.environ.get(key)
        rows.append(Row(key, _env_text(left), _env_text(right), _env_same(left, right)))
    return Section("Environ", rows, "objects shown by their repr are compared by type")


def _env_text(value: tuple[str, str] | None) -> str | None:
    return None if value is None else value[0]


def _env_same(left: tuple[str, str] | None, right: tuple[str, str] | None) -> bool:
    if left is None or right is None:
        return left is right
    if _OBJECT_REPR in left[0] and _OBJECT_REPR in right[0]:
        return left[1] == right[1]  # the address differs in every process
    return left == right


# -- bodies --------------------------------------------------------------------------------

@dataclass
class Body:
    data: bytes
    content_type: str
    complete: bool  # False: only part of it was captured


def _request_body(x: Exchange) -> Body:
    return Body(bytes(x.request_body), x.env("CONTENT_TYPE"), not x.request_truncated)


def _response_body(x: Exchange) -> Body:
    data = bytes(x.client_body)
    encoding = (x.header("Content-Encoding") or "").strip().lower()
    if encoding in ("gzip", "deflate"):
        with contextlib.suppress(zlib.error):  # what the client reads, not the compressed
            data = zlib.decompress(data, 47 if encoding == "gzip" else 15)
    return Body(data, x.header("Content-Type") or "",
                len(x.sent_body) >= x.client_size)


def _body(title: str, left: Body, right: Body) -> Section:
    if not left.data and not right.data:
        return Section(title, [], "both empty")
    jl, jr = _json(left), _json(right)
    if jl is not _NOT_JSON and jr is not _NOT_JSON:
        flat_l, flat_r = dict(_flatten(jl)), dict(_flatten(jr))
        if len(flat_l) + len(flat_r) <= 2 * MAX_JSON_VALUES:
            return Section(title, _rows(flat_l, flat_r), "JSON, value by value")
    fl, fr = _form(left), _form(right)
    if fl is not None and fr is not None:
        return Section(title, _pairs(fl, fr, False), "form fields, by name")
    tl, tr = _text(left), _text(right)
    if tl is not None and tr is not None:
        return Section(title, _lines(tl, tr), "text, line by line")
    return Section(title, _digest_rows(left, right), "compared by size and SHA-256")


_NOT_JSON = object()


def _json(body: Body) -> Any:
    kind = body.content_type.split(";", 1)[0].strip().lower()
    if not body.complete or not (kind.endswith("/json") or kind.endswith("+json")):
        return _NOT_JSON
    try:
        return json.loads(body.data)
    except ValueError:
        return _NOT_JSON


def _form(body: Body) -> list[tuple[str, str]] | None:
    kind = body.content_type.split(";", 1)[0].strip().lower()
    if not body.complete or kind != "application/x-www-form-urlencoded":
        return None
    try:
        return parse_qsl(body.data.decode("ascii"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        return None


def _flatten(value: Any, path: str = "$") -> Iterator[tuple[str, str]]:
    """(path, JSON text of the value) for each leaf; empty containers are leaves."""
    if isinstance(value, dict) and value:
        for key, item in value.items():
            name = key if key.isidentifier() else json.dumps(key)
            yield from _flatten(item, f"{path}.{name}" if key.isidentifier()
                                else f"{path}[{name}]")
    elif isinstance(value, list) and value:
        for i, item in enumerate(value):
            yield from _flatten(item, f"{path}[{i}]")
    else:
        yield path, json.dumps(value, ensure_ascii=False)


def _text(body: Body) -> list[str] | None:
    if not body.complete or b"\x00" in body.data:
        return None
    try:
        lines = body.data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return None
    return lines if len(lines) <= MAX_TEXT_LINES else None


def _lines(left: list[str], right: list[str]) -> list[Row]:
    rows = []
    matcher = difflib.SequenceMatcher(None, left, right, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for k in range(max(i2 - i1, j2 - j1)):
            li, ri = i1 + k, j1 + k
            lt = left[li] if li < i2 else None
            rt = right[ri] if ri < j2 else None
            key = f"{li + 1 if li < i2 else ''} / {ri + 1 if ri < j2 else ''}"
            rows.append(Row(key, lt, rt, tag == "equal"))
    return rows


def _digest_rows(left: Body, right: Body) -> list[Row]:
    def size(b: Body) -> str:
        return f"{len(b.data):,} bytes" + ("" if b.complete else " (captured part)")

    dl, dr = (hashlib.sha256(b.data).hexdigest() for b in (left, right))
    return [Row("Size", size(left), size(right), len(left.data) == len(right.data)),
            Row("SHA-256", dl, dr, dl == dr)]
