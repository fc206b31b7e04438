"""Recorded requests as programs that send them again: curl, HTTPie, Python, fetch.

Each writer takes the exchanges (one at a time) and a
:class:`~inspector.host.exportcontext.Context` and yields the pieces of one runnable
script that sends every request in order, body byte for byte, and shows each
answer. Whatever came from the request (paths,
headers, bodies, the app's status line) reaches the script only as a quoted
literal of its language, or escaped in a comment, so a crafted request cannot
add code to it.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Iterator

from ..model import Exchange
from .export import curl, request_headers, shell_quote, shell_safe_text, target, url
from .export import printf_format as _printf
from .exportcontext import Context
from .sanitize import REDACTED, sanitized
from .scriptsafe import carried, left_out_note, method_note, printable_url

# The client computes these from the URL and the body, or they belong to one connection.
_CLIENT_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection",
                             "keep-alive", "upgrade", "expect", "te", "proxy-connection"})

Headers = list[tuple[str, str]]


def address(x: Exchange, base_url: str | None) -> str:
    """The request's URL, sent to ``base_url`` (scheme, host and port) when given;
    printable ASCII, so what a reader sees is where it goes."""
    return printable_url(base_url.rstrip("/") + target(x) if base_url else url(x))


def sendable_headers(x: Exchange) -> Headers:
    """The headers to send: not the client's own, nor those HTTP cannot carry."""
    kept, _ = carried(request_headers(x))
    return [(n, v) for n, v in kept if n.lower() not in _CLIENT_HEADERS]


def notes(x: Exchange) -> list[str]:
    """Comments' texts on what this sends differently from what was recorded."""
    _, left = carried(request_headers(x))
    return [note for note in (truncation_note(x), left_out_note(left)) if note]


def heading(number: int, x: Exchange) -> str:
    """``1: POST /api/items -> 201 Created``, escaped so it stays one comment line."""
    status = x.app_status or "no answer"
    return comment_text(f"{number}: {x.method or 'GET'} {target(x)} -> {status}")


def comment_text(text: str) -> str:
    """Text safe in a one-line comment of any language: control characters escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def truncation_note(x: Exchange) -> str:
    """A comment's text when this sends less than the client did, else ""."""
    if x.server_only:
        return ("The server answered this request itself (the app was not called); "
                "this sends what it read of it, without a body.")
    if not x.request_truncated:
        return ""
    return (f"Only {len(x.request_body)} of {x.request_size} request body bytes were "
            "captured; this sends those.")


def _prepared(exchanges: Iterable[Exchange], ctx: Context) -> Iterator[Exchange]:
    return (sanitized(x) if ctx.redact else x for x in exchanges)


# -- curl -------------------------------------------------------------------------------------

def curl_parts(exchanges: Iterable[Exchange], ctx: Context) -> Iterator[str]:
    """A POSIX shell script, one curl command per request; each answer's body goes
    to standard output, followed by a newline."""
    yield "#!/bin/sh\n# Requests recorded by WSGI Inspector, sent again with curl.\n"
    for number, x in enumerate(exchanges, 1):
        command = curl(x, redact=ctx.redact, base_url=ctx.base_url)
        note = f"# {truncation_note(x)}\n" if x.server_only else ""  # curl() says the rest
        yield f"# {heading(number, x)}\n{note}{command} && echo\n"


# -- HTTPie -----------------------------------------------------------------------------------

def httpie_parts(exchanges: Iterable[Exchange], ctx: Context) -> Iterator[str]:
    """A POSIX shell script, one ``http`` command per request (HTTPie 3); each answer's
    body goes to standard output, followed by a newline."""
    yield "#!/bin/sh\n# Requests recorded by WSGI Inspector, sent again with HTTPie.\n"
    for number, x in enumerate(_prepared(exchanges, ctx), 1):
        not_sent = method_note(x.method or "GET")
        if not_sent:
            yield f"# {heading(number, x)}\n# {not_sent}\n"
            continue
        lines = [*notes(x), *_httpie_note(x)]
        yield (f"# {heading(number, x)}\n" + "".join(f"# {n}\n" for n in lines)
               + _httpie(x, ctx.base_url) + " && echo\n")


# HTTPie reads "X:@file" as a header from a file and "X:=1" as JSON data, and a backslash
# before one of these characters anywhere in the item as an escape.
_HTTPIE_SPECIAL = re.compile(r"\\[:=@;]")


def _httpie_item(name: str, value: str) -> str | None:
    """The item that sends this header, or None if HTTPie cannot write it."""
    if not value:
        return f"{name};"  # "X:" would remove X
    if _HTTPIE_SPECIAL.search(value):
        return None
    return f"{name}:\\{value}" if value[0] in "=@" else f"{name}:{value}"


def _httpie_note(x: Exchange) -> list[str]:
    left = [n for n, v in sendable_headers(x) if _httpie_item(n, v) is None]
    if not left:
        return []
    return [f"Left out: the header{'s' * (len(left) > 1)} {', '.join(left)}: HTTPie reads a "
            "backslash before : = @ or ; as an escape."]


