"""An exception the app caught and logged: Findings & errors shows it with a
traceback whose file:line opens the editor at that line; the Output tab shows
the log record whole, expandable and copyable."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QGuiApplication

from tests.gui.gui_helpers import http_request, wait_rows
from ui import desktop

APP = '''import logging


def app(environ, start_response):
    try:
        ratio = 1 / 0  # RAISES HERE
    except ZeroDivisionError:
        logging.getLogger("gui.handled").exception("Exception on / [GET]")
        ratio = None
    body = f"ratio: {ratio}".encode()
    start_response("500 Internal Server Error", [("Content-Type", "text/plain"),
                                                 ("Content-Length", str(len(body)))])
    return [body]
'''

# Stands in for an editor: writes the arguments it was started with to a file.
EDITOR = '''import json, sys
with open(sys.argv[1] + ".tmp", "w") as out:
    json.dump(sys.argv[2:], out)
import os
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
'''


@pytest.fixture
def handled_window(qtbot, make_window, tmp_path):
    app_file = tmp_path / "gui_handled_app.py"
    app_file.write_text(APP)
    window = make_window("gui_handled_app:app", app_dir=str(tmp_path))
    http_request(window.url)
    wait_rows(qtbot, window, 1)
    window.select_id(window.model.summary(0).id)
    line = next(i for i, text in enumerate(APP.splitlines(), 1) if "RAISES HERE" in text)
    return window, app_file, line


def test_handled_error_shown_and_opened_at_its_line(qtbot, handled_window, tmp_path,
                                                    monkeypatch) -> None:
    window, app_file, line = handled_window
    pane = window.findings
    title = pane.error_title.text()
    assert "ZeroDivisionError" in title and "division by zero" in title
    assert "handled" in title and "500 Internal Server Error" in title
    assert "No exception" not in title
    html = pane.traceback.toHtml()
    links = re.findall(r'href="([^"]+)"', html)
    target = next(link for link in links if link.startswith("file://")
                  and link.endswith(f"#line={line}"))
    assert QUrl(target).toLocalFile() == str(app_file)

    record = tmp_path / "editor-args.json"
    (tmp_path / "editor.py").write_text(EDITOR)
    monkeypatch.setenv("VISUAL", f"{sys.executable} {tmp_path / 'editor.py'} {record}")
    with qtbot.waitSignal(pane.open_location) as opened:
        pane.traceback.anchorClicked.emit(QUrl(target))
    assert opened.args == [str(app_file), line]
    qtbot.waitUntil(record.exists, timeout=10000)
    assert record.read_text() == f'["+{line}", "{app_file}"]'


def test_log_record_with_traceback_is_whole_in_output(qtbot, handled_window) -> None:
    window, _, _ = handled_window
    tree = window.output.tree
    item = next(tree.topLevelItem(i) for i in range(tree.topLevelItemCount())
                if tree.topLevelItem(i).text(3) == "gui.handled")
    assert item.text(4).startswith("Exception on / [GET]   (+")
    assert item.childCount() >= 4  # "Traceback ...", a frame and its line, the exception
    lines = [item.child(i).text(4) for i in range(item.childCount())]
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[-1] == "ZeroDivisionError: division by zero"
    tree.expandItem(item)
    assert item.isExpanded()

    tree.clearSelection()
    item.setSelected(True)
    copy = next(a for a in tree.actions() if a.text() == "Copy")
    copy.trigger()
    copied = QGuiApplication.clipboard().text()
    assert copied == "\n".join(["Exception on / [GET]", *lines])

    tree.clearSelection()
    item.child(item.childCount() - 1).setSelected(True)
    copy.trigger()
    assert QGuiApplication.clipboard().text() == "ZeroDivisionError: division by zero"


@pytest.mark.parametrize(("editor", "expected"), [
    ("gedit", ["gedit", "+12", "/p/a.py"]),
    ("emacsclient -n", ["emacsclient", "-n", "+12", "/p/a.py"]),
    ("code --wait", ["code", "--wait", "-g", "/p/a.py:12"]),
    ("/usr/bin/subl", ["/usr/bin/subl", "/p/a.py:12"]),
    ("pycharm", ["pycharm", "--line", "12", "/p/a.py"]),
    ("vim", None),  # needs a terminal: the desktop opens the file instead
    ("emacs -nw", None),
    ("", None),
])
def test_editor_command(editor: str, expected: list[str] | None) -> None:
    assert desktop.editor_command(editor, "/p/a.py", 12) == expected


def test_without_an_editor_the_desktop_opens_the_file(monkeypatch, tmp_path: Path) -> None:
    opened: list[QUrl] = []
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", "nano")
    monkeypatch.setattr(desktop, "open_url", lambda url: opened.append(url) or True)
    assert desktop.open_file_at(str(tmp_path / "a.py"), 3)
    assert [u.toLocalFile() for u in opened] == [str(tmp_path / "a.py")]


def test_flow_says_a_handled_error_was_caught_not_raised(qtbot, handled_window) -> None:
    from ui.flow_view import flow_nodes, node_detail_html

    window, _, _ = handled_window
    x = window.current_exchange()
    app_node = next(n for n in flow_nodes(x) if n.key == "app")
    assert app_node.state == "error" and app_node.label == "caught and logged ZeroDivisionError"
    detail = node_detail_html(x, "app")
    assert "caught it and logged the traceback" in detail
    assert "500 Internal Server Error" in detail
