"""The exchange list's table: columns the user chooses, keys a DevTools user expects,
a waterfall column, and what an empty list says.

The current row is always the selected row: whatever moves the cursor (arrows,
j/k, Home/End, Page keys, Ctrl+arrows, a deleted row) selects where it lands, so
the panes never show one exchange while the list highlights another. Shift
still extends the selection.
"""

from __future__ import annotations

import html

from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRectF,
    QSettings,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QMenu,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from . import theme
from .exchange_model import (
    COL_APP,
    COL_BADGE,
    COL_DURATION,
    COL_ID,
    COL_METHOD,
    COL_PATH,
    COL_QUERIES,
    COL_SIZE,
    COL_STATUS,
    COL_TIME,
    COL_TYPE,
    COL_WATERFALL,
    COLUMNS,
    HAS_QUERIES,
    HEADERS,
    SECTION_ROLE,
    SUMMARY_ROLE,
    ExchangeModel,
    end_of,
    short_app,
    status_code,
)

COLUMN_WIDTHS = {COL_ID: 44, COL_TIME: 92, COL_METHOD: 64, COL_PATH: 200, COL_STATUS: 52,
                 COL_TYPE: 120, COL_SIZE: 68, COL_DURATION: 74, COL_BADGE: 120, COL_QUERIES: 60,
                 COL_WATERFALL: 140, COL_APP: 110}
# Shown on a first start: what fits a laptop's window beside the panes.
DEFAULT_HIDDEN = frozenset({COL_TIME, COL_TYPE, COL_QUERIES, COL_WATERFALL, COL_APP})
COLUMNS_KEY = "list_columns"  # the header's state, in the window's settings group
# The list's own keys (not actions): the Keyboard Shortcuts window lists them too.
LIST_KEYS = (("Up, Down, k, j", "Previous or next exchange"),
             ("Home, End", "First or last exchange"),
             ("Page Up, Page Down", "A page up or down"),
             ("Shift+Up, Shift+Down", "Select several exchanges"),
             ("Enter", "Move the keyboard to the panes"),
             ("?", "Keyboard shortcuts"))
NO_MATCH = "No exchange matches the filter."
Flag = QItemSelectionModel.SelectionFlag
Action = QAbstractItemView.CursorAction


def choosable_columns() -> list[int]:
    """The columns the header's menu can show or hide (the path always shows)."""
    return [c for c in range(COLUMNS) if c != COL_PATH and (c != COL_QUERIES or HAS_QUERIES)]


class PathDelegate(QStyledItemDelegate):
    """A long path keeps its start and its end, which tell routes apart (the other
    columns elide at the right: "paused at start_…")."""

    def initStyleOption(self, option: QStyleOptionViewItem,
                        index: QModelIndex | QPersistentModelIndex) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideMiddle


class WaterfallDelegate(QStyledItemDelegate):
    """Each exchange's time as a bar over the whole list's time range, as in DevTools."""

    def __init__(self, model: ExchangeModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        super().paint(painter, option, index)  # background and selection
        s = index.data(SUMMARY_ROLE)
        span = self.model.time_span()
        if s is None or span is None:
            return
        t0, t1 = span
        total = max(t1 - t0, 1e-6)
        rect = QRectF(option.rect).adjusted(4, 4, -4, -4)
        left = rect.left() + rect.width() * (s.start - t0) / total
        width = max(2.0, rect.width() * (end_of(s) - s.start) / total)
        colour = theme.status_color(status_code(s) or 0, option.palette) \
            or theme.accent_color(option.palette)
        if s.state in ("active", "paused"):
            colour = QColor(theme.accent_color(option.palette))
            colour.setAlpha(150)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawRoundedRect(QRectF(left, rect.top(), min(width, rect.right() - left + 2),
                                       rect.height()), 2, 2)
        painter.restore()


class ExchangeTable(QTableView):
    """The list of exchanges. ``enter_pressed``: Enter/Return on a row (focus the panes)."""

    enter_pressed = Signal()
    help_requested = Signal()  # "?" pressed

    def __init__(self, model: ExchangeModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.exchanges = model
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setTabKeyNavigation(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        # Python is called per painted cell only in these two columns (one hidden).
        self.setItemDelegateForColumn(COL_PATH, PathDelegate(self))
        self.setItemDelegateForColumn(COL_WATERFALL, WaterfallDelegate(model, self))
        self.empty = QLabel(self.viewport())
        self.empty.setObjectName("empty-list")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setTextFormat(Qt.TextFormat.RichText)
        self.empty.setOpenExternalLinks(False)
        self.empty.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.empty.setContentsMargins(24, 24, 24, 24)
        self._empty_text = ""

    def setModel(self, model: QAbstractItemModel | None) -> None:
        super().setModel(model)
        if model is None:
            return
        for signal in (model.rowsInserted, model.rowsRemoved, model.modelReset,
                       model.layoutChanged):
            signal.connect(self._update_empty)
        header = self.horizontalHeader()
        header.setStretchLastSection(False)
        header.setHighlightSections(False)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._header_menu)
        self.default_columns()
        self._update_empty()

    # -- columns ---------------------------------------------------------------------------
    def default_columns(self) -> None:
        header = self.horizontalHeader()
        for col, width in COLUMN_WIDTHS.items():
            self.setColumnWidth(col, width)
            header.setSectionHidden(col, col in DEFAULT_HIDDEN)
        # The path takes whatever room the other (resizable, remembered) columns leave.
        header.setSectionResizeMode(COL_PATH, QHeaderView.ResizeMode.Stretch)

    def column_menu(self) -> QMenu:
        """A checkable item per choosable column, as the header's context menu shows."""
        menu = QMenu(self)
        self.fill_column_menu(menu)
        return menu

    def fill_column_menu(self, menu: QMenu) -> None:
        """Put the column choices in ``menu`` (emptied first)."""
        menu.clear()
        header = self.horizontalHeader()
        for col in choosable_columns():
            action = menu.addAction(HEADERS[col])
            action.setCheckable(True)
            action.setChecked(not header.isSectionHidden(col))
            action.setData(col)
            action.toggled.connect(lambda on, c=col: self.show_column(c, on))
        menu.addSeparator()
        menu.addAction("Reset Columns", self.default_columns)

    def show_column(self, col: int, on: bool) -> None:
        header = self.horizontalHeader()
        header.setSectionHidden(col, not on)
        if on and header.sectionSize(col) < 24:
            header.resizeSection(col, COLUMN_WIDTHS.get(col, 80))

    def _header_menu(self, pos: QPoint) -> None:
        menu = self.column_menu()
        menu.exec(self.horizontalHeader().mapToGlobal(pos))
        menu.deleteLater()

    def restore_columns(self, settings: QSettings) -> None:
        state = settings.value(COLUMNS_KEY)
        if state is not None and self.horizontalHeader().restoreState(state):
            self.horizontalHeader().setSectionResizeMode(COL_PATH,
                                                         QHeaderView.ResizeMode.Stretch)
            # A column unknown when the state was saved (a queries count) stays hidden.
            if not HAS_QUERIES:
                self.horizontalHeader().setSectionHidden(COL_QUERIES, True)

    def save_columns(self, settings: QSettings) -> None:
        settings.setValue(COLUMNS_KEY, self.horizontalHeader().saveState())

    # -- keys: the current row is the selected row --------------------------------------------
    def selectionCommand(self, index: QModelIndex | QPersistentModelIndex,
                         event: QEvent | None = None) -> QItemSelectionModel.SelectionFlag:
        if isinstance(event, QKeyEvent) and event.type() == QEvent.Type.KeyPress \
                and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier \
                and event.key() != Qt.Key.Key_Space:
            return Flag.ClearAndSelect | Flag.Rows  # Ctrl+arrows too: select where it lands
        return super().selectionCommand(index, event)

    def moveCursor(self, action: Action, modifiers: Qt.KeyboardModifier) -> QModelIndex:
        model = self.model()
        rows = model.rowCount() if model is not None else 0
        if rows and action in (Action.MoveHome, Action.MoveEnd):  # rows, not columns
            column = max(0, self.currentIndex().column())
            return model.index(0 if action == Action.MoveHome else rows - 1, column)
        return super().moveCursor(action, modifiers)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, mods = event.key(), event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if key in (Qt.Key.Key_J, Qt.Key.Key_K) and mods in (Qt.KeyboardModifier.NoModifier,
                                                             Qt.KeyboardModifier.ShiftModifier):
            arrow = Qt.Key.Key_Down if key == Qt.Key.Key_J else Qt.Key.Key_Up
            super().keyPressEvent(QKeyEvent(QEvent.Type.KeyPress, arrow, mods))
            return
        if event.text() == "?":
            self.help_requested.emit()
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.enter_pressed.emit()
            return
        super().keyPressEvent(event)

    def select_row(self, row: int) -> None:
        """Make display row ``row`` current and the only selected one."""
        model = self.model()
        if model is None or not 0 <= row < model.rowCount():
            return
        index = model.index(row, max(0, self.currentIndex().column()))
        self.selectionModel().setCurrentIndex(index, Flag.ClearAndSelect | Flag.Rows)
        self.scrollTo(index)

    # -- app sections: a line and the app's name where each app's part begins -----------
    def section_start(self, row: int) -> int | None:
        """The section display row ``row`` begins, if it begins one (in the order the
        exchanges came, with two apps or more)."""
        model = self.model()
        if model is None or self.exchanges.section_count() < 2:
            return None
        if model.sortColumn() not in (-1, COL_ID, COL_APP) \
                or model.sortOrder() != Qt.SortOrder.AscendingOrder:
            return None
        section = model.index(row, 0).data(SECTION_ROLE)
        above = model.index(row - 1, 0).data(SECTION_ROLE) if row > 0 else None
        return section if section is not None and section >= 0 and above != section else None

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self.exchanges.section_count() < 2 or self.model() is None:
            return
        first = max(0, self.rowAt(0))
        last = self.rowAt(self.viewport().height() - 1)
        last = self.model().rowCount() - 1 if last < 0 else last
        painter = QPainter(self.viewport())
        try:
            for row in range(first, last + 1):
                section = self.section_start(row)
                if section is not None:
                    self._paint_section(painter, row, section)
        finally:
            painter.end()

    def _paint_section(self, painter: QPainter, row: int, section: int) -> None:
        accent = theme.accent_color(self.palette())
        top = self.rowViewportPosition(row)
        if row > 0:
            painter.setPen(QPen(accent, 2))
            painter.drawLine(0, top + 1, self.viewport().width(), top + 1)
        if self.isColumnHidden(COL_PATH):
            return
        cell = QRectF(self.columnViewportPosition(COL_PATH), top, self.columnWidth(COL_PATH),
                      self.rowHeight(row))
        text = str(self.model().index(row, COL_PATH).data() or "")
        used = self.fontMetrics().horizontalAdvance(text) + 12
        _paint_tag(painter, cell, short_app(self.exchanges.section_app(section)), accent, used,
                   self.font(), self.palette().color(QPalette.ColorRole.Base))

    # -- an empty list says what to do --------------------------------------------------------
    def set_empty_text(self, text: str) -> None:
        """Rich text shown over an empty list (links emit ``self.empty.linkActivated``)."""
        self._empty_text = text
        self._update_empty()

    def _update_empty(self, *_args: object) -> None:
        model = self.model()
        empty = model is None or model.rowCount() == 0
        if empty and self.exchanges.rowCount():  # rows there are, the filter hides them
            self.empty.setText(NO_MATCH)
        elif empty:
            self.empty.setText(self._empty_text)
        self.empty.setVisible(empty and bool(self.empty.text()))
        self._place_empty()

    def _place_empty(self) -> None:
        self.empty.setGeometry(self.viewport().rect())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_empty()


def _paint_tag(painter: QPainter, cell: QRectF, text: str, accent: QColor, used: int,
               font: QFont, ink: QColor) -> None:
    """``text`` in a small tag at the right end of ``cell``, where the cell's text
    (``used`` pixels of it) leaves room."""
    font = QFont(font)
    font.setPointSizeF(font.pointSizeF() * 0.85)
    width = QFontMetrics(font).horizontalAdvance(text) + 12
    rect = QRectF(cell.right() - width - 2, cell.top() + 3, width, cell.height() - 6)
    if rect.left() < cell.left() + used:
        return  # no room beside the path: the line and the App column say it
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(accent)
    painter.drawRoundedRect(rect, 4, 4)
    painter.setPen(ink)
    painter.setFont(font)
    painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), text)
    painter.restore()


def empty_list_text(url: str, state: str = "serving") -> str:
    """What an empty list says: the URL to open (a link) and how to send a request."""
    link = html.escape(url)
    if state == "load_error":
        shown = f" (<a href='{link}'>{link}</a> shows it too)" if url else ""
        return (f"<p>The app could not be loaded{shown}.</p>"
                "<p>Fix the file and save: the app reloads by itself.</p>")
    if not url or state not in ("serving", "starting"):
        return ("<p>No requests yet.</p><p>The app is not serving: start it (App ▸ Start) "
                "or open another one (File ▸ Open App…).</p>")
    return (f"<p style='font-size:large'>No requests yet.</p>"
            f"<p>Open <a href='{link}'>{link}</a> in your browser,<br>"
            f"or send one from a terminal: <code>curl {link}</code></p>"
            "<p>Every request the app gets shows up here as it happens.</p>")
