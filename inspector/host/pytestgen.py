"""Recorded exchanges as a pytest file that calls the app in-process through WSGI.

The file needs pytest and the standard library only, in the app's own
environment: it imports the app by the recorded spec from the recorded app
directory (:mod:`inspector.host.appref`), builds each environ from the record
and asserts what the app answered (its side, not the wire's: no server runs).
Exchanges exported together are the steps of one test, in order, with cookies
and CSRF tokens carried from answer to request (see the template's Client).

Every recorded value enters the file as a Python literal (``repr``) or an
escaped comment, so a crafted request cannot add code to the test.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import math
import os
import pprint
import re
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote_plus

from ..agent.loader import LoadError, SpecParts, parse_spec
from ..model import ST_ABORTED, ST_ACTIVE, Exchange
from . import pytestgen_template as template
from .appref import AppRef
from .copyas import heading
from .export import ExportError
from .sanitize import REDACTED, sanitized

# Kept in the generated file too (formatted into it), so both sides find the same tokens.
TAG = r"<[^<>]*>"
# An attribute starts after a space, a quote or "<": a run like "id=aid=aid=a..." is one
# attribute, scanned once (else each "id=" in it is scanned to its end: quadratic time).
CSRF_NAME = r"""(?<![^\s"'<])(?:name|id)\s*=\s*["']?([^"'\s>]*(?:csrf|token)[^"'\s>]*)"""
CSRF_VALUE = r"""(?:value|content)\s*=\s*["']([^"']+)["']"""
_TAG, _CSRF_NAME, _CSRF_VALUE = (re.compile(TAG), re.compile(CSRF_NAME, re.I),
                                 re.compile(CSRF_VALUE, re.I))
_CGI_KEY = re.compile(r"[A-Z][A-Z0-9_]*")
_LEFT_OUT_KEYS = frozenset({"HTTP_COOKIE", "REMOTE_PORT"})  # cookies: the Client sends them
_VOLATILE_KEY = re.compile(r"csrf|token|nonce", re.I)
# A moment to the second (ISO 8601 or an HTTP date): "now" when it was recorded.
_MOMENT = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?"
                     r"|[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT")
# Larger bodies are compared by hash: a test file is read by people.
LITERAL_LIMIT = 16 * 1024
_TEXT_TYPES = ("application/xml", "application/javascript", "application/x-www-form-urlencoded")
_NAME_LIMIT = 80


class _Any:
    """Written as ``ANY`` in the expected data: a value that changes from run to run."""

    def __repr__(self) -> str:
        return "ANY"


_ANY = _Any()


def pytest_file(exchanges: Sequence[Exchange], app: AppRef, *, redact: bool = True,
                out: str | None = None) -> str:
    """The text of a pytest file with one test running ``exchanges`` in order; ``out``:
    where it will be saved, if known (inside the app's folder, the file finds the app
    relative to itself, so it runs in another checkout too)."""
    try:
        parts = parse_spec(app.spec)
    except LoadError as exc:
        raise ExportError(str(exc)) from None
    steps = [sanitized(x) if redact else x for x in exchanges]
    usable = [x for x in steps if _skip_reason(x) is None]
    if not usable:
        raise ExportError("None of these exchanges shows what the app answers on its own "
                          "(each was answered by the server, aborted, edited or unfinished); "
                          "select exchanges the app answered.")
    text = template.HEAD.format(count=len(usable), plural="s" * (len(usable) != 1),
                                spec=app.spec, app_dir=_app_dir(app.app_dir, out))
    text += _loader(parts)
    text += template.HELPERS.format(tag=TAG, csrf_name=CSRF_NAME, csrf_value=CSRF_VALUE)
    return text + "\n" + _test(steps, list(exchanges), redact)


# -- loading the app ---------------------------------------------------------------------

def _app_dir(app_dir: str, out: str | None) -> str:
    """The expression for APP_DIR: relative to the test file when it lives in the app's
    folder, else the absolute path."""
    if out is not None:
        here = os.path.dirname(os.path.abspath(out))
        root = os.path.abspath(app_dir)
        try:
            inside = os.path.commonpath([here, root]) == root
        except ValueError:  # another drive
            inside = False
        if inside:
            up = os.path.relpath(root, here)
            return f"os.path.normpath(os.path.join(os.path.dirname(__file__), {up!r}))"
    return repr(app_dir)


def _loader(parts: SpecParts) -> str:
    load = template.LOAD_FILE if parts.is_file else template.LOAD_MODULE
    text = load.format(target=os.path.expanduser(parts.target) if parts.is_file
                       else parts.target)
    if parts.attribute is None:
        return text + template.FIND_DEFAULT.format()
    call = ""
    if parts.args is not None:
        args = [repr(a) for a in parts.args] + [f"{k}={v!r}" for k, v in parts.kwargs.items()]
        call = f"({', '.join(args)})"
    return text + template.FIND_ATTRIBUTE.format(attribute=tuple(parts.attribute), call=call)


# -- the test ------------------------------------------------------------------------------

def _test(steps: Sequence[Exchange], originals: Sequence[Exchange], redact: bool) -> str:
    """The test function; ``steps`` are the exchanges as exported (sanitized or not),
    ``originals`` as recorded."""
    usable = [x for x in steps if _skip_reason(x) is None]
    lines = ["", f"def {function_name(usable)}(app):"]
    if redact and any(_redacted(x) for x in usable):
        lines.append("    # Secrets were left out ([redacted]); export with secrets for the "
                     "requests to carry them.")
    lines.append("    client = Client(app)")
    cookies_set: set[str] = set()  # by the answers of earlier steps
    tokens: dict[str, str] = {}  # field -> the CSRF token an earlier page held
    for number, (x, original) in enumerate(zip(steps, originals), 1):
        lines.append("")
        lines.append(f"    # {heading(number, x)}")
        reason = _skip_reason(x)
        if reason is not None:
            lines.append(f"    # Left out: {reason}.")
            continue
        lines += _step(_with_tokens(x, original, tokens), cookies_set, tokens)
        cookies_set.update(_set_cookie_names(x))
        tokens.update(csrf_tokens(x.response_body.decode("utf-8", "replace")))
    return "\n".join(lines) + "\n"


def _with_tokens(x: Exchange, original: Exchange, tokens: dict[str, str]) -> Exchange:
    """``x`` with the CSRF tokens its form sent put back where redaction hid them: the
    test replaces them with this run's anyway, and without them the form fails."""
    body = x.request_body
    for field, value in tokens.items():
        hidden = f"{quote_plus(field)}={REDACTED}".encode()
        if hidden in body and quote_plus(value).encode() in original.request_body:
            body = body.replace(hidden, f"{quote_plus(field)}={quote_plus(value)}".encode())
    return x if body == x.request_body else dataclasses.replace(x, request_body=body)


def function_name(steps: Sequence[Exchange]) -> str:
    """``test_post_api_items``; steps joined by ``_then_`` (three at most)."""
    slugs = [_slug(x) for x in steps[:3]]
    name = "test_" + "_then_".join(slugs) + ("_and_more" if len(steps) > 3 else "")
    return name[:_NAME_LIMIT].rstrip("_")


def _slug(x: Exchange) -> str:
    path = re.sub(r"[^a-z0-9]+", "_", x.path.lower()).strip("_") or "root"
    return f"{re.sub(r'[^a-z0-9]+', '', (x.method or 'get').lower()) or 'get'}_{path}"


def _skip_reason(x: Exchange) -> str | None:
    if x.server_only:
        return "the server answered it; the app was not called"
    if x.state == ST_ACTIVE or x.paused:
        return "it had not finished when exported"
    if x.state == ST_ABORTED or x.aborted:
        return "it was aborted while stepping"
    if x.edits:
        return "it was edited while stepping, so the answer is not the app's alone"
    if not x.start_response and x.error is None:
        return "the app gave no answer (its process died)"
    return None


def _redacted(x: Exchange) -> bool:
    return (any(REDACTED in text for text, _ in x.environ.values())
            or REDACTED.encode() in x.request_body)


def _step(x: Exchange, cookies_set: set[str], tokens: dict[str, str]) -> list[str]:
    lines = []
    if x.request_truncated:
        lines.append(f"    # Only {len(x.request_body)} of {x.request_size} request body "
                     "bytes were captured; this sends those.")
    call = ["client.request(", "        {"]
    call += _environ_lines(x)
    call.append("        },")
    if x.request_body:
        call.append(f"        body={_bytes_literal(x.request_body)},")
    cookies = _recorded_cookies(x, cookies_set)
    if cookies:
        call.append(f"        cookies={cookies!r},")
    carried = {value: field for field, value in tokens.items() if _holds(x, value)}
    if carried:
        call.append(f"        tokens={carried!r},  # CSRF: this run's page holds another")
    call.append("    )")
    if _raises(x):
        assert x.error is not None
        lines.append("    with pytest.raises(Exception) as raised:")
        lines += ["    " + line for line in ["    " + call[0], *call[1:]]]
        lines.append(f"    assert type(raised.value).__name__ == {x.error.type!r}")
        return lines
    lines += ["    response = " + call[0], *call[1:]]
    return lines + ["    " + check for check in _checks(x)]


def _bytes_literal(data: bytes) -> str:
    """A bytes literal; base64 for long bodies that are not text (a quarter longer,
    where a literal with escapes may be four times as long)."""
    if len(data) <= 256 or _printable(data):
        return repr(data)
    encoded = base64.b64encode(data).decode("ascii")
    lines = "".join(f"            {encoded[i:i + 76]!r}\n" for i in range(0, len(encoded), 76))
    return f"base64.b64decode(\n{lines}        )"


def _printable(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c in "\r\n\t" for c in text)


def _raises(x: Exchange) -> bool:
    return x.error is not None and not x.error.handled


def _environ_lines(x: Exchange) -> list[str]:
    lines = []
    for key, (text, kind) in x.environ.items():
        if kind != "str" or not (_CGI_KEY.fullmatch(key) or key == "wsgi.url_scheme"):
            continue
        if key in _LEFT_OUT_KEYS:
            continue
        if key == "CONTENT_LENGTH" and text != str(len(x.request_body)):
            text = str(len(x.request_body))  # cut short by the capture, or redacted
        entry = f"{key!r}: {text!r},"
        if REDACTED in text and key.startswith("HTTP_"):
            lines.append(f"            # {entry}  # redacted")
        else:
            lines.append(f"            {entry}")
    return lines


def _recorded_cookies(x: Exchange, cookies_set: set[str]) -> dict[str, str]:
    """The request's cookies that no earlier answer here set (those the Client carries),
    without redacted ones."""
    cookies = {}
    for part in x.env("HTTP_COOKIE").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name not in cookies_set and value != REDACTED:
            cookies[name] = value
    return cookies


def _set_cookie_names(x: Exchange) -> set[str]:
    return {value.split(";", 1)[0].partition("=")[0].strip()
            for name, value in x.app_headers
            if isinstance(name, str) and isinstance(value, str) and name.lower() == "set-cookie"}


def _holds(x: Exchange, value: str) -> bool:
    body = x.request_body
    if value.encode() in body or quote_plus(value).encode() in body:
        return True
    return any(value in text for key, (text, _) in x.environ.items() if key.startswith("HTTP_"))


def csrf_tokens(text: str) -> dict[str, str]:
    """Field -> value of each CSRF-like token in a page (the generated file's rule)."""
    found = {}
    for tag in _TAG.findall(text):
        name, value = _CSRF_NAME.search(tag), _CSRF_VALUE.search(tag)
        if name and value:
            found[name.group(1)] = value.group(1)
    return found


# -- what the answer must be --------------------------------------------------------------

def _header(x: Exchange, name: str) -> str | None:
    for key, value in x.app_headers:  # kept as the app gave them: maybe not text
        if isinstance(key, str) and isinstance(value, str) and key.lower() == name.lower():
            return value
    return None


def _checks(x: Exchange) -> list[str]:
    checks = [f"assert response.status == {x.app_status!r}"]
    mime = _header(x, "Content-Type")
    checks.append('assert response.header("Content-Type") is None' if mime is None
                  else f'assert response.header("Content-Type") == {mime!r}')
    code = x.app_status[:3]
    location = _header(x, "Location")
    if code.startswith("3") and location is not None:
        checks.append(f'assert response.header("Location") == {location!r}')
    return checks + _body_checks(x, mime or "")


def _body_checks(x: Exchange, mime: str) -> list[str]:
    body = x.response_body
    if x.file_wrapper:
        return ["# The app answered with wsgi.file_wrapper, whose bytes were not captured: "
                "the body is not compared."]
    if x.response_truncated:
        return [f"# Only the first {len(body)} of {x.response_size} bytes were captured.",
                f"assert len(response.body) == {x.response_size}",
                f"assert sha256(response.body[:{len(body)}]) == {_sha256(body)!r}"]
    if not body:
        return ['assert response.body == b""']
    if len(body) <= LITERAL_LIMIT:
        kind = mime.split(";")[0].strip().lower()
        if kind.endswith(("/json", "+json")):
            checks = _json_checks(body)
            if checks:
                return checks
        text = _text(body, mime)
        if text is not None:
            return _text_checks(text, _charset(mime))
    return [f"assert len(response.body) == {len(body)}",
            f"assert sha256(response.body) == {_sha256(body)!r}"]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _json_checks(body: bytes) -> list[str] | None:
    try:
        data = json.loads(body)
        if not _finite(data):
            return None
        loose, changed = _loosen(data)
        expected = pprint.pformat(loose, width=88, sort_dicts=False).replace("\n", "\n    ")
    except (ValueError, RecursionError):  # not JSON, or nested too deep to write out
        return None
    lines = (["# Tokens, CSRF values and times to the second change every run: ANY."]
             if changed else [])
    return [*lines, f"assert json.loads(response.body) == {expected}"]


def _finite(data: Any) -> bool:
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return False
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def _loosen(data: Any) -> tuple[Any, bool]:
    """``data`` with values that change every run (tokens, times, redacted ones) as ANY."""
    if _volatile(data):
        return _ANY, True
    if isinstance(data, dict):
        out, changed = {}, False
        for key, value in data.items():
            if isinstance(value, str) and _VOLATILE_KEY.search(key):
                out[key], changed = _ANY, True
            else:
                out[key], inner = _loosen(value)
                changed = changed or inner
        return out, changed
    if isinstance(data, list):
        pairs = [_loosen(v) for v in data]
        return [p[0] for p in pairs], any(p[1] for p in pairs)
    return data, False


def _volatile(value: Any) -> bool:
    return isinstance(value, str) and (value == REDACTED or _MOMENT.fullmatch(value) is not None)


def _charset(mime: str) -> str:
    found = re.search(r"charset=\"?([\w.:-]+)", mime, re.I)
    return found.group(1).lower() if found else "utf-8"


def _text(body: bytes, mime: str) -> str | None:
    """The body as text if the Content-Type says it is text and it decodes."""
    kind = mime.split(";")[0].strip().lower()
    texty = (kind.startswith("text/") or kind in _TEXT_TYPES or kind.endswith("+xml")
             or "charset=" in mime.lower())
    if not texty:
        return None
    try:
        return body.decode(_charset(mime))
    except (LookupError, UnicodeDecodeError):
        return None


def _text_checks(text: str, charset: str) -> list[str]:
    decoded = f"response.body.decode({charset!r})"
    volatile = [v for v in csrf_tokens(text).values() if v]
    if not volatile:
        return [f"assert {decoded} == {_str_literal(text)}"]
    parts = _split_on(text, volatile)
    literal = "[\n" + "".join(f"        {_str_literal(p, 8)},\n" for p in parts) + "    ]"
    return ["# The page holds a CSRF token, new every run: matched loosely.",
            f"assert like({decoded}, {literal})"]


def _split_on(text: str, values: Iterable[str]) -> list[str]:
    pattern = "|".join(re.escape(v) for v in sorted(set(values), key=len, reverse=True))
    return re.split(pattern, text)


def _str_literal(text: str, indent: int = 4) -> str:
    """A string literal; a text of several lines as one literal per line, in parentheses
    (``indent``: the column of the line it starts on)."""
    lines = text.splitlines(keepends=True)
    if len(lines) < 2:
        return repr(text)
    inner = " " * (indent + 4)
    return "(\n" + "".join(f"{inner}{line!r}\n" for line in lines) + " " * indent + ")"


__all__ = ["csrf_tokens", "function_name", "pytest_file"]
