"""Help ▸ Filter Syntax: the filter language's terms, from inspector.filtering.SYNTAX."""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from inspector.filtering import BREAKPOINT_NOTE, SYNTAX

TITLE = "Filter Syntax"
INTRO = ("Type terms separated by spaces in the list's filter box (Ctrl+F); every term "
         "must match. The same syntax sets breakpoints (Step ▸ Breakpoints…) and "
         "<code>--break</code> / <code>--filter</code> on the command line.")
EXAMPLES = (
    ("method:POST status:5xx", "POSTs that failed on the server"),
    ("body:\"out of stock\" -path:/static", "a phrase in a body, static files left out"),
    ("header:Authorization=bearer", "requests sending a bearer token"),
    ("dur:>200ms type:json", "slow JSON answers"),
    ("path:/api/*/edit has:findings", "edit routes with PEP 3333 findings"),
)


def syntax_html() -> str:
    """The help page: the terms, examples and what a breakpoint may use."""
    rows = "".join(f"<tr><td><code>{escape(term)}</code></td><td>{escape(meaning)}</td></tr>"
                   for term, meaning in SYNTAX)
    examples = "".join(f"<tr><td><code>{escape(text)}</code></td><td>{escape(what)}</td></tr>"
                       for text, what in EXAMPLES)
    cell = "cellpadding='4' cellspacing='0'"
    return (f"<p>{INTRO}</p><table {cell}>{rows}</table><h3>Examples</h3>"
            f"<table {cell}>{examples}</table><h3>Breakpoints</h3>"
            f"<p>{escape(BREAKPOINT_NOTE)}</p>")


class FilterHelpDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(TITLE)
        self.resize(720, 620)
        self.text = QTextBrowser()
        self.text.setOpenLinks(False)
        self.text.setHtml(syntax_html())
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        box.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(box)


def show_filter_help(parent: QWidget | None = None) -> FilterHelpDialog:
    """Open the help window (not modal: the user may type a filter beside it)."""
    dialog = FilterHelpDialog(parent)
    dialog.show()
    return dialog
