"""Exporters: pure functions from an exchange to text or bytes, and HAR in and out.

``EXPORTERS`` maps a name to ``exchange -> str | bytes``; the GUI lists them
by name ("Copy as curl", "Save raw", ...). HAR 1.2 (:func:`write_har`,
:func:`iter_har`) is the interchange format with browsers and other tools.
Our own HAR entries carry an ``_wsgi`` object (HAR allows ``_``-prefixed
custom fields) with what HTTP cannot say: the environ, phases, findings,
output and error, so a HAR written here reads back into the same exchanges.

Every exporter leaves secrets out unless told ``redact=False``
(:mod:`inspector.host.sanitize`). HAR files are written and read one entry
at a time, so their size does not matter; what is written is strict JSON (no
NaN or Infinity), and what is read may come from anywhere: each way it can be
wrong is one :class:`HarError` sentence.
"""

from __future__ import annotations

import base64
import codecs
import functools
import gc
import json
import math
import os
import re
import shlex
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from itertools import chain
from pathlib import Path
from typing import Any, Callable, Protocol, Union
from urllib.parse import parse_qsl, quote, unquote_to_bytes, urlencode, urlsplit

from .. import __version__
from ..inside import from_har as inside_from_har
from ..inside import to_har as inside_to_har
from ..model import (
    ST_COMPLETE,
    ST_FAILED,
    Chunk,
    ErrorInfo,
    Exchange,
    Finding,
    OutputLine,
    Phase,
    StartResponseCall,
)
from .jsonstream import BadJson, find_array, items, open_json
from .sanitize import REDACTED, SECRET_HEADERS, sanitized
from .scriptsafe import SCHEMES, carried, left_out_note, method_note, printable_url

SECRET_ENVIRON = frozenset({"HTTP_AUTHORIZATION", "HTTP_PROXY_AUTHORIZATION", "HTTP_COOKIE"})
_CONTENT_KEYS = {"CONTENT_TYPE": "Content-Type", "CONTENT_LENGTH": "Content-Length"}
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_REASONS = {s.value: s.phrase for s in HTTPStatus}
# RFC 3986 pchar minus "%": everything else in a path is percent-encoded.
_PATH_SAFE = "/:@!$&'()*+,;=~"

Headers = list[tuple[str, str]]


class HarError(ValueError):
    """Input that is not a HAR log; ``str()`` is one sentence for the user."""


class ExportError(ValueError):
    """An export that cannot be made; ``str()`` is one sentence for the user."""


# -- views of an exchange shared by the exporters ----------------------------------

def url(x: Exchange) -> str:
    """The request URL, rebuilt from the environ as PEP 3333 describes."""
    scheme = x.env("wsgi.url_scheme")
    if scheme not in SCHEMES:  # PEP 3333 knows these two; a crafted "-o file" is not a URL
        scheme = "http"
    host = x.env("HTTP_HOST")
    if not host:
        host = x.env("SERVER_NAME") or "localhost"
        port = x.env("SERVER_PORT")
        if port and port != _DEFAULT_PORTS.get(scheme):
            host += f":{port}"
    return f"{scheme}://{host}{target(x)}"


def target(x: Exchange) -> str:
    """The request target: quoted SCRIPT_NAME + PATH_INFO, then ``?`` and the query."""
    path = quote(_wsgi_bytes(x.path), safe=_PATH_SAFE) or "/"
    return path + (f"?{x.query}" if x.query else "")


def request_headers(x: Exchange) -> Headers:
    """The request headers as the client sent them, names in canonical case.

    WSGI keeps headers as ``HTTP_*`` keys (plus CONTENT_TYPE/CONTENT_LENGTH);
    the original case and order across those two groups is not recoverable.
    """
    headers = []
    for key, (text, _kind) in x.environ.items():
        if key.startswith("HTTP_"):
            headers.append((_header_name(key[5:]), text))
        elif key in _CONTENT_KEYS and text:  # empty means "not sent" (PEP 3333)
            headers.append((_CONTENT_KEYS[key], text))
    return headers


def _header_name(key: str) -> str:
    return "-".join(part.capitalize() for part in key.split("_"))


def _wsgi_bytes(text: str) -> bytes:
    # WSGI strings are bytes decoded as latin-1; tolerate servers that did otherwise.
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape")


def _header_bytes(name: str, value: str) -> bytes:
    return _wsgi_bytes(name) + b": " + _wsgi_bytes(value) + b"\r\n"


# -- curl ----------------------------------------------------------------------------------

