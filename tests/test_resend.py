"""Resending: the link from a resent exchange to its origin (matched by the client's
address, kept in the log, the summary and the session file), and what is sent."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from inspector.host.eventlog import fold
from inspector.host.resend import (
    Links,
    OutgoingRequest,
    ResendError,
    check,
    from_exchange,
    resent_event,
    send,
)
from inspector.host.store import _SCHEMA, Store, summarize
from tests.factories import exchange_events, make_exchange


def _begin(port: int = 52912, addr: str = "127.0.0.1") -> dict:
    event = exchange_events(7)[0]
    event["environ"] = {**event["environ"], "REMOTE_PORT": (str(port), "str"),
                        "REMOTE_ADDR": (addr, "str")}
    return event


def test_links_match_the_client_address_once() -> None:
    links = Links()
    assert not links
    links.expect(("127.0.0.1", 40001), 12)
    assert links
    assert links.match(_begin(40002)) is None  # another client
    assert links.match(_begin(40001, "10.0.0.1")) is None
    assert links.match(_begin(40001)) == 12
    assert links.match(_begin(40001)) is None  # claimed: a later connection is not it
    assert not links


def test_an_unclaimed_link_expires() -> None:
    links = Links(ttl=0.0)
    links.expect(("127.0.0.1", 40001), 12)
    assert links.match(_begin(40001)) is None


def test_the_link_is_in_the_log_the_summary_and_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.wsgi-session"
    events = exchange_events(1) + exchange_events(2)
    events.insert(len(exchange_events(1)) + 1, resent_event(events[len(exchange_events(1))], 1))
    with Store(path, interval=0.01) as store:
        for event in events:
            store.put(event)
        store.flush()
        assert [s.resent_from for s in store.summaries()] == [None, 1]
        assert store.get(2).resent_from == 1
    with Store.open(path) as saved:
        assert [s.resent_from for s in saved.summaries()] == [None, 1]
        x = saved.get(2)
        assert x.resent_from == 1 and summarize(x) == saved.summaries()[1]


def test_a_crafted_link_is_left_out_not_the_exchange() -> None:
    events = exchange_events(1)
    events.insert(1, {"type": "resent", "id": 1, "from": "12; DROP"})
    x = fold(1, events)
    assert x.resent_from is None and x.status == "200 OK"


def test_a_session_from_before_the_link_opens_and_gets_the_column(tmp_path: Path) -> None:
    path = tmp_path / "old.wsgi-session"
    with Store(path) as store:
        store.add([make_exchange(1)])
    with sqlite3.connect(path) as db:  # as the version before the link wrote it
        db.execute("ALTER TABLE exchanges DROP COLUMN resent_from")
    db.close()
    before = path.read_bytes()
    with Store.open(path) as saved:  # read through a view: the file stays as it was
        assert [s.resent_from for s in saved.summaries()] == [None]
        assert saved.get(1).status == "200 OK"
    assert path.read_bytes() == before
    with Store.open(path, writable=True) as store:
        store.add([make_exchange(2)])
        store.flush()
    with Store.open(path) as saved:
        assert [s.id for s in saved.summaries()] == [1, 2]
    assert "resent_from" in _SCHEMA


def test_a_request_is_rebuilt_as_it_came() -> None:
    body = bytes(range(256))
    x = make_exchange(3, "POST", "/api/items", "a=1&b=%20", request_body=body,
                      request_headers=[("X-Lesson", "wsgi"), ("Content-Type", "image/png")])
    request = from_exchange(x)
    assert (request.method, request.target, request.body) == ("POST", "/api/items?a=1&b=%20",
                                                              body)
    assert ("X-Lesson", "Wsgi") not in request.headers  # the value as sent
    assert ("X-Lesson", "wsgi") in request.headers
    assert ("Content-Length", "256") in request.wire_headers()
    assert [n for n, _ in request.wire_headers()].count("Content-Length") == 1
    assert request.origin == 3


def test_a_truncated_body_cannot_be_resent() -> None:
    x = make_exchange(4, "POST", request_body=b"abc", request_size=10_000)
    with pytest.raises(ResendError, match="Only 3 of the 10,000 bytes"):
        from_exchange(x)


def test_nothing_is_added_to_what_is_sent(serve_plain) -> None:
    """http.client adds Host and Accept-Encoding of its own; send() must not."""
    seen: list[dict] = []

    def app(environ, start_response):  # type: ignore[no-untyped-def]
        seen.append({k: v for k, v in environ.items() if k.startswith("HTTP_")}
                    | {"CONTENT_LENGTH": environ.get("CONTENT_LENGTH", ""),
                       "REMOTE": (environ["REMOTE_ADDR"], int(environ["REMOTE_PORT"])),
                       "BODY": environ["wsgi.input"].read()})
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    server = serve_plain(app)
    clients: list[tuple[str, int]] = []
    reply = send(server.url, OutgoingRequest("PUT", "/x", [("X-One", "1")], b"\x00\xff"),
                 connected=clients.append)
    assert reply.status == 200 and reply.body == b"ok"
    assert seen == [{"HTTP_X_ONE": "1", "CONTENT_LENGTH": "2", "REMOTE": clients[0],
                     "BODY": b"\x00\xff"}]


@pytest.mark.parametrize(("request_", "problem"), [
    (OutgoingRequest("GE T", "/"), "method"),
    (OutgoingRequest("GET", "/a b"), "spaces"),
    (OutgoingRequest("GET", "/", [("X Y", "1")]), "header name"),
    (OutgoingRequest("GET", "/", [("X", "a\r\nInjected: 1")]), "line break"),
    (OutgoingRequest("GET", "/", [("X", "snow ☃")]), "latin-1"),
])
def test_a_request_http_cannot_carry_is_refused_before_sending(request_, problem) -> None:
    with pytest.raises(ResendError, match=problem):
        check(request_)
    with pytest.raises(ResendError, match=problem):  # before any connection is made
        send("http://127.0.0.1:9", request_)
