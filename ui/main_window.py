"""The main window: toolbar, exchange list, inspector panes, load-error banner, menus."""

from __future__ import annotations

import html
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import (
    QByteArray,
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QPoint,
    QSettings,
    QStandardPaths,
    Qt,
    QTimer,
    QUrl,
)
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QStyle,
    QTabWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from inspector.filtering import FilterError, parse_breakpoint
from inspector.host.process import Status
from inspector.host.store import SUFFIX, SessionError, Store, Summary, sessions_dir
from inspector.model import Exchange

from . import desktop, inside_settings, theme
from .about import show_about
from .app_controller import AppController, Launch, Recorder
from .breakpoints_dialog import BreakpointsDialog
from .context import interpreter, short_interpreter, status_context
from .exchange_model import (
    COL_ID,
    ID_ROLE,
    SUMMARY_ROLE,
    ExchangeFilterProxy,
    ExchangeModel,
    Sections,
    add_section,
)
from .filter_help import show_filter_help
from .flow_view import FlowPane
from .help_menu import build_help_menu
from .list_filter import ListFilter
from .list_view import ExchangeTable, empty_list_text
from .loop_actions import LoopActions
from .open_app_dialog import OpenAppDialog
from .panes import (
    EnvironPane,
    FindingsPane,
    InsidePane,
    OutputPane,
    OverviewPane,
    RequestPane,
    ResponsePane,
)
from .panes.inside import app_folder, inside_title
from .resources import app_icon
from .row_menu import FOLLOW_WINDOW, build_row_menu, followed_by
from .session_banner import SessionBanner
from .settings import RECENT_APPS, make_settings, read_list, remember_recent
from .step_panel import StepPanel
from .stepping import StepController, phase_label
from .store_bridge import StoreBridge
from .theme_menu import build_theme_menu

GROUP = "MainWindow"
LAST_DIR = "files/last_dir"  # where the last session or HAR was opened, saved or exported
EXAMPLES = (  # (menu text, spec, what it teaches)
    ("Hello, World! (the lesson's app)", "inspector.examples.hello:app",
     "A WSGI app is just a function"),
    ("Router on PATH_INFO", "inspector.examples.router:app", "Routing is reading PATH_INFO"),
    ("Form that posts", "inspector.examples.form:app", "The request body is in wsgi.input"),
    ("JSON API", "inspector.examples.json_api:app", "Same function, another Content-Type"),
    ("Streamed response", "inspector.examples.stream:app", "The iterable yields pieces"),
    ("App that raises", "inspector.examples.boom:app", "What a server does with an exception"),
    # The lesson's last points: frameworks, ORMs and templates (pip install '.[examples]').
    ("The same page in Flask", "inspector.examples.flask_hello:app",
     "A framework routes, parses and answers for you"),
    ("ORM and templates (Flask, SQLAlchemy, Jinja2)", "inspector.examples.orm_templates:app",
     "Objects for rows, one layout for many pages"),
    ("Django: ORM, templates, admin", "inspector.examples.django_site.wsgi:application",
     "What ships with Django"),
)
SECTION_FLUSH_TIMEOUT = 1.0  # s: the longest a switch of app waits for queued answers
PROBLEM_STATES = ("load_error", "serve_error", "crashed", "died")
STATE_TEXT = {"starting": "Starting…", "serving": "Serving", "load_error": "Load error",
              "serve_error": "Cannot serve", "died": "App process died; restarting",
              "crashed": "App process keeps crashing", "stopped": "Stopped"}