def curl(x: Exchange, *, redact: bool = True, base_url: str | None = None) -> str:
    """A POSIX shell command that sends the same request with curl (``redact``: with
    credentials, cookie values and password-like fields replaced by a marker;
    ``base_url``: to this scheme, host and port instead of the recorded ones)."""
    if redact:
        x = sanitized(x)
    not_sent = method_note(x.method or "GET")
    if not_sent:
        return f"# {not_sent}"
    body = x.request_body
    args = ["curl", *_curl_method(x.method or "GET", bool(body))]
    if x.env("SERVER_PROTOCOL") == "HTTP/1.0":
        args.append("--http1.0")
    address = printable_url(base_url.rstrip("/") + target(x) if base_url else url(x))
    if _GLOB.search(address):
        args.append("--globoff")  # else curl reads [1-9] and {a,b} as ranges and lists
    if _DOT_SEGMENT.search(urlsplit(address).path):
        args.append("--path-as-is")  # else curl squashes /a/../b before sending it
    args.append(address)
    headers, left_out = carried(request_headers(x))
    for name, value in headers:
        # curl writes Host from the URL and computes the body's length itself.
        if name.lower() not in ("host", "content-length", "transfer-encoding"):
            args += ["-H", f"{name}: {value}" if value else f"{name};"]  # "X:" would remove X
    if body and not x.env("CONTENT_TYPE"):
        args += ["-H", "Content-Type:"]  # the request had none: drop curl's form default
    command = " ".join(shlex.quote(a) for a in args)
    text = shell_safe_text(body)
    if text is not None:
        command += " --data-binary " + shlex.quote(text)
    elif body:
        # A NUL cannot be in an argument: printf writes the bytes, curl reads stdin.
        command = f"printf {shlex.quote(printf_format(body))} | {command} --data-binary @-"
    if left_out:
        command = f"# {left_out_note(left_out)}\n{command}"
    if x.request_truncated:
        command = (f"# Only {len(body)} of {x.request_size} request body bytes were "
                   "captured; this sends those.\n" + command)
    return command


_GLOB = re.compile(r"[\[\]{}]")
_DOT_SEGMENT = re.compile(r"(?:^|/)\.\.?(?:/|$)")
# Longer bodies go through printf (a shell builtin): one argument to a program
# may hold at most 128 KiB on Linux.
_ARGUMENT_LIMIT = 64 * 1024
shell_quote = shlex.quote


def _curl_method(method: str, has_body: bool) -> list[str]:
    if method == "HEAD" and not has_body:
        return ["--head"]  # -X HEAD would make curl wait for a body that never comes
    if (method == "GET" and not has_body) or (method == "POST" and has_body):
        return []  # what curl does anyway
    return ["-X", method]


def shell_safe_text(body: bytes) -> str | None:
    """The body as text if it pastes into a shell unchanged, else None (also when it
    is too long for one argument, or starts with "@": curl reads a file name)."""
    if not body or body.startswith(b"@") or len(body) > _ARGUMENT_LIMIT:
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if all(c.isprintable() or c in "\n\t" for c in text) else None


def printf_format(data: bytes) -> str:
    """A printf format that writes exactly ``data`` (octal escapes, POSIX printf)."""
    out = []
    for byte in data:
        char = chr(byte)
        if char == "%":
            out.append("%%")
        elif char == "\\":
            out.append("\\\\")
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return "".join(out)


# -- raw HTTP ---------------------------------------------------------------------------

def raw_request(x: Exchange) -> bytes:
    """The request as HTTP/1.x bytes: request line, headers, captured body."""
    protocol = x.env("SERVER_PROTOCOL") or "HTTP/1.1"
    head = f"{x.method or 'GET'} {target(x)} {protocol}\r\n".encode("latin-1", "replace")
    head += b"".join(_header_bytes(n, v) for n, v in request_headers(x))
    return head + b"\r\n" + x.request_body


def raw_response(x: Exchange) -> bytes:
    """The response as the app gave it: status line, headers, captured body.

    The server may add headers of its own (Date, Server, framing); those are
    not part of the WSGI exchange and not shown.
    """
    protocol = x.env("SERVER_PROTOCOL") or "HTTP/1.1"
    head = _wsgi_bytes(f"{protocol} {x.app_status}") + b"\r\n"
    head += b"".join(_header_bytes(n, v) for n, v in x.app_headers)
    return head + b"\r\n" + x.response_body


def raw(x: Exchange, *, redact: bool = True) -> bytes:
    """Request and response, separated by a blank line; the request alone if
    the app never called start_response (``redact``: as :func:`curl`)."""
    if redact:
        x = sanitized(x)
    if not x.start_response:
        return raw_request(x)
    return raw_request(x) + b"\r\n\r\n" + raw_response(x)


# -- HAR out ----------------------------------------------------------------------------------

def to_har(exchanges: Iterable[Exchange], *, redact: bool = True) -> dict[str, Any]:
    """A HAR 1.2 log of these exchanges, in memory (``redact``: leave secrets out).
    For a file, :func:`write_har` writes the same one entry at a time."""
    return {"log": {**_har_log_head(), "entries": [har_entry(x, redact=redact)
                                                   for x in exchanges]}}


