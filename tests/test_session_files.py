"""Session files from anywhere: `wsgi-inspector --open FILE --har OUT` on a corpus of
damaged and crafted files, generated here. Each run ends (no hang), with exit code 0
(bad rows skipped and named, one line each) or 2 (the file is unusable, one sentence),
and never a traceback; nothing in a file is ever run."""

from __future__ import annotations

import json
import os
import pickle
import sqlite3
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from inspector.host.store import SCHEMA_VERSION, SessionError, Store
from tests.factories import exchange_events, make_exchange

ROOT = Path(__file__).resolve().parents[1]


def open_as_har(session: Path, tmp_path: Path) -> tuple[int, list[str], Path]:
    """Run the real command line; its exit code, its stderr lines and the HAR path."""
    har = tmp_path / "out.har"
    proc = subprocess.run(
        [sys.executable, "-m", "ui.launch", "--open", str(session), "--har", str(har)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stderr.splitlines(), har


def real_session(path: Path, count: int = 3) -> None:
    with Store(path) as store:
        for xid in range(1, count + 1):
            for event in exchange_events(xid, path=f"/p{xid}"):
                store.put(event)


def format_2_session(path: Path, count: int = 3) -> None:
    """A session as format 2 wrote it: each row's ``data`` is a pickle of the
    exchange's fields (as exchanges imported whole are still written)."""
    with Store(path) as store:
        store.add([make_exchange(xid, path=f"/p{xid}") for xid in range(1, count + 1)])
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    db.close()


def set_data(path: Path, xid: int, data: Any) -> None:
    with sqlite3.connect(path) as db:
        db.execute("UPDATE exchanges SET data = ? WHERE id = ?", (data, xid))
    db.close()


def record(path: Path, xid: int) -> Any:
    """Row ``xid``'s record (format 2) or event log (format 3) as plain data."""
    with sqlite3.connect(path) as db:
        (data,) = db.execute("SELECT data FROM exchanges WHERE id = ?", (xid,)).fetchone()
    db.close()
    return pickle.loads(data)


def with_status(path: Path, status_pickle: bytes) -> None:
    """Row 2 with its start_response status replaced by the pickled value's opcodes
    (protocol 2 without a memo, so the value's bytes can be spliced in)."""
    plain = record(path, 2)
    plain["start_response"][0]["status"] = "@@@"
    buffer = __import__("io").BytesIO()
    pickler = pickle.Pickler(buffer, 2)
    pickler.fast = True
    pickler.dump(plain)
    marker = b"X" + struct.pack("<I", 3) + b"@@@"
    data = buffer.getvalue()
    assert data.count(marker) == 1
    set_data(path, 2, data.replace(marker, status_pickle))


# -- the corpus ----------------------------------------------------------------------

def truncated(path: Path) -> None:
    real_session(path, 300)
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 2)


def garbage(path: Path) -> None:
    path.write_bytes(bytes((i * 7919 + 13) % 256 for i in range(16384)))


def other_sqlite(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
    db.close()


def newer_schema(path: Path) -> None:
    real_session(path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                   (str(SCHEMA_VERSION + 1),))
    db.close()


def no_exchanges_table(path: Path) -> None:
    real_session(path)
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE exchanges")
    db.close()


class _System:
    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {MARKER}",))


MARKER = Path(os.environ.get("TMPDIR", "/tmp")) / "wsgi-inspector-pwned"


def names_a_class(path: Path) -> None:
    format_2_session(path)
    plain = record(path, 2)
    plain["client"] = _System()
    set_data(path, 2, pickle.dumps(plain, 5))


def shared_bomb(path: Path) -> None:
    format_2_session(path)
    value: list[Any] = []
    for _ in range(40):  # 16 KB of pickle, 2**40 values to a tree walker
        value = [value, value]
    opcodes = pickle.dumps(value, 2)[2:-1]  # without PROTO and STOP
    with_status(path, opcodes)


def deep_nesting(path: Path) -> None:
    format_2_session(path)
    depth = 100_000
    with_status(path, b"]" * depth + b"a" * (depth - 1))  # lists in lists, 100k deep


def a_set(path: Path) -> None:
    format_2_session(path)
    with_status(path, b"\x8f(X\x01\x00\x00\x00a\x90")  # EMPTY_SET MARK "a" ADDITEMS


def a_bytearray(path: Path) -> None:
    format_2_session(path)
    with_status(path, b"\x96" + struct.pack("<Q", 3) + b"abc")  # BYTEARRAY8


def _permissive(path: Path) -> None:
    """The exchanges table rebuilt without column types or NOT NULL (SQLite keeps any
    value in any column then), as a crafted file may have it."""
    with sqlite3.connect(path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(exchanges)")]
        db.execute("ALTER TABLE exchanges RENAME TO old")
        db.execute(f"CREATE TABLE exchanges ({', '.join(columns)})")
        db.execute("INSERT INTO exchanges SELECT * FROM old")
        db.execute("DROP TABLE old")
    db.close()


def null_method(path: Path) -> None:
    real_session(path)
    _permissive(path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE exchanges SET method = NULL WHERE id = 2")
    db.close()


def integer_method(path: Path) -> None:
    real_session(path)
    _permissive(path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE exchanges SET method = 7 WHERE id = 2")
    db.close()


def wrong_types(path: Path) -> None:
    format_2_session(path)
    plain = record(path, 2)
    plain["start_response"][0]["headers"] = [["Content-Type"]]  # not a pair
    set_data(path, 2, pickle.dumps(plain, 5))


def record_is_a_text(path: Path) -> None:
    format_2_session(path)
    set_data(path, 2, pickle.dumps("not a record", 5))


def _set_log(path: Path, change: Callable[[list[Any]], object]) -> None:
    real_session(path)
    events = record(path, 2)
    change(events)
    set_data(path, 2, pickle.dumps(events, 5))


def log_names_a_class(path: Path) -> None:
    _set_log(path, lambda events: events[0].update(thread=_System()))


def log_record_names_a_class(path: Path) -> None:
    _set_log(path, lambda events: events.__setitem__(0, pickle.dumps(_System(), 5)))


def log_of_texts(path: Path) -> None:
    real_session(path)
    set_data(path, 2, pickle.dumps(["not", "a", "record"], 5))


def log_status_of_a_list(path: Path) -> None:
    def change(events: list[Any]) -> None:
        next(e for e in events if e.get("name") == "start_response")["status"] = ["200"]
    _set_log(path, change)


def log_wire_body_a_number(path: Path) -> None:
    def change(events: list[Any]) -> None:
        events[-1].update(wire_size=5, wire_head=b"HTTP/1.1 200 OK\r\n\r\n",
                          wire_body=1 << 40)  # bytes(1 << 40) would be a terabyte
    _set_log(path, change)


def _end_record(chunks: bytes) -> bytes:
    """A ring record (as the agent's Encoder writes one: the shared words by memo
    index) of an end event whose "chunks" value is the opcodes ``chunks``."""
    from inspector.wire import VOCABULARY

    def word(name: str) -> bytes:
        return b"h" + bytes([VOCABULARY.index(name)])  # BINGET of a shared word

    return (b"\x80\x05}(" + word("type") + word("end") + word("id") + b"K\x02"
            + word("t") + b"G" + struct.pack(">d", 0.5) + word("closed") + b"\x88"
            + word("size") + b"J" + struct.pack("<i", 0) + word("chunks") + chunks
            + b"u.")


BIG = 1 << 20  # a body of 1 MiB, referred to 17 times from a record of about 1 MiB


def _chunk(data: bytes) -> bytes:
    """One [t, size, data, "iter"] item of an end event's chunks, as opcodes."""
    from inspector.wire import VOCABULARY

    return (b"](G" + struct.pack(">d", 0.1) + b"J" + struct.pack("<i", BIG) + data
            + b"h" + bytes([VOCABULARY.index("iter")]) + b"e")


def _with_end_record(path: Path, data: bytes) -> None:
    """Row 2 of a real session with its end event replaced by the ring record ``data``."""
    _set_log(path, lambda events: events.__setitem__(-1, data))


def log_record_memoizes_a_body(path: Path) -> None:
    # The body once, memoized past the shared words (LONG_BINPUT), then fetched 16
    # times more (LONG_BINGET): a 17 MiB response body from a 1 MiB record.
    index = struct.pack("<I", 200)
    body = b"B" + struct.pack("<I", BIG) + b"x" * BIG + b"r" + index
    _with_end_record(path, _end_record(b"](" + _chunk(body) + _chunk(b"j" + index) * 16
                                       + b"e"))


def log_record_replaces_a_word(path: Path) -> None:
    # The same, with the body put in place of the first shared word (MEMOIZE, which
    # counts from 0 in an unpickler given a memo) and fetched there (BINGET 0).
    body = b"B" + struct.pack("<I", BIG) + b"x" * BIG + b"\x94"
    _with_end_record(path, _end_record(b"](" + _chunk(body) + _chunk(b"h\x00") * 16 + b"e"))


def log_record_repeats_a_body(path: Path) -> None:
    # No memo: the chunk on the stack duplicated 16 times (DUP), 17 MiB again.
    body = b"B" + struct.pack("<I", BIG) + b"x" * BIG
    _with_end_record(path, _end_record(b"](" + _chunk(body) + b"2" * 16 + b"e"))


UNUSABLE = [
    (truncated, "is a damaged WSGI Inspector session"),
    (garbage, "is not a WSGI Inspector session (it is a binary file"),
    (other_sqlite, "is not a WSGI Inspector session (it is a database of another"),
    (newer_schema, f"was saved by a newer WSGI Inspector (session format "
                   f"{SCHEMA_VERSION + 1}"),
    (no_exchanges_table, "is not a WSGI Inspector session"),
]

BAD_ROW = [
    (names_a_class, "pickle refers to posix.system"),
    (shared_bomb, "refers to shared values"),
    (deep_nesting, "nests too deeply"),
    (a_set, "holds a set"),
    (a_bytearray, "holds a bytearray"),
    (null_method, "its method is NULL"),
    (integer_method, "its method is a number"),
    (wrong_types, "its start_response headers is malformed"),
    (record_is_a_text, "its record is a text"),
    (log_names_a_class, "pickle refers to posix.system"),
    (log_record_names_a_class, "an event of its log: pickle refers to posix.system"),
    (log_of_texts, "an event of its log is a text"),
    (log_status_of_a_list, "its start_response status is malformed"),
    (log_wire_body_a_number, "its wire body is not bytes"),
    (log_record_memoizes_a_body, "an event of its log: keeps values of its own"),
    (log_record_replaces_a_word, "an event of its log: keeps values of its own"),
    (log_record_repeats_a_body, "an event of its log: refers to shared values"),
]


def _name(value: Any) -> str:
    return value.__name__ if callable(value) else ""


@pytest.mark.parametrize(("make", "words"), UNUSABLE, ids=_name)
def test_an_unusable_file_is_one_sentence_and_exit_2(
        tmp_path: Path, make: Callable[[Path], None], words: str) -> None:
    session = tmp_path / "suspect.wsgi-session"
    make(session)
    code, lines, har = open_as_har(session, tmp_path)
    assert code == 2
    assert len(lines) == 1 and words in lines[0], lines
    assert str(session) in lines[0] and lines[0].endswith(".")
    assert "writable" not in lines[0]
    assert not har.exists()


@pytest.mark.parametrize(("make", "why"), BAD_ROW, ids=_name)
def test_a_bad_row_is_skipped_and_named(tmp_path: Path, make: Callable[[Path], None],
                                        why: str) -> None:
    MARKER.unlink(missing_ok=True)
    session = tmp_path / "suspect.wsgi-session"
    make(session)
    code, lines, har = open_as_har(session, tmp_path)
    assert code == 0, lines
    notes = [line for line in lines if "unreadable" in line]
    assert len(notes) == 1 and "row 2 is unreadable (" in notes[0] and why in notes[0], lines
    assert str(session) in notes[0]
    entries = json.loads(har.read_text())["log"]["entries"]
    assert [e["request"]["url"].rsplit("/", 1)[1] for e in entries] == ["p1", "p3"]
    assert not MARKER.exists()  # nothing in the file was run


# -- opening never changes the file -------------------------------------------------------

def test_opening_a_saved_session_never_changes_it(tmp_path: Path) -> None:
    session = tmp_path / "saved.wsgi-session"
    real_session(session, 2)
    before, files = session.read_bytes(), sorted(os.listdir(tmp_path))
    with Store.open(session) as store:
        assert store.read_only
        for event in exchange_events(1, path="/new"):
            store.put(event)  # traffic meant for it goes nowhere
        assert store.flush(timeout=10)
        assert [s.path for s in store.summaries()] == ["/p1", "/p2"]
        assert store.get(2).path == "/p2"
        for change in (lambda: store.delete([1]), store.clear, lambda: store.add([])):
            with pytest.raises(SessionError, match="is open read-only"):
                change()
    assert session.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == files  # no -wal or -shm file left behind


def test_a_session_being_recorded_opens_read_only_with_what_is_committed(
        tmp_path: Path) -> None:
    session = tmp_path / "live.wsgi-session"
    with Store(session) as live:
        for xid in (1, 2):
            for event in exchange_events(xid, path=f"/live{xid}"):
                live.put(event)
        assert live.flush(timeout=10)
        with Store.open(session) as view:
            assert [s.path for s in view.summaries()] == ["/live1", "/live2"]
            assert view.get(1).path == "/live1"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="file permissions do not bind root")
def test_open_in_a_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "readonly"
    folder.mkdir()
    session = folder / "saved.wsgi-session"
    real_session(session, 2)
    session.chmod(0o444)
    folder.chmod(0o555)
    try:
        code, lines, har = open_as_har(session, tmp_path)
    finally:
        folder.chmod(0o755)
    assert code == 0, lines
    assert len(json.loads(har.read_text())["log"]["entries"]) == 2


def test_a_missing_exchanges_table_is_not_a_session(tmp_path: Path) -> None:
    session = tmp_path / "odd.wsgi-session"
    no_exchanges_table(session)
    with pytest.raises(SessionError) as info:
        Store.open(session)
    assert str(info.value) == (f"{session} is not a WSGI Inspector session (it is a database "
                               "of another application); open a .wsgi-session or HAR file.")


# -- the data-only reading, without a process ---------------------------------------------

def test_strict_reading_takes_what_the_store_writes() -> None:
    from inspector.wire import dumps_plain, loads_plain

    value = {"a": [1, 2.5, True, None, "x", b"y", (), ("p", "q")], "b": {"c": [[[]]]},
             "e": [(), (), ""]}
    assert loads_plain(dumps_plain(value), strict=True) == value
    assert loads_plain(dumps_plain([None] * 1000), strict=True) == [None] * 1000


def _cycle() -> list[Any]:
    cycle: list[Any] = []
    cycle.append(cycle)
    return cycle


@pytest.mark.parametrize(("value", "why"), [
    ({1, 2}, "holds a set"), ([frozenset([1])], "holds a frozenset"),
    ({"a": bytearray(b"x")}, "holds a bytearray"), (_cycle(), "refers to itself"),
    (["x" * 1000] * 1000, "refers to shared values"),
])
def test_strict_reading_refuses_what_the_store_never_writes(value: Any, why: str) -> None:
    from inspector.wire import ProtocolError, loads_plain

    with pytest.raises(ProtocolError, match=why):
        loads_plain(pickle.dumps(value, 5), strict=True)


def test_a_recorded_session_reads_back_whole(tmp_path: Path, serve_inspected) -> None:
    """What the recorder writes today (the wire side, a handled error, a finding's
    quote) is what a strict reader of the saved file accepts."""
    import logging

    from tests.conftest import fetch

    def app(environ: dict, start_response: Callable) -> list[bytes]:
        try:
            raise KeyError("boom")
        except KeyError:
            logging.getLogger("app").exception("it failed")
        start_response("500 Internal Server Error", [("Content-Length", "4")])
        return [b"oops"]

    agent, log = serve_inspected(app)
    fetch(agent.server.effective_port)
    path = tmp_path / "recorded.wsgi-session"
    with Store(path) as store:
        for event in log.events:
            store.put(dict(event, gen=1))
    with Store.open(path) as saved:
        (x,) = list(saved.exchanges())
        assert saved.notes == []
    assert x.error is not None and x.error.handled
    assert x.wire_status == "500 Internal Server Error" and x.wire_size == 4
    assert x.findings and all(f.quote for f in x.findings)
