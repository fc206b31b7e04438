"""Syntax highlighting for bodies through Pygments: JSON, HTML, XML, CSS, JavaScript,
SQL and Python, in colours made for the current scheme (light or dark).

The whole text is lexed at once (a multi-line comment or string keeps its
colour on every line), once per change of the text; each block then takes its
slice of the tokens. Past ``HIGHLIGHT_LIMIT`` characters the rest stays plain:
lexing megabytes would hold up the window.
"""

from __future__ import annotations

import bisect
from functools import cache

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.style import StyleMeta
from pygments.styles import get_style_by_name
from pygments.token import Token, _TokenType
from pygments.util import ClassNotFound
from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

from .theme import is_dark

HIGHLIGHT_LIMIT = 256 * 1024  # characters lexed; the rest is shown plain
STYLES = ("default", "monokai")  # Pygments styles for light and dark windows
LANGUAGES = ("json", "html", "xml", "css", "javascript", "sql", "python")

Span = tuple[int, int, _TokenType]  # (start, end, token type) in UTF-16 units


@cache
def lexer_for(language: str) -> Lexer | None:
    if language not in LANGUAGES:
        return None
    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


@cache
def _format(style_name: str, token: _TokenType) -> QTextCharFormat | None:
    style: StyleMeta = get_style_by_name(style_name)
    spec = style.style_for_token(token)
    fmt = QTextCharFormat()
    if spec.get("color"):
        fmt.setForeground(QColor(f"#{spec['color']}"))
    if spec.get("bold"):
        fmt.setFontWeight(QFont.Weight.Bold)
    if spec.get("italic"):
        fmt.setFontItalic(True)
    return None if fmt.isEmpty() else fmt


def token_spans(language: str, text: str) -> list[Span]:
    """The coloured stretches of ``text`` (positions in UTF-16 code units, as Qt counts)."""
    lexer = lexer_for(language)
    if lexer is None or not text:
        return []
    text = text[:HIGHLIGHT_LIMIT]
    wide = [i for i, ch in enumerate(text) if ord(ch) > 0xFFFF] if not text.isascii() else []
    spans = []
    for start, token, value in lexer.get_tokens_unprocessed(text):
        if not value or token in Token.Text:  # plain text: no colour in either style
            continue
        end = start + len(value)
        if wide:  # a character beyond the BMP is two units in Qt's strings
            start += bisect.bisect_left(wide, start)
            end += bisect.bisect_left(wide, end)
        spans.append((start, end, token))
    return spans


class Highlighter(QSyntaxHighlighter):
    """Colours a read-only document whose text it is given (see :meth:`set_text`)."""

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self._language = ""
        self._spans: list[Span] = []
        self._starts: list[int] = []

    @property
    def language(self) -> str:
        return self._language

    @language.setter
    def language(self, value: str) -> None:
        if value != self._language:
            self._lex(value, self.document().toPlainText())
            self.rehighlight()

    def set_text(self, language: str, text: str) -> None:
        """Show ``text`` in the document, coloured as ``language`` ("" for none)."""
        self._lex(language, text)
        self.document().setPlainText(text)  # highlights every block with the new spans

    def _lex(self, language: str, text: str) -> None:
        self._language = language
        self._spans = token_spans(language, text) if language else []
        self._starts = [s[0] for s in self._spans]

    def restyle(self) -> None:
        """The palette changed (light <-> dark): colour again."""
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        spans = self._spans
        if not spans:
            return
        block = self.currentBlock()
        first = block.position()
        last = first + block.length()
        style = STYLES[is_dark()]
        i = max(0, bisect.bisect_right(self._starts, first) - 1)
        while i < len(spans) and spans[i][0] < last:
            start, end, token = spans[i]
            i += 1
            if end <= first:
                continue
            fmt = _format(style, token)
            if fmt is not None:
                self.setFormat(max(start, first) - first, min(end, last) - max(start, first), fmt)