def _har_log_head() -> dict[str, Any]:
    return {"version": "1.2", "creator": {"name": "wsgi-inspector", "version": __version__}}


def har(x: Exchange, *, redact: bool = True) -> str:
    """A HAR file (as text) holding this one exchange."""
    return strict_json(to_har([x], redact=redact), indent=2)


def write_har(path: str | os.PathLike[str], exchanges: Iterable[Exchange],
              redact: bool = True) -> int:
    """Write a HAR file with mode 0600 (bodies and headers may hold secrets) and
    return how many entries it holds.

    The exchanges are taken one at a time and each entry is written as it is
    made, so memory does not grow with their number. It is written to a
    temporary file first and renamed, so an existing file is never left
    half-written.
    """
    target = Path(path)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)  # mode 0600
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f, fewer_collections():
            head = strict_json({"log": _har_log_head()})
            f.write(head[:-2] + ', "entries": [')  # the log object stays open for the entries
            for x in exchanges:
                f.write(",\n" if count else "\n")
                f.write(strict_json(har_entry(x, redact=redact)))
                count += 1
            f.write("\n]}}\n")
        os.chmod(temp, 0o600)
        os.replace(temp, target)
    except BaseException:
        os.unlink(temp)
        raise
    return count


def strict_json(value: Any, indent: int | None = None) -> str:
    """JSON text that strict parsers accept: NaN and infinities become 0, -1 for a
    size (HAR's "unknown") or null for a duration; other objects their repr.

    ensure_ascii (the default) keeps a lone surrogate from some output line from
    breaking the file. The encoders are made once: json.dumps with options makes
    a new one per call, a third of the time of a small entry.
    """
    encoder = _STRICT if indent is None else _strict_encoder(indent)
    try:
        return encoder.encode(value)
    except ValueError:  # rare: an imported file's or a broken clock's numbers
        return encoder.encode(_finite(value))


def _strict_encoder(indent: int | None = None) -> json.JSONEncoder:
    return json.JSONEncoder(allow_nan=False, default=repr, indent=indent)


_STRICT = _strict_encoder()


_SIZES = frozenset({"size", "bodySize", "headersSize"})


def _finite(value: Any, key: str = "") -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return -1 if key in _SIZES else None if key == "duration" else 0
    if isinstance(value, dict):
        return {k: _finite(v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v, key) for v in value]
    return value


def har_entry(x: Exchange, *, redact: bool = True) -> dict[str, Any]:
    differs = _app_differs(x)  # before sanitizing: a marker would make the bodies differ
    if redact:
        x = sanitized(x)  # the helpers below hide the headers' values again, harmlessly
    wait, receive = _har_timings(x)
    return {
        "startedDateTime": _iso_time(x.start),
        "time": wait + receive,
        "request": _har_request(x, redact),
        "response": _har_response(x, redact),
        "cache": {},
        "timings": {"send": 0, "wait": wait, "receive": receive},
        "serverIPAddress": "127.0.0.1",
        "_wsgi": _har_wsgi(x, redact, differs),
    }


def _iso_time(epoch: float) -> str:
    try:
        moment = datetime.fromtimestamp(epoch, timezone.utc)
    except (OverflowError, ValueError, OSError):  # NaN, or no year of the calendar
        moment = datetime.fromtimestamp(0, timezone.utc)
    return moment.astimezone().isoformat(timespec="milliseconds")


def _har_timings(x: Exchange) -> tuple[float, float]:
    """(wait, receive) in ms: until start_response, then the rest of the exchange.
    Time the request waited on the user while stepping is no one's: it is left out
    (``_wsgi.paused_ms`` keeps it), taken from ``wait`` first, where pauses begin."""
    paused = max(x.paused_time, 0.0) * 1000
    total = max((x.duration or 0.0) * 1000 - paused, 0.0)
    first = x.start_response[0].t * 1000 - paused if x.start_response else total
    wait = min(max(first, 0.0), total)
    return wait, total - wait


