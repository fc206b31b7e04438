"""The real window, offscreen, serving real apps and receiving real HTTP requests."""

from __future__ import annotations

import json
import threading

from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import QApplication

from tests.gui.gui_helpers import http_request, wait_rows
from ui import desktop, theme
from ui.exchange_model import COL_ID, COL_PATH, COL_STATUS


def test_launch_on_hello_rows_appear(qtbot, make_window):
    window = make_window()
    assert window.url.startswith("http://127.0.0.1:")
    assert window.url in window.url_label.text()
    reply = http_request(window.url)
    assert reply.body == b"Hello, World!\n"
    wait_rows(qtbot, window, 1)
    s = window.model.summary(0)
    assert (s.method, s.path, s.status, s.content_type) == ("GET", "/", 200, "text/plain")
    index = window.model.index(0, COL_STATUS)
    assert index.data() == "200"
    assert index.data(Qt.ItemDataRole.ForegroundRole) is not None
    assert "1 exchange" in window.counts_label.text()
    assert "Serving" in window.state_label.text()


def test_rows_appear_while_active_and_update_when_done(qtbot, make_window):
    window = make_window("inspector.examples.stream:app")
    result = {}
    client = threading.Thread(target=lambda: result.update(r=http_request(window.url)))
    client.start()
    try:
        # The streamed answer takes ~0.5 s: the row shows up before it ends.
        wait_rows(qtbot, window, 1, done=False)
        assert window.model.summary(0).state == "active"
        assert window.model.index(0, 7).data() == "running…"
        wait_rows(qtbot, window, 1)
    finally:
        client.join()
    assert result["r"].body.endswith(b"Lift-off!\n")
    s = window.model.summary(0)
    assert s.state == "complete" and s.status == 200 and s.response_size == len(result["r"].body)
    window.select_id(s.id)
    assert "chunks" in window.overview.timeline.describe()


def test_every_pane_shows_what_was_sent(qtbot, make_window):
    window = make_window("inspector.examples.json_api:app")
    body = json.dumps({"title": "Test-Driven Development", "tags": ["tdd"]}).encode()
    reply = http_request(window.url, "POST", "/api/books?lang=en&page=2", body,
                         {"Content-Type": "application/json", "X-Lesson": "wsgi-42",
                          "Cookie": "session=abc123; theme=dark"})
    assert reply.status == 201
    wait_rows(qtbot, window, 1)
    assert window.select_id(window.model.summary(0).id)
    x = window.store.get(window.current_id)

    overview = window.overview
    assert overview.text("Request") == "POST /api/books?lang=en&page=2 HTTP/1.1"
    assert overview.text("Status") == "201 Created"
    assert f"{len(body)} bytes" in overview.text("Request body")
    assert f"{len(reply.body)} bytes" in overview.text("Response body")
    assert overview.text("Duration").endswith("ms")
    assert "start_response" in overview.timeline.describe()
    assert "closed" in overview.timeline.describe()

    items = window.environ.items()
    assert items["HTTP_X_LESSON"].text(1) == "wsgi-42"
    assert items["REQUEST_METHOD"].text(1) == "POST"
    assert items["QUERY_STRING"].text(1) == "lang=en&page=2"
    assert items["wsgi.input"].text(2)  # the type is shown
    assert "method" in items["REQUEST_METHOD"].text(3).lower()  # the explanation
    assert items["REQUEST_METHOD"].parent().text(0).startswith("CGI")
    assert items["HTTP_X_LESSON"].parent().text(0).startswith("HTTP headers")
    window.environ.tree.setCurrentItem(items["PATH_INFO"])
    assert "router" in window.environ.explanation.text()  # the side text
    assert "PATH_INFO" in items["PATH_INFO"].toolTip(1)
    window.environ.search.setText("lesson")
    assert not items["HTTP_X_LESSON"].isHidden()
    assert items["REQUEST_METHOD"].isHidden()

    request = window.request
    assert ["X-Lesson", "wsgi-42"] in request.headers.rows()
    assert request.query.rows() == [["lang", "en"], ["page", "2"]]
    assert request.cookies.rows() == [["session", "abc123"], ["theme", "dark"]]
    request.body.mode.setCurrentText("Text")
    assert '"Test-Driven Development"' in request.body.text.toPlainText()
    request.body.mode.setCurrentText("Hex")
    assert "7b 22 74 69" in request.body.hex.toPlainText()  # {"ti

    response = window.response
    assert response.status.text() == "HTTP/1.1 201 Created"  # the status line sent
    assert "created" in response.meaning.text().lower()
    assert ["Content-Type", "application/json"] in response.headers.rows()
    assert response.body.current_mode == "JSON tree"
    root = response.body.tree.topLevelItem(0)
    assert {root.child(i).text(0) for i in range(root.childCount())} >= {"title", "id"}
    assert "all captured" in response.body.info.text()

    assert any("added book" in line for line in window.output.lines())
    assert x.output and window.tabs.tabText(window.tabs.indexOf(window.output)) \
        .startswith("Output (")
    assert "No PEP 3333 findings" in window.findings.findings.toPlainText()


