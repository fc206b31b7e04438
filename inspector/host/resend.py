"""Sending a request to the served app again, and knowing its exchange when it comes.

A resent or composed request goes out through a real HTTP connection
(``http.client``) to the address the app is served on, so it passes through
waitress as any client's would. Nothing is added to it: no marker header, no
``Accept-Encoding`` or ``Host`` of http.client's own; the app cannot tell.

Its exchange is told apart on this side, by the client's address: waitress
puts the connection's peer address in the environ (``REMOTE_ADDR`` and
``REMOTE_PORT``), and that is the local address of our socket, known once it
is connected and before a byte is sent. :meth:`Links.expect` notes that
address with the row the request came from; the recorder asks
:meth:`Links.match` about each ``begin`` event while a link is expected and,
on a match, records a ``resent`` event right after it (:func:`resent_event`),
which the session keeps in the exchange's log and its summary (``resent_from``).
Two open connections never share a local address, so the match is exact; an
expectation no begin claims (recording paused, the app stopped) expires.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import quote, urlsplit

from ..model import EV_RESENT, Exchange, environ_from_event
from .export import request_headers, target

# Hop-by-hop framing is the connection's business: the length is computed anew.
_FRAMING = frozenset({"content-length", "transfer-encoding"})
# Methods whose request carries a Content-Length even when the body is empty.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_TARGET_SAFE = "/:@!$&'()*+,;=~?%#[]"
LINK_TTL = 60.0  # seconds an expected link waits for its begin event


class ResendError(ValueError):
    """A request that cannot be sent as asked; ``str()`` is one sentence for the user."""


@dataclass
class OutgoingRequest:
    """A request to send: the target is the path and query as they go on the wire."""

    method: str = "GET"
    target: str = "/"
    headers: list[tuple[str, str]] = field(default_factory=list)  # no Content-Length
    body: bytes = b""
    length: bool = False  # send Content-Length even for an empty body (the original did)
    origin: int | None = None  # the row it was made from, if any

    def wire_headers(self) -> list[tuple[str, str]]:
        """The headers as sent: the table's, framing dropped, then the body's length."""
        headers = [(n, v) for n, v in self.headers if n.lower() not in _FRAMING]
        if self.body or self.length or self.method.upper() in BODY_METHODS:
            headers.append(("Content-Length", str(len(self.body))))
        return headers


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110: a method, a header name


def check(request: OutgoingRequest) -> None:
    """ResendError (one sentence) unless ``request`` can go out as HTTP/1.1."""
    if not _TOKEN.fullmatch(request.method):
        raise ResendError(f"The method {request.method!r} is not a word HTTP allows; use "
                          "letters, such as GET or POST.")
    if not request.target or any(c.isspace() or ord(c) < 0x20 for c in request.target):
        raise ResendError("The path must not be empty or hold spaces or control characters; "
                          "write a space as %20.")
    for name, value in request.headers:
        if not _TOKEN.fullmatch(name):
            raise ResendError(f"The header name {name!r} is not one HTTP allows (letters, "
                              "digits and -, no spaces or colons).")
        if "\r" in value or "\n" in value or not _latin1(value):
            raise ResendError(f"The value of {name} holds a line break or a character HTTP "
                              "headers cannot carry (only latin-1).")


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


@dataclass
class Reply:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes


def from_exchange(x: Exchange) -> OutgoingRequest:
    """The request of ``x`` as it came: its raw target, its headers, its body."""
    if x.server_only and not x.method:
        raise ResendError(f"Exchange #{x.id} is a request waitress could not read; it cannot "
                          "be sent again.")
    if x.request_truncated:
        raise ResendError(f"Only {len(x.request_body):,} of the {x.request_size:,} bytes of "
                          f"the body of #{x.id} were captured; it cannot be sent as it was.")
    headers = request_headers(x)
    return OutgoingRequest(
        method=x.method or "GET",
        target=x.env("REQUEST_URI") or target(x),  # waitress keeps the target as received
        headers=[(n, v) for n, v in headers if n.lower() not in _FRAMING],
        body=bytes(x.request_body),
        length=any(n.lower() == "content-length" for n, _ in headers),
        origin=x.id)


def send(base_url: str, request: OutgoingRequest, *,
         connected: Callable[[tuple[str, int]], None] | None = None,
         timeout: float = 30.0) -> Reply:
    """Send ``request`` to the app served at ``base_url`` and read the whole answer.

    ``connected`` hears the connection's local (address, port) before anything is
    sent. OSError or http.client.HTTPException when the app cannot be reached."""
    parts = urlsplit(base_url)
    if not parts.hostname or not parts.port:
        raise ResendError("The app is not being served; start it, then send the request.")
    check(request)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.connect()
        if connected is not None:
            address = conn.sock.getsockname()
            connected((address[0], address[1]))
        _put(conn, request)
        response = conn.getresponse()
        return Reply(response.status, response.reason, response.getheaders(), response.read())
    finally:
        conn.close()


def _put(conn: http.client.HTTPConnection, request: OutgoingRequest) -> None:
    path = request.target or "/"
    if not path.isascii() or " " in path:  # http.client sends ASCII only: quote the rest
        path = quote(path.encode("latin-1", "replace"), safe=_TARGET_SAFE)
    try:
        # skip_*: http.client would add Host and Accept-Encoding the original did not have.
        conn.putrequest(request.method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in request.wire_headers():
            conn.putheader(name, value.encode("latin-1"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise ResendError(f"The request cannot be sent: {_why(exc)}.") from None
    conn.endheaders(request.body or None)


def _why(exc: Exception) -> str:
    if isinstance(exc, UnicodeEncodeError):
        return "a header value holds characters HTTP cannot carry (only latin-1)"
    text = str(exc).rstrip(".")
    return text[:1].lower() + text[1:] if text else "its method, target or a header is invalid"


class Links:
    """Resent requests waiting to be recognised by their client address; thread-safe."""

    def __init__(self, ttl: float = LINK_TTL) -> None:
        self._ttl = ttl
        self._lock = threading.Lock()
        self._expected: dict[tuple[str, int], tuple[int, float]] = {}

    def __bool__(self) -> bool:
        return bool(self._expected)  # read without the lock: a hint for the fast path

    def expect(self, client: tuple[str, int], origin: int) -> None:
        now = time.monotonic()
        with self._lock:
            self._expected = {k: v for k, v in self._expected.items() if v[1] > now}
            self._expected[client] = (origin, now + self._ttl)

    def match(self, begin: dict[str, Any]) -> int | None:
        """The origin row of the exchange this begin event starts, if it is a resend."""
        try:
            environ = environ_from_event(begin["environ"])
            key = (environ["REMOTE_ADDR"][0], int(environ["REMOTE_PORT"][0]))
        except (KeyError, TypeError, ValueError, IndexError):
            return None
        with self._lock:
            found = self._expected.pop(key, None)
        return found[0] if found is not None and found[1] > time.monotonic() else None


def resent_event(begin: dict[str, Any], origin: int) -> dict[str, Any]:
    """The event that links the exchange of ``begin`` to row ``origin``."""
    return {"type": EV_RESENT, "id": begin["id"], "gen": begin.get("gen", 0), "from": origin}
