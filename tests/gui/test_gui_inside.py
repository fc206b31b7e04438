"""The Inside pane: an exchange's SQL (grouped, with bars and its lines), templates
and outbound calls, from the ORM and templates example served in the window."""

from __future__ import annotations

import pytest

from tests.gui.gui_helpers import http_request, wait_rows
from ui.panes import inside as inside_pane

pytest.importorskip("flask")
pytest.importorskip("sqlalchemy")


def test_inside_pane_groups_the_n_plus_1_and_opens_its_line(qtbot, make_window,
                                                           monkeypatch) -> None:
    opened: list[tuple[str, int]] = []
    monkeypatch.setattr(inside_pane.desktop, "open_file_at",
                        lambda path, line: opened.append((path, line)) or True)
    window = make_window("inspector.examples.orm_templates:app")
    assert http_request(window.url, path="/").status == 200
    assert http_request(window.url, path="/books?fast=1").status == 200
    wait_rows(qtbot, window, 2)
    slow, fast = window.model.summary(0), window.model.summary(1)
    # 5 books by 4 authors: the session loads each author once
    assert (slow.queries, fast.queries) == (5, 2)

    window.select_id(slow.id)
    pane = window.inside
    assert window.tabs.tabText(window.tabs.indexOf(pane)) == "Inside (5 SQL, 7 tpl)"
    tree = pane.queries
    assert tree.topLevelItemCount() == 2  # the book list, then the author query 4 times
    first, group = tree.topLevelItem(0), tree.topLevelItem(1)
    assert first.text(5).startswith("SELECT book.id, book.title")
    assert group.text(5).startswith("4\u00d7 SELECT author.id") and group.childCount() == 4
    assert group.text(4) == "book_row.html:1 in root"
    assert group.toolTip(4) == "inspector/examples/templates/book_row.html:1 in root"
    assert all(group.child(i).data(inside_pane.BAR, inside_pane.FRACTION) <= 1.0
               for i in range(4))
    assert "N+1" in pane.summary.text()

    tree.setCurrentItem(first)
    assert "FROM" in pane.sql.toPlainText() and "book" in pane.sql.toPlainText()

    pane.queries.itemActivated.emit(group.child(0), 0)
    path, line = opened[-1]
    assert path.endswith("inspector/examples/templates/book_row.html") and line == 1

    pane.sections.setCurrentIndex(1)
    top = pane.templates.topLevelItem(0)
    assert (top.text(0), pane.templates.topLevelItemCount()) == ("books.html", 1)
    base = top.child(1)  # its context row comes first
    assert base.text(0) == "base.html" and base.isExpanded()
    rows = [base.child(i).text(0) for i in range(base.childCount())]
    assert rows == ["book_row.html"] * 5

    window.select_id(fast.id)
    assert pane.queries.topLevelItemCount() == 2 and "N+1" not in pane.summary.text()
    assert window.tabs.tabText(window.tabs.indexOf(pane)).startswith("Inside (2 SQL")


def test_inside_pane_says_when_nothing_ran(qtbot, make_window) -> None:
    window = make_window()
    http_request(window.url)
    wait_rows(qtbot, window, 1)
    window.select_id(window.model.summary(0).id)
    assert window.tabs.tabText(window.tabs.indexOf(window.inside)) == "Inside"
    assert "Nothing inside this exchange" in window.inside.summary.text()
    assert window.inside.queries.topLevelItemCount() == 0


def test_profile_the_next_request_draws_its_flame_graph(qtbot, make_window,
                                                        monkeypatch) -> None:
    from PySide6.QtCore import QPoint, Qt

    opened: list[tuple[str, int]] = []
    monkeypatch.setattr(inside_pane.desktop, "open_file_at",
                        lambda path, line: opened.append((path, line)) or True)
    window = make_window("inspector.examples.orm_templates:app")
    assert window.profile_next()
    http_request(window.url, path="/")
    http_request(window.url, path="/authors")  # only the first one is profiled
    wait_rows(qtbot, window, 2)
    window.select_id(window.model.summary(0).id)
    window.tabs.setCurrentWidget(window.inside)
    pane = window.inside
    assert pane.sections.currentIndex() == 3 and pane.sections.tabText(3) == "Profile ✓"
    root = pane.flame.root
    assert root is not None and root.name == "app(environ, start_response)"
    names = {pane.functions.topLevelItem(i).text(0)
             for i in range(pane.functions.topLevelItemCount())}
    assert names  # the top functions by own time

    def user_nodes(node):
        return ([node] if node.user else []) + [n for c in node.children for n in user_nodes(c)]
    books = next(n for n in user_nodes(root) if n.name == "books")
    assert books.file == "inspector/examples/orm_templates.py" and books.total > 0
    pane.flame.resize(1000, 2000)
    pane.flame.repaint()
    rect = next(r for r, n in pane.flame._bars if n is books)
    qtbot.mouseClick(pane.flame, Qt.MouseButton.LeftButton, pos=QPoint(
        int(rect.center().x()), int(rect.center().y())))
    path, line = opened[-1]
    assert path.endswith("inspector/examples/orm_templates.py") and line > 1

    window.select_id(window.model.summary(1).id)
    assert pane.flame.root is None and pane.sections.tabText(3) == "Profile"


def test_an_n_plus_1_finding_reads_without_a_pep_section(qtbot, make_window) -> None:
    window = make_window("inspector.examples.orm_templates:app")
    http_request(window.url, path="/")
    wait_rows(qtbot, window, 1)
    window.select_id(window.model.summary(0).id)
    text = window.findings.findings.toPlainText()
    assert "1 finding" in text and "PEP 3333" not in text
    assert "repeated-query" in text and "The same query ran 4 times" in text