def test_form_and_multipart_fields(qtbot, make_window):
    window = make_window("inspector.examples.form:app")
    http_request(window.url, "POST", "/", b"name=Ada&lang=Python",
                 {"Content-Type": "application/x-www-form-urlencoded"})
    boundary = "XyZ"
    multipart = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n"
                 f"hello\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                 f"filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                 f"\x00\x01\x02\r\n--{boundary}--\r\n").encode("latin-1")
    http_request(window.url, "POST", "/", multipart,
                 {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    wait_rows(qtbot, window, 2)
    window.select_id(window.model.summary(0).id)
    assert window.request.form.rows() == [["name", "Ada"], ["lang", "Python"]]
    assert any("guest book: Ada likes Python" in line for line in window.output.lines())
    window.select_id(window.model.summary(1).id)
    rows = window.request.parts.rows()
    assert rows[0] == ["note", "", "text/plain", "hello"]
    assert rows[1][:3] == ["file", "a.bin", "application/octet-stream"]


def test_error_exchange_traceback_opens_the_file(qtbot, make_window, monkeypatch):
    opened: list[QUrl] = []
    monkeypatch.setattr(desktop, "open_url", lambda url: opened.append(url) or True)
    window = make_window("inspector.examples.boom:app")
    assert http_request(window.url).status == 500
    wait_rows(qtbot, window, 1)
    s = window.model.summary(0)
    assert s.error and s.status == 500  # it raised before start_response: waitress's 500
    assert window.model.index(0, COL_STATUS).data() == "500"
    assert "error" in window.model.index(0, 8).data()
    assert "1 error" in window.counts_label.text()
    window.select_id(s.id)
    pane = window.findings
    assert "ZeroDivisionError" in pane.error_title.text()
    assert "boom.py" in pane.traceback.toPlainText()
    assert "computing the average" in "\n".join(window.output.lines())
    html = pane.traceback.toHtml()
    assert "boom.py" in html and "href" in html
    links = [part.split('"', 1)[0] for part in html.split('href="')[1:]]
    link = next(u for u in links if "boom.py" in u)
    with qtbot.waitSignal(pane.open_location) as blocker:
        pane.traceback.anchorClicked.emit(QUrl(link))
    path, line = blocker.args
    assert path.endswith("boom.py") and line > 0
    assert opened and opened[-1].toLocalFile().endswith("boom.py")


def test_lint_finding_with_pep_text(qtbot, make_window, tmp_path):
    (tmp_path / "gui_lint_app.py").write_text(
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [])\n"
        "    return [b'no content type']\n")
    window = make_window("gui_lint_app:app", app_dir=str(tmp_path))
    http_request(window.url)
    wait_rows(qtbot, window, 1)
    s = window.model.summary(0)
    assert s.findings == 0  # an info note: the list's "⚠ N" counts only problems
    window.select_id(s.id)
    text = window.findings.findings.toPlainText()
    assert "content-type-missing" in text
    assert "INFO" in text  # PEP 3333 asks for no Content-Type: a hint, not a violation
    assert "PEP 3333: Specification Details" in text
    # the sentence of the PEP the rule stands on, word for word
    assert "in a format suitable for the client" in text
    assert window.tabs.tabText(window.tabs.indexOf(window.findings)) \
        .startswith("Findings (")


def test_image_response(qtbot, make_window):
    window = make_window("inspector.examples.router:app")
    http_request(window.url, path="/badge.png")
    wait_rows(qtbot, window, 1)
    window.select_id(window.model.summary(0).id)
    body = window.response.body
    assert body.current_mode == "Image"
    assert body.image.pixmap().width() == 48


def test_quick_filter_text_and_tokens(qtbot, make_window):
    window = make_window("inspector.examples.router:app")
    for method, path in (("GET", "/"), ("GET", "/about"), ("GET", "/hello/Ada"),
                         ("GET", "/nowhere"), ("POST", "/"), ("GET", "/static/x.css")):
        http_request(window.url, method, path, b"" if method == "POST" else None)
    wait_rows(qtbot, window, 6)
    proxy = window.proxy

    def shown(text: str) -> list[str]:
        window.filter_edit.setText(text)
        return sorted(proxy.index(r, COL_PATH).data() for r in range(proxy.rowCount()))

    assert shown("hello") == ["/hello/Ada"]
    assert shown("status:4xx") == ["/nowhere", "/static/x.css"]
    assert shown("status:404 -path:/static") == ["/nowhere"]
    assert shown("method:POST") == ["/"]
    assert shown("-path:/static method:get status:2xx") == ["/", "/about", "/hello/Ada"]
    assert "3 of 6 exchanges shown" in window.counts_label.text() or window._update_counts() \
        or "3 of 6 exchanges shown" in window.counts_label.text()
    assert len(shown("")) == 6
    window.actions_by_name["find"].trigger()
    assert window.filter_edit.hasFocus() or window.focusWidget() is window.filter_edit


def test_sorting_by_raw_keys(qtbot, make_window):
    window = make_window("inspector.examples.router:app")
    for path in ("/nowhere", "/", "/about"):
        http_request(window.url, path=path)
    wait_rows(qtbot, window, 3)
    window.table.sortByColumn(COL_STATUS, Qt.SortOrder.DescendingOrder)
    assert window.proxy.index(0, COL_STATUS).data() == "404"


def test_sorting_by_another_column_then_back_to_store_order(qtbot, make_window):
    window = make_window("inspector.examples.router:app")
    for path in ("/nowhere", "/", "/about"):
        http_request(window.url, path=path)
    wait_rows(qtbot, window, 3)
    header = window.table.horizontalHeader()
    # "#" ascending, the default, is the store's order: shown as sorted, never re-sorted.
    assert (header.sortIndicatorSection(), window.proxy.is_pass_through()) == (COL_ID, True)

    def paths() -> list[str]:
        proxy = window.proxy
        return [proxy.index(row, COL_PATH).data() for row in range(proxy.rowCount())]

    window.set_follow(False)
    window.table.sortByColumn(COL_PATH, Qt.SortOrder.AscendingOrder)
    assert paths() == ["/", "/about", "/nowhere"]
    nowhere = window.model.summary(0).id
    assert window.select_id(nowhere)
    http_request(window.url, path="/a")
    wait_rows(qtbot, window, 4)
    assert paths() == ["/", "/a", "/about", "/nowhere"]  # a live row lands in sorted place
    assert window.selected_ids() == [nowhere]
    header.setSortIndicator(COL_ID, Qt.SortOrder.AscendingOrder)  # a click on "#"
    assert window.proxy.is_pass_through()
    assert paths() == ["/nowhere", "/", "/about", "/a"]
    assert window.selected_ids() == [nowhere] and window.current_id == nowhere


def test_list_colours_follow_the_palette(qtbot, make_window):
    window = make_window()
    http_request(window.url)
    wait_rows(qtbot, window, 1)
    app = QApplication.instance()
    light = app.palette()
    assert not theme.is_dark(light)

    def status_colour() -> str:
        return window.proxy.index(0, COL_STATUS).data(Qt.ItemDataRole.ForegroundRole).name()

    assert status_colour() == theme.status_color(200, light).name()
    dark = theme.status_color(200, theme.dark_palette()).name()
    try:
        app.setPalette(theme.dark_palette())  # the list caches colours: they must follow
        qtbot.waitUntil(lambda: status_colour() == dark)
    finally:
        app.setPalette(light)
    qtbot.waitUntil(lambda: status_colour() == theme.status_color(200, light).name())


def test_delete_and_clear(qtbot, make_window):
    window = make_window()
    for path in ("/a", "/b", "/c"):
        http_request(window.url, path=path)
    wait_rows(qtbot, window, 3)
    window.set_follow(False)
    window.select_id(window.model.summary(1).id)
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: window.model.rowCount() == 2)
    assert [s.path for s in window.model.summaries()] == ["/a", "/c"]
    assert len(window.store) == 2
    window.actions_by_name["clear"].trigger()
    qtbot.waitUntil(lambda: window.model.rowCount() == 0)
    assert len(window.store) == 0
    assert window.current_id is None
    assert "0 exchanges" in window.counts_label.text()


