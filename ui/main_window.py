"""The main window: toolbar, exchange list, inspector panes, load-error banner, menus."""

from __future__ import annotations

import html
from collections.abc import Iterable

from PySide6.QtCore import QByteArray, QItemSelectionModel, QModelIndex, QSettings, Qt, QUrl
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from inspector.host.process import Status
from inspector.host.store import SUFFIX, SessionError, Store, Summary
from inspector.model import Exchange

from . import desktop, theme
from .app_controller import AppController, Launch, Recorder
from .exchange_model import (
    COL_BADGE,
    COL_DURATION,
    COL_ID,
    COL_METHOD,
    COL_PATH,
    COL_SIZE,
    COL_STATUS,
    COL_TIME,
    COL_TYPE,
    ID_ROLE,
    ExchangeFilterProxy,
    ExchangeModel,
)
from .open_app_dialog import OpenAppDialog
from .panes import (
    EnvironPane,
    FindingsPane,
    OutputPane,
    OverviewPane,
    RequestPane,
    ResponsePane,
)
from .settings import RECENT_APPS, make_settings, read_list, remember_recent
from .store_bridge import StoreBridge

GROUP = "MainWindow"
EXAMPLES = (  # (menu text, spec, what it teaches)
    ("Hello, World! (the lesson's app)", "inspector.examples.hello:app",
     "A WSGI app is just a function"),
    ("Router on PATH_INFO", "inspector.examples.router:app", "Routing is reading PATH_INFO"),
    ("Form that posts", "inspector.examples.form:app", "The request body is in wsgi.input"),
    ("JSON API", "inspector.examples.json_api:app", "Same function, another Content-Type"),
    ("Streamed response", "inspector.examples.stream:app", "The iterable yields pieces"),
    ("App that raises", "inspector.examples.boom:app", "What a server does with an exception"),
)
COLUMN_WIDTHS = {COL_ID: 44, COL_TIME: 92, COL_METHOD: 60, COL_PATH: 200, COL_STATUS: 52,
                 COL_TYPE: 120, COL_SIZE: 68, COL_DURATION: 74, COL_BADGE: 76}
PROBLEM_STATES = ("load_error", "serve_error", "crashed", "died")
STATE_TEXT = {"starting": "Starting…", "serving": "Serving", "load_error": "Load error",
              "serve_error": "Cannot serve", "died": "App process died; restarting",
              "crashed": "App process keeps crashing", "stopped": "Stopped"}


