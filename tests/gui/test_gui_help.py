"""Help ▸ Keyboard Shortcuts (F1, ?), View ▸ Theme, one Step item, the empty list's
invitation, file dialogs that start in the app's folder."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication

from tests.gui.gui_helpers import http_request, wait_rows
from ui import desktop, theme
from ui.help_menu import ShortcutsDialog


def menu(window, title: str):
    return next(a.menu() for a in window.menuBar().actions() if a.text() == title)


def test_f1_and_question_mark_list_every_shortcut_from_the_actions(qtbot, make_window):
    window = make_window()
    help_menu = menu(window, "&Help")
    assert help_menu.actions()[0].text() == "&Keyboard Shortcuts"
    window.activateWindow()
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_F1)
    dialog = window.shortcuts_dialog
    assert isinstance(dialog, ShortcutsDialog) and dialog.isVisible()
    rows = dialog.rows()
    keys = {(what, k) for _where, what, k in rows}
    assert ("Step", "F10") in keys and ("Continue", "F8") in keys
    assert ("Reload", "F5, Ctrl+R") in keys
    assert ("Delete", "Del, Backspace") in keys
    assert ("Keyboard Shortcuts", "F1") in keys
    assert ("First or last exchange", "Home, End") in keys
    dialog.close()
    # A new action with a key is listed the next time: nothing is written twice.
    extra = QAction("Frobnicate", window)
    extra.setShortcut(QKeySequence("Ctrl+Shift+Y"))
    window.addAction(extra)
    qtbot.keyClicks(window.table, "?")
    again = window.shortcuts_dialog
    assert again is not dialog and again.isVisible()
    assert ("Window", "Frobnicate", "Ctrl+Shift+Y") in again.rows()
    again.close()


def test_one_checkable_step_item(qtbot, make_window):
    window = make_window()
    step = menu(window, "S&tep")
    checkable = [a.text() for a in step.actions() if a.isCheckable()]
    assert checkable == ["Step the &Next Request"]


def test_theme_switch_is_applied_and_remembered(qtbot, make_window, tmp_path):
    settings = QSettings(str(tmp_path / "theme.ini"), QSettings.Format.IniFormat)
    window = make_window(settings_=settings, start=False)
    actions = window.theme_actions
    assert actions["system"].isChecked()
    try:
        actions["dark"].trigger()
        assert theme.is_dark()
        qtbot.waitUntil(lambda: theme.is_dark(window.palette()))
        assert actions["dark"].isChecked() and not actions["system"].isChecked()
        qtbot.waitUntil(lambda: window.model.colors().status[2].name() == "#6fd08c")
        actions["light"].trigger()
        assert not theme.is_dark()
        actions["dark"].trigger()
        window.close()
        QApplication.setPalette(QApplication.style().standardPalette())  # forget it
        second = make_window(settings_=settings, start=False)
        assert second.theme_actions["dark"].isChecked() and theme.is_dark()
    finally:
        theme.apply_scheme(QApplication.instance(), Qt.ColorScheme.Light)
        settings.setValue("view/theme", "system")


def test_empty_list_says_which_url_to_open(qtbot, make_window, monkeypatch):
    opened = []
    monkeypatch.setattr(desktop, "open_url", lambda url: opened.append(url.toString()))
    window = make_window()
    label = window.table.empty
    assert label.isVisible()
    assert window.url in label.text() and "curl" in label.text()
    label.linkActivated.emit(window.url)
    assert opened == [window.url]
    http_request(window.url, path="/first")
    wait_rows(qtbot, window, 1)
    assert not label.isVisible()
    window.set_filter("path:/nothing-like-it")
    assert label.isVisible() and "matches the filter" in label.text()


def test_file_dialogs_start_in_the_apps_folder_then_the_last_used(qtbot, make_window,
                                                                 tmp_path, monkeypatch):
    app_dir = tmp_path / "project"
    app_dir.mkdir()
    (app_dir / "proj_app.py").write_text("def app(e, s):\n    s('200 OK', [])\n    return []\n")
    window = make_window("proj_app:app", app_dir=str(app_dir))
    assert window._start_dir(window.app_folder()) == str(app_dir)
    from ui.open_app_dialog import OpenAppDialog

    seen = []
    monkeypatch.setattr("ui.open_app_dialog.QFileDialog.getOpenFileName",
                        lambda parent, title, folder, filters: seen.append(folder) or ("", ""))
    monkeypatch.setattr(OpenAppDialog, "exec", lambda self: self._browse() or 0)
    window.choose_app()  # File ▸ Open App… ▸ Browse…
    assert seen == [str(app_dir)]
    other = tmp_path / "elsewhere"
    other.mkdir()
    window._remember_dir(str(other / "x.har"))
    assert window._start_dir(window.app_folder()) == str(other)


def _scope(window, action: QAction) -> object:
    """Where an action's keys act: the whole window, or the one widget holding it."""
    if action.shortcutContext() in (Qt.ShortcutContext.WindowShortcut,
                                    Qt.ShortcutContext.ApplicationShortcut):
        return window
    return action.parent()


def shortcut_clashes(window) -> list[str]:
    """"key: one and other" for each key two actions of one place both answer."""
    taken: dict[tuple[int, str], str] = {}
    clashes = []
    for action in window.findChildren(QAction):
        for key in action.shortcuts():
            if key.isEmpty():
                continue
            where = (id(_scope(window, action)), key.toString())
            what = action.text().replace("&", "")
            if where in taken and taken[where] != what:
                clashes.append(f"{key.toString()}: {taken[where]} and {what}")
            taken.setdefault(where, what)
    return clashes


def test_no_two_actions_share_a_shortcut(qtbot, make_window):
    window = make_window()
    assert shortcut_clashes(window) == []
    # The check sees a clash when there is one (a key Compare with… has).
    extra = QAction("Duplicate", window)
    extra.setShortcut(QKeySequence("Ctrl+D"))
    window.addAction(extra)
    assert shortcut_clashes(window) == ["Ctrl+D: Compare with… and Duplicate"] or \
        shortcut_clashes(window) == ["Ctrl+D: Duplicate and Compare with…"]


def _mnemonic(text: str) -> str:
    """The letter after a single "&" (Alt+letter in its menu), or ""."""
    marked = text.replace("&&", "").partition("&")[2]
    return marked[:1].lower()


def test_no_two_entries_of_a_menu_share_an_alt_letter(qtbot, make_window):
    window = make_window()
    clashes = []
    menus = [("menu bar", window.menuBar().actions())]
    while menus:
        title, actions = menus.pop()
        letters: dict[str, str] = {}
        for action in actions:
            letter = _mnemonic(action.text())
            if letter and letter in letters:
                clashes.append(f"{title}: {letters[letter]} and {action.text()}")
            letters.setdefault(letter, action.text())
            if action.menu() is not None:
                menus.append((action.text(), action.menu().actions()))
    assert clashes == []
