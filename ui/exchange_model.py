"""The exchange list: a virtual table model over the store's summaries, and its filter.

The model keeps the summaries it was told about (through :class:`StoreBridge`
signals) in a list, plus an id → row index; it never reads the store on its
own, so what it shows always matches the signals it has processed. No
per-row widgets; every cell is computed in :meth:`data`.
"""

from __future__ import annotations

import time
from typing import Any, Union

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QFont

from inspector.host import summaryfilter
from inspector.host.store import Summary

from . import theme

COL_ID, COL_TIME, COL_METHOD, COL_PATH, COL_STATUS, COL_TYPE, COL_SIZE, COL_DURATION, \
    COL_BADGE = range(9)
HEADERS = ("#", "Time", "Method", "Path", "Status", "Type", "Size", "Duration", "Findings")
NUMERIC = frozenset({COL_ID, COL_SIZE, COL_DURATION})

SORT_ROLE = Qt.ItemDataRole.UserRole
SUMMARY_ROLE = Qt.ItemDataRole.UserRole + 1
ID_ROLE = Qt.ItemDataRole.UserRole + 2

AnyIndex = Union[QModelIndex, QPersistentModelIndex]


def human_size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    for unit in ("KB", "MB", "GB"):
        n /= 1024  # type: ignore[assignment]
        if n < 1024:
            return f"{n:.1f} {unit}"
    return f"{n:.1f} TB"


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


def clock(start: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(start)) + f".{int(start % 1 * 1000):03d}"


def short_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip()


def badge(s: Summary, paused_at: str = "") -> str:
    parts = []
    if s.state == "paused":
        parts.append(f"{theme.pause_glyph()} {paused_at or 'paused'}")
    if s.error:
        parts.append("✖ error")
    if s.findings:
        parts.append(f"⚠ {s.findings}")
    return "  ".join(parts)


class Counts:
    """Totals for the status bar, kept up to date row by row."""

    __slots__ = ("errors", "exchanges", "findings")

    def __init__(self) -> None:
        self.exchanges = self.errors = self.findings = 0

    def add(self, s: Summary, sign: int = 1) -> None:
        self.exchanges += sign
        self.errors += sign * is_error(s)
        self.findings += sign * s.findings


def is_error(s: Summary) -> bool:
    return bool(s.error) or (s.status is not None and s.status >= 500)


class ExchangeModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Summary] = []
        self._row_of: dict[int, int] = {}
        self._paused_at: dict[int, str] = {}  # row id -> phase, while stepping
        self.counts = Counts()
        self._italic = QFont()
        self._italic.setItalic(True)

    # -- Qt model API --------------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(HEADERS):
            if role == Qt.ItemDataRole.DisplayRole:
                return HEADERS[section]
            if role == Qt.ItemDataRole.TextAlignmentRole and section in NUMERIC:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemNeverHasChildren)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.parent().isValid():
            return None
        row, col = index.row(), index.column()
        if not (0 <= row < len(self._rows) and 0 <= col < len(HEADERS)):
            return None
        s = self._rows[row]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(s, col)
        if role == SORT_ROLE:
            return self._sort_key(s, col)
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == COL_BADGE and s.state == "paused":
                return theme.accent_color()
            if col == COL_STATUS:
                return theme.status_color(s.status if s.status is not None
                                          else 500 if s.error else None)
            if col == COL_BADGE and (s.error or s.findings):
                return theme.severity_color("error" if s.error else "warning")
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and col in NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and s.state in ("active", "paused"):
            return self._italic
        if role == Qt.ItemDataRole.BackgroundRole and s.state == "paused":
            return theme.paused_background()
        if role == Qt.ItemDataRole.ToolTipRole:
            if s.state == "paused":
                where = self._paused_at.get(s.id, "")
                return (f"Paused{' at ' + where if where else ''}: the client is waiting. "
                        "Select it to see and edit this phase's data; F10 steps, F8 "
                        "continues, Shift+F8 continues every paused request.")
            return self._tooltip(s, col)
        if role == SUMMARY_ROLE:
            return s
        if role == ID_ROLE:
            return s.id
        return None

    def _display(self, s: Summary, col: int) -> str:
        if col == COL_ID:
            return str(s.id)
        if col == COL_TIME:
            return clock(s.start)
        if col == COL_METHOD:
            return s.method
        if col == COL_PATH:
            return f"{s.path}?{s.query}" if s.query else s.path
        if col == COL_STATUS:
            if s.status is None:
                if s.state in ("active", "paused"):
                    return "…"
                return "(500)" if s.error else "—"
            return str(s.status)
        if col == COL_TYPE:
            return short_type(s.content_type)
        if col == COL_SIZE:
            return human_size(s.response_size)
        if col == COL_DURATION:
            if s.state == "paused":
                return "paused"
            return "running…" if s.state == "active" else human_duration(s.duration)
        return badge(s, self._paused_at.get(s.id, ""))

    @staticmethod
    def _sort_key(s: Summary, col: int) -> Any:
        if col == COL_ID:
            return s.id
        if col == COL_TIME:
            return s.start
        if col == COL_METHOD:
            return s.method
        if col == COL_PATH:
            return f"{s.path}?{s.query}" if s.query else s.path
        if col == COL_STATUS:
            return s.status if s.status is not None else 500 if s.error else 0
        if col == COL_TYPE:
            return short_type(s.content_type)
        if col == COL_SIZE:
            return s.response_size
        if col == COL_DURATION:
            return float(s.duration) if s.duration is not None else -1.0
        return (100000 if s.error else 0) + s.findings

    @staticmethod
    def _tooltip(s: Summary, col: int) -> str | None:
        if col == COL_PATH:
            return f"{s.path}?{s.query}" if s.query else s.path
        if col == COL_TYPE:
            return s.content_type or None
        if col == COL_BADGE and (s.error or s.findings):
            what = []
            if s.error:
                what.append("the app raised an exception")
            if s.findings:
                what.append(f"{s.findings} PEP 3333 finding(s)")
            return "; ".join(what)
        if col == COL_STATUS and s.status is None and s.error:
            return ("The app raised before calling start_response: no status was set, "
                    "so the server answered 500 Internal Server Error on its behalf.")
        if col == COL_DURATION and s.state == "active":
            return "still running"
        return None

    # -- reading ----------------------------------------------------------------------
    def summary(self, row: int) -> Summary:
        return self._rows[row]

    def summaries(self) -> list[Summary]:
        return self._rows

    def row_of(self, xid: int) -> int | None:
        return self._row_of.get(xid)

    def paused_at(self, xid: int) -> str:
        return self._paused_at.get(xid, "")

    def set_paused(self, phases: dict[int, str]) -> None:
        """Where each paused exchange waits (``received``, ``chunk 2``...), for the badge."""
        changed = {xid for xid in set(phases) | set(self._paused_at)
                   if phases.get(xid) != self._paused_at.get(xid)}
        self._paused_at = dict(phases)
        for xid in changed:
            row = self._row_of.get(xid)
            if row is not None:
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(HEADERS) - 1))

    # -- changes (GUI thread, from the bridge's signals) -------------------------------
    def reset(self, summaries: list[Summary]) -> None:
        self.beginResetModel()
        self._rows = list(summaries)
        self._reindex()
        self.counts = Counts()
        for s in self._rows:
            self.counts.add(s)
        self.endResetModel()

    def clear(self) -> None:
        self.reset([])

    def add(self, summaries: list[Summary]) -> None:
        new = [s for s in summaries if s.id not in self._row_of]
        if not new:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
        self._rows.extend(new)
        for i, s in enumerate(new, first):
            self._row_of[s.id] = i
            self.counts.add(s)
        self.endInsertRows()

    def update(self, summaries: list[Summary]) -> None:
        rows = []
        for s in summaries:
            row = self._row_of.get(s.id)
            if row is None:
                continue
            self.counts.add(self._rows[row], -1)
            self.counts.add(s)
            self._rows[row] = s
            rows.append(row)
        if not rows:
            return
        # One dataChanged per contiguous run of rows: usually one or two per flush.
        rows.sort()
        last = len(HEADERS) - 1
        start = prev = rows[0]
        for row in [*rows[1:], None]:
            if row is not None and row == prev + 1:
                prev = row
                continue
            self.dataChanged.emit(self.index(start, 0), self.index(prev, last))
            if row is not None:
                start = prev = row

    def remove(self, summaries: list[Summary]) -> None:
        rows = sorted({self._row_of[s.id] for s in summaries if s.id in self._row_of},
                      reverse=True)
        if not rows:
            return
        # Remove contiguous runs from the bottom up, so earlier rows keep their index.
        runs: list[tuple[int, int]] = []
        for row in rows:
            if runs and runs[-1][0] == row + 1:
                runs[-1] = (row, runs[-1][1])
            else:
                runs.append((row, row))
        for first, last in runs:
            self.beginRemoveRows(QModelIndex(), first, last)
            for s in self._rows[first:last + 1]:
                self.counts.add(s, -1)
            del self._rows[first:last + 1]
            self.endRemoveRows()
        self._reindex()

    def _reindex(self) -> None:
        self._row_of = {s.id: i for i, s in enumerate(self._rows)}


class ExchangeFilterProxy(QSortFilterProxyModel):
    """Sorting on the raw keys, and the quick filter (see inspector.host.summaryfilter)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)
        self._text = ""
        self._accepts = summaryfilter.parse("")

    @property
    def filter_text(self) -> str:
        return self._text

    def set_filter_text(self, text: str) -> None:
        if text == self._text:
            return
        self.beginFilterChange()
        self._text = text
        self._accepts = summaryfilter.parse(text)
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        if source_parent.isValid():
            return False
        model = self.sourceModel()
        if isinstance(model, ExchangeModel):
            if not 0 <= source_row < len(model.summaries()):
                return False
            return self._accepts(model.summary(source_row))
        return True
