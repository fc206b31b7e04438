"""The exchange list's quick filter, as a predicate over summaries (no Qt).

A filter is a line of whitespace-separated terms, all of which must hold:

- plain text matches the path and query (case-insensitive);
- ``method:POST`` the request method; ``status:404``, ``status:5xx`` or
  ``status:4`` the status code or its class; ``type:json`` the content type;
  ``path:/api`` the path; ``is:error``, ``is:active``, ``is:paused`` (held by
  stepping), ``is:complete``, ``has:findings``;
- a leading ``-`` negates a term: ``-path:/static``, ``-status:2xx``.

Terms may be quoted (``"hello world"``). An unknown ``key:`` term is plain text.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any

Predicate = Callable[[Any], bool]
KEYS = ("method", "status", "path", "type", "is", "has")


def accept_all(summary: Any) -> bool:
    """What an empty filter parses to; callers may test ``predicate is accept_all``."""
    return True


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # an unbalanced quote while the user is typing
        return [t.strip("\"'") for t in text.split() if t.strip("\"'")]


def _status(value: str) -> Predicate | None:
    value = value.lower().rstrip("x")
    if not value.isdigit() or len(value) > 3:
        return None
    if len(value) == 3:
        code = int(value)
        return lambda s: s.status == code
    low = int(value) * 10 ** (3 - len(value))
    high = low + 10 ** (3 - len(value))
    return lambda s: s.status is not None and low <= s.status < high


def _term(term: str) -> Predicate:
    key, sep, value = term.partition(":")
    key = key.lower()
    if sep and key in KEYS and value:
        needle = value.lower()
        if key == "method":
            return lambda s: s.method.lower() == needle
        if key == "status":
            check = _status(value)
            if check is not None:
                return check
            return lambda s: False
        if key == "path":
            return lambda s: needle in s.path.lower()
        if key == "type":
            return lambda s: needle in s.content_type.lower()
        if key == "is":
            if needle in ("error", "failed"):
                return lambda s: bool(s.error) or (s.status or 0) >= 500
            if needle == "active":
                return lambda s: s.state == "active"
            if needle == "paused":
                return lambda s: s.state == "paused"
            if needle in ("complete", "done"):  # a paused request is still in flight
                return lambda s: s.state not in ("active", "paused")
            return lambda s: False
        if key == "has":
            if needle in ("findings", "finding"):
                return lambda s: s.findings > 0
            if needle == "query":
                return lambda s: bool(s.query)
            return lambda s: False
    needle = term.lower()
    return lambda s: needle in s.path.lower() or needle in s.query.lower()


def parse(text: str) -> Predicate:
    """A predicate for ``text``; an empty text accepts everything."""
    checks: list[tuple[Predicate, bool]] = []
    for raw in _split(text.strip()):
        negate = raw.startswith("-") and len(raw) > 1
        term = raw[1:] if negate else raw
        checks.append((_term(term), negate))
    if not checks:
        return accept_all

    def predicate(summary: Any) -> bool:
        return all(check(summary) != negate for check, negate in checks)
    return predicate
