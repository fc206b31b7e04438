"""The exchange list: a table model over the store's summaries, and the rows the table shows.

:class:`ExchangeModel` keeps the summaries it was told about (through
:class:`StoreBridge` signals) in store order, plus an id → row index; it never
reads the store on its own, so what it shows always matches the signals it
has processed. :class:`ExchangeFilterProxy` is what the table displays: the
quick filter and the sort order over that model. No per-row widgets.

Both are built for a list that grows by thousands of rows a second. Every
call from Qt into Python costs far more than the Python work it does (and
under load the GUI thread may first wait for the GIL), and a table view makes
many: seven ``data()`` calls per visible cell on every repaint. Hence:

- a cell is a lookup: a row's display strings are made once, the first time
  the row is shown (most rows of a flood never are), and dropped when its
  summary changes; colours are made once per palette; alignments and headers
  are constants;
- ``flags()`` is not overridden: Qt's own answer for a table (enabled,
  selectable, no children) is the same and needs no call into Python;
- with no filter and the store's order ("#" ascending, the default) the proxy
  keeps nothing: display row n is model row n, and a thousand new rows are one
  insert signal rather than a thousand sorted inserts.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Union

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from inspector.host import summaryfilter
from inspector.host.store import SERVER_ONLY, Summary

from . import theme
from .body_text import plural

COL_ID, COL_TIME, COL_METHOD, COL_PATH, COL_STATUS, COL_TYPE, COL_SIZE, COL_DURATION, \
    COL_BADGE, COL_QUERIES, COL_WATERFALL, COL_APP = range(12)
HEADERS = ("#", "Time", "Method", "Path", "Status", "Type", "Size", "Duration", "Findings",
           "Queries", "Waterfall", "App")
COLUMNS = len(HEADERS)
NUMERIC = frozenset({COL_ID, COL_SIZE, COL_DURATION, COL_QUERIES})
# A summary may carry a count of SQL queries (when the app's SQL is recorded); the
# Queries column is offered only then.
HAS_QUERIES = "queries" in Summary._fields

SORT_ROLE = Qt.ItemDataRole.UserRole
SUMMARY_ROLE = Qt.ItemDataRole.UserRole + 1
ID_ROLE = Qt.ItemDataRole.UserRole + 2
SECTION_ROLE = Qt.ItemDataRole.UserRole + 3  # which app section a row is in (0, 1, ...)

# Qt passes roles to data() as plain ints; comparing and hashing ints is the fast path.
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_FONT = int(Qt.ItemDataRole.FontRole)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
_BACKGROUND = int(Qt.ItemDataRole.BackgroundRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
ALIGNMENTS = tuple(_RIGHT if col in NUMERIC else None for col in range(COLUMNS))
IN_FLIGHT = frozenset({"active", "paused"})  # such rows are shown in italics
DROPPED = "dropped"  # the app's process died while serving: the client got no reply

AnyIndex = Union[QModelIndex, QPersistentModelIndex]
# (the column's raw key, a tie-break, the exchange id): unique and totally ordered. The
# tie-break keeps equal keys in store order in either direction, as a stable sort does.
SortKey = tuple[Any, int, int]


# -- texts and keys of one summary ----------------------------------------------------

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


RESENT_GLYPH = "↻"  # a row the window sent again (Resend, Edit and Resend)


def badge(s: Summary, paused_at: str = "") -> str:
    parts = []
    if s.state == "paused":
        parts.append(f"{theme.pause_glyph()} {paused_at or 'paused'}")
    if s.state == "aborted":  # its error, if any, is the cut the user asked for
        parts.append("⊘ aborted by you")
    elif s.state == SERVER_ONLY:
        parts.append("⇠ waitress")
    elif s.error:
        parts.append("✖ error")
    if s.findings:
        parts.append(f"⚠ {s.findings}")
    if s.resent_from is not None:  # sent again from the window: its origin, by number
        parts.append(f"{RESENT_GLYPH} #{s.resent_from}")
    return "  ".join(parts)


def path_text(s: Summary) -> str:
    if s.state == SERVER_ONLY and not s.method:  # no request line waitress could read
        return f"(malformed request) {s.path}".rstrip()
    return f"{s.path}?{s.query}" if s.query else s.path


def status_code(s: Summary) -> int | None:
    """The status the client got: the app's, or 500 when it raised before choosing one
    (none when the app's process died: the connection closed without a reply)."""
    if s.status is not None:
        return s.status
    return 500 if s.error and s.state != DROPPED else None


def status_text(s: Summary) -> str:
    if s.status is not None:
        return str(s.status)
    if s.state in IN_FLIGHT:
        return "…"
    if s.state == DROPPED:  # no status reached the client; the tooltip says why
        return "—"
    return "(500)" if s.error else "—"


def duration_text(s: Summary) -> str:
    if s.state == "paused":
        return "paused"
    return "running…" if s.state == "active" else human_duration(s.duration)


def short_app(spec: str) -> str:
    """``pkg.mod:app`` -> ``mod:app``, ``path/to/web.py`` -> ``web.py``: enough to tell
    the apps of one session apart."""
    module, colon, attr = spec.partition(":")
    module = module.replace("\\", "/").rsplit("/", 1)[-1]
    if not module.endswith(".py"):
        module = module.rsplit(".", 1)[-1]
    return module + colon + attr


def queries_of(s: Summary) -> int | None:
    value = getattr(s, "queries", None)
    return value if isinstance(value, int) else None


def display_texts(s: Summary, paused_at: str = "", app: str = "") -> tuple[str, ...]:
    """Every column's text for one summary, in column order (the waterfall is drawn)."""
    queries = queries_of(s)
    return (str(s.id), clock(s.start), s.method, path_text(s), status_text(s),
            short_type(s.content_type), human_size(s.response_size), duration_text(s),
            badge(s, paused_at), "" if queries is None else str(queries), "", app)


def sort_key(s: Summary, col: int) -> Any:
    """The raw value a column sorts by (numbers as numbers, not as their text)."""
    if col == COL_ID:
        return s.id
    if col in (COL_TIME, COL_WATERFALL):
        return s.start
    if col == COL_QUERIES:
        return queries_of(s) or 0
    if col == COL_APP:
        return s.id  # sections follow the ids
    if col == COL_METHOD:
        return s.method
    if s.state == SERVER_ONLY and col in (COL_METHOD, COL_PATH, COL_STATUS, COL_BADGE):
        return ("Answered by waitress; the app was not called: the server could not "
                "accept this request" + (f" ({path_text(s)})." if col == COL_PATH else "."))
    if col == COL_PATH:
        return path_text(s)
    if col == COL_STATUS:
        return status_code(s) or 0
    if col == COL_TYPE:
        return short_type(s.content_type)
    if col == COL_SIZE:
        return s.response_size
    if col == COL_DURATION:
        return float(s.duration) if s.duration is not None else -1.0
    return (100000 if s.error else 0) + s.findings


def tooltip(s: Summary, col: int, paused_at: str = "") -> str | None:
    if s.state == "paused":
        return (f"Paused{' at ' + paused_at if paused_at else ''}: the client is waiting. "
                "Select it to see and edit this phase's data; F10 steps, F8 "
                "continues, Shift+F8 continues every paused request.")
    if s.state == "aborted" and col in (COL_STATUS, COL_BADGE):
        return ("You aborted this request while stepping. A 502 here is WSGI Inspector's "
                "answer, not the app's; otherwise the connection was cut.")
    if s.state == SERVER_ONLY and col in (COL_METHOD, COL_PATH, COL_STATUS, COL_BADGE):
        return ("Answered by waitress; the app was not called: the server could not "
                "accept this request" + (f" ({path_text(s)})." if col == COL_PATH else "."))
    if col == COL_PATH:
        return path_text(s)
    if col == COL_TYPE:
        return s.content_type or None
    if col == COL_BADGE and (s.error or s.findings or s.resent_from is not None):
        what = []
        if s.error:
            what.append("the app raised an exception")
        if s.findings:
            what.append(f"{plural(s.findings, 'PEP 3333 finding')}")
        if s.resent_from is not None:
            what.append(f"sent again from #{s.resent_from}")
        return "; ".join(what)
    if col == COL_STATUS and s.status is None and s.state == DROPPED:
        return ("No reply (connection dropped): the app's process died while serving "
                "this request, and the client's connection closed with it.")
    if col == COL_STATUS and s.status is None and s.error:
        return ("The app raised before calling start_response: no status was set, "
                "so the server answered 500 Internal Server Error on its behalf.")
    if col == COL_DURATION and s.state == "active":
        return "still running"
    if col == COL_WATERFALL:
        took = human_duration(s.duration) or "running"
        return f"Started at {clock(s.start)}; took {took}"
    return None


def end_of(s: Summary) -> float:
    """When the exchange ended (its start while it runs): the waterfall's right edge."""
    return s.start + (s.duration or 0.0)


def header_data(section: int, orientation: Qt.Orientation, role: int) -> Any:
    if orientation != Qt.Orientation.Horizontal or not 0 <= section < COLUMNS:
        return None
    if role == _DISPLAY:
        return HEADERS[section]
    if role == _ALIGNMENT:
        return ALIGNMENTS[section]
    return None


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
    if s.state == "aborted":  # the user's doing: its 502 or cut is not the app's error
        return False
    return bool(s.error) or (s.status is not None and s.status >= 500)


class ListColors:
    """The list's colours for one palette (light or dark), made once rather than per cell."""

    __slots__ = ("accent", "error", "paused", "status", "warning")

    def __init__(self) -> None:
        self.status: dict[int, QColor | None] = {
            n: theme.status_color(n * 100) for n in range(1, 6)}  # by status class
        self.accent = theme.accent_color()
        self.error = theme.severity_color("error")
        self.warning = theme.severity_color("warning")
        self.paused = theme.paused_background()


# -- the model: every listed exchange, in store order ------------------------------------

MAX_REMOVE_RUNS = 32  # more separate runs of rows to remove than this: one reset instead


class ExchangeModel(QAbstractTableModel):
    """Every summary the bridge announced, in store order; cells answered from caches."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Summary] = []
        self._texts: list[tuple[str, ...] | None] = []  # per row, made when first shown
        self._row_of: dict[int, int] = {}
        self._paused_at: dict[int, str] = {}  # row id -> phase, while stepping
        self._colors: ListColors | None = None  # made on first use (needs the application)
        self.counts = Counts()
        self._span: tuple[float, float] | None = None  # the waterfall's time range
        # Sections: exchange ids from _section_ids[i] on were served by _section_apps[i].
        self._section_ids: list[int] = []
        self._section_apps: list[str] = []
        self._italic = QFont()
        self._italic.setItalic(True)

    # -- Qt model API (flags() is Qt's own: see the module docstring) ------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else COLUMNS

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = _DISPLAY) -> Any:
        return header_data(section, orientation, role)

    def data(self, index: AnyIndex, role: int = _DISPLAY) -> Any:
        return self.cell(index.row(), index.column(), role)

    def cell(self, row: int, col: int, role: int) -> Any:
        """One role of one cell, by row and column (no index needed: the views' hot path)."""
        answer = CELL_ROLES.get(role)
        if answer is None or not (0 <= row < len(self._rows) and 0 <= col < COLUMNS):
            return None
        return answer(self, row, col)

    # Each answers one role for (row, column), both already checked; see CELL_ROLES.
    def _display(self, row: int, col: int) -> str:
        texts = self._texts[row]
        if texts is None:
            s = self._rows[row]
            section = self.section_of(s.id)
            app = short_app(self._section_apps[section]) if section >= 0 else ""
            texts = self._texts[row] = display_texts(s, self._paused_at.get(s.id, ""), app)
        return texts[col]

    def _font(self, row: int, col: int) -> QFont | None:
        return self._italic if self._rows[row].state in IN_FLIGHT else None

    def _alignment(self, row: int, col: int) -> int | None:
        return ALIGNMENTS[col]

    def _foreground(self, row: int, col: int) -> QColor | None:
        if col == COL_STATUS:
            code = status_code(self._rows[row])
            return None if code is None else self.colors().status.get(code // 100)
        if col == COL_BADGE:
            s = self._rows[row]
            if s.state == "paused":
                return self.colors().accent
            if s.error:
                return self.colors().error
            if s.findings:
                return self.colors().warning
        return None

    def _background(self, row: int, col: int) -> QColor | None:
        return self.colors().paused if self._rows[row].state == "paused" else None

    def _tooltip(self, row: int, col: int) -> str | None:
        s = self._rows[row]
        return tooltip(s, col, self._paused_at.get(s.id, ""))

    def _sort_key(self, row: int, col: int) -> Any:
        return sort_key(self._rows[row], col)

    def _summary(self, row: int, col: int) -> Summary:
        return self._rows[row]

    def _id(self, row: int, col: int) -> int:
        return self._rows[row].id

    def _section(self, row: int, col: int) -> int:
        return self.section_of(self._rows[row].id)

    # -- app sections: switching apps starts a new part of the list ---------------------
    def start_section(self, app: str) -> None:
        """Exchanges from now on are ``app``'s (their ids follow every listed one)."""
        last = self._rows[-1].id if self._rows else 0
        self._section_ids, self._section_apps = add_section(
            (self._section_ids, self._section_apps), app, last)

    def section_of(self, xid: int) -> int:
        """The index of the app section exchange ``xid`` belongs to (-1: none known)."""
        return bisect.bisect_right(self._section_ids, xid) - 1

    def section_count(self) -> int:
        return len(self._section_apps)

    def section_app(self, section: int) -> str:
        """The spec of the app that served section ``section``."""
        return self._section_apps[section] if 0 <= section < len(self._section_apps) else ""

    def sections(self) -> Sections:
        return list(self._section_ids), list(self._section_apps)

    def set_sections(self, sections: Sections) -> None:
        """Replace the sections (another session shown: it has its own, or none)."""
        self._section_ids, self._section_apps = list(sections[0]), list(sections[1])
        self._texts = [None] * len(self._rows)

    # -- colours --------------------------------------------------------------------------
    def colors(self) -> ListColors:
        if self._colors is None:
            self._colors = ListColors()
        return self._colors

    def refresh_colors(self) -> None:
        """The palette changed (light <-> dark): make the colours again, repaint the rows."""
        self._colors = None
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, COLUMNS - 1),
                                  [_FOREGROUND, _BACKGROUND])

    # -- the waterfall's time range (kept as rows come: never a scan per paint) ---------
    def _widen(self, s: Summary) -> None:
        if self._span is None:  # not known yet: time_span works it out when asked
            return
        end = end_of(s)
        if s.start < self._span[0] or end > self._span[1]:
            self._span = (min(self._span[0], s.start), max(self._span[1], end))

    def time_span(self) -> tuple[float, float] | None:
        """(first start, last end) over the listed exchanges, for the waterfall; worked
        out on first use, so a session opened with the waterfall hidden never pays it."""
        if self._span is None and self._rows:
            self._span = (min(s.start for s in self._rows), max(map(end_of, self._rows)))
        return self._span

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
        rows = [row for row in map(self._row_of.get, changed) if row is not None]
        for row in rows:
            self._texts[row] = None
        self._emit_changed(rows)

    # -- changes (GUI thread, from the bridge's signals) -------------------------------
    def reset(self, summaries: Iterable[Summary]) -> None:
        self.beginResetModel()
        self._rows = list(summaries)
        self._texts = [None] * len(self._rows)
        self._reindex()
        self.counts = Counts()
        self._span = None
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
        self._texts.extend([None] * len(new))
        for i, s in enumerate(new, first):
            self._row_of[s.id] = i
            self.counts.add(s)
            self._widen(s)
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
            self._texts[row] = None  # made again when next shown
            self._widen(s)
            rows.append(row)
        self._emit_changed(rows)

    def remove(self, summaries: list[Summary]) -> None:
        rows = sorted({self._row_of[s.id] for s in summaries if s.id in self._row_of},
                      reverse=True)
        if not rows:
            return
        runs = descending_runs(rows)
        if len(runs) > MAX_REMOVE_RUNS:  # scattered rows: one reset costs less than many removals
            gone = {self._rows[row].id for row in rows}
            self.reset([s for s in self._rows if s.id not in gone])
            return
        # Contiguous runs from the bottom up, so earlier rows keep their index; the index
        # is exact again before each endRemoveRows, for whoever reads it in between.
        for first, last in runs:
            self.beginRemoveRows(QModelIndex(), first, last)
            for s in self._rows[first:last + 1]:
                self.counts.add(s, -1)
                del self._row_of[s.id]
            del self._rows[first:last + 1]
            del self._texts[first:last + 1]
            self._reindex(first)
            self.endRemoveRows()

    def _reindex(self, start: int = 0) -> None:
        if start == 0:
            self._row_of = {s.id: i for i, s in enumerate(self._rows)}
            return
        row_of, rows = self._row_of, self._rows
        for i in range(start, len(rows)):
            row_of[rows[i].id] = i

    def _emit_changed(self, rows: list[int]) -> None:
        """One dataChanged per contiguous run of rows: usually one or two per flush."""
        for first, last in ascending_runs(sorted(rows)):
            self.dataChanged.emit(self.index(first, 0), self.index(last, COLUMNS - 1))


# role -> how ExchangeModel answers it for (row, column); any other role is None.
CELL_ROLES: dict[int, Callable[[ExchangeModel, int, int], Any]] = {
    _DISPLAY: ExchangeModel._display,
    _FONT: ExchangeModel._font,
    _ALIGNMENT: ExchangeModel._alignment,
    _FOREGROUND: ExchangeModel._foreground,
    _BACKGROUND: ExchangeModel._background,
    _TOOLTIP: ExchangeModel._tooltip,
    int(SORT_ROLE): ExchangeModel._sort_key,
    int(SUMMARY_ROLE): ExchangeModel._summary,
    int(ID_ROLE): ExchangeModel._id,
    int(SECTION_ROLE): ExchangeModel._section,
}


Sections = tuple[list[int], list[str]]  # (first exchange id, app) of each section


def add_section(sections: Sections, app: str, last_id: int) -> Sections:
    """``sections`` with ``app`` serving the exchanges after ``last_id``."""
    ids, apps = list(sections[0]), list(sections[1])
    if apps and apps[-1] == app:
        return ids, apps
    if ids and ids[-1] > last_id:  # nothing came since the last switch: it never served
        apps[-1] = app
    else:
        ids.append(last_id + 1)
        apps.append(app)
    return ids, apps


def ascending_runs(rows: list[int]) -> list[tuple[int, int]]:
    """(first, last) of each run of consecutive numbers in a sorted list."""
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and runs[-1][1] + 1 == row:
            runs[-1] = (runs[-1][0], row)
        elif not runs or runs[-1][1] != row:
            runs.append((row, row))
    return runs


def descending_runs(rows: list[int]) -> list[tuple[int, int]]:
    """(first, last) of each run of consecutive numbers in a list sorted high to low."""
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and runs[-1][0] == row + 1:
            runs[-1] = (row, runs[-1][1])
        else:
            runs.append((row, row))
    return runs


# -- the proxy: the rows the table shows ----------------------------------------------------

class ExchangeFilterProxy(QAbstractTableModel):
    """The quick filter (see inspector.host.summaryfilter) and the sort order over an
    ExchangeModel, sorting on the raw keys.

    In the default view (no filter; "#" ascending or no sort column) display row n is
    source row n and nothing is kept. Otherwise ``_keys`` holds one :data:`SortKey` per
    shown row, ascending (a descending order reads it from the end), and source
    changes are followed row by row (insert, move, remove, change), so the selection
    and the scroll position survive live updates. Changing the filter or the order
    re-lays the rows out once, keeping the selection.

    The source only ever resets, appends, changes and removes rows; its row order is
    ascending ids (the store's order), which is what "#" ascending means.

    This replaces a QSortFilterProxyModel, which under load re-sorted on every insert
    and turned each cell's ``data()`` into three calls into Python (the source's
    ``index()`` asks ``rowCount()`` and ``columnCount()`` before ``data()`` itself).
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._source: ExchangeModel | None = None
        self._text = ""
        self._accepts: summaryfilter.Predicate = summaryfilter.accept_all
        self._sort_column = -1  # -1: the source's order
        self._descending = False
        self._keys: list[SortKey] | None = None  # None: every source row, in source order
        self._key_of: dict[int, SortKey] = {}  # id -> its key in _keys

    # -- configuration -------------------------------------------------------------------
    def setSourceModel(self, model: ExchangeModel) -> None:
        self.beginResetModel()
        if self._source is not None:
            for signal, slot in self._source_signals(self._source):
                signal.disconnect(slot)
        self._source = model
        for signal, slot in self._source_signals(model):
            signal.connect(slot)
        self._rebuild()
        self.endResetModel()

    def sourceModel(self) -> ExchangeModel | None:
        return self._source

    def _source_signals(self, model: ExchangeModel) -> list[tuple[Any, Callable[..., None]]]:
        return [(model.modelAboutToBeReset, self.beginResetModel),
                (model.modelReset, self._source_reset),
                (model.rowsAboutToBeInserted, self._source_inserting),
                (model.rowsInserted, self._source_inserted),
                (model.rowsAboutToBeRemoved, self._source_removing),
                (model.rowsRemoved, self._source_removed),
                (model.dataChanged, self._source_changed)]

    @property
    def filter_text(self) -> str:
        return self._text

    def set_filter_text(self, text: str) -> None:
        if text != self._text:
            self.set_filter(text, summaryfilter.parse(text))

    def set_filter(self, text: str, accepts: summaryfilter.Predicate) -> None:
        """Show the rows ``accepts`` passes (ui.list_filter gives it, with what the
        session's index found for ``text``)."""
        self._text = text
        self._relayout(lambda: setattr(self, "_accepts", accepts))

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        column = column if 0 <= column < COLUMNS else -1
        descending = column >= 0 and order == Qt.SortOrder.DescendingOrder
        if (column, descending) == (self._sort_column, self._descending):
            return

        def change() -> None:
            self._sort_column, self._descending = column, descending
        self._relayout(change)

    def sortColumn(self) -> int:
        return self._sort_column

    def sortOrder(self) -> Qt.SortOrder:
        return Qt.SortOrder.DescendingOrder if self._descending else Qt.SortOrder.AscendingOrder

    def is_pass_through(self) -> bool:
        """True in the default view: no filter, the store's order, nothing kept."""
        return self._keys is None

    # -- Qt model API ----------------------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() or self._source is None:
            return 0
        return len(self._source._rows) if self._keys is None else len(self._keys)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else COLUMNS

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = _DISPLAY) -> Any:
        return header_data(section, orientation, role)

    def data(self, index: AnyIndex, role: int = _DISPLAY) -> Any:
        answer = CELL_ROLES.get(role)
        if answer is None:
            return None
        row, col = self.source_row(index.row()), index.column()
        if row is None or not 0 <= col < COLUMNS:
            return None
        return answer(self._source, row, col)  # type: ignore[arg-type]

    # -- mapping ---------------------------------------------------------------------------
    def source_row(self, row: int) -> int | None:
        """The source row shown at display row ``row`` (None if there is none)."""
        source = self._source
        if source is None:
            return None
        keys = self._keys
        if keys is None:
            return row if 0 <= row < len(source._rows) else None
        if not 0 <= row < len(keys):
            return None
        return source._row_of.get(keys[self._position(row, len(keys))][2])

    def row_of(self, xid: int) -> int | None:
        """The display row of exchange ``xid``, None if it is not shown."""
        if self._source is None:
            return None
        if self._keys is None:
            return self._source.row_of(xid)
        key = self._key_of.get(xid)
        if key is None:
            return None
        return self._position(bisect.bisect_left(self._keys, key), len(self._keys))

    def mapToSource(self, index: AnyIndex) -> QModelIndex:
        row = self.source_row(index.row()) if index.isValid() else None
        if row is None or self._source is None:
            return QModelIndex()
        return self._source.index(row, index.column())

    def mapFromSource(self, source_index: AnyIndex) -> QModelIndex:
        if self._source is None or not source_index.isValid():
            return QModelIndex()
        row = self.row_of(self._source.summary(source_index.row()).id)
        return QModelIndex() if row is None else self.index(row, source_index.column())

    def _position(self, row: int, size: int) -> int:
        """Display row <-> index in ``_keys`` (the same map both ways)."""
        return size - 1 - row if self._descending else row

    def _key(self, s: Summary) -> SortKey:
        raw = s.id if self._sort_column < 0 else sort_key(s, self._sort_column)
        return (raw, -s.id if self._descending else s.id, s.id)

    # -- laying the rows out afresh (filter or order changed) -----------------------------------
    def _rebuild(self) -> None:
        source = self._source
        default_order = self._sort_column in (-1, COL_ID) and not self._descending
        if source is None or (default_order and self._accepts is summaryfilter.accept_all):
            self._keys, self._key_of = None, {}
            return
        accepts, key = self._accepts, self._key
        self._keys = sorted(key(s) for s in source._rows if accepts(s))
        self._key_of = {k[2]: k for k in self._keys}

    def _relayout(self, change: Callable[[], None]) -> None:
        """Apply ``change`` (filter or order) and lay the rows out again, as one layout
        change: the selection and current row follow their exchanges."""
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        ids = [self._id_at(index.row()) for index in old]
        change()
        self._rebuild()
        new = []
        for xid, index in zip(ids, old):
            row = None if xid is None else self.row_of(xid)
            new.append(QModelIndex() if row is None else self.index(row, index.column()))
        self.changePersistentIndexList(old, new)
        self.layoutChanged.emit()

    def _id_at(self, row: int) -> int | None:
        source_row = self.source_row(row)
        return None if source_row is None else self._source._rows[source_row].id  # type: ignore[union-attr]

    # -- following the source ----------------------------------------------------------------
    def _source_reset(self) -> None:
        self._rebuild()
        self.endResetModel()

    def _source_inserting(self, parent: QModelIndex, first: int, last: int) -> None:
        if self._keys is None:
            self.beginInsertRows(QModelIndex(), first, last)

    def _source_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        if self._keys is None:
            self.endInsertRows()
        elif self._source is not None:
            accepts = self._accepts
            self._insert_keys(sorted(self._key(s) for s in self._source._rows[first:last + 1]
                                     if accepts(s)))

    def _source_removing(self, parent: QModelIndex, first: int, last: int) -> None:
        if self._keys is None:
            self.beginRemoveRows(QModelIndex(), first, last)
        elif self._source is not None:
            for s in self._source._rows[first:last + 1]:
                key = self._key_of.get(s.id)
                if key is not None:
                    self._remove_key(key)

    def _source_removed(self, parent: QModelIndex, first: int, last: int) -> None:
        if self._keys is None:
            self.endRemoveRows()

    def _source_changed(self, top_left: QModelIndex, bottom_right: QModelIndex,
                        roles: Sequence[int] = ()) -> None:
        first, last = top_left.row(), bottom_right.row()
        if self._keys is None:
            self.dataChanged.emit(self.index(first, 0), self.index(last, COLUMNS - 1),
                                  list(roles))
        elif self._source is not None:
            self._follow(self._source._rows[first:last + 1])

    def _follow(self, summaries: list[Summary]) -> None:
        """Changed summaries: each row may appear, go, move or just show new data."""
        in_place: list[int] = []
        for s in summaries:
            old = self._key_of.get(s.id)
            if not self._accepts(s):
                if old is not None:
                    self._remove_key(old)
                continue
            new = self._key(s)
            if old is None:
                self._insert_keys([new])
                continue
            if new != old:
                self._move_key(old, new)
            in_place.append(s.id)
        if in_place:
            rows = sorted(row for row in map(self.row_of, in_place) if row is not None)
            for first, last in ascending_runs(rows):
                self.dataChanged.emit(self.index(first, 0), self.index(last, COLUMNS - 1))

    def _insert_keys(self, new: list[SortKey]) -> None:
        """Insert sorted keys: as one block when they all sort after the rest (newer
        exchanges under the default order do), else one by one."""
        keys = self._keys
        if not new or keys is None:
            return
        if not keys or keys[-1] < new[0]:
            size = len(keys)
            first = 0 if self._descending else size
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            keys.extend(new)
            self._key_of.update((k[2], k) for k in new)
            self.endInsertRows()
            return
        for key in new:
            i = bisect.bisect_left(keys, key)
            row = len(keys) - i if self._descending else i
            self.beginInsertRows(QModelIndex(), row, row)
            keys.insert(i, key)
            self._key_of[key[2]] = key
            self.endInsertRows()

    def _remove_key(self, key: SortKey) -> None:
        keys = self._keys
        assert keys is not None
        i = bisect.bisect_left(keys, key)
        row = self._position(i, len(keys))
        self.beginRemoveRows(QModelIndex(), row, row)
        del keys[i]
        del self._key_of[key[2]]
        self.endRemoveRows()

    def _move_key(self, old: SortKey, new: SortKey) -> None:
        """A shown row whose sort key changed: move it (a move keeps its selection)."""
        keys = self._keys
        assert keys is not None
        size = len(keys)
        i = bisect.bisect_left(keys, old)
        j = bisect.bisect_left(keys, new)
        if j > i:
            j -= 1  # its index once the old key is out
        source_row, final_row = self._position(i, size), self._position(j, size)
        if final_row != source_row:
            # Qt's destination is "before this row", counted before the move.
            destination = final_row if final_row < source_row else final_row + 1
            self.beginMoveRows(QModelIndex(), source_row, source_row, QModelIndex(),
                               destination)
        del keys[i]
        keys.insert(j, new)
        self._key_of[new[2]] = new
        if final_row != source_row:
            self.endMoveRows()
