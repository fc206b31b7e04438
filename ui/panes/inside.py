"""Inside: what the app did while it served this exchange: its SQL queries (the same
statement grouped, with duration bars and the line that ran it), its template
renders (nested in order) and its outbound HTTP calls.

Double-click a row (or press Enter) to open its source line in the editor. The
selected query's SQL is shown whole below the list, highlighted.
"""

from __future__ import annotations

import html
import os
from collections import defaultdict
from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QRect, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QLabel,
    QScrollArea,
    QSplitter,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTabWidget,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.inside import OutboundCall, ProfileNode, Query, TemplateRender, shape, top_functions
from inspector.model import Exchange

from .. import desktop, theme
from ..flame import FlameGraph
from ..highlight import Highlighter
from ..timeline import fmt_ms

SOURCE = Qt.ItemDataRole.UserRole  # a row's "path:LINE in function"
FRACTION = Qt.ItemDataRole.UserRole + 1  # a row's duration against the longest, 0..1
SQL = Qt.ItemDataRole.UserRole + 2  # a query row's whole statement
CONTEXT = Qt.ItemDataRole.UserRole + 3  # the row holding a template's context keys

QUERY_COLUMNS = ("Time", "Duration", "", "Rows", "Line", "SQL")
BAR = 2
Q_LINE, Q_SQL = 4, 5
T_BAR = 3
F_BAR = 2


