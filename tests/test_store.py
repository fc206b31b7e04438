"""The session store: real SQLite files in tmp_path, fed events like the agent's."""

from __future__ import annotations

import json
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Callable

import pytest

from inspector.host.store import (
    _SCHEMA,
    SCHEMA_VERSION,
    SessionError,
    Store,
    Summary,
    data_dir,
    default_session_path,
    summarize,
)
from inspector.model import Exchange, to_jsonable
from tests.factories import BINARY_SAMPLE as BINARY
from tests.factories import exchange_events, make_exchange

TESTS = Path(__file__).parent

# A varied set of exchanges: (factory keyword arguments) per agent id 1, 2, ...
CASES: list[dict[str, Any]] = [
    dict(),
    dict(method="POST", path="/api/items", query="dry=1", status="201 Created",
         headers=[("Content-Type", "application/json"), ("Location", "/api/items/7")],
         request_body=b'{"name": "caf\xc3\xa9"}', response_body=b'{"id": 7}',
         request_headers=[("Content-Type", "application/json")]),
    dict(path="/download", headers=[("Content-Type", "application/octet-stream")],
         request_body=BINARY, response_body=BINARY),
    dict(path="/lint", findings=[("content-length-mismatch", "warning", "closed",
                                  "The app sent 5 bytes but Content-Length said 9.",
                                  "PEP 3333: Handling the Content-Length Header")],
         output=["hello from the view", ("log", "query took 3 ms", "INFO")]),
    dict(path="/boom", status=None, response_body=b"", error="ValueError: bad input"),
    dict(path="/big", response_body=b"x" * 1000, response_size=5000, request_size=0),
]


def feed(store: Store, events: list[dict[str, Any]]) -> None:
    for event in events:
        store.put(event)


def expected(xid: int, **case: Any) -> Exchange:
    return make_exchange(xid, **case)


@pytest.fixture
def session(tmp_path: Path) -> Path:
    return tmp_path / "test.wsgi-session"


@pytest.fixture
def opened() -> Callable[..., Store]:
    """``opened(store)`` registers a store to be closed after the test, and returns it."""
    stores: list[Store] = []

    def track(store: Store) -> Store:
        stores.append(store)
        return store

    yield track
    for store in stores:
        store.close()


@pytest.fixture
def store(session: Path, opened: Callable[..., Store]) -> Store:
    return opened(Store(session))


# -- writing and reading back ---------------------------------------------------------

def test_events_written_read_back_identical_after_reopen(
        store: Store, session: Path, opened: Callable[..., Store]) -> None:
    for xid, case in enumerate(CASES, 1):
        feed(store, exchange_events(xid, **case))
    assert store.flush(timeout=10)
    for xid, case in enumerate(CASES, 1):
        assert store.get(xid).to_dict() == expected(xid, **case).to_dict()
    store.close()

    again = opened(Store.open(session))
    assert len(again) == len(CASES)
    for xid, case in enumerate(CASES, 1):
        got = again.get(xid)
        assert got.to_dict() == expected(xid, **case).to_dict()
    assert again.get(3).response_body == BINARY and again.get(3).request_body == BINARY


def test_events_decoded_from_json_are_accepted(store: Store) -> None:
    # A transport that carried events as JSON gives bodies as {"b64": ...}.
    feed(store, [to_jsonable(e) for e in exchange_events(1, response_body=BINARY,
                                                          request_body=b"\x00\xff")])
    store.flush()
    got = store.get(1)
    assert got.response_body == BINARY and got.request_body == b"\x00\xff"


def test_summaries_list_the_exchanges(store: Store) -> None:
    for xid, case in enumerate(CASES, 1):
        feed(store, exchange_events(xid, **case))
    store.flush()
    first, post, _binary, lint, boom, big = store.summaries()
    assert isinstance(first, Summary)
    assert first == Summary(1, first.start, "GET", "/", "", 200, "text/plain; charset=utf-8",
                            5, first.duration, 0, False, "complete")
    assert first.duration is not None and first.duration > 0
    assert (post.method, post.path, post.query, post.status) == ("POST", "/api/items",
                                                                 "dry=1", 201)
    assert post.content_type == "application/json"
    assert lint.findings == 1
    assert (boom.status, boom.error, boom.state) == (None, True, "failed")
    assert big.response_size == 5000
    assert [store.summary(i) for i in range(len(store))] == store.summaries()
    assert store.index(4) == 3


