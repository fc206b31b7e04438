"""The session as the event log: the writer files each exchange's events and its
summary, and builds an Exchange only when one is asked for."""

from __future__ import annotations

import http.client
import pickle
import sqlite3
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inspector import wire
from inspector.host import eventlog
from inspector.host.process import AppProcess, Options
from inspector.host.store import SCHEMA_VERSION, Store, summarize
from inspector.model import Exchange
from tests.factories import exchange_events, make_exchange
from tests.test_store import CASES

TIMEOUT = 30.0

APP = '''
import io

def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/short":  # says 9 bytes, sends 5: a finding of the record checks
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "9")])
        return [b"hello"]
    if path == "/boom":
        raise ValueError("bad input")
    if path == "/gen":
        start_response("200 OK", [("Content-Type", "text/csv")])
        return (b"%d\\n" % i for i in range(5))
    if path == "/late":
        def body():
            yield b"first"
            raise RuntimeError("mid-stream")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return body()
    if path == "/empty":
        start_response("204 No Content", [])
        return []
    if path == "/file":
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", "4")])
        return environ["wsgi.file_wrapper"](io.BytesIO(b"data"))
    body = b"Hello, World!"
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]
'''
REQUESTS = [("GET", "/"), ("HEAD", "/"), ("GET", "/short"), ("GET", "/boom"),
            ("GET", "/gen"), ("GET", "/late"), ("GET", "/empty"), ("GET", "/file"),
            ("POST", "/?q=1")]


