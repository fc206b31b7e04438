"""The debugging loop in the real window: resend, edit and resend, compose, copy as,
compare; real waitress, real HTTP, asserting on what the app received."""

from __future__ import annotations

import hashlib
import json

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox

from inspector.host.formats import ExportError, render
from tests.gui.gui_helpers import http_request, wait_rows
from ui.copy_menu import MENU_FORMATS
from ui.exchange_model import COL_BADGE

BOOK = {"title": "Fluent Python", "tags": ["python"]}


def _post_book(window, book=BOOK, lesson="wsgi-1"):
    return http_request(window.url, "POST", "/api/books?lang=en", json.dumps(book).encode(),
                        {"Content-Type": "application/json", "X-Lesson": lesson})


def _select(window, *ids: int) -> None:
    selection = window.table.selectionModel()
    selection.clearSelection()
    for xid in ids:
        index = window.proxy.index(window.proxy.row_of(xid), 0)
        selection.select(index, QItemSelectionModel.SelectionFlag.Select
                         | QItemSelectionModel.SelectionFlag.Rows)
    if len(ids) == 1:
        window.select_id(ids[0])


def _http_keys(x) -> dict[str, str]:
    return {k: v[0] for k, v in x.environ.items() if k.startswith(("HTTP_", "CONTENT_"))}


def test_resend_records_a_new_exchange_linked_to_its_origin(qtbot, make_window) -> None:
    window = make_window("inspector.examples.json_api:app")
    assert _post_book(window).status == 201
    wait_rows(qtbot, window, 1)
    first = window.model.summary(0)
    _select(window, first.id)
    assert window.actions_by_name["resend"].isEnabled()
    window.actions_by_name["resend"].trigger()
    wait_rows(qtbot, window, 2)
    again = window.model.summary(1)
    assert again.resent_from == first.id and first.resent_from is None
    original, resent = window.store.get(first.id), window.store.get(again.id)
    assert resent.resent_from == first.id
    # The app got the same request: same method, target, headers (none added), body.
    assert (resent.method, resent.path, resent.query) == ("POST", "/api/books", "lang=en")
    assert _http_keys(resent) == _http_keys(original)
    assert resent.request_body == original.request_body
    assert resent.status_code == 201
    # The list marks the new row with its origin; the origin's row is unmarked.
    badges = [window.proxy.index(window.proxy.row_of(xid), COL_BADGE) for xid in
              (first.id, again.id)]
    assert [b.data() for b in badges] == ["", f"↻ #{first.id}"]
    assert badges[1].data(Qt.ItemDataRole.ToolTipRole) == f"sent again from #{first.id}"
    # The new row is selected; its Overview links back, and the link selects the origin.
    qtbot.waitUntil(lambda: window.current_id == again.id)
    link = window.overview.labels["Resent from"]
    assert f'href="#{first.id}"' in link.text() and link.isVisible()
    link.linkActivated.emit(f"#{first.id}")
    assert window.current_id == first.id


def test_resend_sends_a_binary_body_byte_exact(qtbot, make_window) -> None:
    window = make_window("inspector.examples.hello:app")
    body = bytes(range(256)) * 3
    http_request(window.url, "PUT", "/blob", body, {"Content-Type": "application/octet-stream"})
    wait_rows(qtbot, window, 1)
    _select(window, window.model.summary(0).id)
    editor = window.loop.edit_selected()
    assert editor.current_kind() == "binary"
    qtbot.mouseClick(editor.send_button, Qt.MouseButton.LeftButton)
    wait_rows(qtbot, window, 2)
    resent = window.store.get(window.model.summary(1).id)
    assert resent.request_body == body and resent.method == "PUT"
    assert resent.env("CONTENT_LENGTH") == str(len(body))