def test_active_exchange_is_visible_before_its_end_then_updated(
        store: Store, session: Path) -> None:
    events = exchange_events(1, path="/slow")
    begin_to_chunk, end = events[:-1], events[-1]
    updates: list[list[Summary]] = []
    store.on_update(updates.append)

    feed(store, begin_to_chunk)
    store.flush()
    assert store.summary(0).state == "active"
    assert store.summary(0).status == 200  # known once start_response happened
    live = store.get(1)
    assert live.state == "active" and live.response_body == b"Hello"
    with sqlite3.connect(session) as db:
        assert db.execute("SELECT state FROM exchanges WHERE id = 1").fetchone() == ("active",)

    store.put(end)
    store.flush()
    assert store.summary(0).state == "complete"
    assert updates[-1][0].state == "complete"
    with sqlite3.connect(session) as db:
        assert db.execute("SELECT state FROM exchanges").fetchall() == [("complete",)]


def test_observers_are_called_in_batches(store: Store) -> None:
    calls = {"add": 0, "update": 0}
    mirror: dict[int, Summary] = {}

    def added(batch: list[Summary]) -> None:
        calls["add"] += 1
        mirror.update((s.id, s) for s in batch)

    def updated(batch: list[Summary]) -> None:
        calls["update"] += 1
        assert all(s.id in mirror for s in batch)
        mirror.update((s.id, s) for s in batch)

    store.on_add(added)
    store.on_update(updated)
    events = [e for i in range(1, 1001) for e in exchange_events(i, path=f"/n/{i}")]
    feed(store, events)
    store.flush()
    assert len(mirror) == len(store) == 1000
    assert all(s.state == "complete" for s in mirror.values())
    assert calls["add"] + calls["update"] < len(events) / 10


def test_completed_exchange_reaches_disk_without_flush(store: Store, session: Path) -> None:
    done = threading.Event()
    store.on_add(lambda batch: any(s.state == "complete" for s in batch) and done.set())
    store.on_update(lambda batch: any(s.state == "complete" for s in batch) and done.set())
    feed(store, exchange_events(1))
    assert done.wait(timeout=1.0)  # observers run after the batch's commit
    with sqlite3.connect(session) as db:
        assert db.execute("SELECT state FROM exchanges").fetchall() == [("complete",)]


def test_process_output_is_kept_apart(store: Store, session: Path,
                                      opened: Callable[..., Store]) -> None:
    store.put({"type": "output", "id": None, "t": 0.5, "stream": "stderr",
               "text": "Serving on http://127.0.0.1:8000", "level": "", "logger": ""})
    feed(store, exchange_events(1))
    store.put({"type": "output", "id": None, "t": 0.7, "stream": "log", "gen": 2,
               "text": "Task queue depth is 1", "level": "WARNING", "logger": "waitress"})
    store.close()
    lines = opened(Store.open(session)).process_output()
    assert [(o.stream, o.text, o.level) for o in lines] == [
        ("stderr", "Serving on http://127.0.0.1:8000", ""),
        ("log", "Task queue depth is 1", "WARNING")]


def test_generations_get_their_own_rows(store: Store) -> None:
    old = exchange_events(1, path="/before-reload", gen=0)
    new = exchange_events(1, path="/after-reload", gen=1)
    # Interleaved: the old process's request ends after the new one began.
    feed(store, old[:2] + new + old[2:])
    store.flush()
    assert [(s.id, s.path, s.state) for s in store.summaries()] == [
        (1, "/before-reload", "complete"), (2, "/after-reload", "complete")]
    assert store.get(1).path == "/before-reload" and store.get(2).id == 2


def test_a_reused_key_without_generation_starts_a_new_row(store: Store) -> None:
    feed(store, exchange_events(1, path="/killed", end=False))
    feed(store, exchange_events(1, path="/next"))
    store.flush()
    assert [(s.path, s.state) for s in store.summaries()] == [
        ("/killed", "active"), ("/next", "complete")]


def test_late_events_of_an_ended_exchange_are_dropped(store: Store) -> None:
    events = exchange_events(1)
    feed(store, [*events, events[-1]])
    store.flush()
    assert len(store) == 1 and store.get(1).to_dict() == make_exchange(1).to_dict()


