"""What of a recorded request may go into a script a person reads and then runs.

Quoting keeps a crafted value from running as code; this keeps it from *looking*
like code, or hiding code, in the script's text: a request as HTTP carries it has
a method and header names that are tokens and header values without line breaks or
control characters, so anything else came from a crafted file (a HAR or session made
by hand) and is left out with a comment saying so. URLs are written in printable
ASCII: line breaks, bidirectional controls and the like become %-escapes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote

Headers = list[tuple[str, str]]

# RFC 9110's token (a method, a header name), here starting with a letter or digit: one
# starting with "-" would be read as an option by a command line ("http -o:x ...").
_TOKEN = re.compile(r"[0-9A-Za-z][!#$%&'*+.^_`|~0-9A-Za-z-]*")
# A header value: tab, visible ASCII and space, and latin-1 letters (not C1 controls).
_VALUE = re.compile(r"[\t\x20-\x7e\xa0-\xff]*")
_URL_UNSAFE = re.compile(r"[^\x21-\x7e]")
SCHEMES = ("http", "https")


def is_token(text: str) -> bool:
    return _TOKEN.fullmatch(text) is not None


def carried(headers: Iterable[tuple[str, str]]) -> tuple[Headers, list[str]]:
    """The headers HTTP can carry, and the names of those it cannot."""
    kept: Headers = []
    left: list[str] = []
    for name, value in headers:
        if is_token(name) and _VALUE.fullmatch(value):
            kept.append((name, value))
        else:
            left.append(name)
    return kept, left


def left_out_note(names: list[str]) -> str:
    """A comment's text naming headers left out, else ""."""
    if not names:
        return ""
    shown = ", ".join(repr(n)[1:-1] for n in names)
    return (f"Left out: the header{'s' * (len(names) > 1)} {shown}, with characters "
            "HTTP headers cannot carry (line breaks, control characters) or a name that "
            "starts as an option does.")


def method_note(method: str) -> str:
    """A comment's text when ``method`` is not one HTTP allows, else ""."""
    if is_token(method):
        return ""
    return (f"Not sent: the method {repr(method)[1:-1]} is not a word HTTP allows, or "
            "starts as an option does (the file this came from was made by hand).")


def printable_url(address: str) -> str:
    """``address`` with every character that is not visible ASCII %-escaped (as its
    byte when the text is a WSGI string, else as UTF-8)."""
    return _URL_UNSAFE.sub(_escape, address)


def _escape(found: re.Match[str]) -> str:
    char = found.group()
    data = char.encode("latin-1") if ord(char) < 256 else char.encode("utf-8", "replace")
    return quote(data, safe="")