def _pairs(items: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": n, "value": v} for n, v in items]


def _hide(headers: Headers, redact: bool) -> Headers:
    if not redact:
        return list(headers)
    return [(n, REDACTED if n.lower() in SECRET_HEADERS else v) for n, v in headers]


def _har_request(x: Exchange, redact: bool) -> dict[str, Any]:
    headers = request_headers(x)
    request: dict[str, Any] = {
        "method": x.method or "GET",
        "url": url(x),
        "httpVersion": x.env("SERVER_PROTOCOL") or "HTTP/1.1",
        "cookies": [_cookie(c, redact) for c in _request_cookies(x.env("HTTP_COOKIE"))],
        "headers": _pairs(_hide(headers, redact)),
        "queryString": _pairs(parse_qsl(x.query, keep_blank_values=True)),
        "headersSize": -1,
        "bodySize": x.request_size,
    }
    if x.request_size or x.request_body:
        request["postData"] = _post_data(x)
    return request


def _request_cookies(header: str) -> list[dict[str, Any]]:
    cookies = []
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            cookies.append({"name": name, "value": value})
    return cookies


def _cookie(cookie: dict[str, Any], redact: bool) -> dict[str, Any]:
    return {**cookie, "value": REDACTED} if redact else cookie


def _response_cookie(header: str) -> dict[str, Any]:
    """One Set-Cookie header as a HAR cookie object."""
    first, *attributes = header.split(";")
    name, _, value = first.strip().partition("=")
    cookie: dict[str, Any] = {"name": name, "value": value}
    for attribute in attributes:
        key, _, val = attribute.strip().partition("=")
        key = key.lower()
        if key in ("path", "domain"):
            cookie[key] = val
        elif key == "expires":
            # Not an HTTP date: HAR wants ISO 8601, so leave it out.
            with suppress(TypeError, ValueError):
                cookie["expires"] = parsedate_to_datetime(val).isoformat()
        elif key == "httponly":
            cookie["httpOnly"] = True
        elif key == "secure":
            cookie["secure"] = True
    return cookie


def _post_data(x: Exchange) -> dict[str, Any]:
    mime = x.env("CONTENT_TYPE")
    post: dict[str, Any] = {"mimeType": mime}
    post.update(_body_text(x.request_body, mime))
    if "encoding" in post:
        # HAR 1.2 postData has no "encoding": keep ours as a custom field.
        post["_encoding"] = post.pop("encoding")
    elif mime.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        post["params"] = _pairs(parse_qsl(post["text"], keep_blank_values=True))
    if x.request_truncated:
        post["comment"] = f"captured {len(x.request_body)} of {x.request_size} bytes"
    return post


@functools.lru_cache(maxsize=256)  # a few media types, met for every body
def _charset(mime: str) -> str:
    """The charset named in a media type, if Python knows it; else UTF-8."""
    match = re.search(r";\s*charset\s*=\s*\"?([^\";\s]+)", mime, re.IGNORECASE)
    if match:
        try:
            return codecs.lookup(match.group(1)).name
        except LookupError:
            pass
    return "utf-8"


def _body_text(body: bytes, mime: str) -> dict[str, str]:
    """``{"text": ...}`` if the body is text in its charset, else base64 with "encoding"."""
    charset = _charset(mime)
    try:
        text = body.decode(charset)
        if text.encode(charset) == body:  # only what reads back to the same bytes
            return {"text": text}
    except (UnicodeError, LookupError):
        pass
    return {"text": base64.b64encode(body).decode("ascii"), "encoding": "base64"}


def _har_response(x: Exchange, redact: bool) -> dict[str, Any]:
    """What the client got: the wire's status, headers and body when recorded
    (the app's answer, when it differs, is in ``_wsgi.app_response``)."""
    code = x.status_code or 0
    mime = x.header("Content-Type") or ""
    body, size = x.client_body, x.client_size
    content: dict[str, Any] = {"size": size, "mimeType": mime}
    if body or not size:
        content.update(_body_text(body, mime))
    if len(body) < size:
        content["comment"] = f"captured {len(body)} of {size} bytes"
    cookies = [_response_cookie(v) for n, v in x.headers if n.lower() == "set-cookie"]
    if x.wire_recorded:
        head_size, body_size = x.wire_head_size or -1, size
    else:
        head_size, body_size = -1, (x.response_size if x.start_response else -1)
    return {
        "status": code,
        "statusText": x.status[4:] if code else "",
        "httpVersion": x.wire_version or x.env("SERVER_PROTOCOL") or "HTTP/1.1",
        "cookies": [_cookie(c, redact) for c in cookies],
        "headers": _pairs(_hide(x.headers, redact)),
        "content": content,
        "redirectURL": x.header("Location") or "",
        "headersSize": head_size,
        "bodySize": body_size,
    }


def _app_differs(x: Exchange) -> bool:
    """Whether the app's answer is worth keeping beside the client's. The server
    always adds headers (Date, Server...): a different status or body is what counts;
    a server's own answer has no app answer at all."""
    if not x.wire_recorded or x.server_only:
        return False
    return ((x.app_status, x.response_size) != (x.status, x.client_size)
            or x.wire_body is not None)


def _har_wire(x: Exchange, redact: bool, differs: bool) -> dict[str, Any]:
    """The ``_wsgi`` fields of the wire side: whether the client hung up, whether it
    got no reply at all (the app's process died), the exact bytes sent after the
    head, and the app's own answer where it differs."""
    out: dict[str, Any] = {"client_disconnected": x.client_disconnected,
                           "client_dropped": x.client_dropped}
    if not x.wire_recorded:
        return out
    out["wire_size"] = x.wire_size
    if x.server_only:
        out.update(server_only=True, request_line=x.request_line)
    if differs:
        app: dict[str, Any] = {"status": x.app_status,
                               "headers": _pairs(_hide(x.app_headers, redact)),
                               "size": x.response_size}
        if x.response_body != x.client_body:
            app["body"] = base64.b64encode(x.response_body).decode("ascii")
        out["app_response"] = app
    return out


def _ms(seconds: float) -> float:
    return seconds * 1000


def _har_wsgi(x: Exchange, redact: bool, differs: bool) -> dict[str, Any]:
    """What HAR has no field for. Times are ms since the exchange began."""
    environ = {k: (REDACTED if redact and k in SECRET_ENVIRON else text)
               for k, (text, _kind) in x.environ.items()}
    return {
        "id": x.id,
        "environ": environ,
        "environ_types": {k: kind for k, (_t, kind) in x.environ.items() if kind != "str"},
        "phases": [{"name": p.name, "t_ms": _ms(p.t)} for p in x.phases],
        "findings": [{"code": f.code, "severity": f.severity, "message": f.message,
                      "phase": f.phase, "pep": f.pep} for f in x.findings],
        "error": x.error.traceback if x.error else None,
        "error_info": ({"phase": x.error.phase, "type": x.error.type,
                        "message": x.error.message, "handled": x.error.handled,
                        "logged": x.error.logged} if x.error else None),
        "output": [{"stream": o.stream, "level": o.level, "text": o.text,
                    "logger": o.logger, "t_ms": _ms(o.t)} for o in x.output],
        # The rest lets a HAR written here read back into the same exchange.
        "start": x.start,
        "duration": x.duration,
        "paused_ms": _ms(x.paused_time),
        "aborted": x.aborted,  # the phase the user aborted it at while stepping, or ""
        "state": x.state,
        "client": x.client,
        "thread": x.thread,
        "start_response": [{"status": c.status, "headers": _pairs(_hide(c.headers, redact)),
                            "exc_info": c.exc_info, "t_ms": _ms(c.t)}
                           for c in x.start_response],
        "chunks": [{"size": c.size, "t_ms": _ms(c.t), "via": c.via} for c in x.chunks],
        "file_wrapper": x.file_wrapper,
        **_har_wire(x, redact, differs),
        **inside_to_har(x),  # queries, templates, outbound calls
    }


# -- HAR in -------------------------------------------------------------------------------

def is_json_file(path: str | os.PathLike[str]) -> bool:
    """Whether the file's text starts like JSON (``{`` or ``[`` after a BOM and blanks),
    which a session (SQLite) never does."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return head.lstrip(b"\xef\xbb\xbf").lstrip()[:1] in (b"{", b"[")


def read_har(path: str | os.PathLike[str]) -> list[Exchange]:
    """The exchanges of a HAR file; HarError if it is not one. See :func:`iter_har`."""
    return list(iter_har(path))


def iter_har(path: str | os.PathLike[str]) -> Iterator[Exchange]:
    """The exchanges of a HAR file, read one entry at a time (memory stays flat
    whatever the file's size); HarError, one sentence, when it is not one."""
    name = os.fspath(path)
    count = 0
    try:
        source = open_json(path)
        with source.raw:
            for count, entry in enumerate(items(source, "log.entries.item"), 1):
                yield _entry_exchange(entry, count, name)
        if count == 0:  # no entries, or no log.entries at all?
            source = open_json(path)
            with source.raw:
                problem = find_array(source, "log.entries")
            if problem:
                raise HarError(f"{name} is not a HAR log ({problem}); export a HAR file "
                               "from the browser and try again.")
    except BadJson as exc:
        raise HarError(f"{name} is not a HAR file ({exc}); open a .har or .wsgi-session "
                       "file.") from None
    except OSError as exc:
        raise HarError(f"{name} cannot be read ({exc.strerror}); check that it exists and "
                       "is readable.") from None


class _Adds(Protocol):
    def add(self, exchanges: Iterable[Exchange], *, owned: bool = False) -> None: ...
    def flush(self, timeout: float | None = None) -> bool: ...


def add_har(store: _Adds, path: str | os.PathLike[str], batch: int = 500) -> int:
    """Import a HAR file into a session store; returns how many exchanges it held.

    Read ``batch`` entries at a time; the store writes one batch while the next
    is read, and is waited for before it gets another, so at most two batches
    are in memory whatever the file's size.
    """
    count, pending = 0, []
    with fewer_collections():
        for x in iter_har(path):
            pending.append(x)
            if len(pending) == batch:
                store.flush()  # the previous batch is written: memory stays flat
                store.add(pending, owned=True)  # made here, used by nobody else
                count, pending = count + len(pending), []
        store.add(pending, owned=True)
        store.flush()
    return count + len(pending)


@contextmanager
def fewer_collections(young: int = 20_000) -> Iterator[None]:
    """Young garbage collections every ``young`` allocations instead of 700 meanwhile:
    an entry allocates hundreds of objects and makes no reference cycles, and
    each collection also walks what is already kept (a store's summaries)."""
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], young), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def from_har(har: dict[str, Any]) -> list[Exchange]:
    """Exchanges from a HAR log already in memory, ours (with ``_wsgi``) or a browser's."""
    try:
        entries = har["log"]["entries"]
    except (KeyError, TypeError):
        entries = None
    if not isinstance(entries, list):
        raise HarError("This JSON is not a HAR log (it has no log.entries list); "
                       "export a HAR file from the browser and try again.")
    return [_entry_exchange(entry, index) for index, entry in enumerate(entries, 1)]


