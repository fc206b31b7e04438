"""The list's filter box: the filter language (inspector.filtering) over the exchange list.

Typing re-filters the list at once for the terms a summary answers. A body,
header or ``has:edits`` term is looked up in the session's full-text index
(inspector.host.bodyindex) in a worker thread; the rows change when it
answers (tens of milliseconds), and again as new exchanges end while such a
filter is on. A session saved without the index has it built the first time,
in that thread, with its progress under the toolbar; the window stays
responsive meanwhile. A filter that cannot be read keeps the rows of the last
one that could, and its sentence shows under the toolbar, in the error colour.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QLabel, QLineEdit

from inspector.filtering import Filter, FilterError, Search
from inspector.filtering import parse as parse_filter
from inspector.host import summaryfilter
from inspector.host.store import Store

from . import theme
from .exchange_model import ExchangeFilterProxy

PLACEHOLDER = "Filter: method:POST status:5xx body:word -path:/static — Help ▸ Filter Syntax"
TIP = ("Filter the list (Ctrl+F): text in the path, method:, status:, path:, header:, body:, "
       "reqbody:, resbody:, type:, dur:, size:, has:, is:; - negates. Help ▸ Filter Syntax")
REFRESH_MS = 300  # new exchanges are looked up again at most this often


class ListFilter(QObject):
    """Owns the box's text → the proxy's predicate, and the inline note."""

    applied = Signal()  # the rows shown changed for the current text
    _answered = Signal(int, object)  # generation, {Search: ids} or the exception
    _progress = Signal(int, int, int)  # generation, done, total (building an index)

    def __init__(self, edit: QLineEdit, proxy: ExchangeFilterProxy,
                 store: Callable[[], Store], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.edit = edit
        self.proxy = proxy
        self._store = store
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note.setContentsMargins(6, 2, 6, 2)
        self.note.hide()
        self.error = ""  # the sentence shown for the text typed, "" if it reads
        self.filter: Filter | None = None  # the filter the rows show
        self._generation = 0
        self._busy = False
        self._again = False
        self._closed = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._look_up)
        self._answered.connect(self._on_answer, Qt.ConnectionType.QueuedConnection)
        self._progress.connect(self._on_progress, Qt.ConnectionType.QueuedConnection)
        edit.setPlaceholderText(PLACEHOLDER)
        edit.setToolTip(TIP)
        edit.textChanged.connect(self.apply)

    # -- the text ---------------------------------------------------------------------------
    def apply(self, text: str) -> None:
        try:
            flt = parse_filter(text)
        except FilterError as exc:
            self._show_error(str(exc))
            return
        self._show_error("")
        self.filter = flt
        self._generation += 1
        if flt.searches:
            self._look_up()
        else:
            self._show(flt, {})

    def _show(self, flt: Filter, found: dict[Search, set[int]]) -> None:
        self.proxy.set_filter(flt.text, summaryfilter.predicate(flt, found))
        self.applied.emit()

    def _show_error(self, sentence: str) -> None:
        self.error = sentence
        self.edit.setToolTip(sentence or TIP)
        self._note(sentence, error=True)

    def _note(self, text: str, error: bool = False) -> None:
        color = theme.severity_color("error", self.note.palette()).name() if error else ""
        self.note.setStyleSheet(f"color: {color};" if color else "")
        self.note.setText(("⚠ " if error else "") + text)
        self.note.setVisible(bool(text))

    # -- the index (a worker thread) --------------------------------------------------------
    def changed(self, *_: Any) -> None:
        """Exchanges were added or changed: a search filter looks them up (coalesced)."""
        if self.filter is not None and self.filter.searches and not self._timer.isActive():
            self._timer.start()

    def store_switched(self) -> None:
        """Another session is shown: what was found was found in the old one."""
        if self.filter is not None and self.filter.searches:
            self._generation += 1
            self._look_up()

    def _look_up(self) -> None:
        if self._busy:  # one lookup at a time; the latest text goes next
            self._again = True
            return
        flt, generation, store = self.filter, self._generation, self._store()
        if flt is None or not flt.searches or self._closed:
            return
        self._busy = True
        threading.Thread(target=self._work, args=(flt, generation, store), daemon=True,
                         name="list-filter-search").start()

    def _work(self, flt: Filter, generation: int, store: Store) -> None:
        index = store.search_index
        try:
            if index.pending():
                index.ensure(lambda done, total: self._emit(self._progress, generation, done,
                                                            total),
                             cancelled=lambda: self._closed or generation != self._generation)
            answer: Any = {s: index.lookup(s) for s in flt.searches}
        except Exception as exc:  # a closed or damaged session: said, not raised
            answer = exc
        self._emit(self._answered, generation, answer)

    @staticmethod
    def _emit(signal: Any, *args: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the window is gone
            signal.emit(*args)

    @Slot(int, object)
    def _on_answer(self, generation: int, answer: Any) -> None:
        self._busy = False
        if self._closed:
            return
        if generation == self._generation and self.filter is not None:
            if isinstance(answer, Exception):
                self._note(f"The bodies of this session cannot be searched ({answer}).",
                           error=True)
            else:
                if not self.error:
                    self._note("")
                self._show(self.filter, answer)
                index = self._store().search_index
                if index.in_file and index.pending():  # the writer indexes after a load
                    self._timer.start()
        if self._again or generation != self._generation:
            self._again = False
            self._look_up()

    @Slot(int, int, int)
    def _on_progress(self, generation: int, done: int, total: int) -> None:
        if generation == self._generation and not self._closed and not self.error:
            self._note(f"Indexing the bodies of this session for search: {done:,} of "
                       f"{total:,} exchanges…")

    def close(self) -> None:
        self._closed = True
        self._timer.stop()