def test_keyboard_navigation_selects_and_shows(qtbot, make_window):
    window = make_window()
    for path in ("/one", "/two"):
        http_request(window.url, path=path)
    wait_rows(qtbot, window, 2)
    window.select_id(window.model.summary(0).id)
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_Down)
    assert window.overview.text("Request").startswith("GET /two ")


def test_pause_recording(qtbot, make_window):
    window = make_window()
    http_request(window.url, path="/kept")
    wait_rows(qtbot, window, 1)
    window.actions_by_name["pause"].setChecked(True)
    assert http_request(window.url, path="/dropped").status == 200
    window.actions_by_name["pause"].setChecked(False)
    http_request(window.url, path="/kept-too")
    wait_rows(qtbot, window, 2)
    assert [s.path for s in window.model.summaries()] == ["/kept", "/kept-too"]


def test_follow_newest_turns_off_when_scrolling_up(qtbot, make_window):
    window = make_window()
    window.resize(900, 300)
    for i in range(40):
        http_request(window.url, path=f"/{i}")
    wait_rows(qtbot, window, 40)
    bar = window.table.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())
    assert window.follow
    bar.setValue(0)
    assert not window.follow and not window.actions_by_name["follow"].isChecked()
    http_request(window.url, path="/later")
    wait_rows(qtbot, window, 41)
    assert bar.value() == 0  # the user's place is kept
    bar.setValue(bar.maximum())
    assert window.follow