def test_the_flow_shows_what_ran_inside_the_app_call(qtbot, make_window) -> None:
    from ui.flow_view import flow_nodes, node_detail_html

    window = make_window("inspector.examples.orm_templates:app")
    http_request(window.url, path="/")
    wait_rows(qtbot, window, 1)
    x = window.store.get(window.model.summary(0).id)
    app = next(n for n in flow_nodes(x) if n.key == "app")
    assert app.label == "called · 5 SQL queries · 7 templates"
    detail = node_detail_html(x, "app")
    assert "Inside the call" in detail and detail.count("<b>SQL</b>") == 5
    assert detail.index("books.html") < detail.index("book_row.html")


def test_whole_stacks_of_queries_on_demand(qtbot, make_window, tmp_path) -> None:
    app = tmp_path / "stacked.py"
    app.write_text(
        "import sqlite3\n\n"
        "def lookup(conn):\n"
        "    return conn.execute('SELECT 1').fetchone()\n\n"
        "def app(environ, start_response):\n"
        "    conn = sqlite3.connect(':memory:')\n"
        "    lookup(conn)\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [b'ok']\n")
    window = make_window("stacked:app", app_dir=str(tmp_path))
    http_request(window.url)
    window.stacks_action.setChecked(True)
    http_request(window.url)
    wait_rows(qtbot, window, 2)
    before, after = (window.store.get(window.model.summary(i).id) for i in (0, 1))
    assert before.queries[0].stack == []
    assert [line.split(" in ")[1] for line in after.queries[0].stack] == ["lookup", "app"]
    window.select_id(window.model.summary(1).id)
    window.inside.queries.setCurrentItem(window.inside.queries.topLevelItem(0))
    shown = window.inside.sql.toPlainText()
    assert "-- called from " in shown and "stacked.py:4 in lookup" in shown
    window.stacks_action.setChecked(False)


def test_the_slow_query_threshold_is_a_setting(qtbot, make_window, settings,
                                               monkeypatch) -> None:
    from PySide6.QtWidgets import QInputDialog

    from inspector import inside
    from ui import inside_settings

    before = inside.SLOW_QUERY
    try:
        window = make_window()
        monkeypatch.setattr(QInputDialog, "getInt", lambda *args: (1, True))
        assert inside_settings.ask(window, settings)
        assert inside.SLOW_QUERY == 0.001 and inside_settings.slow_query_ms(settings) == 1
        settings.setValue(inside_settings.SLOW_QUERY_MS, "not a number")
        inside_settings.apply(settings)
        assert inside.SLOW_QUERY == 0.001  # kept: the file's value is unreadable
    finally:
        inside.set_slow_query(before)


def test_profile_the_next_request_matching_a_filter(qtbot, make_window, monkeypatch) -> None:
    from PySide6.QtWidgets import QInputDialog

    window = make_window("inspector.examples.orm_templates:app")
    monkeypatch.setattr(QInputDialog, "getText", lambda *args: ("path:/authors", True))
    assert window.profile_matching()
    http_request(window.url, path="/")
    http_request(window.url, path="/authors")
    wait_rows(qtbot, window, 2)
    profiled = [window.store.get(window.model.summary(i).id).profile is not None
                for i in range(2)]
    assert profiled == [False, True]


def test_a_profile_filter_that_needs_the_answer_is_refused_in_a_sentence(
        make_window, monkeypatch) -> None:
    from PySide6.QtWidgets import QInputDialog

    window = make_window("inspector.examples.orm_templates:app")
    monkeypatch.setattr(QInputDialog, "getText", lambda *args: ("status:500", True))
    assert not window.profile_matching()
    assert window.statusBar().currentMessage().startswith("Not profiled: ")


def test_the_sql_is_coloured_by_the_bodies_highlighter_and_follows_dark(qtbot, make_window):
    from PySide6.QtWidgets import QApplication

    from ui import theme

    window = make_window("inspector.examples.orm_templates:app")
    assert http_request(window.url, path="/").status == 200
    wait_rows(qtbot, window, 1)
    window.select_id(window.model.summary(0).id)
    pane = window.inside
    pane.queries.setCurrentItem(pane.queries.topLevelItem(0))
    assert pane.sql.toPlainText().startswith("SELECT")

    def keyword_colour() -> str:
        ranges = pane.sql.document().firstBlock().layout().formats()
        first = next(r for r in ranges if r.start == 0)  # SELECT
        return first.format.foreground().color().name()

    light = keyword_colour()
    app = QApplication.instance()
    theme.apply_scheme(app, theme.Qt.ColorScheme.Dark)
    try:
        qtbot.waitUntil(lambda: keyword_colour() != light)
    finally:
        theme.apply_scheme(app, theme.Qt.ColorScheme.Light)
    qtbot.waitUntil(lambda: keyword_colour() == light)


def test_every_pane_tab_shows_at_1280_with_inside_counts(qtbot, make_window):
    window = make_window("inspector.examples.orm_templates:app")
    window.resize(1280, 780)
    assert http_request(window.url, path="/").status == 200
    wait_rows(qtbot, window, 1)
    window.select_id(window.model.summary(0).id)
    window.tabs.setCurrentWidget(window.inside)
    bar = window.tabs.tabBar()
    qtbot.waitUntil(lambda: bar.width() > 0 and window.tabs.tabText(
        window.tabs.indexOf(window.inside)).startswith("Inside (5 SQL"))
    last = bar.tabRect(bar.count() - 1)
    assert last.right() <= bar.width(), [window.tabs.tabText(i) for i in range(bar.count())]