def _httpie(x: Exchange, base_url: str | None) -> str:
    body = x.request_body
    text = shell_safe_text(body)
    piped = bool(body) and text is None  # bytes an argument cannot hold come on stdin
    args = ["http"] if piped else ["http", "--ignore-stdin"]
    args += [x.method or "GET", address(x, base_url)]
    for name, value in sendable_headers(x):
        item = _httpie_item(name, value)
        if item is not None:
            args.append(item)
    if body and not x.env("CONTENT_TYPE"):
        args.append("Content-Type:")  # the request had none: send none
    if text is not None:
        args.append(f"--raw={text}")  # one argument: a body starting with "-" stays a body
    command = " ".join(shell_quote(a) for a in args)
    if piped:
        command = f"printf {shell_quote(_printf(body))} | {command}"
    return command


# -- Python -----------------------------------------------------------------------------------

_PYTHON_HEAD = '''\
#!/usr/bin/env python3
"""Requests recorded by WSGI Inspector, sent again with requests.

Prints each answer's status and body. Needs requests: pip install requests.
"""

import sys

import requests

session = requests.Session()  # cookies the answers set are sent with later requests
session.headers.clear()  # the recorded headers only, not requests' own defaults


def show(response):
    print(response.status_code, response.reason)
    sys.stdout.flush()
    sys.stdout.buffer.write(response.content + b"\\n")
    sys.stdout.flush()
'''


def python_parts(exchanges: Iterable[Exchange], ctx: Context) -> Iterator[str]:
    """A Python script that sends the requests with ``requests`` in one session."""
    yield _PYTHON_HEAD
    for number, x in enumerate(_prepared(exchanges, ctx), 1):
        yield "\n" + _python_request(number, x, ctx.base_url)


def _python_request(number: int, x: Exchange, base_url: str | None) -> str:
    lines = ["", f"# {heading(number, x)}"]
    not_sent = method_note(x.method or "GET")
    if not_sent:
        return "\n".join([*lines, f"# {not_sent}"]) + "\n"
    lines += [f"# {note}" for note in notes(x)]
    lines += ["show(session.request(", f"    {x.method or 'GET'!r},",
              f"    {address(x, base_url)!r},", "    headers={"]
    for name, value in sendable_headers(x):
        entry = f"{name!r}: {value!r},"
        if REDACTED in value:
            lines.append(f"        # {entry}  # {_left_out(name)}")
        else:
            lines.append(f"        {entry}")
    lines.append("    },")
    if x.request_body:
        lines.append(f"    data={x.request_body!r},")
    lines += ["    allow_redirects=False,", "))"]
    return "\n".join(lines) + "\n"


def _left_out(name: str) -> str:
    if name.lower() == "cookie":
        return "redacted: cookies set by earlier answers are sent instead"
    return "redacted: put the real value here"


# -- JavaScript fetch -----------------------------------------------------------------------

def fetch_parts(exchanges: Iterable[Exchange], ctx: Context) -> Iterator[str]:
    """JavaScript for Node 18+ or a browser's console: fetch() each request in order
    and log each answer's status and body."""
    yield "// Requests recorded by WSGI Inspector, sent again with fetch().\n(async () => {\n"
    for number, x in enumerate(_prepared(exchanges, ctx), 1):
        yield "\n".join(_fetch_request(number, x, ctx.base_url)) + "\n"
    yield "})();\n"


def _js(text: str) -> str:
    """A JavaScript string literal (JSON's, ASCII only: also safe in any file encoding;
    "<" escaped, so pasted into a page's <script> it cannot end it)."""
    return json.dumps(text).replace("<", "\\u003c")


def _fetch_request(number: int, x: Exchange, base_url: str | None) -> list[str]:
    lines = [f"  // {heading(number, x)}"]
    not_sent = method_note(x.method or "GET")
    if not_sent:
        return [*lines, f"  // {not_sent}"]
    lines += [f"  // {note}" for note in notes(x)]
    lines += ["  {", f"    const response = await fetch({_js(address(x, base_url))}, {{",
              f"      method: {_js(x.method or 'GET')},", "      headers: {"]
    for name, value in sendable_headers(x):
        entry = f"{_js(name)}: {_js(value)},"
        lines.append(f"        // {entry}  // redacted" if REDACTED in value
                     else f"        {entry}")
    lines.append("      },")
    body = x.request_body
    if body:
        lines.append(f"      body: {_fetch_body(body, bool(x.env('CONTENT_TYPE')))},")
    lines += ['      redirect: "manual",', "    });",
              "    console.log(response.status, response.statusText);",
              "    console.log(await response.text());", "  }"]
    return lines


def _fetch_body(body: bytes, typed: bool) -> str:
    """Text as a string; other bytes (or a body without Content-Type, which fetch would
    label text/plain) as a Uint8Array."""
    if typed:
        try:
            return _js(body.decode("utf-8"))
        except UnicodeDecodeError:
            pass
    encoded = base64.b64encode(body).decode("ascii")
    return f"Uint8Array.from(atob({_js(encoded)}), (c) => c.charCodeAt(0))"