def test_delete(store: Store, session: Path, opened: Callable[..., Store]) -> None:
    removed: list[list[Summary]] = []
    store.on_remove(removed.append)
    for xid in range(1, 6):
        feed(store, exchange_events(xid, path=f"/{xid}"))
    store.delete([2, 4])
    assert [s.id for s in store.summaries()] == [1, 3, 5]
    assert [[s.id for s in batch] for batch in removed] == [[2, 4]]
    with pytest.raises(KeyError):
        store.get(2)
    assert store.get(3).path == "/3"
    store.close()
    assert [s.id for s in opened(Store.open(session)).summaries()] == [1, 3, 5]


def test_clear(store: Store, session: Path, opened: Callable[..., Store]) -> None:
    cleared = threading.Event()
    store.on_clear(cleared.set)
    feed(store, exchange_events(1))
    feed(store, exchange_events(2, end=False))
    store.clear()
    assert cleared.is_set() and len(store) == 0
    feed(store, exchange_events(2, end=False)[-1:])  # the in-flight one's late event
    feed(store, exchange_events(3, path="/after"))
    store.flush()
    assert [(s.id, s.path) for s in store.summaries()] == [(3, "/after")]
    store.close()
    assert len(opened(Store.open(session))) == 1


def test_reopened_session_keeps_numbering(session: Path, opened: Callable[..., Store]) -> None:
    with Store(session) as first:
        feed(first, exchange_events(1))
        feed(first, exchange_events(2))
    again = opened(Store.open(session, writable=True))
    feed(again, exchange_events(1, path="/more"))
    again.flush()
    assert [(s.id, s.path) for s in again.summaries()] == [(1, "/"), (2, "/"), (3, "/more")]


def test_add_imported_exchanges(store: Store) -> None:
    added: list[list[Summary]] = []
    store.on_add(added.append)
    feed(store, exchange_events(1))
    store.add([make_exchange(1, path="/imported-a"), make_exchange(1, path="/imported-b")])
    store.flush()
    assert [(s.id, s.path) for s in store.summaries()] == [
        (1, "/"), (2, "/imported-a"), (3, "/imported-b")]
    assert store.get(3).id == 3 and store.get(3).response_body == b"Hello"


def test_observer_errors_do_not_stop_recording(store: Store,
                                               caplog: pytest.LogCaptureFixture) -> None:
    def broken(batch: list[Summary]) -> None:
        raise RuntimeError("observer bug")

    store.on_add(broken)
    feed(store, exchange_events(1))
    store.flush()
    feed(store, exchange_events(2))
    store.flush()
    assert len(store) == 2
    assert "observer failed" in caplog.text


def test_unsubscribe(store: Store) -> None:
    calls: list[list[Summary]] = []
    unsubscribe = store.on_add(calls.append)
    unsubscribe()
    feed(store, exchange_events(1))
    store.flush()
    assert calls == []


# -- files -------------------------------------------------------------------------------

@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_file_mode_is_private(store: Store, session: Path, tmp_path: Path) -> None:
    old = os.umask(0)  # even a permissive umask must not widen it
    try:
        other = Store(tmp_path / "other.wsgi-session")
        other.close()
    finally:
        os.umask(old)
    assert (tmp_path / "other.wsgi-session").stat().st_mode & 0o777 == 0o600
    assert session.stat().st_mode & 0o777 == 0o600


def test_save_as_copies_the_session(store: Store, tmp_path: Path,
                                    opened: Callable[..., Store]) -> None:
    for xid, case in enumerate(CASES, 1):
        feed(store, exchange_events(xid, **case))
    copy = tmp_path / "copy.wsgi-session"
    copy.write_bytes(b"an older file with the same name")
    if os.name == "posix":
        copy.chmod(0o644)
    store.save_as(copy)
    if os.name == "posix":
        assert copy.stat().st_mode & 0o777 == 0o600
    saved = opened(Store.open(copy))
    assert saved.summaries() == store.summaries()
    assert saved.get(3).to_dict() == store.get(3).to_dict()
    with pytest.raises(ValueError):
        store.save_as(store.path)


def test_new_store_refuses_an_existing_file(session: Path) -> None:
    session.write_text("keep me")
    with pytest.raises(SessionError, match="already exists"):
        Store(session)
    assert session.read_text() == "keep me"


def test_default_session_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    path = default_session_path()
    assert path.parent == tmp_path / "xdg" / "wsgi-inspector" / "sessions"
    name = path.name
    assert name.startswith("session-") and name.endswith(f"-{os.getpid()}.wsgi-session")
    date, clock = name.split("-")[1:3]
    assert len(date) == 8 and date.isdigit() and len(clock) == 6 and clock.isdigit()

    monkeypatch.setenv("XDG_DATA_HOME", "relative/path")  # invalid per the XDG spec
    assert data_dir() == Path.home() / ".local" / "share"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert data_dir() == Path.home() / "Library" / "Application Support"
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert data_dir() == tmp_path / "local"