class _Ends:
    """Counts the end events that reached the store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.count = 0
        self.changed = threading.Condition()

    def on_event(self, event: dict[str, Any]) -> None:
        self.store.put(event)
        if event.get("type") == "end":
            with self.changed:
                self.count += 1
                self.changed.notify_all()

    def wait(self, count: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.count >= count, TIMEOUT)


@pytest.fixture
def recorded(tmp_path: Path) -> Iterator[Store]:
    """A session of REQUESTS served by a real app process."""
    (tmp_path / "web.py").write_text(textwrap.dedent(APP))
    store = Store(tmp_path / "real.wsgi-session")
    ends = _Ends(store)
    app = AppProcess(Options("web:app", str(tmp_path)), ends.on_event, lambda status: None)
    try:
        status = app.start()
        assert status.state == "serving", status
        host, port = status.url.split("//", 1)[1].rstrip("/").split(":")
        for method, target in REQUESTS:
            conn = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
            try:
                conn.request(method, target, body=b"x=1" if method == "POST" else None)
                conn.getresponse().read()
            except (http.client.HTTPException, OSError):
                pass  # a body cut short by the app's error: the exchange is recorded
            finally:
                conn.close()
        ends.wait(len(REQUESTS))
    finally:
        app.stop()
    assert store.flush(timeout=TIMEOUT)
    yield store
    store.close()


def test_the_live_list_shows_what_the_folded_exchange_says(recorded: Store) -> None:
    summaries = recorded.summaries()
    assert [(s.method, s.path) for s in summaries] == [
        (m, t.partition("?")[0]) for m, t in REQUESTS]
    for s in summaries:
        assert s == summarize(recorded.get(s.id)), s.path
    by_path = {s.path: s for s in summaries if s.method == "GET"}
    assert by_path["/short"].findings >= 1  # found by the checks of the record, at the end
    assert by_path["/boom"].error and by_path["/boom"].status == 500


def test_a_row_keeps_the_ring_records_as_they_came(recorded: Store) -> None:
    with sqlite3.connect(recorded.path) as db:
        logs = [pickle.loads(data) for (data,) in db.execute("SELECT data FROM exchanges")]
    db.close()
    assert len(logs) == len(REQUESTS)
    for items in logs:  # each event the bytes of its ring record: not pickled again
        assert items and all(type(item) is bytes for item in items)
        kinds = [wire.loads_record(item, strict=True)["type"] for item in items]
        assert kinds[0] == "begin" and kinds[-1] == "end"


def test_a_saved_real_session_reads_back_the_same(recorded: Store) -> None:
    live = {s.id: recorded.get(s.id).to_dict() for s in recorded.summaries()}
    summaries = recorded.summaries()
    recorded.close()
    with Store.open(recorded.path) as again:
        assert again.summaries() == summaries
        assert {s.id: again.get(s.id).to_dict() for s in summaries} == live
        assert again.notes == []


def test_recording_builds_no_exchange(session: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folded: list[str] = []
    apply = Exchange.apply
    monkeypatch.setattr(Exchange, "apply",
                        lambda self, event: (folded.append(event["type"]), apply(self, event)))
    expected = [make_exchange(xid, **case) for xid, case in enumerate(CASES, 1)]
    folded.clear()  # make_exchange folded its own
    with Store(session) as store:
        for xid, case in enumerate(CASES, 1):
            for event in exchange_events(xid, **case):
                store.put(event)
        assert store.flush(timeout=TIMEOUT)
        assert folded == []
        assert store.summaries() == [summarize(x) for x in expected]
        assert store.get(2).to_dict() == make_exchange(2, **CASES[1]).to_dict()
        assert folded  # folded when asked for


def test_each_row_holds_the_events_as_they_came(session: Path) -> None:
    events = exchange_events(1, path="/log", response_body=b"\x00\xff")
    with Store(session) as store:
        for event in events:
            store.put(event)
    with sqlite3.connect(session) as db:
        (version,) = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        row = db.execute("SELECT data, request_body, response_body FROM exchanges").fetchone()
    db.close()
    assert version == str(SCHEMA_VERSION) == "3"
    assert pickle.loads(row[0]) == events and row[1:] == (b"", b"")


def test_a_format_2_session_opens_and_takes_new_exchanges(session: Path) -> None:
    old = [make_exchange(xid, **case) for xid, case in enumerate(CASES, 1)]
    with Store(session) as store:  # exchanges added whole are written as format 2 wrote them
        store.add(old)
    with sqlite3.connect(session) as db:
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    db.close()
    with Store.open(session) as store:
        assert store.summaries() == [summarize(x) for x in old]
        assert [store.get(x.id).to_dict() for x in old] == [x.to_dict() for x in old]
    with Store.open(session, writable=True) as store:
        for event in exchange_events(1, path="/new"):
            store.put(event)
    with sqlite3.connect(session) as db:
        (version,) = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        kinds = [type(pickle.loads(data)) for (data,) in db.execute(
            "SELECT data FROM exchanges ORDER BY id")]
    db.close()
    assert version == "3" and kinds == [dict] * len(old) + [list]
    with Store.open(session) as store:
        assert [s.path for s in store.summaries()][-2:] == ["/big", "/new"]
        assert store.get(len(old) + 1).path == "/new"


def test_an_opened_row_is_folded_once_until_deleted(session: Path) -> None:
    with Store(session) as store:
        for event in exchange_events(1, path="/a"):
            store.put(event)
        store.flush()
        first = store.get(1)
        assert store.get(1) is first  # the window asks again on each update
        store.delete([1])
        with pytest.raises(KeyError):
            store.get(1)


def test_an_exchange_in_flight_is_folded_from_its_events_so_far(session: Path) -> None:
    with Store(session) as store:
        for event in exchange_events(1, path="/slow", end=False):
            store.put(event)
        store.flush()
        (summary,) = store.summaries()
        assert summary.state == "active"
        x = store.get(1)
        assert x.state == "active" and x.path == "/slow" and x.response_body == b"Hello"
        assert summarize(x) == summary


def test_the_tally_counts_what_the_fold_finds(session: Path) -> None:
    for xid, case in enumerate(CASES, 1):
        tally = eventlog.Tally()
        events = exchange_events(xid, **case)
        for event in events:
            tally.apply(event)
        assert tally.summary(xid) == summarize(eventlog.fold(xid, events))


@pytest.fixture
def session(tmp_path: Path) -> Path:
    return tmp_path / "test.wsgi-session"


@pytest.mark.parametrize("head", [
    b"",
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\n",
    b"HTTP/1.1 404 Not Found\r\ncontent-type:x\r\nCONTENT-TYPE: text/html\r\n\r\n",
    b"HTTP/1.0 500 Oops\r\nX: \xe9\r\nContent-Type: caf\xe9\r\n\r\n",
    b"HTTP/1.1 204 No Content\r\nContent-Type: ",
])
def test_the_tally_reads_the_head_as_sent_as_the_fold_does(head: bytes) -> None:
    events = exchange_events(1, path="/wire")
    events[-1].update(wire_head=head, wire_size=3)
    tally = eventlog.Tally()
    for event in events:
        tally.apply(event)
    assert tally.summary(1) == summarize(eventlog.fold(1, events))


NOTES_APP = '''
def app(environ, start_response):
    start_response("200 OK", [])  # a body without a Content-Type: a note (info), no problem
    return [b"untyped"]
'''


def test_the_live_list_counts_problems_not_notes_and_names_server_answers(
        tmp_path: Path) -> None:
    """The tally agrees with summarize() where the two could part: a finding of
    severity info is not counted, and an answer waitress gave on its own (a request
    it could not parse) lists its request line and the state "server"."""
    import socket

    (tmp_path / "notes.py").write_text(textwrap.dedent(NOTES_APP))
    store = Store(tmp_path / "notes.wsgi-session")
    ends = _Ends(store)
    app = AppProcess(Options("notes:app", str(tmp_path)), ends.on_event, lambda status: None)
    try:
        status = app.start()
        assert status.state == "serving", status
        host, port = status.url.split("//", 1)[1].rstrip("/").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
        conn.request("GET", "/untyped")
        conn.getresponse().read()
        conn.close()
        with socket.create_connection((host, int(port)), timeout=TIMEOUT) as raw:
            raw.sendall(b"NONSENSE\r\n\r\n")
            while raw.recv(4096):
                pass
        ends.wait(2)
    finally:
        app.stop()
    assert store.flush(timeout=TIMEOUT)
    typed, malformed = store.summaries()
    assert store.get(typed.id).findings and typed.findings == 0
    assert malformed.state == "server" and malformed.path
    for s in (typed, malformed):
        assert s == summarize(store.get(s.id))
    store.close()