def _entry_exchange(entry: Any, index: int, source: str = "this HAR log") -> Exchange:
    try:
        _expect(isinstance(entry, dict), "it is not an object")
        return _checked(_har_exchange(entry, index))
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise HarError(f"Entry {index} of {source} is malformed ({_detail(exc)}); "
                       "the file may be damaged or from an incompatible tool.") from None


def _detail(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"it has no {exc.args[0]!r}"
    if isinstance(exc, (TypeError, AttributeError)):
        return "a field holds the wrong kind of value"
    return str(exc) or type(exc).__name__


def _checked(x: Exchange) -> Exchange:
    """``x`` if every field has the type an exchange's field has, else ValueError:
    whatever a file holds, only plain, flat values reach the session.

    Written for speed (it runs once per imported entry): the environ, most of an
    entry, by C-level set operations; the environ's pairs are built here, so only
    what is in them needs checking.
    """
    env = x.environ
    _expect(set(map(type, chain(env, chain.from_iterable(env.values())))) <= _STR,
            "an environ value is not text")
    _expect(type(x.id) is int and isinstance(x.start, _NUMBER)
            and (x.duration is None or isinstance(x.duration, _NUMBER)),
            "the id or a time is not a number")
    _expect({type(x.client), type(x.thread), type(x.state)} <= _STR,
            "client, thread or state is not text")
    _expect(type(x.file_wrapper) is bool, "file_wrapper is not true or false")
    _expect(all([type(p.name) is str and isinstance(p.t, _NUMBER) for p in x.phases]),
            "a phase is not a name and a time")
    _expect(all([{type(f.code), type(f.severity), type(f.phase), type(f.message),
                  type(f.pep)} <= _STR for f in x.findings]), "a finding's field is not text")
    _expect(all([{type(o.stream), type(o.text), type(o.level), type(o.logger)} <= _STR
                 and isinstance(o.t, _NUMBER) for o in x.output]),
            "an output line is not text")
    _expect(x.error is None or ({type(x.error.phase), type(x.error.type),
                                 type(x.error.message), type(x.error.traceback),
                                 type(x.error.logged)} <= _STR),
            "the error is not text")
    for call in x.start_response:
        _expect(call.status is None or isinstance(call.status, (str, int, float)),
                "a status is not text")
        _expect(set(map(type, chain.from_iterable(call.headers))) <= _STR,
                "a header is not a name and a value")
        _expect((call.exc_info is None or type(call.exc_info) is str)
                and isinstance(call.t, _NUMBER), "a start_response call is malformed")
    _expect(all([type(c.size) is int and isinstance(c.t, _NUMBER) and type(c.via) is str
                 for c in x.chunks]), "a chunk is not a size and a time")
    _expect(type(x.request_size) is int and type(x.response_size) is int,
            "a body size is not a whole number")
    _expect(type(x.start) is not bool, "the start time is not a number")
    _expect({type(x.wire_version), type(x.wire_status), type(x.request_line)} <= _STR,
            "the response as sent is not text")
    _expect(set(map(type, chain.from_iterable(x.wire_headers))) <= _STR,
            "a header as sent is not a name and a value")
    _expect(type(x.wire_head_size) is int and (x.wire_size is None or type(x.wire_size) is int),
            "a size as sent is not a whole number")
    # A session stores sizes as SQLite integers: 64 bits.
    _expect(all(-_INT64 <= n < _INT64 for n in (x.request_size, x.response_size,
                                                 x.wire_head_size, x.wire_size or 0)),
            "a size is larger than any file")
    return x


_STR = frozenset({str})
_INT64 = 1 << 63
_NUMBER = (int, float)


def _expect(ok: bool, problem: str) -> None:
    if not ok:
        raise ValueError(problem)


def _har_exchange(entry: dict[str, Any], index: int) -> Exchange:
    request, response = entry["request"], entry["response"]
    ours = entry.get("_wsgi")
    x = Exchange(index)
    x.request_body, x.request_size = _har_post_body(request)
    x.response_body, x.response_size = _har_content(response.get("content") or {},
                                                    _header(response, "content-type"))
    if isinstance(ours, dict):
        _restore(x, entry, ours)
    else:
        _rebuild(x, entry)
    return x


def _har_post_body(request: dict[str, Any]) -> tuple[bytes, int]:
    post = request.get("postData") or {}
    if "text" in post:
        body = _decode(post["text"], post.get("_encoding") or post.get("encoding"),
                       post.get("mimeType", ""))
    elif post.get("params"):
        body = urlencode([(p["name"], p.get("value", "")) for p in post["params"]]).encode()
    else:
        body = b""
    return body, _size(request.get("bodySize"), body)


def _har_content(content: dict[str, Any], content_type: str) -> tuple[bytes, int]:
    # Browsers drop the charset from content.mimeType; the header still has it.
    mime = content.get("mimeType", "")
    if "charset" not in mime.lower():
        mime = content_type
    body = _decode(content.get("text") or "", content.get("encoding"), mime)
    return body, _size(content.get("size"), body)


def _header(message: dict[str, Any], name: str) -> str:
    for header in message.get("headers", []):
        if header["name"].lower() == name:
            return header.get("value", "")
    return ""


def _decode(text: str, encoding: str | None, mime: str) -> bytes:
    if encoding == "base64":
        return base64.b64decode(text)
    try:
        return text.encode(_charset(mime))
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _size(size: Any, body: bytes) -> int:
    # -1 means unknown; a tool may also report less than it saved (compression).
    return max(size, len(body)) if isinstance(size, int) else len(body)


def _restore(x: Exchange, entry: dict[str, Any], ours: dict[str, Any]) -> None:
    """An entry written by :func:`to_har`: take everything back from ``_wsgi``."""
    x.id = ours.get("id", x.id)
    types = ours.get("environ_types", {})
    x.environ = {k: (v, types.get(k, "str")) for k, v in ours["environ"].items()}
    x.start = ours["start"] if "start" in ours else _parse_time(entry["startedDateTime"])
    x.client = ours.get("client", "")
    x.thread = ours.get("thread", "")
    x.phases = [Phase(p["name"], p["t_ms"] / 1000) for p in ours.get("phases", [])]
    x.findings = [Finding(f["code"], f["severity"], f["phase"], f["message"], f.get("pep", ""))
                  for f in ours.get("findings", [])]
    x.output = [OutputLine(o["stream"], o["text"], o.get("level", ""), o.get("logger", ""),
                           o.get("t_ms", 0.0) / 1000) for o in ours.get("output", [])]
    x.error = _restore_error(ours)
    if "start_response" in ours:
        x.start_response = [
            StartResponseCall(c["status"], [(h["name"], h["value"]) for h in c["headers"]],
                              c.get("exc_info"), c.get("t_ms", 0.0) / 1000)
            for c in ours["start_response"]]
    else:
        x.start_response = _har_start_response(entry["response"], _first_byte(entry))
    x.chunks = [Chunk(c["size"], c["t_ms"] / 1000, c.get("via", "iter"))
                for c in ours.get("chunks", [])]
    x.file_wrapper = bool(ours.get("file_wrapper", False))
    for name, found in inside_from_har(ours).items():
        setattr(x, name, found)
    _restore_wire(x, entry["response"], ours)
    x.duration = ours["duration"] if "duration" in ours else _duration(entry)
    paused = ours.get("paused_ms", 0.0)
    x.paused_time = paused / 1000 if isinstance(paused, _NUMBER) and 0 < paused < 1e12 else 0.0
    x.client_dropped = ours.get("client_dropped") is True
    aborted = ours.get("aborted")
    x.aborted = aborted if type(aborted) is str else ""
    x.state = ours.get("state") or (ST_FAILED if x.error else ST_COMPLETE)


def _restore_wire(x: Exchange, response: dict[str, Any], ours: dict[str, Any]) -> None:
    """The wire side written by :func:`_har_wire`: the response is the client's,
    ``app_response`` (when there) the app's."""
    if "wire_size" not in ours:
        return
    client_body = x.response_body
    x.wire_status = f"{response['status']} {response.get('statusText', '')}".rstrip()
    x.wire_version = response.get("httpVersion", "")
    x.wire_headers = [(h["name"], h["value"]) for h in response.get("headers", [])]
    x.wire_head_size = max(response.get("headersSize", 0), 0)
    x.wire_size = int(ours["wire_size"])
    x.client_disconnected = bool(ours.get("client_disconnected"))
    x.server_only = bool(ours.get("server_only"))
    x.request_line = ours.get("request_line", "")
    app = ours.get("app_response")
    if isinstance(app, dict):
        x.response_size = int(app.get("size", x.response_size))
        if "body" in app:
            x.response_body = base64.b64decode(app["body"])
            if x.client_reads_body:  # else the content is empty, not what went out
                x.wire_body = client_body


def _restore_error(ours: dict[str, Any]) -> ErrorInfo | None:
    text = ours.get("error")
    if text is None:
        return None
    info = ours.get("error_info") or {}
    # Without the details, the traceback's last line is "Type: message".
    last_type, _, last_message = text.rstrip().rpartition("\n")[2].partition(": ")
    return ErrorInfo(info.get("phase", "app_called"), info.get("type", last_type),
                     info.get("message", last_message), text,
                     handled=info.get("handled") is True, logged=info.get("logged", ""))


def _rebuild(x: Exchange, entry: dict[str, Any]) -> None:
    """An entry from a browser or another tool: make the environ a WSGI server would."""
    request, response = entry["request"], entry["response"]
    x.environ = _har_environ(request, len(x.request_body))
    x.start = _parse_time(entry["startedDateTime"])
    first = _first_byte(entry)
    x.duration = _duration(entry)
    x.start_response = _har_start_response(response, first)
    x.phases = [Phase("received", 0.0)]
    if x.start_response:
        x.phases.append(Phase("start_response", first))
    if x.response_size:
        x.chunks = [Chunk(x.response_size, first)]
        x.phases.append(Phase("chunk", first))
    x.phases.append(Phase("closed", x.duration))
    x.state = ST_COMPLETE if x.start_response else ST_FAILED


def _har_environ(request: dict[str, Any], body_size: int) -> dict[str, tuple[str, str]]:
    parts = urlsplit(request["url"])
    scheme = parts.scheme or "http"
    env = {
        "REQUEST_METHOD": request["method"],
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(parts.path or "/").decode("latin-1"),
        "QUERY_STRING": parts.query,
        "SERVER_NAME": parts.hostname or "localhost",
        "SERVER_PORT": str(parts.port or _DEFAULT_PORTS.get(scheme, "80")),
        "SERVER_PROTOCOL": request.get("httpVersion") or "HTTP/1.1",
        "wsgi.url_scheme": scheme,
    }
    headers = _merge_headers(request.get("headers", []))
    env["HTTP_HOST"] = headers.pop("HOST", None) or headers.pop(":AUTHORITY", parts.netloc)
    for name, value in headers.items():
        if name.startswith(":"):  # HTTP/2 pseudo-headers have no CGI variable
            continue
        key = name.replace("-", "_")
        env[key if key in _CONTENT_KEYS else f"HTTP_{key}"] = value
    if body_size and "CONTENT_LENGTH" not in env:
        env["CONTENT_LENGTH"] = str(body_size)
    return {k: (v, "str") for k, v in env.items()}


def _merge_headers(headers: list[dict[str, str]]) -> dict[str, str]:
    """Upper-cased names; repeated headers joined the way a server joins them."""
    merged: dict[str, str] = {}
    for header in headers:
        name, value = header["name"].upper(), header.get("value", "")
        if name in merged:
            value = merged[name] + ("; " if name == "COOKIE" else ", ") + value
        merged[name] = value
    return merged


def _har_start_response(response: dict[str, Any], t: float) -> list[StartResponseCall]:
    status = response.get("status", 0)
    if not status:  # 0: the browser got no response
        return []
    # HTTP/2 has no reason phrase, but a WSGI status needs one (PEP 3333).
    reason = response.get("statusText") or _REASONS.get(status, "")
    text = f"{status} {reason}".rstrip()
    headers = [(h["name"], h.get("value", "")) for h in response.get("headers", [])
               if not h["name"].startswith(":")]
    return [StartResponseCall(text, headers, None, t)]


def _timing(entry: dict[str, Any], name: str) -> float:
    value = (entry.get("timings") or {}).get(name, -1)
    return value if isinstance(value, (int, float)) and value > 0 else 0.0


def _first_byte(entry: dict[str, Any]) -> float:
    """Seconds from the entry's start to the first response byte (ssl is part of connect)."""
    return sum(_timing(entry, n) for n in ("blocked", "dns", "connect", "send", "wait")) / 1000


def _duration(entry: dict[str, Any]) -> float:
    total = entry.get("time")
    if isinstance(total, (int, float)) and total >= 0:
        return total / 1000
    return _first_byte(entry) + _timing(entry, "receive") / 1000


_ISO = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d)?)(?:[.,](\d+))?\s*(Z|[+-]\d\d:?\d\d)?$",
                  re.IGNORECASE)


def _parse_time(text: str) -> float:
    """Epoch seconds from an ISO 8601 time (any fraction digits, Z or ±hh[:]mm).

    Python 3.9's fromisoformat takes only 3 or 6 fraction digits and no "Z".
    """
    match = _ISO.match(text.strip())
    if not match:
        return 0.0
    base, fraction, zone = match.groups()
    iso = base + "." + (fraction or "0")[:6].ljust(6, "0")
    if zone and zone.upper() != "Z":
        iso += zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    elif zone:
        iso += "+00:00"
    moment = datetime.fromisoformat(iso)
    return moment.timestamp()  # no zone: local time, as the HAR author's clock


Exporter = Callable[[Exchange], Union[str, bytes]]

EXPORTERS: dict[str, Exporter] = {
    "curl": curl,
    "raw": raw,
    "har": har,
}