class BarDelegate(QStyledItemDelegate):
    """Paints a row's duration as a bar as long as its share of the longest."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex) -> None:
        super().paint(painter, option, index)
        fraction = index.data(FRACTION)
        if not isinstance(fraction, float):
            return
        rect: QRect = option.rect.adjusted(3, 5, -3, -5)
        width = max(int(rect.width() * min(fraction, 1.0)), 2)
        painter.save()
        colour = QColor(theme.accent_color())
        colour.setAlpha(170)
        painter.fillRect(QRect(rect.left(), rect.top(), width, rect.height()), colour)
        painter.restore()


class InsidePane(QWidget):
    open_location = Signal(str, int)  # path, line: a source line was asked for

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.base_dir = ""  # relative source paths are the app's: under its folder
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.queries = self._tree(QUERY_COLUMNS, (96, 70, 90, 45, 190))
        self.queries.currentItemChanged.connect(self._show_sql)
        self.sql = QTextBrowser()
        self.sql.setFont(theme.mono_font())
        self.sql.setPlaceholderText("Select a query to read its whole statement.")
        # The bodies' highlighter: the same colours, and they follow a light <-> dark switch.
        self.sql_highlighter = Highlighter(self.sql.document())
        queries = QSplitter(Qt.Orientation.Vertical)
        queries.addWidget(self.queries)
        queries.addWidget(self.sql)
        queries.setStretchFactor(0, 3)
        queries.setStretchFactor(1, 1)
        # The template's name first: its column shows the nesting.
        self.templates = self._tree(("Template", "Time", "Duration", "", "Engine", "Line"),
                                    (230, 70, 70, 90, 60), bar=T_BAR)
        self.outbound = self._tree(("Time", "Duration", "", "Method", "Status", "URL", "Sent",
                                    "Size", "Line"), (96, 70, 90, 60, 50, 280, 50, 60))
        self.flame = FlameGraph()
        self.flame.frame_clicked.connect(self._open_file)
        flame_scroll = QScrollArea()
        flame_scroll.setWidgetResizable(True)
        flame_scroll.setWidget(self.flame)
        self.functions = self._tree(("Function", "Own", "", "Cumulative", "Calls", "Line"),
                                    (260, 70, 90, 80, 50), bar=F_BAR)
        profile = QSplitter(Qt.Orientation.Vertical)
        profile.addWidget(flame_scroll)
        profile.addWidget(self.functions)
        profile.setStretchFactor(0, 3)
        profile.setStretchFactor(1, 2)
        profile.setSizes([360, 240])
        self.sections = QTabWidget()
        self.sections.setDocumentMode(True)
        self.sections.addTab(queries, "SQL")
        self.sections.addTab(self.templates, "Templates")
        self.sections.addTab(self.outbound, "Outbound HTTP")
        self.sections.addTab(profile, "Profile")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.sections, 1)
        self.show_exchange(None)

    def _tree(self, columns: tuple[str, ...], widths: tuple[int, ...], bar: int = BAR
              ) -> QTreeWidget:
        tree = QTreeWidget()
        tree.setHeaderLabels(list(columns))
        tree.setAlternatingRowColors(True)
        tree.setUniformRowHeights(True)
        tree.setIndentation(14)
        tree.setItemDelegateForColumn(bar, BarDelegate(tree))
        for col, width in enumerate(widths):
            tree.setColumnWidth(col, width)
        tree.itemActivated.connect(self._open_source)
        return tree

    # -- showing ---------------------------------------------------------------------------
    def show_exchange(self, x: Exchange | None) -> None:
        for tree in (self.queries, self.templates, self.outbound, self.functions):
            tree.clear()
        self.sql_highlighter.set_text("", "")
        self.flame.set_profile(x.profile if x is not None else None)
        if x is None:
            self.summary.setText("")
            return
        self.summary.setText(_summary(x))
        self._fill_queries(x.queries)
        self._fill_templates(x.templates)
        self._fill_outbound(x.outbound)
        if x.profile is not None:
            self._fill_functions(x.profile)
        titles = (f"SQL ({len(x.queries)})", f"Templates ({len(x.templates)})",
                  f"Outbound HTTP ({len(x.outbound)})",
                  "Profile ✓" if x.profile is not None else "Profile")
        for index, title in enumerate(titles):
            self.sections.setTabText(index, title)
        if x.profile is not None and self.sections.currentIndex() != 3:
            self.sections.setCurrentIndex(3)
        elif not x.queries and x.profile is None:
            first = 1 if x.templates else 2 if x.outbound else 0
            self.sections.setCurrentIndex(first)

    def _fill_queries(self, queries: list[Query]) -> None:
        longest = max((q.duration for q in queries), default=0.0) or 1.0
        groups: dict[str, list[Query]] = defaultdict(list)
        for q in queries:
            groups[shape(q.sql)].append(q)
        for runs in groups.values():  # in the order each statement first ran
            if len(runs) == 1:
                self.queries.addTopLevelItem(self._query_item(runs[0], longest))
                continue
            total = sum(q.duration for q in runs)
            rows = [q.rows for q in runs if q.rows is not None]
            group = QTreeWidgetItem([fmt_ms(runs[0].t), fmt_ms(total), "",
                                     str(sum(rows)) if rows else "", _sources(runs),
                                     f"{len(runs)}\u00d7 {_one_line(runs[0].sql)}"])
            group.setData(BAR, FRACTION, min(total / longest, 1.0) if longest else 0.0)
            group.setData(0, SOURCE, runs[0].source)
            group.setData(0, SQL, runs[0].sql)
            group.setToolTip(Q_LINE, runs[0].source)
            group.setFont(Q_SQL, theme.mono_font())
            group.setForeground(Q_SQL, theme.severity_color("warning"))
            group.setToolTip(Q_SQL, f"The same statement ran {len(runs)} times: an N+1 when it "
                                "runs once per row of an earlier query.")
            for q in runs:
                group.addChild(self._query_item(q, longest))
            self.queries.addTopLevelItem(group)

    def _query_item(self, q: Query, longest: float) -> QTreeWidgetItem:
        text = _one_line(q.sql) + (f"   ← {q.params}" if q.params else "")
        item = QTreeWidgetItem([fmt_ms(q.t), fmt_ms(q.duration), "",
                                "" if q.rows is None else str(q.rows), short(q.source), text])
        item.setToolTip(Q_LINE, q.source)
        item.setData(BAR, FRACTION, q.duration / longest)
        item.setData(0, SOURCE, q.source)
        item.setData(0, SQL, q.sql + (f"\n-- parameters: {q.params}" if q.params else "")
                     + "".join(f"\n-- {'called from' if i == 0 else '          '} {line}"
                               for i, line in enumerate(q.stack)))
        item.setFont(Q_SQL, theme.mono_font())
        item.setToolTip(Q_SQL, q.db)
        if q.error:
            item.setForeground(Q_SQL, theme.severity_color("error"))
            item.setToolTip(Q_SQL, q.error)
        return item

    def _fill_templates(self, renders: list[TemplateRender]) -> None:
        longest = max((r.duration for r in renders), default=0.0) or 1.0
        parents: list[QTreeWidgetItem] = []
        for r in sorted(renders, key=lambda r: r.t):  # the order they started in
            item = QTreeWidgetItem([r.name, fmt_ms(r.t), fmt_ms(r.duration), "", r.engine,
                                    short(r.source)])
            item.setToolTip(5, r.source)
            item.setData(T_BAR, FRACTION, r.duration / longest)
            item.setData(0, SOURCE, r.source)
            if r.error:
                item.setForeground(0, theme.severity_color("error"))
                item.setToolTip(0, r.error)
            if r.context:
                context = QTreeWidgetItem([f"context: {len(r.context)} keys"])
                context.setData(0, CONTEXT, True)
                for key, value in r.context.items():
                    child = QTreeWidgetItem([f"{key} = {value}"])
                    child.setFont(0, theme.mono_font())
                    context.addChild(child)
                item.addChild(context)
            del parents[r.depth:]
            if parents:
                parents[-1].addChild(item)
            else:
                self.templates.addTopLevelItem(item)
            parents.append(item)
        # The nesting stays open; each context starts folded.
        self.templates.expandAll()
        for item in _all_items(self.templates):
            if item.data(0, CONTEXT):
                item.setExpanded(False)
                for index in range(item.childCount()):  # a long value reads across
                    item.child(index).setFirstColumnSpanned(True)

    def _fill_outbound(self, calls: list[OutboundCall]) -> None:
        longest = max((c.duration for c in calls), default=0.0) or 1.0
        for c in calls:
            item = QTreeWidgetItem([fmt_ms(c.t), fmt_ms(c.duration), "", c.method,
                                    "" if c.status is None else str(c.status), c.url,
                                    _size(c.sent), _size(c.size), short(c.source)])
            item.setToolTip(5, c.url)
            item.setToolTip(8, c.source)
            item.setData(BAR, FRACTION, c.duration / longest)
            item.setData(0, SOURCE, c.source)
            colour = theme.status_color(c.status) if c.status is not None else None
            if c.error:
                colour = theme.severity_color("error")
                item.setToolTip(4, c.error)
                item.setText(4, "failed")
            if colour is not None:
                item.setForeground(4, colour)
            self.outbound.addTopLevelItem(item)

    def _fill_functions(self, root: ProfileNode) -> None:
        rows = top_functions(root)
        longest = max((r["own"] for r in rows), default=0.0) or 1.0
        for r in rows:
            where = f"{r['file']}:{r['line']}" if r["file"] else ""
            item = QTreeWidgetItem([r["name"], fmt_ms(r["own"]), "", fmt_ms(r["cumulative"]),
                                    str(r["calls"]), short(where)])
            item.setData(F_BAR, FRACTION, r["own"] / longest)
            item.setToolTip(5, where)
            if r["user"]:  # the user's code: in the accent colour, and it opens
                item.setForeground(0, theme.accent_color())
                item.setData(0, SOURCE, f"{where} in {r['name']}")
            self.functions.addTopLevelItem(item)

    def _open_file(self, path: str, line: int) -> None:
        where = location(f"{path}:{line} in ?", self.base_dir)
        if where is not None:
            self.open_location.emit(*where)
            desktop.open_file_at(*where)

    def _show_sql(self, item: QTreeWidgetItem | None, _previous: Any = None) -> None:
        text = item.data(0, SQL) if item is not None else None
        if not text:
            self.sql_highlighter.set_text("", "")
            return
        self.sql_highlighter.set_text("sql", text)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:  # light <-> dark: colours for it
            self.sql_highlighter.restyle()
        super().changeEvent(event)

    # -- opening the source line -------------------------------------------------------------
    def _open_source(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        where = location(item.data(0, SOURCE) or "", self.base_dir)
        if where is not None:
            self.open_location.emit(*where)
            desktop.open_file_at(*where)


def inside_title(x: Exchange | None) -> str:
    """The pane's tab title: "Inside", with the counts when there is something."""
    if x is None or not (x.queries or x.templates or x.outbound):
        return "Inside"
    counts = [f"{len(x.queries)} SQL" if x.queries else "",
              f"{len(x.templates)} tpl" if x.templates else "",
              f"{len(x.outbound)} http" if x.outbound else ""]
    return f"Inside ({', '.join(c for c in counts if c)})"


