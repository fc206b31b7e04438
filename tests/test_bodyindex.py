"""The session's full-text index: bodies as text (gzip, deflate, forms, JSON; binary
left out), filled by the writer from real recorded exchanges, answering ``body:`` and
``header:`` as the Python check of one exchange does; built in memory for sessions
written without it."""

from __future__ import annotations

import gzip
import json
import sqlite3
import zlib
from pathlib import Path
from typing import Any

import pytest

from inspector.filtering import parse
from inspector.host import bodyindex, summaryfilter
from inspector.host.bodyindex import TEXT_CAP, body_text, row_from_events, row_from_exchange
from inspector.host.store import Store
from tests.conftest import fetch
from tests.factories import exchange_events, make_exchange

FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize(("data", "ctype", "coding", "text"), [
    (b'{"name": "Ada"}', "application/json", "", '{"name": "Ada"}'),
    (gzip.compress(b"zipped words"), "text/plain", "gzip", "zipped words"),
    (zlib.compress(b"zlib words"), "text/html", "deflate", "zlib words"),
    (zlib.compress(b"raw words")[2:-4], "text/html", "deflate", "raw words"),  # raw deflate
    (b"a=hello+world&b=%C3%A9t%C3%A9", FORM, "", "a=hello world&b=été"),
    (b"plain, no type", "", "", "plain, no type"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png", "", ""),
    (b"\x00\x01binary", "", "", ""),
    (bytes(range(128, 256)) * 4, "", "", ""),  # not UTF-8, no type: binary
    (b"", "text/plain", "", ""),
    (gzip.compress(b"not gzip after all"), "text/plain", "", None),  # no coding: as it is
])
def test_body_text(data: bytes, ctype: str, coding: str, text: str | None) -> None:
    got = body_text(data, ctype, coding)
    if text is None:
        assert "not gzip" not in got
    else:
        assert got == text


def test_a_body_is_cut_for_the_index() -> None:
    text = body_text(b"word " * TEXT_CAP, "text/plain", "")
    assert len(text) == TEXT_CAP


def test_rows_from_events_and_from_the_folded_exchange_agree() -> None:
    args: dict[str, Any] = dict(
        method="POST", path="/api", request_body=b'{"q": "needle"}',
        request_headers=[("Content-Type", "application/json"), ("X-Debug", "on")],
        headers=[("Content-Type", "text/plain"), ("Content-Encoding", "gzip")],
        response_body=gzip.compress(b"found the haystack"))
    from_events = row_from_events(1, exchange_events(1, **args))
    from_exchange = row_from_exchange(make_exchange(1, **args))
    assert from_events._replace(reqhead="", reshead="") == from_exchange._replace(
        reqhead="", reshead="")
    assert from_events.resbody == "found the haystack"
    assert "x-debug: on\n" in from_exchange.reqhead
    assert "content-encoding: gzip\n" in from_exchange.reshead.lower()
    assert "rqxdebug rqxdebugǂon" in from_events.marks


APP_BODIES = {
    "/gzip": ([("Content-Type", "application/json"), ("Content-Encoding", "gzip")],
              gzip.compress(json.dumps({"status": "out of stock", "sku": "B-42"}).encode())),
    "/deflate": ([("Content-Type", "text/html; charset=utf-8"),
                  ("Content-Encoding", "deflate")],
                 zlib.compress("<p>Crème brûlée recipe</p>".encode())),
    "/png": ([("Content-Type", "image/png")], b"\x89PNG\r\n\x1a\nstock" + bytes(200)),
    "/plain": ([("Content-Type", "text/plain"), ("X-Trace", "abc-123")], b"nothing here"),
}


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    environ["wsgi.input"].read()
    headers, body = APP_BODIES.get(environ["PATH_INFO"], ([("Content-Type", "text/plain")],
                                                          b"ok"))
    start_response("200 OK", [*headers, ("Content-Length", str(len(body)))])
    return [body]


def record(tmp_path: Path) -> Path:
    """Real requests to a real waitress, recorded by a Store; the session's path."""
    from inspector.agent.runtime import Agent

    path = tmp_path / "s.wsgi-session"
    store = Store(path, interval=0.005)
    agent = Agent(app, store.put)
    agent.start()
    try:
        port = agent.server.effective_port
        for target in APP_BODIES:
            assert fetch(port, "GET", target)[0] == 200
        fetch(port, "POST", "/form", b"email=ada%40example.org&note=gzip+me",
              {"Content-Type": FORM})
        fetch(port, "POST", "/gzipped-upload", gzip.compress(b'{"secret": "uploaded word"}'),
              {"Content-Type": "application/json", "Content-Encoding": "gzip",
               "X-Debug": "yes please"})
    finally:
        agent.stop()
    store.flush()
    store.close()
    return path


def paths(store: Store, text: str) -> list[str]:
    return [s.path for s in summaryfilter.select(store, parse(text))]


SEARCHES = [
    ("body:stock", ["/gzip"]),  # not the PNG: its bytes are not searched
    ('body:"out of stock"', ["/gzip"]),
    ("resbody:b", ["/gzip"]),  # B-42: words are letters and digits
    ("body:brulee", ["/deflate"]),  # accents ignored
    ("body:CRÈME", ["/deflate"]),
    ("body:recip*", ["/deflate"]),
    ("body:recip", []),  # whole words without *
    ("body:ada@example.org", ["/form"]),  # the form decoded: ada example org
    ("reqbody:gzip", ["/form"]),
    ("resbody:gzip", []),
    ('reqbody:"uploaded word"', ["/gzipped-upload"]),
    ("body:uploaded -method:POST", []),
    ("header:X-Trace", ["/plain"]),
    ("header:x-trace=ABC", ["/plain"]),
    ("header:x-trace=12*", ["/plain"]),
    ("header:x-trace=12", []),  # words: 123 is not 12
    ("header:X-Trace=zzz", []),
    ("resheader:content-encoding=gzip", ["/gzip"]),
    ("reqheader:content-encoding=gzip", ["/gzipped-upload"]),
    ("header:Content-Encoding", ["/gzip", "/deflate", "/gzipped-upload"]),
    ("reqheader:X-Debug=please", ["/gzipped-upload"]),
    ("-header:Content-Encoding method:GET", ["/png", "/plain"]),
    ("has:edits", []),
]


def test_body_and_header_search_over_a_real_recording(tmp_path: Path) -> None:
    path = record(tmp_path)
    with Store.open(path) as store:
        assert store.search_index.in_file
        assert len(store) == 6
        for text, expected in SEARCHES:
            assert paths(store, text) == expected, text
            # The Python check of each whole exchange agrees with the index.
            matched = [x.path for x in store.exchanges()
                       if summaryfilter.exchange_matches(parse(text), x)]
            assert matched == expected, text


def test_a_session_without_the_index_gets_one_in_memory(tmp_path: Path) -> None:
    path = record(tmp_path)
    conn = sqlite3.connect(path)  # as a session written before the index existed
    conn.execute("DROP TABLE search")
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        assert not store.search_index.in_file
        assert store.search_index.pending() == 6
        progress: list[tuple[int, int]] = []
        store.search_index.ensure(lambda done, total: progress.append((done, total)))
        assert progress[-1] == (6, 6) and store.search_index.pending() == 0
        for text, expected in SEARCHES:
            assert paths(store, text) == expected, text
    assert not bodyindex.exists(sqlite3.connect(path))  # opening never wrote to it


def test_deleting_and_clearing_leave_the_index(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.wsgi-session", interval=0.005)
    for i, word in enumerate(["alpha", "beta", "alpha beta"], 1):
        for event in exchange_events(i, path=f"/{i}", response_body=word.encode()):
            store.put(event)
    store.flush()
    assert paths(store, "body:alpha") == ["/1", "/3"]
    store.delete([1])
    assert paths(store, "body:alpha") == ["/3"]
    assert store.search_index.lookup(parse("body:alpha").searches[0]) == {3}
    store.add([make_exchange(9, path="/imported", response_body=b"alpha from a HAR")])
    store.flush()
    assert paths(store, "body:alpha") == ["/3", "/imported"]
    store.clear()
    assert store.search_index.lookup(parse("body:alpha").searches[0]) == set()
    store.close()


def test_edits_are_marked(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.wsgi-session", interval=0.005)
    events = exchange_events(1, path="/edited")
    events.insert(1, {"type": "edit", "id": 1, "t": 0.0, "phase": "received",
                      "what": "environ", "original": {}, "edited": {}})
    for event in events + exchange_events(2, path="/plain"):
        store.put(event)
    store.flush()
    assert paths(store, "has:edits") == ["/edited"]
    assert paths(store, "-has:edits") == ["/plain"]
    store.close()


def test_an_exchange_still_in_flight_is_not_searched_yet(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.wsgi-session", interval=0.005)
    for event in exchange_events(1, response_body=b"later", end=False):
        store.put(event)
    store.flush()
    assert paths(store, "body:later") == []
    store.close()


def test_a_rare_word_narrows_the_rows_tested_to_those_it_found(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.wsgi-session", interval=0.005)
    for i in range(1, 41):
        body = b"rare word" if i in (7, 31) else b"common word"
        for event in exchange_events(i, "POST" if i % 2 else "GET", f"/{i}",
                                     response_body=body):
            store.put(event)
    store.flush()
    assert paths(store, "body:rare") == ["/7", "/31"]
    assert paths(store, "body:rare method:GET") == []
    assert paths(store, "body:word -body:common path:/3") == ["/31"]
    assert len(paths(store, "-body:rare")) == 38
    some = [s for s in store.summaries() if s.id > 10]
    assert [s.path for s in summaryfilter.select(store, parse("body:rare"), some)] == ["/31"]
    store.close()


def test_an_id_used_again_replaces_its_index_row(tmp_path: Path) -> None:
    path = tmp_path / "s.wsgi-session"
    with Store(path, interval=0.005) as store:
        for i, word in ((1, b"first"), (2, b"second")):
            for event in exchange_events(i, path=f"/{i}", response_body=word):
                store.put(event)
        store.flush()
    conn = sqlite3.connect(path)  # row 2 gone from the list, not from the index
    conn.execute("DELETE FROM exchanges WHERE id = 2")
    conn.commit()
    conn.close()
    with Store.open(path, writable=True) as store:
        for event in exchange_events(1, path="/again", response_body=b"third"):
            store.put(event)  # gets row id 2 again
        store.flush()
        assert paths(store, "body:third") == ["/again"]
        assert paths(store, "body:second") == []
        assert paths(store, "body:first") == ["/1"]


def record_while_busy(tmp_path: Path, defer: bool) -> tuple[list[int], list[set[int]]]:
    """Three exchanges committed while the writer counts as busy: what the index had
    and what was put off, seen from the observer called at that commit."""
    store = Store(tmp_path / "s.wsgi-session", interval=0.005)
    writer = store.search_index.writer
    assert writer is not None
    writer.defer = defer
    seen: list[int] = []
    found: list[set[int]] = []
    search = parse("body:later").searches[0]

    def added(summaries: list[Any]) -> None:
        seen.append(store.search_index.pending())
        found.append(store.search_index.lookup(search))
    store.on_add(added)
    writer.busy = True  # as after wake-ups that find hundreds of events, all along
    writer.woke = lambda conn, busy: None  # type: ignore[method-assign]
    for i in (1, 2, 3):
        for event in exchange_events(i, path=f"/{i}", response_body=b"later"):
            store.put(event)
    store.flush()
    assert paths(store, "body:later") == ["/1", "/2", "/3"]  # caught up
    assert store.search_index.pending() == 0
    store.close()
    return seen, found


def test_a_busy_writer_indexes_after_the_load(tmp_path: Path) -> None:
    seen, found = record_while_busy(tmp_path, defer=True)
    assert seen[-1] == 3 and found[-1] == set()


def test_a_live_body_filter_has_the_index_at_once(tmp_path: Path) -> None:
    seen, found = record_while_busy(tmp_path, defer=False)
    assert set(seen) == {0} and found[-1] == {1, 2, 3}


def test_closing_completes_the_index(tmp_path: Path) -> None:
    path = tmp_path / "s.wsgi-session"
    store = Store(path, interval=0.005)
    writer = store.search_index.writer
    assert writer is not None
    writer.busy = True
    writer.woke = lambda conn, busy: None  # type: ignore[method-assign]
    for event in exchange_events(1, response_body=b"kept"):
        store.put(event)
    store.close()
    with Store.open(path) as again:
        assert paths(again, "body:kept") == ["/"]


def test_rows_of_an_import_are_indexed_in_memory_too(tmp_path: Path) -> None:
    """Rows written whole (a HAR import: no event log) go through the store's reading."""
    path = tmp_path / "s.wsgi-session"
    with Store(path, interval=0.005) as store:
        store.add([make_exchange(1, path="/imported", response_body=b"from a HAR file"),
                   make_exchange(2, path="/other", response_body=b"nothing")])
        for event in exchange_events(3, path="/recorded", response_body=b"a HAR too"):
            store.put(event)
        store.flush()
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE search")
    conn.commit()
    conn.close()
    with Store.open(path) as store:
        assert sorted(paths(store, "body:har")) == ["/imported", "/recorded"]
