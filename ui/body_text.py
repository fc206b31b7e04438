"""Bodies made readable, without Qt: Content-Encoding undone, the charset honoured,
JSON pretty-printed, the language for highlighting picked.

Every decoder is bounded: a small gzip body that inflates to gigabytes (a "zip
bomb" from a hostile app or client) yields at most ``DECODED_LIMIT`` bytes and
says it was cut.
"""

from __future__ import annotations

import codecs
import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie

DECODED_LIMIT = 8 * 1024 * 1024  # bytes of a decoded body kept for viewing
HEX_LIMIT = 64 * 1024  # bytes shown in the hex view


@dataclass
class Decoded:
    data: bytes  # what to show (the raw bytes when nothing was decoded)
    encodings: list[str]  # the codings undone, in the order they were applied
    note: str = ""  # why decoding stopped, or that it was cut; empty when all went well


def _inflate(data: bytes, wbits: int) -> tuple[bytes, bool]:
    """Decompress with zlib up to the limit; (output, True if cut at the limit)."""
    d = zlib.decompressobj(wbits)
    out = d.decompress(data, DECODED_LIMIT)
    return out, bool(d.unconsumed_tail)


def _gzip(data: bytes) -> tuple[bytes, bool]:
    return _inflate(data, 16 + zlib.MAX_WBITS)


def _deflate(data: bytes) -> tuple[bytes, bool]:
    try:  # "deflate" is zlib-wrapped by the RFC; some servers send it raw
        return _inflate(data, zlib.MAX_WBITS)
    except zlib.error:
        return _inflate(data, -zlib.MAX_WBITS)


def _brotli(data: bytes) -> tuple[bytes, bool]:
    import brotli  # optional: see brotli_available()

    d = brotli.Decompressor()
    out = d.process(data, output_buffer_limit=DECODED_LIMIT)
    return out[:DECODED_LIMIT], len(out) >= DECODED_LIMIT


def brotli_available() -> bool:
    try:
        import brotli  # noqa: F401
    except ImportError:
        return False
    return True


DECODERS = {"gzip": _gzip, "x-gzip": _gzip, "deflate": _deflate, "br": _brotli}


def undo_encoding(data: bytes, content_encoding: str) -> Decoded:
    """``data`` with its Content-Encoding undone (last applied, first undone)."""
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings or not data:
        return Decoded(data, [])
    out = data
    for coding in reversed(codings):
        decoder = DECODERS.get(coding)
        if decoder is None or (coding == "br" and not brotli_available()):
            why = ("install the brotli package to see it decoded" if coding == "br"
                   else "the viewer cannot undo it")
            return Decoded(data, [], f"Content-Encoding {coding}: {why}; shown as sent.")
        try:
            out, cut = decoder(out)
        except Exception as exc:  # zlib.error, brotli.error: a damaged or cut body
            return Decoded(data, [], f"The {coding} body cannot be decoded ({exc}); "
                                     "shown as sent.")
        if cut:
            return Decoded(out, codings, f"Decoded body cut at {DECODED_LIMIT} bytes.")
    return Decoded(out, codings)


def charset_of(content_type: str) -> str:
    """The declared charset, or "" when there is none."""
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "charset" and value:
            return value.strip().strip('"')
    return ""


def known_codec(name: str) -> str:
    """Python's name for a charset, or "" when Python has no such codec."""
    try:
        return codecs.lookup(name).name if name else ""
    except LookupError:
        return ""


TEXT_TYPES = ("json", "xml", "javascript", "ecmascript", "x-www-form-urlencoded", "sql",
              "yaml", "toml", "csv", "graphql")


def is_text_type(content_type: str) -> bool:
    ctype = content_type.split(";", 1)[0].strip().lower()
    return ctype.startswith("text/") or any(t in ctype for t in TEXT_TYPES)


def is_probably_text(data: bytes, content_type: str = "") -> bool:
    """Text in its declared charset (any Python codec), else in UTF-8; binary
    otherwise (a NUL byte, or bytes no declared charset can read)."""
    if not data:
        return True
    sample = data[:4096]
    codec = known_codec(charset_of(content_type))
    if b"\x00" in sample and codec not in ("utf_16", "utf_16_le", "utf_16_be", "utf_32"):
        return False
    try:
        sample.decode(codec or "utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(sample) - 3  # a character cut at the sample's end
    return True


def decode_text(data: bytes, content_type: str = "") -> str:
    """The text in its declared charset (UTF-8 when none or unknown)."""
    return data.decode(known_codec(charset_of(content_type)) or "utf-8", errors="replace")


def pretty_json(text: str) -> str | None:
    """``text`` indented when it is JSON, else None."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return json.dumps(value, indent=2, ensure_ascii=False)


LANGUAGES = {  # a Content-Type's subtype (or its +suffix) -> a Pygments lexer name
    "json": "json", "html": "html", "xhtml+xml": "html", "xml": "xml", "css": "css",
    "javascript": "javascript", "ecmascript": "javascript", "x-javascript": "javascript",
    "sql": "sql", "x-sql": "sql", "x-python": "python", "python": "python",
}


def language_of(content_type: str, data: bytes = b"") -> str:
    """The language to highlight a body in ("" for plain text)."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    subtype = ctype.rpartition("/")[2]
    suffix = subtype.rpartition("+")[2]
    for key in (subtype, suffix):
        if key in LANGUAGES:
            return LANGUAGES[key]
    head = data[:64].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "html"
    if head.startswith(b"<?xml"):
        return "xml"
    return ""


COOKIE_COLUMNS = ("Name", "Value", "Path", "Domain", "Expires / Max-Age", "Flags")


def set_cookie_rows(headers: Sequence[tuple[str, str]]) -> list[tuple[str, ...]]:
    """One row per Set-Cookie header: name, value and its attributes, as a browser
    would read them (a header that does not parse is shown whole as the value)."""
    rows = []
    for name, value in headers:
        if name.lower() != "set-cookie":
            continue
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(value)
        except CookieError:
            jar.clear()
        if not jar:
            rows.append(("(unparsed)", value, "", "", "", ""))
            continue
        for cookie, morsel in jar.items():
            lifetime = morsel["expires"] or (f"Max-Age {morsel['max-age']}"
                                             if morsel["max-age"] != "" else "session")
            flags = [f for f in ("secure", "httponly") if morsel[f]]
            flags = [{"secure": "Secure", "httponly": "HttpOnly"}[f] for f in flags]
            if morsel["samesite"]:
                flags.append(f"SameSite={morsel['samesite']}")
            rows.append((cookie, morsel.value, morsel["path"], morsel["domain"], lifetime,
                         " ".join(flags)))
    return rows


def plural(n: int, word: str, words: str = "") -> str:
    """``1 key``, ``2 keys``; ``words`` for an irregular plural."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def hexdump(data: bytes, limit: int = HEX_LIMIT) -> str:
    lines = []
    for offset in range(0, min(len(data), limit), 16):
        row = data[offset:offset + 16]
        hexes = " ".join(f"{b:02x}" for b in row)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in row)
        lines.append(f"{offset:08x}  {hexes:<47}  {text}")
    if len(data) > limit:
        lines.append(f"… {len(data) - limit} more bytes not shown")
    return "\n".join(lines)