def test_edit_and_resend_changes_a_header_and_the_json_body(qtbot, make_window) -> None:
    window = make_window("inspector.examples.json_api:app")
    _post_book(window)
    wait_rows(qtbot, window, 1)
    first = window.model.summary(0)
    _select(window, first.id)
    editor = window.loop.edit_selected()
    assert editor.current_kind() == "json"
    row = next(r for r in range(editor.headers.rowCount())
               if editor.headers.text(r, 0) == "X-Lesson")
    editor.headers.item(row, 1).setText("wsgi-2")
    editor.json.setPlainText('{"title": "Architecture Patterns",')  # not JSON yet
    assert not editor.send_button.isEnabled() and "not valid" in editor.problem.text()
    edited = {"title": "Architecture Patterns", "tags": ["ddd"]}
    editor.json.setPlainText(json.dumps(edited))
    assert editor.send_button.isEnabled()
    assert editor.length_label.text().startswith(f"Content-Length: {len(json.dumps(edited))}")
    editor.send_button.click()
    wait_rows(qtbot, window, 2)
    s = window.model.summary(1)
    assert s.resent_from == first.id and s.status == 201
    x = window.store.get(s.id)
    # What the app received, and what it made of it.
    assert x.env("HTTP_X_LESSON") == "wsgi-2"
    assert json.loads(x.request_body) == edited
    assert x.env("CONTENT_LENGTH") == str(len(x.request_body))
    answer = json.loads(x.response_body)
    assert answer["title"] == "Architecture Patterns" and answer["tags"] == ["ddd"]


def test_compose_a_multipart_post_with_a_file(qtbot, make_window, tmp_path) -> None:
    window = make_window("tests.gui.upload_app:app")
    picture = tmp_path / "pixel.png"
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) + b"\r\n--not-a-boundary\r\n"
    picture.write_bytes(data)
    editor = window.actions_by_name["new_request"].trigger() or window.loop.editors[-1]
    assert editor.headers.pairs() == [("Host", window.url.split("//")[1].rstrip("/"))]
    editor.method.setCurrentText("POST")
    editor.target.setText("/upload")
    editor.headers.add_row("X-Lesson", "forms-3")
    editor.kind.setCurrentIndex(4)  # Multipart
    assert editor.current_kind() == "multipart"
    editor.parts.add_row("note", "héllo there")
    editor.add_file_part("picture", str(picture))
    editor.send_button.click()
    wait_rows(qtbot, window, 1)
    x = window.store.get(window.model.summary(0).id)
    assert x.status_code == 200 and x.resent_from is None
    assert x.env("CONTENT_TYPE").startswith("multipart/form-data; boundary=")
    answer = json.loads(x.response_body)
    assert answer["form"] == {"note": "héllo there"} and answer["lesson"] == "forms-3"
    assert answer["files"] == {"picture": {"filename": "pixel.png",
                                           "content_type": "image/png",
                                           "sha256": hashlib.sha256(data).hexdigest()}}


def test_new_request_offers_the_paths_seen(qtbot, make_window) -> None:
    window = make_window("inspector.examples.router:app")
    for path in ("/hello/ada", "/about"):
        http_request(window.url, path=path)
    wait_rows(qtbot, window, 2)
    editor = window.loop.new_request()
    completer = editor.target.completer()
    completer.setCompletionPrefix("/ab")
    assert completer.currentCompletion() == "/about"
    assert editor.windowTitle() == "New Request"


def test_copy_as_puts_what_the_format_renders(qtbot, make_window) -> None:
    window = make_window("inspector.examples.json_api:app")
    _post_book(window)
    http_request(window.url, path="/api/books", headers={"Authorization": "Bearer s3cret"})
    wait_rows(qtbot, window, 2)
    ids = [window.model.summary(i).id for i in range(2)]
    _select(window, *ids)
    exchanges = [window.store.get(i) for i in ids]
    clipboard = QGuiApplication.clipboard()
    app = window.loop._app()
    for name in MENU_FORMATS:
        clipboard.clear()
        window.loop.copy.format_actions[name].trigger()
        try:
            expected = render(name, exchanges, base_url=window.url, app=app)
        except ExportError as exc:  # the window says so, in a box that does not block
            box = window.findChildren(QMessageBox)[-1]
            assert box.text() == str(exc) and not clipboard.text()
            box.close()
            continue
        if isinstance(expected, bytes):
            assert bytes(clipboard.mimeData().data("application/octet-stream")) == expected
        else:
            assert clipboard.text() == expected, name
    assert "s3cret" not in clipboard.text()
    window.loop.copy.secrets.setChecked(True)
    window.loop.copy.format_actions["curl"].trigger()
    assert "Bearer s3cret" in clipboard.text()
    # The context menu holds the loop's entries, Copy As with its formats.
    texts = [a.text() for a in window.table.actions() if not a.isSeparator()]
    assert texts[:4] == ["&Resend", "&Edit and Resend…", "Copy &As", "Copy URL"]
    assert {"Com&pare with…", "Delete"} <= set(texts)


