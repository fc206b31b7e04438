"""Routing is reading ``PATH_INFO``.

A framework's ``@app.route("/hello/<name>")`` boils down to this: the WSGI
server puts the path of the URL in ``environ["PATH_INFO"]`` and the app picks
what to do from it. Anything it does not know gets a ``404 Not Found``.

Try ``/``, ``/hello/Ada``, ``/about``, ``/badge.png`` and ``/nowhere``.
"""

import struct
import zlib


def _png(width, height, rgb):
    """A tiny solid-colour PNG, made with the standard library only."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


BADGE = _png(48, 24, (46, 139, 87))

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Router example</title></head>
<body><h1>{title}</h1><p>{text}</p>
<ul><li><a href="/">home</a></li><li><a href="/hello/Ada">/hello/Ada</a></li>
<li><a href="/about">/about</a></li><li><a href="/badge.png">/badge.png</a></li></ul>
</body></html>
"""


def _html(status, title, text):
    return status, "text/html; charset=utf-8", PAGE.format(title=title, text=text).encode()


def app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/":
        status, ctype, body = _html("200 OK", "Home", "This page was chosen by PATH_INFO.")
    elif path == "/about":
        status, ctype, body = _html("200 OK", "About", "A router is an if/elif on the path.")
    elif path.startswith("/hello/"):
        name = path[len("/hello/"):] or "stranger"
        status, ctype, body = _html("200 OK", f"Hello, {name}!",
                                    "Part of the path became an argument.")
    elif path == "/badge.png":
        status, ctype, body = "200 OK", "image/png", BADGE
    else:
        status, ctype, body = _html("404 Not Found", "Not found",
                                    f"No route matches {path}.")
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))])
    return [body]
