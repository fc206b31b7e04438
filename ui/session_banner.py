"""The strip above the list while a saved session is shown: read-only, and where new
requests go meanwhile; plus the rows of the file that could not be read."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from inspector.host.store import Store

from . import theme

SHOWN_NOTES = 3  # the rest is counted; the list is in the tooltip
COUNT_MS = 500  # how often the count of new live requests is brought up to date


class SessionBanner(QFrame):
    back = Signal()  # "Show the live session"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("session-banner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.button = QPushButton()
        self.button.setToolTip("Back to the session that records the app's requests")
        self.button.clicked.connect(self.back)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.button)
        # New requests recorded meanwhile, counted by polling: the live store's observers
        # belong to the list's bridge, and a count twice a second is all this needs.
        self._live: Store | None = None
        self._live_base = 0
        self._timer = QTimer(self)
        self._timer.setInterval(COUNT_MS)
        self._timer.timeout.connect(self._count)
        self.restyle()
        self.hide()

    def restyle(self) -> None:
        accent = theme.accent_color(self.palette())
        self.setStyleSheet(f"QFrame#session-banner {{ border: 1px solid {accent.name()}; "
                           "border-radius: 4px; }")

    def show_viewing(self, viewed: Path, live: Store, notes: list[str]) -> None:
        """Say that ``viewed`` is shown read-only and new requests go to ``live``."""
        if live is not self._live:
            self._live, self._live_base = live, len(live)
        self._count()
        self._timer.start()
        text = (f"<b>Viewing saved session {html.escape(viewed.name)} (read-only)</b> — "
                f"new requests are recorded in the live session, "
                f"{html.escape(live.path.name)}.")
        if notes:
            shown = "; ".join(html.escape(n) for n in notes[:SHOWN_NOTES])
            more = len(notes) - SHOWN_NOTES
            text += (f"<br>{len(notes)} row{'s' * (len(notes) != 1)} of this file cannot be "
                     f"shown: {shown}" + (f"; and {more} more" if more > 0 else "") + ".")
        self.label.setText(text)
        self.label.setToolTip(f"{viewed}\n" + "\n".join(notes))
        self.show()

    def leave(self) -> None:
        """The live session is shown again."""
        self._timer.stop()
        self._live = None
        self.hide()

    def _count(self) -> None:
        new = len(self._live) - self._live_base if self._live is not None else 0
        self.button.setText(f"Show the Live Session ({new} new)" if new > 0
                            else "Show the Live Session")
