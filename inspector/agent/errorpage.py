"""While the app cannot be loaded, its URL answers with the load error.

A learner whose app has an import error sees in the browser what the window
shows: a short 500 page with the error and the traceback, saying that the
inspector waits for the fix. The page asks the browser to look again every few
seconds, so it turns into the app once the file is fixed and saved (the host
restarts this process on a change). Nothing of the request is recorded: there
is no app to record.
"""

from __future__ import annotations

import html
import socket
from collections.abc import Iterable
from typing import Any, Callable

from .. import wire
from .server import BackgroundServer, ServeError

REFRESH_SECONDS = 2
Emit = Callable[[dict[str, Any]], None]


def page(message: str, traceback: str | None, spec: str) -> bytes:
    """The error page's HTML (every piece of the error escaped)."""
    tb = f"<pre>{html.escape(traceback)}</pre>" if traceback else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{REFRESH_SECONDS}">
<title>{html.escape(spec)} could not be loaded</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:60em;color:#222}}
h1{{color:#c0262d;font-size:1.4em}}pre{{background:#f6f6f6;padding:1em;overflow:auto}}
p.wait{{color:#555}}</style></head>
<body><h1>{html.escape(spec)} could not be loaded</h1>
<p>{html.escape(message)}</p>{tb}
<p class="wait">WSGI Inspector is waiting for the fix: save the file and this page
turns into your app (it looks again every {REFRESH_SECONDS} seconds).</p>
</body></html>
""".encode()


def error_app(message: str, traceback: str | None, spec: str) -> Callable:
    body = page(message, traceback, spec)

    def app(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        start_response("500 Internal Server Error",
                       [("Content-Type", "text/html; charset=utf-8"),
                        ("Content-Length", str(len(body))), ("Cache-Control", "no-store"),
                        ("Retry-After", str(REFRESH_SECONDS))])
        return [body]
    return app


def serve_load_error(sock: socket.socket, emit_now: Emit, load_error: dict[str, Any], *,
                     spec: str, host: str, port: int) -> None:
    """Serve the error page at the app's address, report the load error (with the URL
    when the port could be bound) and wait until the host says stop or goes away."""
    server = BackgroundServer(error_app(str(load_error["message"]),
                                        load_error.get("traceback"), spec),
                              host=host, port=port, threads=1)
    try:
        url = server.start()
    except ServeError:  # the port is taken: the window still shows the error
        emit_now(load_error)
        return
    emit_now({**load_error, "url": url, "port": server.effective_port})
    try:
        for messages in wire.read_frames(sock):
            if any(m.get("type") == "stop" for m in messages):
                break
            for message in messages:
                if message.get("type") == "ping":
                    emit_now({"type": "pong", "seq": message.get("seq")})
    except wire.ProtocolError:
        pass
    finally:
        server.stop(0.5)
