"""Edits made while stepping, shown as a diff: what the app or the client would have
got (``-``) and what it got instead (``+``)."""

from __future__ import annotations

import difflib
import html
from typing import Any

from PySide6.QtGui import QPalette

from inspector.model import Edit

from . import theme
from .body_text import plural

ABSENT = "(absent)"
DIFF_LINES_MAX = 2000  # lines compared
SHOWN_MAX = 80  # diff rows shown per edit


def _pairs(value: Any) -> list[tuple[str, str]]:
    try:
        return [(str(n), str(v)) for n, v in value or []]
    except (TypeError, ValueError):
        return []


def diff_lines(edit: Edit) -> list[tuple[str, str]]:
    """``(sign, text)`` rows: ``-`` original, ``+`` edited, `` `` unchanged context."""
    original, edited = edit.original, edit.edited
    if edit.what == "environ" and isinstance(edited, dict):
        before = original if isinstance(original, dict) else {}
        rows: list[tuple[str, str]] = []
        for key in edited:
            old, new = before.get(key), edited[key]
            rows.append(("-", f"{key} = {old}" if old is not None else f"{key} {ABSENT}"))
            rows.append(("+", f"{key} = {new}" if new is not None else f"{key} (removed)"))
        return rows
    if edit.what == "headers":
        old_lines = [f"{n}: {v}" for n, v in _pairs(original)]
        new_lines = [f"{n}: {v}" for n, v in _pairs(edited)]
        return _line_diff(old_lines, new_lines)
    if edited is None:  # a dropped chunk
        return [("-", line) for line in str(original).splitlines() or [""]] + \
            [("+", "(dropped: the client never got this chunk)")]
    return _line_diff(str(original).splitlines(), str(edited).splitlines())


def _line_diff(old: list[str], new: list[str]) -> list[tuple[str, str]]:
    if len(old) + len(new) > DIFF_LINES_MAX:  # too long to compare line by line here
        return [("-", f"({plural(len(old), 'line')})"), ("+", f"({plural(len(new), 'line')})")]
    rows = []
    for line in difflib.ndiff(old, new):
        sign, text = line[:1], line[2:]
        if sign in "-+ ":
            rows.append((sign, text))
    return rows


def describe(edit: Edit) -> str:
    """One short line: what was edited, at which phase."""
    where = {"received": "before the app was called", "start_response": "at start_response",
             "chunk": "before it was sent", "closed": "at close()"}.get(edit.phase, edit.phase)
    what = "the dropped " + edit.what if edit.edited is None and edit.what.startswith("chunk") \
        else edit.what
    return f"You edited {what} {where}."


def edits_html(edits: list[Edit], palette: QPalette | None = None) -> str:
    """The edits as HTML: a sentence each and a coloured -/+ diff."""
    if not edits:
        return ""
    removed = theme.status_color(500, palette)
    added = theme.status_color(200, palette)
    assert removed is not None and added is not None
    parts = []
    for edit in edits:
        rows = []
        lines = diff_lines(edit)
        if len(lines) > SHOWN_MAX:
            lines = [*lines[:SHOWN_MAX], (" ", f"… {len(lines) - SHOWN_MAX} more lines")]
        for sign, text in lines:
            colour = removed.name() if sign == "-" else added.name() if sign == "+" else ""
            style = f' style="color:{colour}"' if colour else ""
            rows.append(f"<span{style}>{html.escape(sign)} {html.escape(text)}</span>")
        diff = "\n".join(rows)
        parts.append(f"<p><b>✎ {html.escape(describe(edit))}</b></p><pre>{diff}</pre>")
    return "".join(parts)
