"""Request bodies made from what a user typed: JSON, form fields, multipart with files.

The request editor shows these; the bytes they make are what is sent, and the
Content-Length is computed from them when sending
(:meth:`inspector.host.resend.OutgoingRequest.wire_headers`). Form and
multipart bodies are written here rather than with ``email.mime`` because
that writes MIME for mail (a ``MIME-Version`` header, line folding, base64
parts), not what browsers send (RFC 7578, the HTML form submission algorithm).
"""

from __future__ import annotations

import json
import mimetypes
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
MULTIPART_TYPE = "multipart/form-data"


class ComposeError(ValueError):
    """A body that cannot be made from what was typed; ``str()`` says what to fix."""


@dataclass
class Part:
    """One field of a multipart form: text, or a file's bytes with its name."""

    name: str
    value: bytes
    filename: str | None = None  # a file part when set
    content_type: str = ""  # a file part's; guessed from the filename when empty


def json_body(text: str) -> bytes:
    """``text`` as UTF-8 if it is one JSON value, else ComposeError saying where not."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise ComposeError(f"The JSON body is not valid: {exc.msg} at line {exc.lineno}, "
                           f"column {exc.colno}.") from None
    return text.encode("utf-8")


def form_body(fields: list[tuple[str, str]]) -> bytes:
    """Fields URL-encoded as a browser sends a form (UTF-8, spaces as ``+``)."""
    return urlencode(fields).encode("ascii")


def form_fields(body: bytes) -> list[tuple[str, str]] | None:
    """The fields of a URL-encoded body, or None if it is not one that encodes back
    to the same bytes (the editor then shows it as text, to keep it exact)."""
    try:
        fields = parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return None
    return fields if form_body(fields) == body else None


def new_boundary() -> str:
    return "----WSGIInspectorBoundary" + secrets.token_hex(12)


def multipart_body(parts: list[Part], boundary: str) -> bytes:
    """The parts as ``multipart/form-data`` with ``boundary`` (RFC 7578)."""
    marker = f"--{boundary}".encode("ascii")
    if any(marker in part.value for part in parts):
        raise ComposeError("A part holds the boundary; make a new one and try again.")
    out = bytearray()
    for part in parts:
        out += marker + b"\r\n" + _part_head(part) + b"\r\n" + part.value + b"\r\n"
    out += marker + b"--\r\n"
    return bytes(out)


def multipart_type(boundary: str) -> str:
    return f"{MULTIPART_TYPE}; boundary={boundary}"


def _part_head(part: Part) -> bytes:
    head = f'Content-Disposition: form-data; name="{_quoted(part.name)}"'
    if part.filename is not None:
        kind = part.content_type or mimetypes.guess_type(part.filename)[0] \
            or "application/octet-stream"
        # A line break in the type would start another header line of the part.
        kind = " ".join(kind.split())
        head += f'; filename="{_quoted(part.filename)}"\r\nContent-Type: {kind}'
    return head.encode("utf-8") + b"\r\n"


def _quoted(name: str) -> str:
    # As browsers do (the HTML standard's multipart/form-data encoding).
    return name.replace("\r", "%0D").replace("\n", "%0A").replace('"', "%22")


def body_kind(content_type: str, body: bytes) -> str:
    """How the editor first shows a body: "none", "json", "form", "text" or "binary"."""
    if not body:
        return "none"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "binary"
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == JSON_TYPE or kind.endswith("+json"):
        try:
            json.loads(text)
            return "json"
        except ValueError:
            return "text"
    if kind == FORM_TYPE and form_fields(body) is not None:
        return "form"
    return "text"


def set_header(headers: list[tuple[str, str]], name: str, value: str | None
               ) -> list[tuple[str, str]]:
    """``headers`` with ``name`` set to ``value`` (in its place, or appended);
    None removes it. Names compare without case."""
    lname = name.lower()
    out: list[tuple[str, str]] = []
    done = False
    for key, old in headers:
        if key.lower() != lname:
            out.append((key, old))
        elif value is not None and not done:
            out.append((key, value))
            done = True
    if value is not None and not done:
        out.append((name, value))
    return out