def test_examples_menu_and_open_app_remember_recent(qtbot, make_window, settings):
    window = make_window()
    examples = next(a.menu() for a in window.menuBar().actions() if "xamples" in a.text())
    titles = [a.text() for a in examples.actions()]
    assert len(titles) == 9 and "The same page in Flask" in titles
    json_action = next(a for a in examples.actions() if a.text() == "JSON API")
    with qtbot.waitSignal(window.controller.status_changed, timeout=20000,
                          check_params_cb=lambda status: status.state == "serving"):
        json_action.trigger()
    assert window.controller.launch.spec == "inspector.examples.json_api:app"
    assert b'"books"' in http_request(window.url, path="/api/books").body
    assert settings.value("recent/apps")[0] == "inspector.examples.json_api:app" or \
        settings.value("recent/apps") == "inspector.examples.json_api:app"
    window._fill_recent()
    assert [a.text() for a in window.recent_menu.actions()] == \
        ["inspector.examples.json_api:app"]


def test_save_open_session_and_export_har(qtbot, make_window, tmp_path):
    window = make_window()
    http_request(window.url, path="/saved")
    wait_rows(qtbot, window, 1)
    saved = tmp_path / "copy.wsgi-session"
    window.save_session(str(saved))
    har = tmp_path / "out.har"
    window.export_har(str(har))
    assert json.loads(har.read_text())["log"]["entries"][0]["request"]["url"].endswith("/saved")

    other = make_window(start=False)
    other.open_file(str(saved))  # shown read-only
    assert [s.path for s in other.model.summaries()] == ["/saved"]
    other.open_file(str(har))  # HAR: imported into the live session, which is shown again
    wait_rows(qtbot, other, 1)
    assert other.store is other.recording
    assert [s.path for s in other.model.summaries()] == ["/saved"]
