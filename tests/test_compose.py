"""Request bodies made in the editor: JSON checked, forms and multipart as browsers
send them (a real parser reads them back)."""

from __future__ import annotations

import io

import pytest
from werkzeug.formparser import parse_form_data

from inspector.host.compose import (
    ComposeError,
    Part,
    body_kind,
    form_body,
    form_fields,
    json_body,
    multipart_body,
    multipart_type,
    set_header,
)


def test_json_is_checked_and_says_where_it_breaks() -> None:
    assert json_body('{"a": [1, 2]}') == b'{"a": [1, 2]}'
    with pytest.raises(ComposeError, match="line 2, column 8"):
        json_body('{"a":\n  [1, 2}')


def test_form_fields_round_trip_only_when_exact() -> None:
    assert form_body([("name", "Ada Lovelace"), ("lang", "pythön")]) == \
        b"name=Ada+Lovelace&lang=pyth%C3%B6n"
    assert form_fields(b"name=Ada+Lovelace&x=") == [("name", "Ada Lovelace"), ("x", "")]
    assert form_fields(b"name=Ada%20Lovelace") is None  # would come back as "+"
    assert form_fields(b"\xff") is None


def test_multipart_is_read_back_by_a_real_parser() -> None:
    data = bytes(range(256)) + b"\r\n--almost\r\n"
    body = multipart_body([Part("note", "héllo".encode()),
                           Part('say "hi"', b"x"),
                           Part("file", data, "a b.png")], "BOUNDARY123")
    environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": multipart_type("BOUNDARY123"),
               "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
    _stream, form, files = parse_form_data(environ)
    assert form["note"] == "héllo" and form['say "hi"'] == "x"  # quoted as browsers do
    upload = files["file"]
    with upload.stream:
        assert (upload.filename, upload.content_type, upload.read()) == ("a b.png",
                                                                         "image/png", data)


def test_a_line_break_in_a_part_type_adds_no_header() -> None:
    body = multipart_body([Part("file", b"x", "a.txt", "text/plain\r\nX-Injected: 1")], "B")
    environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": multipart_type("B"),
               "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
    _stream, _form, files = parse_form_data(environ)
    upload = files["file"]
    with upload.stream:
        assert "X-Injected" not in upload.headers
        assert upload.read() == b"x"


def test_a_part_holding_the_boundary_is_refused() -> None:
    with pytest.raises(ComposeError):
        multipart_body([Part("f", b"--B\r\n")], "B")


def test_body_kinds_and_headers() -> None:
    assert body_kind("application/json; charset=utf-8", b'{"a": 1}') == "json"
    assert body_kind("application/json", b"{oops") == "text"
    assert body_kind("application/x-www-form-urlencoded", b"a=1&b=2") == "form"
    assert body_kind("", b"\xff\x00") == "binary"
    assert body_kind("text/plain", b"") == "none"
    headers = [("Host", "h"), ("content-type", "text/plain")]
    assert set_header(headers, "Content-Type", "application/json") == \
        [("Host", "h"), ("content-type", "application/json")]
    assert set_header(headers, "Content-Type", None) == [("Host", "h")]
    assert set_header([], "X", "1") == [("X", "1")]
