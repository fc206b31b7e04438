"""Text bound for a terminal, made inert.

Paths, headers and messages come from the network or from the user's app; a
control character among them could set the terminal's title, clear or colour
the screen, or start a forged line. Every C0 and C1 control and DEL is shown
as a ``\\x1b``-style escape, so one exchange is one line and nothing in it
acts on the terminal.
"""

from __future__ import annotations

import re

_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
_ESCAPES[ord("\t")] = "\\t"
_ESCAPES[ord("\n")] = "\\n"
_ESCAPES[ord("\r")] = "\\r"


def inert(text: str) -> str:
    """``text`` with every control character escaped (newlines included)."""
    if _CONTROLS.search(text) is None:  # nearly always: no copy
        return text
    return text.translate(_ESCAPES)


def inert_lines(text: str) -> str:
    """Like :func:`inert`, but the text's own line breaks stay line breaks."""
    return "\n".join(inert(line) for line in text.split("\n"))


def wsgi_text(text: str) -> str:
    """A WSGI string (bytes decoded as latin-1) as the client meant it: UTF-8 when
    its bytes are UTF-8 (so ``é`` is not shown as two characters), else as is."""
    if text.isascii():
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return text
