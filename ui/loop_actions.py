"""The debugging loop in the window: Resend, Edit and Resend…, New Request…, Copy As ▸,
Copy Response Body, Save Body As…, Compare with….

The window builds one :class:`LoopActions` and puts its actions in its menus
and the list's context menu; everything they do lives here. Requests are sent
by a :class:`ui.resend.Resender` (a worker thread); a resent request's new
row is selected as soon as it is listed (it carries ``resent_from``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence

from inspector.host.appref import AppRef, checked_app, recorded_app
from inspector.host.resend import OutgoingRequest, Reply, ResendError, from_exchange
from inspector.host.store import Summary
from inspector.model import Exchange

from .compare_view import CompareView
from .copy_menu import CopyActions, warn
from .request_editor import RequestEditor
from .resend import Resender

if TYPE_CHECKING:
    from .main_window import MainWindow

# (name, text, shortcut, what it does)
ACTIONS = (
    ("resend", "&Resend", "Ctrl+Shift+R",
     "Send the selected requests to the app again, as they were (Ctrl+Shift+R)"),
    ("edit_resend", "&Edit and Resend…", "Ctrl+Shift+E",
     "Change the selected request (method, path, headers, body), then send it (Ctrl+Shift+E)"),
    ("new_request", "&New Request…", "Ctrl+N",
     "Compose a request to the app: a POST with a form, JSON or a file, say (Ctrl+N)"),
    ("compare", "Com&pare with…", "Ctrl+D",
     "Compare the two selected exchanges side by side (Ctrl+D)"),
)


class LoopActions(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.resender = Resender(window.recorder.links, lambda: window.url, self)
        self.resender.answered.connect(self._answered)
        self._awaited: set[int] = set()  # origins whose new row is selected when listed
        self.editors: list[RequestEditor] = []
        self.compare_views: list[CompareView] = []
        self.actions: dict[str, QAction] = {}
        slots = {"resend": self.resend_selected, "edit_resend": self.edit_selected,
                 "new_request": self.new_request, "compare": self.compare_selected}
        for name, text, key, tip in ACTIONS:
            action = QAction(text, window)
            action.setShortcut(QKeySequence(key))
            action.setToolTip(tip)
            action.setStatusTip(tip)
            action.triggered.connect(slots[name])
            window.addAction(action)
            self.actions[name] = action
        self.copy = CopyActions(window, self.selected_exchanges,
                                base_url=lambda: window.url or None, app=self._app,
                                start_dir=lambda: window._start_dir(os.path.expanduser("~")),
                                remember_dir=window._remember_dir, report=self._report)
        self.actions["copy_as"] = self.copy.menu_action
        self.actions["copy_body"] = self.copy.copy_body
        self.actions["save_body"] = self.copy.save_body
        window.table.selectionModel().selectionChanged.connect(self.update_enabled)
        # The link may come with the row or in an update of it; the row is selected
        # after the flush that listed it.
        window.bridge.added.connect(self._listed)
        window.bridge.updated.connect(self._listed)
        window.bridge.flushed.connect(self._select_listed)
        self._to_select: int | None = None
        self.update_enabled()

    # -- what is selected ---------------------------------------------------------------
    def selected_exchanges(self) -> list[Exchange]:
        """The selected exchanges that can be read, in list order (else the current one)."""
        ids = self.window.selected_ids()
        if not ids and self.window.current_id is not None:
            ids = [self.window.current_id]
        found = []
        for xid in ids:
            try:
                found.append(self.window.store.get(xid))
            except KeyError:
                continue
        return found

    def update_enabled(self) -> None:
        n = len(self.window.selected_ids())
        for name in ("resend", "copy_as", "copy_body", "save_body"):
            self.actions[name].setEnabled(n >= 1)
        self.actions["edit_resend"].setEnabled(n == 1)
        self.actions["compare"].setEnabled(n == 2)

    def _app(self) -> AppRef | None:
        launch = self.window.controller.launch
        if launch is not None:
            return AppRef(launch.spec, os.path.abspath(launch.app_dir or os.getcwd()))
        return checked_app(recorded_app(self.window.store))  # the file's word: checked

    def _report(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 10000)

    # -- resend ---------------------------------------------------------------------------
    def _linked(self) -> bool:
        # Row ids of a saved session mean nothing in the live one: no link from there.
        return self.window.store is self.window.recording

    def resend_selected(self) -> None:
        requests = []
        for x in self.selected_exchanges():
            try:
                request = from_exchange(x)
            except ResendError as exc:
                warn(self.window, "Cannot resend", str(exc))
                return
            if not self._linked():
                request.origin = None
            requests.append(request)
        self.send(requests)

    def send(self, requests: list[OutgoingRequest]) -> None:
        if not requests:
            return
        if not self.window.url:
            warn(self.window, "The app is not served",
                                "The app is not being served; start it, then send again.")
            return
        self._awaited.update(r.origin for r in requests if r.origin is not None)
        self.resender.send(requests)

    def _answered(self, request: OutgoingRequest, result: Reply | str) -> None:
        what = f"#{request.origin}" if request.origin is not None else \
            f"{request.method} {request.target}"
        if isinstance(result, str):
            self._awaited.discard(request.origin)  # type: ignore[arg-type]
            warn(self.window, "Not answered", result)
            return
        self._report(f"Sent {what} again: {result.status} {result.reason}"
                     if request.origin is not None
                     else f"Sent {what}: {result.status} {result.reason}")

    def _listed(self, summaries: list[Summary]) -> None:
        for s in summaries:
            if s.resent_from is not None and s.resent_from in self._awaited:
                self._awaited.discard(s.resent_from)
                self._to_select = s.id

    def _select_listed(self) -> None:
        if self._to_select is not None:
            self.window.select_id(self._to_select)
            self._to_select = None

    # -- the editor -------------------------------------------------------------------------
    def _paths(self) -> list[str]:
        return sorted({s.path for s in self.window.recording.summaries() if s.path})

    def open_editor(self, request: OutgoingRequest | None) -> RequestEditor:
        """The request editor, open (not blocking); Send sends what it holds."""
        host = urlsplit(self.window.url).netloc if self.window.url else ""
        editor = RequestEditor(request, paths=self._paths(), host=host,
                               start_dir=lambda: self.window._start_dir(os.path.expanduser("~")),
                               parent=self.window)
        editor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        editor.accepted.connect(lambda: self.send([editor.request()]))
        editor.destroyed.connect(lambda: self.editors.remove(editor)
                                 if editor in self.editors else None)
        self.editors.append(editor)
        editor.open()
        return editor

    def edit_selected(self) -> RequestEditor | None:
        exchanges = self.selected_exchanges()
        if not exchanges:
            return None
        try:
            request = from_exchange(exchanges[0])
        except ResendError as exc:
            warn(self.window, "Cannot edit this request", str(exc))
            return None
        if not self._linked():
            request.origin = None
        return self.open_editor(request)

    def new_request(self) -> RequestEditor:
        return self.open_editor(None)

    # -- compare ------------------------------------------------------------------------------
    def compare_selected(self) -> CompareView | None:
        exchanges = self.selected_exchanges()
        if len(exchanges) != 2:
            self._report("Select two exchanges to compare them")
            return None
        view = CompareView(exchanges[0], exchanges[1], self.window)
        view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        view.destroyed.connect(lambda: self.compare_views.remove(view)
                               if view in self.compare_views else None)
        self.compare_views.append(view)
        view.show()
        return view

    def close(self) -> None:
        self.resender.close()
