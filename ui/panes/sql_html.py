"""SQL as HTML for a text view: highlighted with Pygments, or plain when it is missing."""

from __future__ import annotations

import html

try:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import SqlLexer
except ImportError:  # pragma: no cover - pygments is a dependency; plain text still reads
    highlight = None  # type: ignore[assignment]


def highlighted(sql: str, *, dark: bool = False) -> str:
    """``sql`` in a <pre>, with inline colours (a QTextBrowser reads no stylesheet)."""
    if highlight is None:
        return f"<pre>{html.escape(sql)}</pre>"
    style = "monokai" if dark else "default"
    formatter = HtmlFormatter(noclasses=True, nobackground=True, style=style)
    return highlight(sql, SqlLexer(), formatter)  # type: ignore[no-any-return]
