"""The exchange list at a laptop's size: columns, the column chooser, keys that move the
selection with the cursor, the row menu, the Step dock coming and going."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem

from tests.gui.gui_helpers import http_request, wait_rows
from ui.exchange_model import (
    COL_BADGE,
    COL_DURATION,
    COL_ID,
    COL_METHOD,
    COL_PATH,
    COL_SIZE,
    COL_STATUS,
    COL_TIME,
    COL_WATERFALL,
    SUMMARY_ROLE,
)
from ui.row_menu import build_row_menu

DEFAULT = (COL_ID, COL_METHOD, COL_PATH, COL_STATUS, COL_SIZE, COL_DURATION)


def test_default_columns_fit_a_laptop_window(qtbot, make_window):
    window = make_window()
    window.resize(1280, 780)
    window.restore_settings()  # a first start: the default layout at 1280x780
    http_request(window.url, path="/a/rather/long/path/that/goes/on/and/on/to/the/end.html")
    wait_rows(qtbot, window, 1)
    QApplication.processEvents()
    table = window.table
    for col in DEFAULT:
        assert not table.isColumnHidden(col)
        assert table.columnViewportPosition(col) + table.columnWidth(col) \
            <= table.viewport().width()
    assert table.horizontalScrollBar().maximum() == 0  # nothing behind a scrollbar
    assert table.isColumnHidden(COL_TIME) and table.isColumnHidden(COL_WATERFALL)
    option = QStyleOptionViewItem()
    table.itemDelegateForColumn(COL_PATH).initStyleOption(option, window.proxy.index(0, COL_PATH))
    assert option.textElideMode == Qt.TextElideMode.ElideMiddle  # both ends of a path


def test_header_menu_chooses_columns_and_they_are_remembered(qtbot, make_window, tmp_path):
    settings = QSettings(str(tmp_path / "columns.ini"), QSettings.Format.IniFormat)
    window = make_window(settings_=settings)
    http_request(window.url, path="/x")
    wait_rows(qtbot, window, 1)
    menu = window.table.column_menu()
    by_text = {a.text(): a for a in menu.actions() if a.isCheckable()}
    assert {"Time", "Type", "Findings", "Waterfall"} <= set(by_text)
    assert "Path" not in by_text
    assert not by_text["Waterfall"].isChecked()
    by_text["Waterfall"].setChecked(True)
    by_text["Size"].setChecked(False)
    assert not window.table.isColumnHidden(COL_WATERFALL)
    assert window.table.columnWidth(COL_WATERFALL) > 40
    assert window.table.isColumnHidden(COL_SIZE)
    view = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    columns = next(a.menu() for a in view.actions() if a.text() == "&Columns")
    columns.aboutToShow.emit()  # View ▸ Columns: the same choice
    assert {a.text(): a.isChecked() for a in columns.actions() if a.isCheckable()}["Waterfall"]
    window.close()
    again = make_window(settings_=settings, start=False)
    assert not again.table.isColumnHidden(COL_WATERFALL)
    assert again.table.isColumnHidden(COL_SIZE)
    assert not again.table.isColumnHidden(COL_BADGE)


def current_path(window) -> str:
    index = window.table.currentIndex()
    return index.data(SUMMARY_ROLE).path


def selected_paths(window) -> list[str]:
    return [window.model.summary(window.model.row_of(i)).path for i in window.selected_ids()]


def test_the_selection_follows_every_key_that_moves(qtbot, make_window):
    window = make_window()
    for n in range(5):
        http_request(window.url, path=f"/{n}")
    wait_rows(qtbot, window, 5)
    window.set_follow(False)
    window.select_id(window.model.summary(1).id)
    table = window.table
    table.setFocus()
    moves = [(Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier, "/2"),
             (Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier, "/4"),
             (Qt.Key.Key_Home, Qt.KeyboardModifier.NoModifier, "/0"),
             (Qt.Key.Key_End, Qt.KeyboardModifier.NoModifier, "/4"),
             (Qt.Key.Key_K, Qt.KeyboardModifier.NoModifier, "/3"),
             (Qt.Key.Key_K, Qt.KeyboardModifier.NoModifier, "/2"),
             (Qt.Key.Key_J, Qt.KeyboardModifier.NoModifier, "/3"),
             (Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier, "/2"),
             (Qt.Key.Key_Up, Qt.KeyboardModifier.NoModifier, "/1")]
    for key, mods, path in moves:
        qtbot.keyClick(table, key, mods)
        assert current_path(window) == path, (key, mods)
        assert selected_paths(window) == [path], (key, mods)
        assert window.overview.text("Request").startswith(f"GET {path} ")
    # Delete: the next row is selected (and shown), not just made current.
    qtbot.keyClick(table, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: window.model.rowCount() == 4)
    assert selected_paths(window) == ["/2"] and current_path(window) == "/2"
    assert window.overview.text("Request").startswith("GET /2 ")
    # Enter: the keyboard goes to the panes.
    qtbot.keyClick(table, Qt.Key.Key_Return)
    focus = QApplication.focusWidget()
    assert focus is not None and window.tabs.isAncestorOf(focus)


def test_row_menu_filters_to_path_method_and_status(qtbot, make_window):
    window = make_window()
    http_request(window.url, path="/keep")
    http_request(window.url, path="/other")
    http_request(window.url, method="POST", path="/keep", body=b"x")
    wait_rows(qtbot, window, 3)
    s = window.model.summary(0)
    texts = {a.text(): a for a in build_row_menu(window, s).actions()}
    assert "Delete" in texts and "Copy URL" in texts
    texts["Filter to This Path (/keep)"].trigger()
    assert window.filter_edit.text() == "path:/keep"
    assert window.proxy.rowCount() == 2
    texts["Filter to This Method (GET)"].trigger()
    assert window.filter_edit.text() == "path:/keep method:GET"
    assert window.proxy.rowCount() == 1
    texts["Filter to This Status (200)"].trigger()
    assert window.proxy.rowCount() == 1


def test_row_menu_is_one_menu_in_order_with_delete_last(qtbot, make_window):
    window = make_window()
    http_request(window.url, path="/keep")
    wait_rows(qtbot, window, 1)
    menu = build_row_menu(window, window.model.summary(0))
    texts = [("---" if a.isSeparator() else a.text().replace("&", "")) for a in menu.actions()]
    assert texts == ["Resend", "Edit and Resend…", "---", "Copy As", "Copy URL",
                     "Copy Response Body", "Save Body As…", "---", "Compare with…", "---",
                     "Filter to This Path (/keep)", "Filter to This Method (GET)",
                     "Filter to This Status (200)", "---", "Delete"]
    # Without a row under the mouse: no filter entries, one separator before Delete.
    texts = [("---" if a.isSeparator() else a.text().replace("&", ""))
             for a in build_row_menu(window, None).actions()]
    assert texts[-3:] == ["Compare with…", "---", "Delete"]


def test_step_dock_comes_with_a_pause_and_goes_after_it_and_the_flow_fits(qtbot, make_window):
    import threading

    window = make_window()
    window.resize(1280, 780)
    assert not window.step_dock.isVisible()
    window.set_step_next(True)
    done = threading.Event()
    threading.Thread(target=lambda: (http_request(window.url, path="/step", timeout=20),
                                     done.set()), daemon=True).start()
    qtbot.waitUntil(lambda: bool(window.stepper.pauses) and window.step_dock.isVisible(),
                    timeout=10000)
    assert window.tabs.currentWidget() is window.flow
    qtbot.waitUntil(lambda: window.flow.view.current_node == "environ")
    # The whole diagram is in view beside the dock: scaled, not scrolled.
    flow = window.flow
    assert flow.scroll.verticalScrollBar().maximum() == 0
    assert flow.scroll.horizontalScrollBar().maximum() == 0
    nodes = flow.view.layout_nodes()
    assert all(flow.view.rect().toRectF().contains(r) for r in nodes.values())
    window.continue_all()
    qtbot.waitUntil(done.is_set, timeout=10000)
    qtbot.waitUntil(lambda: not window.stepper.pauses and not window.step_dock.isVisible())
    window.step_dock.show()  # saved while shown (a pause had just ended)...
    window.save_settings()
    window.restore_settings()
    assert not window.step_dock.isVisible()  # ...an empty dock does not come back
    assert "Step" not in [a.text() for a in window.menuBar().actions()[3].menu().actions()
                          if a.isCheckable() and a is not window.actions_by_name["step_mode"]]
