"""Findings & errors: PEP 3333 findings with their PEP text, and the app's traceback
with clickable ``file:line`` locations."""

from __future__ import annotations

import html
import os
import re

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtWidgets import QLabel, QSplitter, QTextBrowser, QVBoxLayout, QWidget

from inspector.model import Exchange

from .. import desktop, theme
from ..resources import pep_section

FRAME = re.compile(r'File "(?P<path>[^"]+)", line (?P<line>\d+)')
AGENT_DIR = os.path.join("inspector", "agent") + os.sep


def without_agent_frames(text: str) -> str:
    """The traceback minus the frames of our own capture layer (the user's code only)."""
    out: list[str] = []
    skipping = False
    for line in text.splitlines(keepends=True):
        stripped = line.lstrip()
        if stripped.startswith("File "):
            match = FRAME.search(stripped)
            skipping = bool(match and AGENT_DIR in match["path"])
        elif not line.startswith(" "):  # "Traceback ...", the exception line
            skipping = False
        if not skipping:
            out.append(line)
    return "".join(out)


def traceback_html(text: str) -> str:
    """The traceback as HTML, each existing ``File "...", line N`` a link to the file."""
    out = []
    pos = 0
    for match in FRAME.finditer(text):
        out.append(html.escape(text[pos:match.start()]))
        path, line = match["path"], match["line"]
        label = html.escape(match.group(0))
        if os.path.isfile(path):
            url = QUrl.fromLocalFile(path)
            url.setFragment(f"line={line}")
            out.append(f'<a href="{html.escape(url.toString())}">{label}</a>')
        else:
            out.append(label)
        pos = match.end()
    out.append(html.escape(text[pos:]))
    return "<pre>" + "".join(out) + "</pre>"


def error_where(x: Exchange) -> str:
    """Where the exchange's error came from, in a sentence."""
    e = x.error
    assert e is not None
    if not (e.handled or e.phase == "handled"):  # (a HAR import keeps only the phase)
        return f"raised during <i>{html.escape(e.phase)}</i>."
    logged = f" (<code>{html.escape(e.logged)}</code>)" if e.logged else ""
    status = f", then answered <b>{html.escape(x.status)}</b>" if x.status else ""
    return (f"raised in the app and handled there: it logged the traceback{logged}"
            f"{status}.")


class FindingsPane(QWidget):
    open_location = Signal(str, int)  # path, line: a traceback link was clicked

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.findings = QTextBrowser()
        self.findings.setOpenLinks(False)
        self.findings.anchorClicked.connect(lambda url: desktop.open_url(url))
        self.error_title = QLabel()
        self.error_title.setWordWrap(True)
        self.error_title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.traceback = QTextBrowser()
        self.traceback.setOpenLinks(False)
        self.traceback.setFont(theme.mono_font())
        self.traceback.anchorClicked.connect(self._open_frame)
        error_box = QWidget()
        error_layout = QVBoxLayout(error_box)
        error_layout.setContentsMargins(0, 0, 0, 0)
        error_layout.addWidget(self.error_title)
        error_layout.addWidget(self.traceback, 1)
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.addWidget(self.findings)
        self.split.addWidget(error_box)
        self.split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.split)
        self.show_exchange(None)

    def show_exchange(self, x: Exchange | None) -> None:
        self.findings.setHtml(self._findings_html(x))
        if x is None or x.error is None:
            self.split.setSizes([400, 120])
            self.error_title.setText("No exception: the app neither raised nor logged one."
                                     if x else "")
            self.traceback.clear()
            return
        e = x.error
        colour = theme.severity_color("error").name()
        self.error_title.setText(
            f'<b style="color:{colour}">{html.escape(e.type)}: {html.escape(e.message)}</b>'
            f" — {error_where(x)} Click a file:line to open it in your editor.")
        self.traceback.setHtml(traceback_html(without_agent_frames(e.traceback)))
        # Give the room to what there is to read.
        self.split.setSizes([120, 400] if not x.findings else [250, 250])

    def _findings_html(self, x: Exchange | None) -> str:
        if x is None:
            return ""
        if not x.findings:
            return "<p>No PEP 3333 findings: this exchange follows the spec.</p>"
        kind = "PEP 3333 " if all(f.pep for f in x.findings) else ""
        parts = [f"<h3>{len(x.findings)} {kind}finding"
                 f"{'s' if len(x.findings) != 1 else ''}</h3>"]
        for f in x.findings:
            colour = theme.severity_color(f.severity).name()
            text, url = pep_section(f.pep)
            caused = ""
            if f.edited:
                caused = (f' <b style="color:{theme.accent_color().name()}">✎ (caused by your '
                          "edit)</b>")
            quote = (f'<br><i>“{html.escape(f.quote)}”</i>') if f.quote else ""
            parts.append(
                f'<p><b style="color:{colour}">{html.escape(f.severity.upper())}</b> '
                f"<code>{html.escape(f.code)}</code> at <i>{html.escape(f.phase)}</i>: "
                f"{html.escape(f.message)}{caused}{quote}"
                # Findings that are not PEP 3333's (an N+1 query) have no section.
                + (f'<br><a href="{html.escape(url)}">{html.escape(f.pep)}</a>' if f.pep
                   else "")
                + (f" — {html.escape(text)}" if text and f.pep else "") + "</p>")
        return "".join(parts)

    def _open_frame(self, url: QUrl) -> None:
        text = url.fragment().removeprefix("line=")
        line = int(text) if text.isdigit() else 0
        self.open_location.emit(url.toLocalFile(), line)
        desktop.open_file_at(url.toLocalFile(), line)