def test_default_location_is_used_and_not_reused(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    with Store() as one, Store() as two:
        assert one.path.parent == tmp_path / "wsgi-inspector" / "sessions"
        assert one.path != two.path


# -- older formats and unreadable rows ------------------------------------------------

def _version_1_session(path: Path, exchanges: list[Exchange]) -> None:
    """A session as format 1 wrote it: ``data`` holds the exchange's dict as JSON text."""
    # Format 1 had neither binary data nor the resent_from and queries columns.
    schema = _SCHEMA.replace("data BLOB", "data TEXT").replace("    resent_from INTEGER,\n", "")
    schema = schema.replace("queries INTEGER NOT NULL DEFAULT 0,", "")
    assert "resent_from" not in schema and "queries" not in schema
    with sqlite3.connect(path) as db:
        db.executescript(schema)
        db.executemany("INSERT INTO meta VALUES (?, ?)",
                       [("app", "wsgi-inspector-session"), ("schema_version", "1")])
        db.executemany("INSERT INTO exchanges VALUES (" + ", ".join("?" * 15) + ")",
                       [(*summarize(x)[:12], json.dumps(x.to_dict(bodies=False)),
                         x.request_body, x.response_body) for x in exchanges])
    db.close()


def _file_format(path: Path) -> tuple[str, list[type]]:
    """The session's schema_version and the type of each row's ``data``."""
    with sqlite3.connect(path) as db:
        (version,) = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        types = [type(data) for (data,) in db.execute("SELECT data FROM exchanges ORDER BY id")]
    db.close()
    return version, types


def test_version_1_session_opens_and_reads_as_before(session: Path) -> None:
    old = [make_exchange(xid, **case) for xid, case in enumerate(CASES, 1)]
    _version_1_session(session, old)
    with Store.open(session) as store:
        assert store.summaries() == [summarize(x) for x in old]
        for x in old:
            assert store.get(x.id).to_dict() == x.to_dict()
        assert store.get(3).request_body == BINARY and store.get(3).response_body == BINARY
        assert [x.id for x in store.exchanges()] == [x.id for x in old]
    assert _file_format(session) == ("1", [str] * len(old))  # only viewed: left as it was


def test_appending_to_a_version_1_session_marks_it_current(
        session: Path, opened: Callable[..., Store]) -> None:
    _version_1_session(session, [make_exchange(1, path="/old")])
    with Store.open(session, writable=True) as store:
        feed(store, exchange_events(1, path="/new"))
    assert _file_format(session) == (str(SCHEMA_VERSION), [str, bytes])
    again = opened(Store.open(session))
    assert [again.get(xid).path for xid in (1, 2)] == ["/old", "/new"]


CALLS: list[tuple[Any, ...]] = []


def _record_call(*args: Any) -> None:
    """What a hostile ``data`` pickle asks the reader to call."""
    CALLS.append(args)


class _Hostile:
    def __reduce__(self) -> tuple[Any, ...]:
        return (_record_call, ("rm -rf ~",))


def test_a_data_pickle_naming_a_function_is_refused_not_run(
        store: Store, caplog: pytest.LogCaptureFixture) -> None:
    feed(store, exchange_events(1))
    feed(store, exchange_events(2, path="/fine"))
    store.flush()
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE exchanges SET data = ? WHERE id = 1",
                   (pickle.dumps({"id": 1, "environ": _Hostile()}, 5),))
    db.close()
    # The row reads as gone, which the window and the exporters already cope with.
    with pytest.raises(KeyError):
        store.get(1)
    assert CALLS == []
    assert store.notes == ["row 1 is unreadable (pickle refers to tests.test_store."
                           "_record_call; only plain data is read)"]
    assert [x.path for x in store.exchanges()] == ["/fine"]
    assert len(store) == 2  # still listed from its summary columns


# -- files that are not sessions ---------------------------------------------------------

def _text_file(path: Path) -> None:
    path.write_text("GET / HTTP/1.1\nHost: example.test\n")


def _empty_file(path: Path) -> None:
    path.write_bytes(b"")


def _random_bytes(path: Path) -> None:
    path.write_bytes(bytes((i * 7919 + 13) % 256 for i in range(8192)))


