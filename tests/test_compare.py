"""Comparing two exchanges: headers by name, JSON by value, text by line, bytes by hash."""

from __future__ import annotations

import json

from inspector.compare import compare
from tests.factories import make_exchange


def _section(sections, title):
    return next(s for s in sections if s.title == title)


def _different(sections, title):
    return [r.key for r in _section(sections, title).rows if not r.same]


def test_json_bodies_are_compared_by_value_not_by_text() -> None:
    left = make_exchange(1, "POST", "/api", request_body=b'{"a": 1, "b": [1, 2]}',
                         request_headers=[("Content-Type", "application/json")])
    right = make_exchange(2, "POST", "/api", request_body=b'{"b":[1,3],"a":1,"c":{}}',
                          request_headers=[("Content-Type", "application/json")])
    sections = compare(left, right)
    assert _section(sections, "Request body").note == "JSON, value by value"
    assert _different(sections, "Request body") == ["$.b[1]", "$.c"]
    assert _different(sections, "Request headers") == ["Content-Length"]


def test_text_bodies_line_by_line_and_headers_without_case() -> None:
    left = make_exchange(1, response_body=b"one\ntwo\nthree\n",
                         headers=[("Content-Type", "text/plain"), ("X-A", "1")])
    right = make_exchange(2, status="404 Not Found", response_body=b"one\n2\nthree\nfour\n",
                          headers=[("content-type", "text/plain"), ("X-B", "2")])
    sections = compare(left, right)
    rows = _section(sections, "Response body").rows
    assert [(r.left, r.right, r.same) for r in rows] == [
        ("one", "one", True), ("two", "2", False), ("three", "three", True),
        (None, "four", False)]
    assert _different(sections, "Response headers") == ["X-A", "X-B"]
    assert "Status" in _different(sections, "Response and timing")


def test_binary_bodies_by_size_and_hash_and_environ_objects_by_type() -> None:
    left = make_exchange(1, "PUT", request_body=b"\x00\x01")
    right = make_exchange(2, "PUT", request_body=b"\x00\x02")
    sections = compare(left, right)
    assert _different(sections, "Request body") == ["SHA-256"]
    assert _different(sections, "Environ") == []  # wsgi.input's repr has an address


def test_the_same_exchange_does_not_differ() -> None:
    x = make_exchange(1, "POST", request_body=json.dumps({"a": 1}).encode())
    assert sum(s.differences for s in compare(x, x)) == 0


def test_form_bodies_by_field() -> None:
    form = [("Content-Type", "application/x-www-form-urlencoded")]
    left = make_exchange(1, "POST", request_body=b"name=Ada&lang=Python", request_headers=form)
    right = make_exchange(2, "POST", request_body=b"lang=Python&name=Grace+Hopper",
                          request_headers=form)
    section = _section(compare(left, right), "Request body")
    assert section.note == "form fields, by name"
    assert [(r.key, r.left, r.right) for r in section.rows if not r.same] == [
        ("name", "Ada", "Grace Hopper")]