class MainWindow(QMainWindow):
    def __init__(self, store: Store, launch: Launch | None = None, *,
                 settings: QSettings | None = None, autostart: bool = True) -> None:
        super().__init__()
        self.setWindowIcon(app_icon())
        self.store = store  # the session shown: the live one, or a saved one (read-only)
        self.recording = store  # the live session: the app's requests are recorded here
        self.settings = settings if settings is not None else make_settings()
        inside_settings.apply(self.settings)  # the slow-query threshold
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
        self.stepper = StepController(lambda: self.recording, self.controller, self.settings,
                                      self)
        self.recorder.step_listener = self.stepper.on_event
        self.recorder.wants_begin = self.stepper.wants_begin
        self._select_when_listed: int | None = None
        self._select_after_delete: int | None = None
        self._dock_height = 0  # the Step dock's height when it last hid, if the user set it
        self._dock_fitted = 0  # the height it was last fitted to (-1: fit when laid out)
        # Fitted once the pending layout has run, so the dock's height read there is real.
        self._dock_fit_timer = QTimer(self, singleShot=True, interval=0,
                                      timeout=self._fit_step_dock)
        self._live_sections: Sections = ([], [])  # which app served which ids
        self._seen_paused: set[int] = set()

        self._build_actions()
        self._build_toolbar()
        self._build_central()
        self._build_step_dock()
        self.loop = LoopActions(self)  # resend, edit, compose, copy as, compare
        self.actions_by_name.update(self.loop.actions)
        self.table.addActions(_row_actions(self.actions_by_name))
        self.actions_by_name["follow"].setChecked(True)
        self._build_menus()
        self._build_statusbar()
        self.controller.status_changed.connect(self.stepper.on_status)
        self.stepper.changed.connect(self._pauses_changed)
        self.stepper.next_used.connect(self._step_next_used)
        self.stepper.armed.connect(self._update_step_state)
        self.bridge.cleared.connect(self._on_cleared)
        self.bridge.removed.connect(self._on_removed)
        self.bridge.added.connect(self._on_added)
        self.bridge.updated.connect(self._on_updated)
        for news in (self.bridge.added, self.bridge.updated):  # ended: body search sees it
            news.connect(self.list_filter.changed)
        self.bridge.flushed.connect(self._update_counts)
        self.model.reset(store.summaries())
        self._update_counts()
        self._show_status(Status("stopped"))
        self._update_title()
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
        a("save_session", "Save Session &As…", self.choose_save_session,
          [QKeySequence("Ctrl+S")], tip="Copy this session to a file")
        a("export_har", "&Export HAR…", self.choose_export_har, [QKeySequence("Ctrl+E")],
          tip="Export the exchanges as a HAR file (browser devtools format), with "
              "cookies, credentials, passwords and tokens hidden")
        a("export_har_secrets", "Export HAR with Secrets…",
          lambda: self.choose_export_har(include_secrets=True),
          tip="Export the exchanges as a HAR file as they were, cookies, credentials, "
              "passwords and tokens included: share it with care")
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
        # Stepping: pause a live request at each phase of the WSGI call.
        a("step_mode", "Step the &Next Request", self.set_step_next, [QKeySequence("F9")],
          checkable=True, tip="Pause the next request at each phase of the WSGI call (F9)")
        self.actions_by_name["step_mode"].setIconText("Step")  # the toolbar's word
        a("breakpoints", "Breakpoints…", self.edit_breakpoints,
          tip="Pause every request that matches a filter (method, path, header)")
        a("step", "Step (F10)", self.step_current, [QKeySequence("F10")],
          tip="Send this phase on, with your edits, and pause at the next one (F10)")
        a("continue", "Continue (F8)", self.continue_current, [QKeySequence("F8")],
          tip="Send this phase on, with your edits, and run the request to its end (F8)")
        a("continue_all", "Continue all (Shift+F8)", self.continue_all,
          [QKeySequence("Shift+F8")], tip="Let every paused request run to its end")
        a("abort_502", "Abort: Answer 502", lambda: self.abort_current("502"),
          tip="Answer 502 Bad Gateway in the app's place (or cut, if bytes went out)")
        a("abort_drop", "Abort: Cut connection", lambda: self.abort_current("drop"),
          tip="Close the connection without an answer")
        # The Step dock may float as a window of its own: its keys work there too.
        for name in ("step_mode", "step", "continue", "continue_all"):
            self.actions_by_name[name].setShortcutContext(
                Qt.ShortcutContext.ApplicationShortcut)

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
        for name in ("step_mode", "breakpoints"):
            bar.addAction(self.actions_by_name[name])
        bar.addSeparator()
        self.filter_edit = QLineEdit()
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setMinimumWidth(320)
        self.list_filter = ListFilter(self.filter_edit, self.proxy, lambda: self.store, self)
        self.list_filter.applied.connect(self._update_counts)
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

        self.table = ExchangeTable(self.model)
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        # "#" ascending is the store's own order: the proxy then passes rows straight
        # through (no sorting on insert) while the header still shows the indicator.
        self.table.sortByColumn(COL_ID, Qt.SortOrder.AscendingOrder)
        self.table.enter_pressed.connect(self.focus_panes)
        self.table.empty.linkActivated.connect(lambda url: desktop.open_url(QUrl(url)))
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
        self.actions_by_name["copy_url"] = copy_url
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._row_menu)

        self.overview = OverviewPane()
        self.overview.origin_clicked.connect(self.select_id)  # "resent from #12"
        self.flow = FlowPane()
        self.environ = EnvironPane()
        self.request = RequestPane()
        self.response = ResponsePane()
        self.response.follower = self._followed_by
        self.response.open_exchange.connect(self.select_id)
        self.output = OutputPane()
        self.findings = FindingsPane()
        self.inside = InsidePane()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self._pane_titles = [(self.overview, "Overview"), (self.flow, "Flow"),
                             (self.environ, "Environ"),
                             (self.request, "Request"), (self.response, "Response"),
                             (self.output, "Output"), (self.inside, "Inside"),
                             (self.findings, "Findings")]  # findings and errors
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
        self.session_banner = SessionBanner()
        self.session_banner.back.connect(self.show_live_session)
        layout.addWidget(self.banner)
        layout.addWidget(self.session_banner)
        layout.addWidget(self.list_filter.note)  # a filter's error, or indexing progress
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self._style_banner()

    def _build_step_dock(self) -> None:
        self.step_panel = StepPanel(self.actions_by_name)
        self.step_dock = QDockWidget("Step", self)
        self.step_dock.setObjectName("step-dock")
        self.step_dock.setWidget(self.step_panel)
        self.step_dock.setAllowedAreas(Qt.DockWidgetArea.BottomDockWidgetArea
                                       | Qt.DockWidgetArea.TopDockWidgetArea)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.step_dock)
        self.step_dock.hide()

    def _build_menus(self) -> None:
        acts = self.actions_by_name
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(acts["new_request"])
        file_menu.addAction(acts["open_app"])
        self.recent_menu = file_menu.addMenu("Open &Recent App")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self._fill_recent()
        file_menu.addSeparator()
        for name in ("open_session", "save_session", "export_har", "export_har_secrets"):
            file_menu.addAction(acts[name])
        file_menu.addSeparator()
        file_menu.addAction(acts["quit"])
        edit = self.menuBar().addMenu("&Edit")
        edit.addAction(acts["delete"])
        edit.addAction(acts["clear"])
        edit.addSeparator()
        for name in ("resend", "edit_resend", None, "copy_as", "copy_url", "copy_body",
                     "save_body", None, "compare"):
            if name is None:
                edit.addSeparator()
            else:
                edit.addAction(acts[name])
        edit.addSeparator()
        edit.addAction(acts["find"])
        app_menu = self.menuBar().addMenu("&App")
        for name in ("start", "stop", "reload", "pause", "browser"):
            app_menu.addAction(acts[name])
        app_menu.addSeparator()
        app_menu.addAction("Profile the &Next Request", self.profile_next)
        app_menu.addAction("Profile the Next Request &Matching…", self.profile_matching)
        self.stacks_action = app_menu.addAction("Record Each Query's Whole &Stack")
        self.stacks_action.setCheckable(True)
        self.stacks_action.setToolTip("Each SQL query also keeps the lines of your code that "
                                      "led to it (the Inside tab shows them under its SQL)")
        self.stacks_action.toggled.connect(lambda _on: self.send_inside_options())
        app_menu.addAction("Slow Query &Threshold…", lambda: inside_settings.ask(self,
                                                                               self.settings))
        step = self.menuBar().addMenu("S&tep")
        for name in ("step_mode", "breakpoints", None, "step", "continue", "continue_all", None,
                     "abort_502", "abort_drop"):
            if name is None:
                step.addSeparator()
            else:
                step.addAction(acts[name])
        view = self.menuBar().addMenu("&View")
        view.addAction(acts["follow"])
        columns = view.addMenu("&Columns")  # the same choice as the list header's menu
        columns.aboutToShow.connect(lambda: self.table.fill_column_menu(columns))
        view.addSeparator()
        self.theme_actions = build_theme_menu(view, self.settings)
        examples = self.menuBar().addMenu("E&xamples")
        for text, spec, lesson in EXAMPLES:
            action = examples.addAction(text)
            action.setToolTip(f"{spec} — {lesson}")
            action.setStatusTip(f"{spec} — {lesson}")
            action.triggered.connect(lambda _=False, s=spec: self.open_app(s))
        examples.setToolTipsVisible(True)
        self.help_menu = build_help_menu(self)  # Keyboard Shortcuts, then these
        self.help_menu.addAction("&Filter Syntax", lambda: show_filter_help(self))
        self.about_action = self.help_menu.addAction("&About WSGI Inspector", self.show_about)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)

    def _build_statusbar(self) -> None:
        self.state_label = QLabel()
        self.paused_label = QLabel(f"{theme.pause_glyph()} Recording paused")
        self.paused_label.hide()
        self.step_label = QLabel()
        self.counts_label = QLabel()
        self.context_label = QLabel()  # the app, its interpreter, the session file
        self.context_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bar = self.statusBar()
        bar.addWidget(self.state_label)
        bar.addWidget(self.context_label, 1)
        bar.addPermanentWidget(self.step_label)
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
        self.controller.start(launch)  # its section begins once it serves (see below)

    def _start_section(self) -> None:
        """Exchanges from here on are this app's: the list marks where they begin.
        Called when it serves: the app before it has stopped, its answers are in."""
        launch = self.controller.launch
        if launch is None:
            return
        # Answers the old app already gave may still be queued for the store: they are
        # the old app's, so the new section begins after them (a switch is rare; the
        # writer commits every few milliseconds).
        self.recording.flush(timeout=SECTION_FLUSH_TIMEOUT)
        summaries = self.recording.summaries()
        last = summaries[-1].id if summaries else 0
        sections = self._live_sections = add_section(self._live_sections, launch.spec, last)
        if self.store is self.recording:
            self.model.set_sections(sections)


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
        dialog = OpenAppDialog(read_list(self.settings, RECENT_APPS), current, self,
                               start_dir=self.app_folder())
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
        if status.state in ("serving", "load_error"):
            self._start_section()
        if status.state == "serving" and self.stacks_action.isChecked():
            self.send_inside_options()  # a new app process starts without them

    def _show_status(self, status: Status) -> None:
        state = status.state
        # While the app cannot load, its URL serves a page with the error.
        url = status.url if state in ("serving", "starting", "died", "load_error") else ""
        if url:
            self.url_label.setText(f'<a href="{html.escape(url)}">{html.escape(url)}</a>')
        else:
            self.url_label.setText("<i>not serving</i>")
        self.copy_url_button.setEnabled(bool(url))
        self.table.set_empty_text(empty_list_text(url, state))
        self.actions_by_name["browser"].setEnabled(bool(url))
        text = STATE_TEXT.get(state, state)
        self._update_title()
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
        return status.url if status.state in ("serving", "load_error") else ""

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
        if self.filter_edit.text() != text:
            self.filter_edit.setText(text)  # the list filter follows the box

    def add_filter_term(self, term: str) -> None:
        """Narrow the quick filter by one term (from the row menu's Filter to…)."""
        text = self.filter_edit.text().strip()
        self.set_filter(f"{text} {term}".strip() if term not in text.split() else text)

    def _row_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        s = index.data(SUMMARY_ROLE) if index.isValid() else None
        if index.isValid() and not self.table.selectionModel().isRowSelected(index.row()):
            self.table.select_row(index.row())  # the menu acts on the row it was opened on
        menu = build_row_menu(self, s)
        menu.exec(self.table.viewport().mapToGlobal(pos))
        menu.deleteLater()

    def focus_filter(self) -> None:
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    def focus_panes(self) -> None:
        """Enter on a row: the keyboard goes to the pane shown (its first focusable part)."""
        page = self.tabs.currentWidget()
        if page is None:
            return
        takers = [w for w in (page, *page.findChildren(QWidget))
                  if w.isVisible() and w.focusPolicy() & Qt.FocusPolicy.TabFocus]
        (takers[0] if takers else self.tabs).setFocus(Qt.FocusReason.ShortcutFocusReason)

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
        row = self.proxy.row_of(xid)
        if row is None:
            return False
        index = self.proxy.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index)
        return True

    def delete_selected(self) -> None:
        ids = self.selected_ids()
        if ids and not self.store.read_only:
            self._select_after_delete = self._row_after(ids)
            self.stepper.release(ids)  # a deleted row's request must not wait for nothing
            self.store.delete(ids)

    def clear(self) -> None:
        if self.store.read_only:
            return
        if self.stepper.pauses:
            self.stepper.continue_all()
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
        if self.follow:
            self.table.scrollToBottom()  # once per update, however many rows it brought
        wanted = self._select_when_listed
        if wanted is not None and any(s.id == wanted for s in summaries):
            self._select_when_listed = None
            if self.stepper.is_paused(wanted):
                self._select_paused(wanted)

    def _on_updated(self, summaries: list[Summary]) -> None:
        self.model.update(summaries)
        if self.current_id is not None and any(s.id == self.current_id for s in summaries):
            self._show_current()

    def _followed_by(self, x: Exchange, location: str) -> tuple[int, str] | None:
        """The first later exchange that asked for a redirect's ``location``."""
        row = self.model.row_of(x.id)
        if row is None:
            return None
        later = self.model.summaries()[row + 1:row + 1 + FOLLOW_WINDOW]
        return followed_by(later, x.path, location)

    def _row_after(self, ids: list[int]) -> int | None:
        """The exchange to select once ``ids`` are deleted: the row below the last of
        them (as in a mail client), else the row above the first."""
        rows = sorted(r for r in map(self.proxy.row_of, ids) if r is not None)
        if not rows:
            return None
        gone = set(ids)
        below = range(rows[-1] + 1, self.proxy.rowCount())
        for row in [*below, *range(rows[0] - 1, -1, -1)]:
            xid = self.proxy.data(self.proxy.index(row, 0), ID_ROLE)
            if xid is not None and xid not in gone:
                return int(xid)
        return None

    def _on_removed(self, summaries: list[Summary]) -> None:
        self.model.remove(summaries)
        wanted, self._select_after_delete = self._select_after_delete, None
        if wanted is not None and self.select_id(wanted):
            return
        current = self.table.currentIndex()
        if current.isValid():  # Qt moved the cursor to a neighbour: select it too
            self.table.select_row(current.row())
        elif self.current_id is not None and self.model.row_of(self.current_id) is None:
            self.table.clearSelection()
            self.current_id = None
            self._show_exchange(None)

    def _on_cleared(self) -> None:
        self.stepper.refresh()
        launch = self.controller.launch
        if self.store is self.recording:  # one section again: the app serving now
            self._live_sections = ([0], [launch.spec]) if launch is not None else ([], [])
            self.model.set_sections(self._live_sections)
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

    def profile_matching(self) -> bool:
        text, ok = QInputDialog.getText(
            self, "Profile the next request matching",
            "A filter as for breakpoints, e.g. path:/books method:POST header:X-Debug:")
        if not (ok and text.strip()):
            return False
        try:
            parse_breakpoint(text)
        except FilterError as exc:
            self.statusBar().showMessage(f"Not profiled: {exc}", 8000)
            return False
        return self.profile_next(text.strip())

    def profile_next(self, request_filter: str = "") -> bool:
        """The next request the app serves (that ``request_filter`` matches) is
        profiled: the Inside tab's Profile shows it."""
        runner = self.controller.runner
        sent = runner is not None and runner.command({"type": "profile",
                                                      "filter": request_filter})
        self.statusBar().showMessage(
            "The next request will be profiled: see Inside ▸ Profile." if sent
            else "The app is not running: start it, then profile a request.", 5000)
        return sent

    def send_inside_options(self) -> bool:
        """Tell the app what to record inside (sent again each time it starts)."""
        runner = self.controller.runner
        return runner is not None and runner.command(
            {"type": "inside", "stacks": self.stacks_action.isChecked()})

    # -- the panes ----------------------------------------------------------------------
    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.current_id = int(current.data(ID_ROLE)) if current.isValid() else None
        self._show_current()

    def current_exchange(self) -> Exchange | None:
        """The exchange shown in the panes, if any and readable."""
        if self.current_id is None:
            return None
        try:
            return self.store.get(self.current_id)
        except KeyError:
            return None

    def _show_current(self) -> None:
        self._show_exchange(self.current_exchange())
        why = self.store.unreadable(self.current_id) if self.current_id is not None else None
        if why is not None:
            self.overview.show_note(f"This exchange cannot be shown: row {self.current_id} of "
                                    f"the session file is unreadable ({why}).")
            self._show_session_banner()

    def _show_exchange(self, x: Exchange | None) -> None:
        for pane, _title in self._pane_titles:
            pane.show_exchange(x)
        outputs = len(x.output) if x else 0
        problems = (len(x.findings) + (x.error is not None)) if x else 0
        self.tabs.setTabText(self.tabs.indexOf(self.output),
                             f"Output ({outputs})" if outputs else "Output")
        # "Findings", as the list's column: short enough for every tab to show at 1280.
        self.tabs.setTabText(self.tabs.indexOf(self.findings),
                             f"Findings ({problems})" if problems else "Findings")
        self.tabs.setTabText(self.tabs.indexOf(self.inside), inside_title(x))
        self.inside.base_dir = app_folder(self.controller.launch)
        self._show_step_panel()

    # -- stepping -----------------------------------------------------------------------
    def set_step_next(self, on: bool) -> None:
        """The Step toggle (F9): pause the next request at each phase."""
        action = self.actions_by_name["step_mode"]
        if action.isChecked() != on:
            action.setChecked(on)  # toggled calls back here
            return
        self.stepper.set_step_next(on)

    def _step_next_used(self) -> None:
        self.actions_by_name["step_mode"].setChecked(False)
        self._update_step_state()

    def edit_breakpoints(self) -> None:
        dialog = BreakpointsDialog(self.stepper.breakpoints, self)
        if dialog.exec():
            self.stepper.set_breakpoints(dialog.entries())

    def show_about(self) -> None:
        show_about(self, Path(self.recording.path))

    def _current_editor_payload(self) -> dict | None:
        editor = self.step_panel.current
        if editor is None or editor.row != self.current_id:
            return None
        return editor.payload()

    def step_current(self) -> None:
        if self.stepper.can_answer(self.current_id):
            assert self.current_id is not None
            self.stepper.step(self.current_id, self._current_editor_payload())

    def continue_current(self) -> None:
        if self.stepper.can_answer(self.current_id):
            assert self.current_id is not None
            self.stepper.resume(self.current_id, self._current_editor_payload())

    def continue_all(self) -> None:
        self.stepper.continue_all()

    def abort_current(self, mode: str) -> None:
        if self.stepper.can_answer(self.current_id):
            assert self.current_id is not None
            self.stepper.abort(self.current_id, mode)

    def _select_paused(self, xid: int) -> None:
        if self.select_id(xid):
            self.tabs.setCurrentWidget(self.flow)
        else:
            self._select_when_listed = xid  # listed at the bridge's next flush

    def _pauses_changed(self, rows: list[int]) -> None:
        self.bridge.flush()  # the store has this news already: list it now, not in 33 ms
        pauses = self.stepper.pauses
        self.model.set_paused({row: phase_label(x) for row, x in pauses.items()})
        self.step_panel.prune(set(pauses))
        fresh = [row for row in rows if row in pauses and row not in self._seen_paused]
        self._seen_paused = set(pauses)
        if fresh and self.store is not self.recording:  # a request waits: show it
            self.show_live_session()
        if fresh:
            self._show_step_dock()
            if not self.stepper.is_paused(self.current_id):
                self._select_paused(fresh[0])
        elif not pauses and self.step_dock.isVisible():  # nothing waits: out of the way
            if self._dock_fitted >= 0 and abs(self.step_dock.height() - self._dock_fitted) > 2:
                # the user's height, kept
                self._dock_height = self.step_dock.height()
            self.step_dock.hide()
        if self.current_id in rows:
            self._show_current()
        else:
            self._show_step_panel()
        self._update_step_state()

    def _show_step_dock(self) -> None:
        """Show the Step dock: at the height the user gave it, or fitted to its content,
        leaving the Flow tab above it room to be read."""
        if self.step_dock.isVisible() or self.step_dock.isFloating():
            self.step_dock.show()
            return
        self.step_dock.show()
        self._dock_fitted = -1  # sized when the panel shows the pause: _fit_step_dock

    def _fit_step_dock(self) -> None:
        """Fit the docked Step dock to what the panel shows now (each phase has its own
        content), until the user gives it a height of their own."""
        dock = self.step_dock
        if not dock.isVisible() or dock.isFloating():
            return
        fresh = self._dock_fitted < 0
        if not fresh and abs(dock.height() - self._dock_fitted) > 2:
            self._dock_height = dock.height()  # moved by the user: theirs from now on
        if self._dock_height and not fresh:
            return
        height = self._dock_height or self._fitted_dock_height()
        if height != self._dock_fitted:
            self._dock_fitted = height
            self.resizeDocks([dock], [height], Qt.Orientation.Vertical)

    def _fitted_dock_height(self) -> int:
        """The Step panel's content and the dock's title bar, between a sensible minimum
        and a bit over a third of the window (a long environ scrolls in its table)."""
        title = self.step_dock.style().pixelMetric(QStyle.PixelMetric.PM_TitleBarHeight)
        want = self.step_panel.fitted_height(self.width()) + title + 4
        return max(180, min(want, int(self.height() * 0.4)))

    def _show_step_panel(self) -> None:
        row = self.current_id
        x = self.stepper.pauses.get(row) if row is not None else None
        self.step_panel.show_pause(x, paused=len(self.stepper.pauses),
                                   sent=row in self.stepper.sent)
        self._dock_fit_timer.start()
        self._update_step_state()

    def _update_step_state(self) -> None:
        can = self.stepper.can_answer(self.current_id)
        for name in ("step", "continue", "abort_502", "abort_drop"):
            self.actions_by_name[name].setEnabled(can)
        self.step_panel.buttons["abort"].setEnabled(can)
        waiting = len(self.stepper.pauses)
        self.actions_by_name["continue_all"].setEnabled(bool(waiting))
        parts = []
        if waiting:
            parts.append(f"{theme.pause_glyph()} {waiting} paused")
        if self.stepper.step_next:
            parts.append("Step: the next request will pause")
        filters = len(self.stepper.enabled_filters())
        if filters:
            parts.append(f"{filters} breakpoint{'s' * (filters != 1)}")
        self.step_label.setText("  ·  ".join(parts))
        self.step_label.setVisible(bool(parts))

    # -- files --------------------------------------------------------------------------
    def open_file(self, path: str) -> None:
        """Show a saved session, read-only (new requests keep going to the live session),
        or import a HAR file into the live session and show that."""
        from inspector.host.export import add_har, is_json_file

        if is_json_file(path):
            self.show_live_session()
            add_har(self.recording, path)  # entry by entry: flat memory for any size
            return
        if Path(path).resolve() == self.recording.path.resolve():
            self.show_live_session()  # it is the live session already
            return
        self.show_saved(Store.open(path))  # read-only: the file is never changed

    def show_saved(self, store: Store) -> None:
        """Show a saved session opened read-only (the window closes it when done)."""
        if self.stepper.pauses:  # the list is about to hide them: let them finish
            self.stepper.continue_all()
        self._show_store(store)

    def show_live_session(self) -> None:
        """Back from a saved session to the one the app's requests are recorded in."""
        if self.store is not self.recording:
            self._show_store(self.recording)

    def _show_store(self, store: Store) -> None:
        old = self.store
        self.bridge.attach(store)
        self.store = store
        self.model.set_sections(self._live_sections if store is self.recording else ([], []))
        self.model.reset(store.summaries())
        self.current_id = None
        self._show_exchange(None)
        self._update_counts()
        if old is not self.recording:
            old.close()  # a saved session, viewed: nothing was written to it
        self._show_session_banner()
        self._update_title()
        self.list_filter.store_switched()
        viewing = store is not self.recording
        for name in ("clear", "delete"):
            self.actions_by_name[name].setEnabled(not viewing)

    def _show_session_banner(self) -> None:
        if self.store is self.recording:
            self.session_banner.leave()
        else:
            self.session_banner.show_viewing(self.store.path, self.recording,
                                             list(self.store.notes))

    def _update_title(self) -> None:
        """The app and the session file shown, so two windows can be told apart."""
        launch = self.controller.launch
        parts = [f"{launch.spec} ({short_interpreter(launch)})"] if launch is not None else []
        name = self.store.path.name
        parts.append(f"{name} (read-only)" if self.store.read_only else name)
        self.setWindowTitle(" — ".join([*parts, "WSGI Inspector"]))
        self.context_label.setText(f"— {status_context(launch, self.recording.path)}")
        tip = [f"Python: {interpreter(launch)}"] if launch is not None else []
        self.context_label.setToolTip("\n".join([*tip, f"Recording to: {self.recording.path}"]))

    def app_folder(self) -> str:
        """The served app's project folder (where a .py spec lives, else its app dir)."""
        launch = self.controller.launch
        if launch is None:
            return _documents()
        return launch.options(0).app_dir

    def _start_dir(self, fallback: str) -> str:
        """Where a file dialog opens: the folder last used, else ``fallback``."""
        last = self.settings.value(LAST_DIR, "", str)
        if last and Path(last).is_dir():
            return last
        return fallback if Path(fallback).is_dir() else str(Path.home())

    def _remember_dir(self, path: str) -> None:
        self.settings.setValue(LAST_DIR, str(Path(path).resolve().parent))

    def choose_session(self) -> None:
        # Sessions are recorded in the data folder: the first place to look for one.
        path, _ = QFileDialog.getOpenFileName(
            self, "Open Session or HAR", self._start_dir(str(sessions_dir())),
            f"Sessions and HAR files (*{SUFFIX} *.har *.json);;All files (*)")
        if path:
            self._remember_dir(path)
            try:
                self.open_file(path)
            except (SessionError, ValueError, OSError) as exc:
                QMessageBox.warning(self, "Cannot open the file", str(exc))

    def save_session(self, path: str) -> None:
        self.store.save_as(path)

    def choose_save_session(self) -> None:
        folder = self._start_dir(self.app_folder())
        path, _ = QFileDialog.getSaveFileName(self, "Save Session As",
                                              str(Path(folder) / f"session{SUFFIX}"),
                                              f"Sessions (*{SUFFIX})")
        if path:
            if not path.endswith(SUFFIX):
                path += SUFFIX
            self._remember_dir(path)
            try:
                self.save_session(path)
            except (OSError, ValueError) as exc:
                QMessageBox.warning(self, "Cannot save the session", str(exc))

    def export_har(self, path: str, include_secrets: bool = False) -> int:
        """Write the shown session as HAR; secrets hidden unless ``include_secrets``.
        Returns how many exchanges were written (rows that cannot be read are not)."""
        from inspector.host.export import write_har

        self.store.flush()
        # one at a time; secrets left out unless asked for
        return write_har(path, self.store.exchanges(), redact=not include_secrets)

    def choose_export_har(self, include_secrets: bool = False) -> None:
        title = "Export HAR with Secrets" if include_secrets else "Export HAR"
        folder = self._start_dir(self.app_folder())
        path, _ = QFileDialog.getSaveFileName(self, title, str(Path(folder) / "exchanges.har"),
                                              "HAR files (*.har)")
        if path:
            self._remember_dir(path)
            try:
                count = self.export_har(path, include_secrets)
            except OSError as exc:
                QMessageBox.warning(self, "Cannot export", str(exc))
                return
            left_out = len(self.store) - count
            self.statusBar().showMessage(
                f"Exported {count} exchange{'s' * (count != 1)} to {path}"
                + (f"; {left_out} unreadable row{'s' * (left_out != 1)} left out"
                   if left_out > 0 else ""), 10000)
            self._show_session_banner()

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
            # The list gets what its default columns need; the panes the rest.
            self.splitter.setSizes([600, max(400, self.width() - 600)])
            for key, target in (("state", self.restoreState),
                                ("splitter", self.splitter.restoreState)):
                value = s.value(key, QByteArray(), QByteArray)
                if value and not value.isEmpty():
                    target(value)
            self.table.restore_columns(s)
            # The dock comes with a pause: a saved layout does not bring it back empty.
            self.step_dock.setVisible(bool(self.stepper.pauses))
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
        self.table.save_columns(s)
        s.setValue("follow_newest", self.follow)
        s.endGroup()
        s.sync()

    def shutdown(self) -> None:
        """Stop the app, close the session and save the settings; idempotent."""
        if self._closed:
            return
        self._closed = True
        self.save_settings()
        # Stopping the app releases its paused requests; nobody steps them any more.
        self.recorder.step_listener = None
        self.stepper.close()
        self.list_filter.close()
        self.controller.shutdown()
        self.loop.close()  # after the app: a request it was answering ends with it
        self.bridge.detach()
        if self.store is not self.recording:
            self.store.close()
        self.recording.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        event.accept()

    def changeEvent(self, event: QEvent) -> None:
        # The list caches its colours per palette: a light <-> dark switch remakes them.
        if event.type() == QEvent.Type.PaletteChange:
            self.model.refresh_colors()
            self.session_banner.restyle()
            # A label's link keeps the colour of the palette its text was laid out
            # with (dark blue on dark): a new text layout takes the new palette's.
            text = self.url_label.text()
            self.url_label.setTextFormat(Qt.TextFormat.PlainText)
            self.url_label.setTextFormat(Qt.TextFormat.RichText)
            self.url_label.setText(text)
        super().changeEvent(event)



def _row_actions(acts: dict[str, QAction]) -> list[QAction]:
    """The list's context menu, in order (separators between the groups)."""
    items = []
    for name in ("resend", "edit_resend", None, "copy_as", "copy_url", "copy_body",
                 "save_body", None, "compare", None, "delete"):
        if name is None:
            separator = QAction(acts["delete"].parent())
            separator.setSeparator(True)
            items.append(separator)
        else:
            items.append(acts[name])
    return items


def _documents() -> str:
    """The user's documents folder (home where there is none)."""
    folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return folder or str(Path.home())