def _other_sqlite(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
    db.close()


def _other_meta(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE meta (key TEXT, value TEXT)")
        db.execute("INSERT INTO meta VALUES ('app', 'some-other-tool')")
    db.close()


def _har_file(path: Path) -> None:
    path.write_text('{"log": {"version": "1.2", "entries": []}}')


def _newer(path: Path) -> None:
    _real_session(path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                   (str(SCHEMA_VERSION + 1),))
    db.close()


def _real_session(path: Path, count: int = 3) -> None:
    with Store(path) as store:
        for xid in range(1, count + 1):
            feed(store, exchange_events(xid, response_body=bytes([xid % 256]) * 3000))


def _overwritten(path: Path) -> None:
    _real_session(path, 300)
    size = path.stat().st_size
    middle = size // 2 // 4096 * 4096  # a whole page in the middle
    with open(path, "r+b") as f:
        f.seek(middle)
        f.write(b"\xff" * 4096 * 2)


def _truncated(path: Path) -> None:
    _real_session(path, 300)
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 2)


@pytest.mark.parametrize(("make", "words"), [
    (_text_file, "is not a WSGI Inspector session (it is a text file)"),
    (_empty_file, "is not a WSGI Inspector session (it is an empty file)"),
    (_random_bytes, "is not a WSGI Inspector session (it is a binary file"),
    (_other_sqlite, "(it is a database of another application)"),
    (_other_meta, "(it is a database of another application)"),
    (_har_file, "is a HAR file, not a WSGI Inspector session; import it"),
    (_overwritten, "is a damaged WSGI Inspector session"),
    (_truncated, "is a damaged WSGI Inspector session"),
    (_newer, f"newer WSGI Inspector (session format {SCHEMA_VERSION + 1}"),
], ids=lambda v: v.__name__.strip("_") if callable(v) else "")
def test_files_that_are_not_sessions(tmp_path: Path, make: Callable[[Path], None],
                                     words: str) -> None:
    path = tmp_path / "suspect.wsgi-session"
    make(path)
    with pytest.raises(SessionError) as info:
        Store.open(path)
    message = str(info.value)
    assert words in message
    assert message.startswith(str(path))  # names the file
    # One plain sentence: no line breaks, one final full stop, and it says what to do.
    assert "\n" not in message and message.endswith(".")
    assert ". " not in message.replace(str(path), "")
    assert any(verb in message for verb in ("open", "import", "update"))
    assert "Traceback" not in message and "sqlite" not in message.lower()


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SessionError, match="does not exist"):
        Store.open(tmp_path / "nowhere.wsgi-session")
    assert not (tmp_path / "nowhere.wsgi-session").exists()


# -- crash durability ---------------------------------------------------------------------

CHILD = """
import sys, threading
sys.path.insert(0, sys.argv[2])
from tests.factories import exchange_events
from inspector.host.store import Store

store = Store(sys.argv[1])
for xid in range(1, 51):
    for event in exchange_events(xid, path=f"/k/{xid}", response_body=b"%d" % xid):
        store.put(event)
store.flush()
for event in exchange_events(51, path="/in-flight", end=False):
    store.put(event)
print("ready", flush=True)
threading.Event().wait()
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")
def test_committed_exchanges_survive_sigkill(session: Path,
                                             opened: Callable[..., Store]) -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(session), str(TESTS)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    store = opened(Store.open(session))
    complete = [s for s in store.summaries() if s.state == "complete"]
    assert [s.path for s in complete] == [f"/k/{i}" for i in range(1, 51)]
    assert store.get(50).response_body == b"50"


def test_a_record_that_cannot_be_saved_does_not_stop_the_writer(
        store: Store, caplog: pytest.LogCaptureFixture) -> None:
    """An in-process app can put anything in an event; a cycle cannot be pickled."""
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    bad = exchange_events(1, path="/cyclic")
    bad.insert(1, {"type": "output", "id": 1, "t": 0.0, "stream": "stdout", "text": cyclic,
                   "level": "", "logger": ""})
    feed(store, bad + exchange_events(2, path="/fine"))
    assert store.flush(timeout=10)
    assert [s.path for s in store.summaries()] == ["/cyclic", "/fine"]
    assert store.get(2).path == "/fine"
    assert "exchange 1 cannot be saved" in caplog.text
    feed(store, exchange_events(3, path="/after"))
    assert store.flush(timeout=10) and store.get(3).path == "/after"