def test_copy_and_save_the_response_body(qtbot, make_window, tmp_path) -> None:
    window = make_window("inspector.examples.json_api:app")
    reply = http_request(window.url, path="/api/books")
    wait_rows(qtbot, window, 1)
    _select(window, window.model.summary(0).id)
    window.actions_by_name["copy_body"].trigger()
    assert QGuiApplication.clipboard().text() == reply.body.decode()
    x = window.current_exchange()
    assert window.loop.copy.save(x, str(tmp_path / "books.json"))
    assert (tmp_path / "books.json").read_bytes() == reply.body
    assert window.loop.copy._start_dir() == str(tmp_path)  # the folder used last


def test_compare_two_exchanges(qtbot, make_window) -> None:
    window = make_window("inspector.examples.json_api:app")
    _post_book(window, lesson="wsgi-1")
    _post_book(window, {"title": "Fluent Python", "tags": ["python", "advanced"]}, "wsgi-2")
    wait_rows(qtbot, window, 2)
    ids = [window.model.summary(i).id for i in range(2)]
    _select(window, ids[0])
    assert not window.actions_by_name["compare"].isEnabled()
    _select(window, *ids)
    assert window.actions_by_name["compare"].isEnabled()
    window.actions_by_name["compare"].trigger()
    view = window.loop.compare_views[-1]
    assert view.isVisible()
    assert sorted(view.different_keys("Request headers")) == ["Content-Length", "X-Lesson"]
    assert view.different_keys("Request body") == ["$.tags[1]"]  # structurally, not textually
    assert "$.id" in view.different_keys("Response body")
    assert "HTTP_X_LESSON" in view.different_keys("Environ")
    assert view.different_keys("Request") == []
    top = view.tree.topLevelItem(2)
    assert top.text(0).startswith("Request headers — 2 differences")
    assert top.childCount() == 2 and top.child(0).background(1).color().isValid()


def test_resend_links_through_the_app_process_too(qtbot, make_window) -> None:
    """Isolated, the begin event comes through the ring from the app's process."""
    window = make_window("inspector.examples.form:app", in_process=False)
    http_request(window.url, "POST", "/", b"name=Ada&lang=Python",
                 {"Content-Type": "application/x-www-form-urlencoded"})
    wait_rows(qtbot, window, 1)
    first = window.model.summary(0)
    _select(window, first.id)
    editor = window.loop.edit_selected()
    assert editor.current_kind() == "form"
    editor.form.item(0, 1).setText("Grace Hopper")
    editor.send_button.click()
    wait_rows(qtbot, window, 2, timeout=20000)
    s = window.model.summary(1)
    assert s.resent_from == first.id
    x = window.store.get(s.id)
    assert x.request_body == b"name=Grace+Hopper&lang=Python"
    assert b"Thanks, Grace Hopper!" in x.response_body


def test_resend_several_rows_at_once(qtbot, make_window) -> None:
    window = make_window("inspector.examples.router:app")
    for path in ("/hello/ada", "/about"):
        http_request(window.url, path=path)
    wait_rows(qtbot, window, 2)
    ids = [window.model.summary(i).id for i in range(2)]
    _select(window, *ids)
    window.actions_by_name["resend"].trigger()
    wait_rows(qtbot, window, 4)
    resent = {window.model.summary(i).resent_from: window.model.summary(i).path
              for i in (2, 3)}
    assert resent == {ids[0]: "/hello/ada", ids[1]: "/about"}


def test_the_editor_refuses_what_http_cannot_carry(qtbot, make_window) -> None:
    window = make_window()
    editor = window.loop.new_request()
    editor.headers.add_row("X-Name", "snow ☃")
    assert not editor.send_button.isEnabled() and "latin-1" in editor.problem.text()
    editor.headers.item(1, 1).setText("snow")
    assert editor.send_button.isEnabled()
    editor.target.setText("api")
    assert not editor.send_button.isEnabled()
    assert "must start with /" in editor.problem.text()
    editor.target.setText("/api")
    assert editor.send_button.isEnabled()
    editor.kind.setCurrentIndex(1)  # Text
    editor.text.setPlainText('{"a": 1}')
    editor.kind.setCurrentIndex(2)  # JSON: the text goes along
    assert editor.json.toPlainText() == '{"a": 1}'
    assert ("Content-Type", "application/json") in editor.headers.pairs()
