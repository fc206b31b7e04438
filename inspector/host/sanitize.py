"""Exports without secrets: credentials, cookie values and password-like fields.

:func:`sanitized` returns a copy of an exchange in which these are replaced by
``[redacted]``; every exporter (HAR, curl, raw HTTP) works on that copy by
default, so one place decides what a shared file may hold. Sessions on disk
keep everything: they are the user's own record.

Replaced: the values of Authorization, Proxy-Authorization, Cookie and
Set-Cookie (cookie names and Set-Cookie attributes stay, they say what was
set); fields named like a password, token, secret or API key in query strings,
urlencoded and multipart forms (text fields; files stay) and JSON bodies
(nested ones too), in requests and responses.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote_plus

from ..model import Exchange, StartResponseCall

REDACTED = "[redacted]"
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization"})
SECRET_HEADERS = CREDENTIAL_HEADERS | {"cookie", "set-cookie"}
_SECRET_NAME = re.compile(r"passw(?:or)?d|token|secret|api[-_]?key", re.IGNORECASE)
_SECRET_BYTES = re.compile(_SECRET_NAME.pattern.encode(), re.IGNORECASE)
# A JSON member whose value may be cut short (a truncated capture): key, then value.
_JSON_MEMBER = re.compile(r'("((?:[^"\\]|\\.)*)"\s*:\s*)("(?:[^"\\]|\\.)*(?:"|$)|[^\s,}\]]+)')
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_PART_NAME = re.compile(rb'\bname="([^"]*)"', re.IGNORECASE)

Headers = list[tuple[str, str]]


def is_secret_name(name: str) -> bool:
    """A form or JSON field name that holds a secret (password, token, ...)."""
    return _SECRET_NAME.search(name) is not None


def sanitized(x: Exchange) -> Exchange:
    """A copy of ``x`` without secrets; ``x`` itself if it holds none."""
    environ = _environ(x.environ)
    calls = [_call(c) for c in x.start_response]
    request_body = _body(x.request_body, x.env("CONTENT_TYPE"))
    mime = x.header("Content-Type") or ""
    response_body = _body(x.response_body, mime if isinstance(mime, str) else "")
    wire_body = None if x.wire_body is None else _body(x.wire_body, mime)
    inside = _inside(x)
    same = (environ is None and all(a is b for a, b in zip(calls, x.start_response))
            and request_body is x.request_body and response_body is x.response_body
            and wire_body is x.wire_body and not inside)
    if same:
        return x
    return dataclasses.replace(
        x, **inside, environ=x.environ if environ is None else environ, start_response=calls,
        request_body=request_body, response_body=response_body, wire_body=wire_body,
        request_size=_size(x.request_size, x.request_body, request_body),
        response_size=_size(x.response_size, x.response_body, response_body),
        wire_size=_wire_size(x, response_body, wire_body))


def _wire_size(x: Exchange, response_body: bytes, wire_body: bytes | None) -> int | None:
    # The wire's body is the app's (or its own capture): its size follows the cleaned
    # bytes, so a HAR's content size stays the length of its text.
    if x.wire_size is None:
        return None
    if wire_body is not None:
        return _size(x.wire_size, x.wire_body or b"", wire_body)
    if x.wire_size == x.response_size:
        return _size(x.wire_size, x.response_body, response_body)
    return x.wire_size


def _size(size: int, old: bytes, new: bytes) -> int:
    # A whole body is now another length; a truncated one keeps the size the app saw.
    return len(new) if len(old) == size else size


# -- headers and environ -----------------------------------------------------------------

def clean_header(name: str, value: str) -> str:
    lname = name.lower()
    if lname in CREDENTIAL_HEADERS:
        return REDACTED
    if lname == "cookie":
        return clean_cookie_header(value)
    if lname == "set-cookie":
        return clean_set_cookie(value)
    return value


def clean_cookie_header(value: str) -> str:
    """``a=1; b=2`` -> ``a=[redacted]; b=[redacted]``: the names stay."""
    parts = []
    for part in value.split(";"):
        name, sep, _ = part.partition("=")
        parts.append(f"{name}={REDACTED}" if sep else REDACTED if part.strip() else part)
    return ";".join(parts)


def clean_set_cookie(value: str) -> str:
    """The cookie's value only: its name and attributes (Path, HttpOnly...) stay."""
    first, sep, attributes = value.partition(";")
    name, eq, _ = first.partition("=")
    return (f"{name}={REDACTED}" if eq else REDACTED) + sep + attributes


