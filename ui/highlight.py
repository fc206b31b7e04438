"""A small syntax highlighter for bodies: JSON and HTML/XML, palette-aware."""

from __future__ import annotations

import re

from PySide6.QtGui import QColor, QSyntaxHighlighter, QTextCharFormat, QTextDocument

from .theme import is_dark

_RULES = {
    "json": [
        (re.compile(r'"(?:[^"\\]|\\.)*"(?=\s*:)'), ("#7a3e9d", "#d19bff")),  # keys
        (re.compile(r':\s*("(?:[^"\\]|\\.)*")'), ("#1b7f3b", "#8fd9a8")),  # string values
        (re.compile(r"\b-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b"), ("#1f5fbf", "#7fb0ff")),
        (re.compile(r"\b(?:true|false|null)\b"), ("#b35c00", "#ffb35c")),
    ],
    "html": [
        (re.compile(r"</?[A-Za-z][\w:-]*|/?>"), ("#1f5fbf", "#7fb0ff")),  # tags
        (re.compile(r"\s[\w:-]+(?==)"), ("#7a3e9d", "#d19bff")),  # attributes
        (re.compile(r'"[^"]*"|\'[^\']*\''), ("#1b7f3b", "#8fd9a8")),  # attribute values
        (re.compile(r"<!--.*?-->|<!doctype[^>]*>", re.IGNORECASE), ("#6b7280", "#9ca3af")),
    ],
}


class Highlighter(QSyntaxHighlighter):
    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self._language = ""

    @property
    def language(self) -> str:
        return self._language

    @language.setter
    def language(self, value: str) -> None:
        if value != self._language:
            self._language = value
            self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        rules = _RULES.get(self._language)
        if not rules or len(text) > 10000:
            return
        dark = is_dark()
        for pattern, colours in rules:
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(colours[1] if dark else colours[0]))
            for match in pattern.finditer(text):
                group = 1 if pattern.groups else 0
                start, end = match.span(group)
                self.setFormat(start, end - start, fmt)
