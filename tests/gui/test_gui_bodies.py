"""Readable bodies from a real app: compressed bodies decoded (with a switch to the raw
bytes), any charset honoured, JSON pretty or as sent, Set-Cookie parsed, Pygments
colours, RFC 9110 reason phrases, plurals right."""

from __future__ import annotations

import gzip
import textwrap
import zlib

import brotli
import pytest

from tests.gui.gui_helpers import http_request, wait_rows
from ui.body_text import undo_encoding

APP = textwrap.dedent('''\
    import gzip, json, zlib
    import brotli

    BODY = json.dumps({"greeting": "héllo", "n": 1}).encode()

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        headers = [("Content-Type", "application/json; charset=utf-8")]
        body = BODY
        if path == "/gzip":
            body = gzip.compress(BODY)
            headers.append(("Content-Encoding", "gzip"))
        elif path == "/deflate":
            body = zlib.compress(BODY)
            headers.append(("Content-Encoding", "deflate"))
        elif path == "/br":
            body = brotli.compress(BODY)
            headers.append(("Content-Encoding", "br"))
        elif path == "/sjis":
            body = "こんにちは、世界".encode("shift_jis")
            headers = [("Content-Type", "text/plain; charset=shift_jis")]
        elif path == "/cookies":
            headers += [("Set-Cookie", "sid=abc123; Path=/; HttpOnly; Secure; SameSite=Lax"),
                        ("Set-Cookie", "theme=dark; Max-Age=3600")]
        elif path == "/js":
            body = b"/* a\\n   comment */\\nconst x = 'str';\\n"
            headers = [("Content-Type", "application/javascript")]
        elif path == "/moved":
            start_response("302 Found", [("Location", "/gzip"), ("Content-Length", "0")])
            return [b""]
        headers.append(("Content-Length", str(len(body))))
        start_response("200 OK", headers)
        return [body]
''')


@pytest.fixture
def window(make_window, tmp_path):
    (tmp_path / "bodies_app.py").write_text(APP)
    return make_window("bodies_app:app", app_dir=str(tmp_path))


def show(qtbot, window, path: str, n: int):
    reply = http_request(window.url, path=path)
    wait_rows(qtbot, window, n)
    window.select_id(window.model.summary(n - 1).id)
    window.tabs.setCurrentWidget(window.response)
    return reply


@pytest.mark.parametrize("path", ["/gzip", "/deflate", "/br"])
def test_compressed_json_is_shown_decoded_with_a_switch_to_raw(qtbot, window, path):
    reply = show(qtbot, window, path, 1)
    assert reply.headers["Content-Encoding"] == path[1:]  # it really went compressed
    body = window.response.body
    assert body.current_mode == "JSON tree"
    root = body.tree.topLevelItem(0)
    assert root.text(1) == "{2 keys}"
    assert {root.child(i).text(0): root.child(i).text(1) for i in range(2)} == \
        {"greeting": '"héllo"', "n": "1"}
    assert f"Decoded from {path[1:]}" in body.info.text()
    body.mode.setCurrentText("Text")
    assert body.text.toPlainText().startswith('{\n  "greeting": "héllo"')  # pretty
    body.pretty.setChecked(False)
    assert body.text.toPlainText() == '{"greeting": "h\\u00e9llo", "n": 1}'
    body.raw.setChecked(True)
    assert body.data == reply.body
    body.mode.setCurrentText("Auto")
    assert body.current_mode == "Hex"


def test_charset_any_codec_and_rfc_9110_phrases(qtbot, window):
    show(qtbot, window, "/sjis", 1)
    body = window.response.body
    assert body.current_mode == "Text"
    assert body.text.toPlainText() == "こんにちは、世界"
    http_request(window.url, path="/moved")
    wait_rows(qtbot, window, 2)
    window.select_id(window.model.summary(1).id)
    assert window.overview.text("Meaning") == "Found (redirection)"


def test_set_cookie_parsed_beside_the_headers(qtbot, window):
    show(qtbot, window, "/cookies", 1)
    pane = window.response
    assert pane.head_tabs.tabText(1) == "Set-Cookie (2)"
    rows = pane.cookies.rows()
    assert rows[0] == ["sid", "abc123", "/", "", "session", "Secure HttpOnly SameSite=Lax"]
    assert rows[1][:2] == ["theme", "dark"] and rows[1][4] == "Max-Age 3600"


def test_pygments_colours_a_multiline_comment_in_light_and_dark(qtbot, window):
    from PySide6.QtWidgets import QApplication

    from ui import theme

    show(qtbot, window, "/js", 1)
    body = window.response.body
    assert body.current_mode == "Text" and body.highlighter.language == "javascript"

    def colour_at(line: int) -> str:
        block = body.text.document().findBlockByNumber(line)
        ranges = block.layout().formats()
        assert ranges, f"line {line} has no colour"
        return ranges[0].format.foreground().color().name()

    light = colour_at(1)  # the comment's second line is coloured as a comment too
    assert colour_at(0) == light
    app = QApplication.instance()
    theme.apply_scheme(app, theme.Qt.ColorScheme.Dark)
    try:
        qtbot.waitUntil(lambda: colour_at(1) != light)
    finally:
        theme.apply_scheme(app, theme.Qt.ColorScheme.Light)


def test_decoding_is_bounded_and_damage_is_said():
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024))
    decoded = undo_encoding(bomb, "gzip")
    assert len(decoded.data) == 8 * 1024 * 1024 and "cut" in decoded.note
    broken = undo_encoding(b"not gzip at all", "gzip")
    assert broken.data == b"not gzip at all" and "cannot be decoded" in broken.note
    assert undo_encoding(zlib.compress(b"x"), "deflate").data == b"x"
    assert undo_encoding(brotli.compress(b"y"), "br").data == b"y"
    assert undo_encoding(b"z", "compress").note.startswith("Content-Encoding compress")


def test_json_tree_counts_in_singular_and_plural(qtbot):
    from ui.body_view import BodyView

    view = BodyView()
    qtbot.addWidget(view)
    view.set_body(b'{"a": [1], "b": {}}', 19, "application/json")
    root = view.tree.topLevelItem(0)
    assert root.text(1) == "{2 keys}"
    assert root.child(0).text(1) == "[1 item]" and root.child(1).text(1) == "{0 keys}"
    view.set_body(b'{"only": []}', 12, "application/json")
    root = view.tree.topLevelItem(0)
    assert (root.text(1), root.child(0).text(1)) == ("{1 key}", "[0 items]")
    assert view.info.text() == "12 B (12 bytes), all captured."
    view.set_body(b"x", 1, "text/plain")
    assert view.info.text() == "1 B (1 byte), all captured."