def app_folder(launch: Any) -> str:
    """The folder the app runs in (its relative source paths start there)."""
    if launch is None:
        return ""
    return os.path.abspath(getattr(launch, "app_dir", "") or os.getcwd())


def location(source: str, base_dir: str = "") -> tuple[str, int] | None:
    """``(path, line)`` of a "path:LINE in function" source, or None."""
    place = source.rsplit(" in ", 1)[0]
    path, _, line = place.rpartition(":")
    if not path or not line.isdigit():
        return None
    if not os.path.isabs(path) and base_dir:
        path = os.path.join(base_dir, path)
    return path, int(line)


def _summary(x: Exchange) -> str:
    if not (x.queries or x.templates or x.outbound):
        return ("Nothing inside this exchange ran SQL, rendered a template or called out over "
                "HTTP (sqlite3, Django, SQLAlchemy, Jinja2, http.client, requests and httpx "
                "are watched once the app imports them).")
    parts = []
    if x.queries:
        total = sum(q.duration for q in x.queries)
        distinct = len({shape(q.sql) for q in x.queries})
        parts.append(f"<b>{len(x.queries)}</b> quer{'y' if len(x.queries) == 1 else 'ies'} "
                     f"({distinct} distinct) in {fmt_ms(total)}")
    if x.templates:
        top = [r for r in x.templates if r.depth == 0]
        parts.append(f"<b>{len(x.templates)}</b> template render"
                     f"{'s' if len(x.templates) != 1 else ''} in "
                     f"{fmt_ms(sum(r.duration for r in top))}")
    if x.outbound:
        parts.append(f"<b>{len(x.outbound)}</b> outbound call"
                     f"{'s' if len(x.outbound) != 1 else ''} in "
                     f"{fmt_ms(sum(c.duration for c in x.outbound))}")
    repeated = sum(f.code == "repeated-query" for f in x.findings)
    warn = (f' · <b style="color:{theme.severity_color("warning").name()}">'
            f"{repeated} repeated statement{'s' if repeated != 1 else ''} (N+1)</b>"
            if repeated else "")
    return " · ".join(parts) + warn + html.escape("  — double-click a row to open its line.")


def _one_line(sql: str) -> str:
    return " ".join(sql.split())


def _sources(runs: list[Query]) -> str:
    places = {q.source for q in runs}
    return short(runs[0].source) if len(places) == 1 else f"{len(places)} places"


def short(source: str) -> str:
    """A source without its folders: ``book_row.html:1 in root``."""
    return source.replace("\\", "/").rsplit("/", 1)[-1]


def _size(size: int | None) -> str:
    return "" if size is None else str(size)


def _all_items(tree: QTreeWidget) -> list[QTreeWidgetItem]:
    found: list[QTreeWidgetItem] = []
    todo = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    while todo:
        item = todo.pop()
        found.append(item)
        todo += [item.child(i) for i in range(item.childCount())]
    return found