class MainWindow(QMainWindow):
    def __init__(self, store: Store, launch: Launch | None = None, *,
                 settings: QSettings | None = None, autostart: bool = True) -> None:
        super().__init__()
        self.store = store
        self.settings = settings if settings is not None else make_settings()
        self.recorder = Recorder(store)
        self.controller = AppController(self.recorder, self)
        self.controller.launch = launch
        self.controller.status_changed.connect(self._status_changed)
        self.bridge = StoreBridge(store, self)
        self.model = ExchangeModel(self)
        self.proxy = ExchangeFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.current_id: int | None = None
        self.follow = True
        self._closed = False
        self.actions_by_name: dict[str, QAction] = {}

        self.setWindowTitle("WSGI Inspector")
        self._build_actions()
        self._build_toolbar()
        self._build_central()
        self.actions_by_name["follow"].setChecked(True)
        self._build_menus()
        self._build_statusbar()
        self.bridge.cleared.connect(self._on_cleared)
        self.bridge.removed.connect(self._on_removed)
        self.bridge.added.connect(self._on_added)
        self.bridge.updated.connect(self._on_updated)
        self.bridge.flushed.connect(self._update_counts)
        self.model.reset(store.summaries())
        self._update_counts()
        self._show_status(Status("stopped"))
        self.restore_settings()
        if launch is not None and autostart:
            self.start_app(launch)

    # -- building ------------------------------------------------------------------------
    def _action(self, name: str, text: str, slot, shortcuts: Iterable = (), *,
                checkable: bool = False, tip: str = "") -> QAction:
        action = QAction(text, self)
        keys = [QKeySequence(k) for k in shortcuts]
        if keys:
            action.setShortcuts(keys)
        action.setCheckable(checkable)
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        (action.toggled if checkable else action.triggered).connect(slot)
        self.actions_by_name[name] = action
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        a = self._action
        a("open_app", "&Open App…", self.choose_app, [QKeySequence.StandardKey.Open],
          tip="Serve another WSGI app (module:app or a .py file)")
        a("open_session", "Open &Session…", self.choose_session,
          tip="Open a saved session or a HAR file")
        a("save_session", "&Save Session As…", self.choose_save_session,
          [QKeySequence("Ctrl+S")], tip="Copy this session to a file")
        a("export_har", "&Export HAR…", self.choose_export_har, [QKeySequence("Ctrl+E")],
          tip="Export the exchanges as a HAR file (browser devtools format)")
        a("quit", "&Quit", self.close, [QKeySequence("Ctrl+Q")])
        a("start", "Start", self.start_app, tip="Start serving the app")
        a("stop", "Stop", self.stop_app, tip="Stop the app")
        a("reload", "Reload", self.reload_app, [QKeySequence("F5"), QKeySequence("Ctrl+R")],
          tip="Restart the app with its code imported afresh (F5, Ctrl+R)")
        a("clear", "Clear", self.clear, [QKeySequence("Ctrl+L")],
          tip="Remove every exchange from the list and the session (Ctrl+L)")
        a("pause", "Pause recording", self.set_paused, checkable=True,
          tip="While paused, new requests are served but not recorded")
        a("follow", "Follow newest", self.set_follow, checkable=True,
          tip="Keep the newest exchange in view; scrolling up turns it off")
        a("find", "Filter…", self.focus_filter, [QKeySequence.StandardKey.Find],
          tip="Focus the quick filter (Ctrl+F)")
        a("browser", "Open in Browser", self.open_in_browser, tip="Open the app's URL")

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main")
        bar.setObjectName("main-toolbar")
        bar.setMovable(False)
        self.addToolBar(bar)
        for name in ("start", "stop", "reload"):
            bar.addAction(self.actions_by_name[name])
        bar.addSeparator()
        self.url_label = QLabel()
        self.url_label.setTextFormat(Qt.TextFormat.RichText)
        self.url_label.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse
                                               | Qt.TextInteractionFlag.TextSelectableByMouse)
        self.url_label.setOpenExternalLinks(False)
        self.url_label.linkActivated.connect(lambda url: desktop.open_url(QUrl(url)))
        self.url_label.setToolTip("Click to open the app in your browser")
        self.url_label.setContentsMargins(6, 0, 6, 0)
        bar.addWidget(self.url_label)
        self.copy_url_button = QToolButton()
        self.copy_url_button.setText("Copy")
        self.copy_url_button.setToolTip("Copy the URL")
        self.copy_url_button.clicked.connect(self.copy_url)
        bar.addWidget(self.copy_url_button)
        bar.addSeparator()
        for name in ("clear", "pause", "follow"):
            bar.addAction(self.actions_by_name[name])
        bar.addSeparator()
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter: text in path, method:POST, status:5xx, "
                                            "-path:/static  (Ctrl+F)")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setMinimumWidth(320)
        self.filter_edit.textChanged.connect(self.set_filter)
        bar.addWidget(self.filter_edit)

    def _build_central(self) -> None:
        # The load-error banner: the message and the user's traceback, in the window.
        self.banner = QFrame()
        self.banner.setObjectName("banner")
        self.banner.setFrameShape(QFrame.Shape.StyledPanel)
        self.banner_title = QLabel()
        self.banner_title.setWordWrap(True)
        self.banner_title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner_traceback = QPlainTextEdit(readOnly=True)
        self.banner_traceback.setFont(theme.mono_font())
        self.banner_traceback.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.banner_reload = QPushButton("Reload (F5)")
        self.banner_reload.clicked.connect(self.reload_app)
        banner_open = QPushButton("Open App…")
        banner_open.clicked.connect(self.choose_app)
        buttons = QHBoxLayout()
        buttons.addWidget(self.banner_title, 1)
        buttons.addWidget(self.banner_reload)
        buttons.addWidget(banner_open)
        banner_layout = QVBoxLayout(self.banner)
        banner_layout.addLayout(buttons)
        banner_layout.addWidget(self.banner_traceback)
        self.banner.hide()

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COL_ID, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setTabKeyNavigation(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setHighlightSections(False)
        for col, width in COLUMN_WIDTHS.items():
            self.table.setColumnWidth(col, width)
        # The path takes whatever room the other (resizable, remembered) columns leave.
        header.setSectionResizeMode(COL_PATH, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.table.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.table.verticalScrollBar().rangeChanged.connect(self._range_changed)
        delete = QAction("Delete", self.table)
        delete.setShortcuts([QKeySequence(QKeySequence.StandardKey.Delete),
                             QKeySequence(Qt.Key.Key_Backspace)])
        delete.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        delete.triggered.connect(self.delete_selected)
        self.actions_by_name["delete"] = delete
        self.table.addAction(delete)
        copy_url = QAction("Copy URL", self.table)
        copy_url.triggered.connect(self._copy_selected_urls)
        self.table.addAction(copy_url)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

        self.overview = OverviewPane()
        self.environ = EnvironPane()
        self.request = RequestPane()
        self.response = ResponsePane()
        self.output = OutputPane()
        self.findings = FindingsPane()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self._pane_titles = [(self.overview, "Overview"), (self.environ, "Environ"),
                             (self.request, "Request"), (self.response, "Response"),
                             (self.output, "Output"), (self.findings, "Findings && errors")]
        for pane, title in self._pane_titles:
            self.tabs.addTab(pane, title)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("main-splitter")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self._style_banner()

    def _build_menus(self) -> None:
        acts = self.actions_by_name
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(acts["open_app"])
        self.recent_menu = file_menu.addMenu("Open &Recent App")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self._fill_recent()
        file_menu.addSeparator()
        for name in ("open_session", "save_session", "export_har"):
            file_menu.addAction(acts[name])
        file_menu.addSeparator()
        file_menu.addAction(acts["quit"])
        edit = self.menuBar().addMenu("&Edit")
        edit.addAction(acts["delete"])
        edit.addAction(acts["clear"])
        edit.addSeparator()
        edit.addAction(acts["find"])
        app_menu = self.menuBar().addMenu("&App")
        for name in ("start", "stop", "reload", "pause", "browser"):
            app_menu.addAction(acts[name])
        view = self.menuBar().addMenu("&View")
        view.addAction(acts["follow"])
        examples = self.menuBar().addMenu("E&xamples")
        for text, spec, lesson in EXAMPLES:
            action = examples.addAction(text)
            action.setToolTip(f"{spec} — {lesson}")
            action.setStatusTip(f"{spec} — {lesson}")
            action.triggered.connect(lambda _=False, s=spec: self.open_app(s))
        examples.setToolTipsVisible(True)

    def _build_statusbar(self) -> None:
        self.state_label = QLabel()
        self.paused_label = QLabel("⏸ Recording paused")
        self.paused_label.hide()
        self.counts_label = QLabel()
        bar = self.statusBar()
        bar.addWidget(self.state_label, 1)
        bar.addPermanentWidget(self.paused_label)
        bar.addPermanentWidget(self.counts_label)

    def _style_banner(self) -> None:
        bg = theme.error_background(self.palette()).name()
        fg = theme.severity_color("error", self.palette()).name()
        self.banner.setStyleSheet(f"QFrame#banner {{ background: {bg}; border: 1px solid "
                                  f"{fg}; border-radius: 4px; }}")

    # -- the app -----------------------------------------------------------------------
    def start_app(self, launch: Launch | None = None) -> None:
        if not isinstance(launch, Launch):  # from a QAction: (checked)
            launch = None
        self.controller.start(launch)

    def stop_app(self) -> None:
        self.controller.stop()

    def reload_app(self) -> None:
        self.controller.reload()

    def open_app(self, spec: str) -> None:
        """Serve another app (a spec or a .py file) with the current settings."""
        base = self.controller.launch or Launch()
        launch = base.for_spec(spec)
        remember_recent(self.settings, spec)
        self._fill_recent()
        self.start_app(launch)

    def choose_app(self) -> None:
        current = self.controller.launch.spec if self.controller.launch else ""
        dialog = OpenAppDialog(read_list(self.settings, RECENT_APPS), current, self)
        if dialog.exec() and dialog.value():
            self.open_app(dialog.value())

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = read_list(self.settings, RECENT_APPS)
        for spec in recent:
            action = self.recent_menu.addAction(spec)
            action.triggered.connect(lambda _=False, s=spec: self.open_app(s))
        self.recent_menu.setEnabled(bool(recent))

    def _status_changed(self, status: Status) -> None:
        self._show_status(status)

    def _show_status(self, status: Status) -> None:
        state = status.state
        url = status.url if state in ("serving", "starting", "died") else ""
        if url:
            self.url_label.setText(f'<a href="{html.escape(url)}">{html.escape(url)}</a>')
        else:
            self.url_label.setText("<i>not serving</i>")
        self.copy_url_button.setEnabled(bool(url))
        self.actions_by_name["browser"].setEnabled(bool(url))
        spec = self.controller.launch.spec if self.controller.launch else ""
        text = STATE_TEXT.get(state, state)
        if spec:
            text = f"{text} — {spec}"
            self.setWindowTitle(f"{spec} — WSGI Inspector")
        if status.message and state not in PROBLEM_STATES:
            text = f"{text} — {status.message}"
        self.state_label.setText(text)
        running = state in ("serving", "starting", "died")
        self.actions_by_name["start"].setEnabled(not running)
        self.actions_by_name["stop"].setEnabled(running or state == "load_error")
        if state in PROBLEM_STATES:
            title = {"load_error": "The app could not be loaded",
                     "serve_error": "The app could not be served",
                     "crashed": "The app's process keeps crashing",
                     "died": "The app's process died"}[state]
            launch = self.controller.launch
            hint = ""
            if state == "load_error":
                hint = ("Fix the file, then press F5 to reload." if launch and launch.in_process
                        else "Fix the file and save: the app reloads by itself (or press F5).")
            self.banner_title.setText(f"<b>{title}.</b> {html.escape(status.message)}"
                                      f"<br>{hint}")
            tb = (status.traceback or "").rstrip("\n")
            self.banner_traceback.setPlainText(tb)
            self.banner_traceback.setVisible(bool(tb))
            lines = tb.count("\n") + 1
            height = self.banner_traceback.fontMetrics().lineSpacing() * (lines + 1) + 12
            self.banner_traceback.setFixedHeight(min(220, height))
            self.banner.show()
        elif state in ("serving", "stopped"):
            self.banner.hide()

    @property
    def url(self) -> str:
        status = self.controller.status
        return status.url if status.state == "serving" else ""

    def copy_url(self) -> None:
        if self.url:
            QGuiApplication.clipboard().setText(self.url)

    def open_in_browser(self) -> None:
        if self.url:
            desktop.open_url(QUrl(self.url))

    def set_paused(self, paused: bool) -> None:
        self.recorder.paused = paused
        self.paused_label.setVisible(paused)

    # -- the list ------------------------------------------------------------------------
    def set_filter(self, text: str) -> None:
        self.proxy.set_filter_text(text)
        if self.filter_edit.text() != text:
            self.filter_edit.setText(text)

    def focus_filter(self) -> None:
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    def set_follow(self, follow: bool) -> None:
        self.follow = follow
        if self.actions_by_name["follow"].isChecked() != follow:
            self.actions_by_name["follow"].setChecked(follow)
        if follow:
            self.table.scrollToBottom()

    def _scrolled(self, value: int) -> None:
        bar = self.table.verticalScrollBar()
        at_bottom = value >= bar.maximum()
        if at_bottom != self.follow:
            self.set_follow(at_bottom)

    def _range_changed(self, _minimum: int, maximum: int) -> None:
        if self.follow:
            self.table.verticalScrollBar().setValue(maximum)

    def selected_ids(self) -> list[int]:
        rows = self.table.selectionModel().selectedRows()
        return sorted(int(self.proxy.data(i, ID_ROLE)) for i in rows)

    def select_id(self, xid: int) -> bool:
        row = self.model.row_of(xid)
        if row is None:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not index.isValid():
            return False
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index)
        return True

    def delete_selected(self) -> None:
        ids = self.selected_ids()
        if ids:
            self.store.delete(ids)

    def clear(self) -> None:
        self.store.clear()

    def _copy_selected_urls(self) -> None:
        base = self.url.rstrip("/")
        lines = []
        for xid in self.selected_ids():
            s = self.model.summary(self.model.row_of(xid) or 0)
            lines.append(base + s.path + (f"?{s.query}" if s.query else ""))
        QGuiApplication.clipboard().setText("\n".join(lines))

    def _on_added(self, summaries: list[Summary]) -> None:
        self.model.add(summaries)

    def _on_updated(self, summaries: list[Summary]) -> None:
        self.model.update(summaries)
        if self.current_id is not None and any(s.id == self.current_id for s in summaries):
            self._show_current()

    def _on_removed(self, summaries: list[Summary]) -> None:
        self.model.remove(summaries)
        if self.current_id is not None and self.model.row_of(self.current_id) is None:
            self.current_id = None
            self._show_exchange(None)

    def _on_cleared(self) -> None:
        self.model.clear()
        self.current_id = None
        self._show_exchange(None)

    def _update_counts(self) -> None:
        c = self.model.counts
        shown = self.proxy.rowCount()
        parts = [f"{c.exchanges} exchange{'s' * (c.exchanges != 1)}"]
        if shown != c.exchanges:
            parts[0] = f"{shown} of {parts[0]} shown"
        parts.append(f"{c.errors} error{'s' * (c.errors != 1)}")
        parts.append(f"{c.findings} finding{'s' * (c.findings != 1)}")
        self.counts_label.setText("  ·  ".join(parts))

    # -- the panes ----------------------------------------------------------------------
    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.current_id = int(current.data(ID_ROLE)) if current.isValid() else None
        self._show_current()

    def _show_current(self) -> None:
        exchange = None
        if self.current_id is not None:
            try:
                exchange = self.store.get(self.current_id)
            except KeyError:
                exchange = None
        self._show_exchange(exchange)

    def _show_exchange(self, x: Exchange | None) -> None:
        for pane, _title in self._pane_titles:
            pane.show_exchange(x)
        outputs = len(x.output) if x else 0
        problems = (len(x.findings) + (x.error is not None)) if x else 0
        self.tabs.setTabText(4, f"Output ({outputs})" if outputs else "Output")
        self.tabs.setTabText(5, f"Findings && errors ({problems})" if problems
                             else "Findings && errors")

    # -- files --------------------------------------------------------------------------
    def open_file(self, path: str) -> None:
        """Open a session (switching to it) or import a HAR file into this session."""
        with open(path, "rb") as f:
            head = f.read(16).lstrip()
        if head[:1] in (b"{", b"["):
            from inspector.host.export import read_har

            self.store.add(read_har(path))
            return
        new = Store.open(path)
        old = self.store
        self.bridge.attach(new)
        self.recorder.set_store(new)
        self.store = new
        self.model.reset(new.summaries())
        self.current_id = None
        self._show_exchange(None)
        self._update_counts()
        old.close()

    def choose_session(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open Session or HAR", "",
            f"Sessions and HAR files (*{SUFFIX} *.har *.json);;All files (*)")
        if path:
            try:
                self.open_file(path)
            except (SessionError, ValueError, OSError) as exc:
                QMessageBox.warning(self, "Cannot open the file", str(exc))

    def save_session(self, path: str) -> None:
        self.store.save_as(path)

    def choose_save_session(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save Session As", f"session{SUFFIX}",
                                              f"Sessions (*{SUFFIX})")
        if path:
            if not path.endswith(SUFFIX):
                path += SUFFIX
            try:
                self.save_session(path)
            except (OSError, ValueError) as exc:
                QMessageBox.warning(self, "Cannot save the session", str(exc))

    def export_har(self, path: str) -> None:
        from inspector.host.export import write_har

        self.store.flush()
        write_har(path, list(self.store.exchanges()))

    def choose_export_har(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export HAR", "exchanges.har",
                                              "HAR files (*.har)")
        if path:
            try:
                self.export_har(path)
            except OSError as exc:
                QMessageBox.warning(self, "Cannot export", str(exc))

    # -- settings and closing ------------------------------------------------------------
    def restore_settings(self) -> None:
        s = self.settings
        s.beginGroup(GROUP)
        try:
            geometry = s.value("geometry", QByteArray(), QByteArray)
            if geometry and not geometry.isEmpty():
                self.restoreGeometry(geometry)
            else:
                self.resize(1280, 780)
            for key, target in (("state", self.restoreState),
                                ("splitter", self.splitter.restoreState),
                                ("columns", self.table.horizontalHeader().restoreState)):
                value = s.value(key, QByteArray(), QByteArray)
                if value and not value.isEmpty():
                    target(value)
            follow = s.value("follow_newest", True, bool)
            self.set_follow(bool(follow))
        finally:
            s.endGroup()

    def save_settings(self) -> None:
        s = self.settings
        s.beginGroup(GROUP)
        s.setValue("geometry", self.saveGeometry())
        s.setValue("state", self.saveState())
        s.setValue("splitter", self.splitter.saveState())
        s.setValue("columns", self.table.horizontalHeader().saveState())
        s.setValue("follow_newest", self.follow)
        s.endGroup()
        s.sync()

    def shutdown(self) -> None:
        """Stop the app, close the session and save the settings; idempotent."""
        if self._closed:
            return
        self._closed = True
        self.save_settings()
        self.controller.shutdown()
        self.bridge.detach()
        self.store.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        event.accept()