def _inside(x: Exchange) -> dict[str, Any]:
    """What ran inside the app, without secrets: the parameters of a statement that
    names a password or token column, such values in a template's context, such
    fields in the query of an outbound URL. Only the lists that change."""
    queries = [dataclasses.replace(q, params=REDACTED)
               if q.params and _SECRET_NAME.search(q.sql) else q for q in x.queries]
    templates = [dataclasses.replace(r, context={k: REDACTED if is_secret_name(k) else v
                                                 for k, v in r.context.items()})
                 if any(is_secret_name(k) for k in r.context) else r for r in x.templates]
    outbound = [dataclasses.replace(o, url=_clean_url(o.url)) for o in x.outbound]
    changed = {"queries": queries, "templates": templates, "outbound": outbound}
    return {name: new for name, new in changed.items()
            if any(a != b for a, b in zip(new, getattr(x, name)))}


def _clean_url(url: str) -> str:
    base, sep, query = url.partition("?")
    return base + sep + clean_query(query) if sep else url


def clean_query(query: str) -> str:
    """``user=ada&token=x`` -> ``user=ada&token=[redacted]``; the rest byte for byte."""
    if not _SECRET_NAME.search(query):
        return query
    parts = []
    for part in query.split("&"):
        name, sep, _ = part.partition("=")
        parts.append(f"{name}={REDACTED}" if sep and is_secret_name(unquote_plus(name))
                     else part)
    return "&".join(parts)


def _headers(headers: Iterable[tuple[str, str]]) -> Headers:
    return [(n, clean_header(n, v)) if isinstance(n, str) and isinstance(v, str) else (n, v)
            for n, v in headers]


def _call(call: StartResponseCall) -> StartResponseCall:
    headers = _headers(call.headers)
    if headers == list(call.headers):
        return call
    return dataclasses.replace(call, headers=headers)


_ENV_HEADERS = {"HTTP_AUTHORIZATION": "authorization",
                "HTTP_PROXY_AUTHORIZATION": "proxy-authorization", "HTTP_COOKIE": "cookie"}


def _environ(environ: Any) -> dict[str, tuple[str, str]] | None:
    """The cleaned environ, or None if nothing in it changes."""
    changed = {}
    for key, header in _ENV_HEADERS.items():
        if key in environ:
            text, kind = environ[key]
            changed[key] = (clean_header(header, text), kind)
    for key in ("QUERY_STRING", "REQUEST_URI", "RAW_URI"):
        if key in environ:
            text, kind = environ[key]
            path, sep, query = ("", "", text) if key == "QUERY_STRING" else text.partition("?")
            if query:
                changed[key] = (path + sep + clean_query(query), kind)
    changed = {k: v for k, v in changed.items() if v != environ[k]}
    return {**environ, **changed} if changed else None


# -- bodies -------------------------------------------------------------------------------

def _body(body: bytes, mime: str) -> bytes:
    """The body with secret fields replaced (urlencoded, multipart, JSON); else itself."""
    if not body or not _SECRET_BYTES.search(body):
        return body
    kind = mime.split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        cleaned = clean_query(body.decode("latin-1")).encode("latin-1")
    elif kind == "multipart/form-data":
        cleaned = _multipart(body, mime)
    elif kind.endswith("/json") or kind.endswith("+json"):
        cleaned = _json_body(body)
    else:
        return body
    return body if cleaned == body else cleaned


def _json_body(body: bytes) -> bytes:
    try:
        data = json.loads(body)
        if _redact_members(data):
            return json.dumps(data, ensure_ascii=False).encode("utf-8")
        return body
    except (ValueError, RecursionError):  # cut short by the capture, or odd: by pattern
        text = body.decode("utf-8", "surrogateescape")
        return _JSON_MEMBER.sub(_member, text).encode("utf-8", "surrogateescape")


def _redact_members(data: Any) -> bool:
    """Replace secret members' values in nested JSON data, without recursion."""
    found, stack = False, [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if is_secret_name(key):
                    item[key], found = REDACTED, True
                elif isinstance(value, (dict, list)):
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, (dict, list)))
    return found


def _member(match: re.Match[str]) -> str:
    key, value = match.group(2), match.group(3)
    if not is_secret_name(key) or value.startswith(("{", "[")):
        return match.group(0)
    return f'{match.group(1)}"{REDACTED}"'


def _multipart(body: bytes, mime: str) -> bytes:
    """Text fields with a secret name get the marker as their value; files stay."""
    found = _BOUNDARY.search(mime)
    if not found:
        return body
    delimiter = b"--" + found.group(1).encode("latin-1")
    parts = body.split(delimiter)
    for i, part in enumerate(parts[1:], 1):
        head, sep, content = part.partition(b"\r\n\r\n")
        name = _PART_NAME.search(head)
        if not sep or name is None or b"filename" in head.lower():
            continue
        if is_secret_name(name.group(1).decode("latin-1")):
            tail = b"\r\n" if content.endswith(b"\r\n") else b""
            parts[i] = head + sep + REDACTED.encode() + tail
    return delimiter.join(parts)
