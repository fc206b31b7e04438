"""Outbound HTTP per exchange: http.client (so urllib and requests) and httpx.

Each call the app makes while serving becomes an ``outbound`` event: ``method``,
``url``, ``status`` (None when it failed), ``duration`` (until the response's
head arrived), ``sent`` (the request body's size when it declared one) and
``size`` (the response's Content-Length, None when it had none), ``source``,
and ``error`` when it raised.

http.client. ``HTTPConnection.putrequest`` notes the method, the URL and the
time on the connection (one attribute, removed at the response), and
``getresponse`` records (``endheaders``, where it connects and sends, records a
call that failed there). urllib calls them all; so does urllib3, under requests,
through ``super()``. httpx does not use http.client: its
``HTTPTransport.handle_request`` is timed instead (what every sync Client
ends in).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from .inside import _perf, error_text, lane, record, source

_NOTE = "_wsgi_inspector_call"


def _outbound(flight: Any, start: float, method: str, url: str, status: int | None,
              sent: int | None, size: int | None, error: BaseException | None = None) -> None:
    fields: dict[str, Any] = {"method": method, "url": url, "status": status, "sent": sent,
                              "size": size, "source": source()}
    if error is not None:
        fields["error"] = error_text(error)
    record(flight, "outbound", start, fields)


def patch_http_client(module: ModuleType) -> Any:
    cls = module.HTTPConnection
    putrequest, putheader, getresponse = cls.putrequest, cls.putheader, cls.getresponse
    endheaders = cls.endheaders

    def watched_putrequest(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        flight = lane()
        if flight is not None:
            setattr(self, _NOTE, [flight, _perf(), method, _url(self, url), None])
        return putrequest(self, method, url, *args, **kwargs)

    def watched_putheader(self: Any, header: Any, *values: Any) -> Any:
        note = self.__dict__.get(_NOTE)
        if note is not None and _is_length(header) and values:
            note[4] = _int(values[0])
        return putheader(self, header, *values)

    def watched_endheaders(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return endheaders(self, *args, **kwargs)
        except BaseException as exc:  # it connects and sends here: refused, timed out...
            note = self.__dict__.pop(_NOTE, None)
            if note is not None:
                flight, start, method, url, sent = note
                _outbound(flight, start, method, url, None, sent, None, exc)
            raise

    def watched_getresponse(self: Any) -> Any:
        note = self.__dict__.pop(_NOTE, None)
        if note is None:
            return getresponse(self)
        flight, start, method, url, sent = note
        try:
            response = getresponse(self)
        except BaseException as exc:
            _outbound(flight, start, method, url, None, sent, None, exc)
            raise
        _outbound(flight, start, method, url, response.status, sent, response.length)
        return response

    for name, new in (("putrequest", watched_putrequest), ("putheader", watched_putheader),
                      ("endheaders", watched_endheaders), ("getresponse", watched_getresponse)):
        old = getattr(cls, name)
        new.__name__, new.__qualname__, new.__doc__ = old.__name__, old.__qualname__, old.__doc__
        setattr(cls, name, new)

    def undo() -> None:
        cls.putrequest, cls.putheader, cls.getresponse = putrequest, putheader, getresponse
        cls.endheaders = endheaders

    return undo


def _url(conn: Any, target: str) -> str:
    if "://" in target:  # through a proxy: the whole URL
        return target
    default = getattr(conn, "default_port", 80)  # 443 for every HTTPSConnection
    scheme = "https" if default == 443 else "http"
    port = "" if conn.port in (None, default) else f":{conn.port}"
    return f"{scheme}://{conn.host}{port}{target}"


def _is_length(header: Any) -> bool:
    name = header.decode("latin-1") if isinstance(header, bytes) else str(header)
    return name.lower() == "content-length"


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def patch_httpx(httpx: ModuleType) -> Any:
    cls = httpx.HTTPTransport
    handle = cls.handle_request

    def handle_request(self: Any, request: Any) -> Any:
        flight = lane()
        if flight is None:
            return handle(self, request)
        start = _perf()
        method, url = request.method, str(request.url)
        sent = _int(request.headers.get("content-length"))
        try:
            response = handle(self, request)
        except BaseException as exc:
            _outbound(flight, start, method, url, None, sent, None, exc)
            raise
        size = _int(response.headers.get("content-length"))
        _outbound(flight, start, method, url, response.status_code, sent, size)
        return response

    handle_request.__name__ = handle.__name__
    handle_request.__qualname__ = handle.__qualname__
    handle_request.__doc__ = handle.__doc__
    cls.handle_request = handle_request

    def undo() -> None:
        cls.handle_request = handle

    return undo
