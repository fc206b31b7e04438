"""JSON files read item by item (ijson), whatever their size, with a depth limit.

ijson parses in C (its yajl2_c backend, else pure Python) and builds one item
at a time, so memory stays flat. What it does not bound is nesting: each level
keeps its own prefix string, so a file nested 100,000 levels deep would need
gigabytes. :class:`DepthGuard` sits between the file and ijson and stops such a
file at the first read that goes deeper than :data:`MAX_DEPTH`, counting the
brackets outside strings with bytes methods (C speed; no Python loop over the
bytes).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from itertools import accumulate
from pathlib import Path
from typing import Any, BinaryIO

import ijson

MAX_DEPTH = 64  # a HAR needs about 10; browsers' async stack traces nest a few dozen
_QUOTES_AND_BRACKETS = b'"[]{}'
_OTHER_BYTES = bytes(sorted(set(range(256)) - set(_QUOTES_AND_BRACKETS)))
# What may follow a backslash in JSON is kept with it, so every escape stays whole
# while the bulk of the text goes (hex digits after \u may stay: they are harmless).
_ESCAPE_BYTES = b'\\"/bfnrtu'
_NOT_ESCAPES = bytes(sorted(set(range(256)) - set(_QUOTES_AND_BRACKETS + _ESCAPE_BYTES)))
_DELTA = [0] * 256
for _open, _close in (b"[]", b"{}"):
    _DELTA[_open], _DELTA[_close] = 1, -1
_WIDE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class BadJson(ValueError):
    """What is wrong with the file, as the end of a sentence ("it is cut short")."""


class DepthGuard:
    """A binary file whose reads raise BadJson once the JSON nests too deep.

    Each read is reduced with C-speed bytes methods: escapes dropped (``\\\\``
    first, then ``\\"``), then everything but quotes and brackets, then empty
    strings (``""``) dropped; what is left between quotes is inside strings and
    is skipped, the rest is brackets, whose running sum is the depth.
    """

    def __init__(self, raw: BinaryIO, limit: int = MAX_DEPTH) -> None:
        self.raw = raw
        self.limit = limit
        self.offset = 0  # bytes handed out so far
        self._depth = 0
        self._in_string = False  # the last read ended inside a string
        self._backslashes = b""  # the last read ended with these: they pair with the next

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self._scan(data)
        self.offset += len(data)
        return data

    def _scan(self, data: bytes) -> None:
        text = self._backslashes + data
        kept = text.rstrip(b"\\") if data else text
        self._backslashes = text[len(kept):]
        text = kept.translate(None, _NOT_ESCAPES)  # C speed, and a quarter of the size
        text = text.replace(b"\\\\", b"").replace(b'\\"', b"")
        text = text.translate(None, _OTHER_BYTES).replace(b'""', b"")
        pieces = text.split(b'"')  # outside, inside, outside, ... (or inside first)
        outside = b"".join(pieces[1::2] if self._in_string else pieces[0::2])
        if len(pieces) % 2 == 0:
            self._in_string = not self._in_string
        if not outside:
            return
        levels = list(accumulate(map(_DELTA.__getitem__, outside), initial=self._depth))
        self._depth = levels[-1]
        if max(levels) > self.limit:
            raise BadJson(f"it nests more than {self.limit} levels deep")


def open_json(path: str | Path) -> DepthGuard:
    """The file, past a UTF-8 byte order mark, behind a :class:`DepthGuard`.

    OSError if it cannot be read; BadJson if it is UTF-16/32 text.
    """
    raw = open(path, "rb")  # noqa: SIM115 - closed by the caller through .raw
    head = raw.read(4)
    if head.startswith(_WIDE_BOMS):
        raw.close()
        raise BadJson("it is UTF-16 or UTF-32 text, not UTF-8")
    raw.seek(len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0)
    return DepthGuard(raw)


def items(source: DepthGuard, prefix: str) -> Iterator[Any]:
    """The values at ``prefix`` (ijson's notation: ``log.entries.item``), one at a time;
    numbers as int or float. BadJson when the text is not JSON, is cut short or too deep."""
    try:
        yield from ijson.items(source, prefix, use_float=True)
    except ijson.JSONError as exc:
        raise BadJson(_describe(exc, source)) from None
    except UnicodeDecodeError:  # the pure-Python backend
        raise BadJson("it is not UTF-8 text") from None


def find_array(source: DepthGuard, prefix: str) -> str | None:
    """None if the document has a list at ``prefix`` (``log.entries``), else what it
    has instead, as the end of a sentence."""
    first = True
    try:
        for path, event, _value in ijson.parse(source, use_float=True):
            if first and event != "start_map":
                return "it is JSON but not an object"
            first = False
            if path == prefix and event in ("start_array", "start_map", "string", "number",
                                            "boolean", "null"):
                return None if event == "start_array" else f"its {prefix} is not a list"
    except ijson.JSONError as exc:
        raise BadJson(_describe(exc, source)) from None
    except UnicodeDecodeError:  # the pure-Python backend
        raise BadJson("it is not UTF-8 text") from None
    return f"it has no {prefix} list"


def _describe(exc: Exception, source: DepthGuard) -> str:
    text = str(exc).lower()
    if source.offset == 0:
        return "it is empty"
    if "premature eof" in text or "incomplete json" in text:
        return "its JSON text ends too early: it was cut short"
    if "utf" in text or "codec" in text:
        return "it is not UTF-8 text"
    if "overflow" in text:
        return "it holds a number too large for a float"
    return "its text is not valid JSON"
