"""Full-text index of the session's bodies and headers, for ``body:`` and ``header:``.

One SQLite FTS5 table, ``search``, in the session file, one row per ended
exchange (its rowid is the exchange's row id)::

    reqbody  request body as text
    resbody  response body as text
    marks    "edited" (changed while stepping), and for each header a word for its
             name and side ("rqxdebug", "rscontenttype") followed by one word per
             word of its value, the name's word joined to it ("rscontenttypeǂjson")

Bodies are indexed as text when they are text (text/*, JSON, XML, JavaScript,
forms, multipart, or no type and valid UTF-8 without NUL bytes); gzip and
deflate are decoded first; a form's ``+`` and ``%XX`` are decoded; binary
bodies are left out; each body's text is cut at :data:`TEXT_CAP`.

The session's writer thread fills it (:class:`WriterIndex`) in the same
transaction that writes the exchange's row when it ends, from its event log
(no Exchange is folded): about 15 us per exchange, nothing on the request
path. While the writer is busy (a wake-up finds hundreds of events: a load
test), it only notes the ids and indexes them from their rows once it is not
(a few thousand per wake-up), on ``flush`` and on ``close``: the app's
throughput under load does not pay for the index, and the index is complete
a moment after the load ends. A session without the table (written
before it existed) is opened read-only, so nothing may be added to its file:
its index is built in memory, from the rows, on the first search that needs
it (:meth:`SessionIndex.ensure`, in whichever thread calls it) and kept up to
date from then on.

``header:NAME`` is its name's word in ``marks``; ``header:NAME=VALUE`` the
phrase of its value's joined words: both exact, without reading any row.
``body:`` is an FTS5 phrase query: whole words in order, case and accents
ignored, the last one a prefix with ``*`` (see :func:`inspector.filtering.words`).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import zlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Callable, NamedTuple
from urllib.parse import unquote_plus

from ..filtering import Search, has_phrase, words
from ..model import EV_BEGIN, EV_CHUNK, EV_EDIT, EV_END, EV_PHASE, Exchange, from_jsonable
from ..wire import loads_plain, loads_record
from .schemaguard import own_index

log = logging.getLogger(__name__)

__all__ = ["TEXT_CAP", "IndexRow", "SessionIndex", "row_from_events", "row_from_exchange"]

TEXT_CAP = 64 * 1024  # characters of one body's text in the index
_RAW_CAP = 1 << 20  # bytes of a body read (decompressed) for that text
TABLE = "search"
_CREATE = (f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5("
           "reqbody, resbody, marks, tokenize='unicode61', columnsize=0)")
# OR REPLACE: a row id used again (a session reopened after its last rows were deleted)
# replaces what was indexed for it, and never fails the writer's transaction.
_INSERT = f"INSERT OR REPLACE INTO {TABLE} (rowid, reqbody, resbody, marks) VALUES (?, ?, ?, ?)"
JOIN = "ǂ"  # a letter no header name or typed word holds: name word + JOIN + value word
VALUE_WORDS = 32  # words of one header value in the index
_TEXT_TYPES = ("text/", "json", "xml", "javascript", "ecmascript", "x-www-form-urlencoded",
               "multipart/", "graphql", "yaml", "csv", "html")


class IndexRow(NamedTuple):
    """What the index holds of one exchange (the header lines are for matching it
    in Python, without the index: the index has them as marks)."""

    id: int
    reqhead: str
    reqbody: str
    reshead: str
    resbody: str
    marks: str


# -- bodies as text --------------------------------------------------------------------

def body_text(data: bytes, content_type: str, encoding: str) -> str:
    """The text to index of a body, "" for a binary one (see the module docstring)."""
    if not data:
        return ""
    data = _decoded(bytes(data[:_RAW_CAP]), encoding.strip().lower())
    kind = content_type.lower()
    if kind and not any(t in kind for t in _TEXT_TYPES):
        return ""
    if not kind and b"\x00" in data[:4096]:
        return ""
    text = data[:TEXT_CAP * 4].decode("utf-8", "replace")
    if not kind and text.count("\ufffd") > len(text) // 20:  # mostly not UTF-8: binary
        return ""
    if "x-www-form-urlencoded" in kind:
        text = unquote_plus(text)
    return text[:TEXT_CAP]


def _decoded(data: bytes, encoding: str) -> bytes:
    """``data`` without its gzip or deflate coding, at most _RAW_CAP bytes; as it is
    when it is not so coded or does not decode (a body cut at the capture cap
    decodes as far as it goes)."""
    if encoding in ("gzip", "x-gzip", "deflate"):
        for wbits in (47, -15):  # gzip or zlib header (auto); raw deflate
            try:
                return zlib.decompressobj(wbits).decompress(data, _RAW_CAP)
            except zlib.error:
                continue
    return data


def _header_lines(headers: Iterable[tuple[Any, Any]]) -> str:
    return "".join(f"{name}: {value}\n" for name, value in headers)


def _value_of(headers: Iterable[tuple[Any, Any]], lname: str) -> str:
    for name, value in headers:
        if str(name).lower() == lname:
            return str(value)
    return ""


_CONTENT_KEYS = {"CONTENT_TYPE": "content-type", "CONTENT_LENGTH": "content-length"}


def _request_headers(env: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The request's headers from its environ (names as waitress gave them: lower case,
    ``-`` for ``_``)."""
    out = []
    for key, value in env.items():
        if key.startswith("HTTP_"):
            name = _names.get(key)
            if name is None:
                name = _remember(_names, key, key[5:].lower().replace("_", "-"))
            out.append((name, value))
        elif key in _CONTENT_KEYS and value:
            out.append((_CONTENT_KEYS[key], value))
    return out


def _row(xid: int, request: list[tuple[str, str]], request_body: bytes,
         response: list[tuple[str, str]], response_body: bytes, edited: bool,
         lines: bool = True) -> IndexRow:
    """``lines``: with the header lines (to match in Python; the index has marks)."""
    return IndexRow(
        xid, _header_lines(request) if lines else "",
        body_text(request_body, _value_of(request, "content-type"),
                  _value_of(request, "content-encoding")),
        _header_lines(response) if lines else "",
        body_text(response_body, _value_of(response, "content-type"),
                  _value_of(response, "content-encoding")),
        _marks(request, response, edited))


def _marks(request: list[tuple[str, str]], response: list[tuple[str, str]],
           edited: bool) -> str:
    """The marks column (see the module docstring); the same headers give the same
    marks, made once."""
    key = (tuple(request), tuple(response), edited)
    marks = _all_marks.get(key)
    if marks is None:
        marks = _remember(_all_marks, key, _made_marks(request, response, edited))
    return marks


def _made_marks(request: list[tuple[str, str]], response: list[tuple[str, str]],
                edited: bool) -> str:
    marks = ["edited"] * edited
    for side, headers in (("rq", request), ("rs", response)):
        for name, value in headers:
            key = (side, name, value)
            mark = _header_marks.get(key)
            if mark is None:
                mark = _remember(_header_marks, key, _header_mark(side, name, value))
            if mark:
                marks.append(mark)
    return " ".join(marks)


def _header_mark(side: str, name: Any, value: Any) -> str:
    word = _name_word(side, name)
    if not word:
        return ""
    return " ".join([word, *(word + JOIN + w for w in words(str(value))[:VALUE_WORDS])])


# Most headers repeat from one exchange to the next (Host, User-Agent, Content-Type...):
# their marks are made once. Bounded: cleared when full.
_CACHE_SIZE = 4096
_names: dict[str, str] = {}
_header_marks: dict[tuple[str, Any, Any], str] = {}
_all_marks: dict[tuple[Any, ...], str] = {}
_wire_heads: dict[bytes, list[tuple[str, str]]] = {}


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> Any:
    if len(cache) >= _CACHE_SIZE:
        cache.clear()
    cache[key] = value
    return value


def _name_word(side: str, name: Any) -> str:
    letters = "".join(words(str(name)))
    return side + letters if letters else ""


def row_from_exchange(x: Exchange) -> IndexRow:
    request = _request_headers({k: v[0] for k, v in x.environ.items()
                                if k.startswith("HTTP_") or k.startswith("CONTENT_")})
    return _row(x.id, request, x.request_body, x.headers, x.sent_body, bool(x.edits))


def row_from_events(xid: int, events: Iterable[dict[str, Any]]) -> IndexRow:
    """The index row of an exchange from its event log, without folding it: the
    environ's header keys, the request body, the last headers and the body chunks
    (no header lines: the writer stores the marks)."""
    env: Mapping[str, Any] = {}
    request_body = b""
    app_headers: list[tuple[str, str]] = []
    wire: list[tuple[str, str]] | None = None
    chunks: list[bytes] = []
    wire_body: bytes | None = None
    edited = False
    for ev in events:
        kind = ev.get("type")
        if kind == EV_BEGIN:
            env, request_body = _begin(ev)
        elif kind == EV_CHUNK or (kind == EV_PHASE and ev.get("name") == "start_response"):
            call = ev.get("start_response") if kind == EV_CHUNK else (
                None, ev.get("status"), ev.get("headers"), None)
            if call:
                app_headers = [(h[0], h[1]) for h in call[2] or ()]
            data = ev.get("data")
            if data:
                chunks.append(data if not isinstance(data, dict) else
                              from_jsonable({"d": data})["d"])
        elif kind == EV_END:
            if ev.get("start_response"):
                app_headers = [(h[0], h[1]) for h in ev["start_response"][2] or ()]
            chunks.extend(c[2] for c in ev.get("chunks", ()) if c[2])
            if "wire_size" in ev:
                head = bytes(ev.get("wire_head") or b"")
                wire = _wire_heads.get(head)
                if wire is None:  # the same head comes back under load (Date: each second)
                    wire = _remember(_wire_heads, head, _wire_headers(head))  # type: ignore[arg-type]
                wire_body = ev.get("wire_body")
        elif kind == EV_EDIT:
            edited = True
    body = wire_body if wire_body is not None else b"".join(
        bytes(c) for c in chunks)[:_RAW_CAP]
    return _row(xid, _request_headers(env), request_body,
                wire if wire is not None else app_headers, body, edited, lines=False)


def _begin(ev: dict[str, Any]) -> tuple[Mapping[str, Any], bytes]:
    if isinstance(ev.get("body"), dict):
        ev = from_jsonable(ev)
    environ = ev.get("environ")
    if isinstance(environ, list):  # [texts, others]: the agent's form
        env: Mapping[str, Any] = environ[0]
    else:
        env = {k: v[0] for k, v in (environ or {}).items()}
    return env, bytes(ev.get("body") or b"")


def _wire_headers(head: bytes) -> list[tuple[str, str]]:
    lines = bytes(head).decode("latin-1").split("\r\n")[1:]
    return [(name, value) for name, _, value in (line.partition(": ") for line in lines
                                                 if line)]


# -- matching a row in Python (no index: a HAR file; and the check after a header query)

_COLUMNS = {"req": ("reqbody",), "res": ("resbody",), "any": ("reqbody", "resbody")}
_HEAD_COLUMNS = {"req": ("reqhead",), "res": ("reshead",), "any": ("reqhead", "reshead")}


def row_matches(row: IndexRow, search: Search) -> bool:
    """What the index answers for ``search`` on this one row."""
    if search.kind == "edits":
        return "edited" in row.marks
    if search.kind == "header":
        return any(headers_match(getattr(row, c), search) for c in _HEAD_COLUMNS[search.side])
    wanted = search.text.split()
    return any(has_phrase(words(getattr(row, c)), wanted, search.prefix)
               for c in _COLUMNS[search.side])


def headers_match(lines: str, search: Search) -> bool:
    wanted = search.value.split() if search.value else []
    key = "".join(words(search.text))
    for line in lines.split("\n"):
        name, colon, value = line.partition(": ")
        if colon and "".join(words(name)) == key and (
                not wanted or has_phrase(words(value), wanted, search.prefix)):
            return True
    return False


# -- the index ---------------------------------------------------------------------------

def create(conn: sqlite3.Connection) -> None:
    conn.execute(_CREATE)


def exists(conn: sqlite3.Connection) -> bool:
    """True if the file holds the index as this program makes it; another table of
    that name (a crafted file's, another tokenizer or columns) is left alone."""
    return own_index(conn, TABLE, _CREATE)


def _query(search: Search) -> str | None:
    """The FTS5 query of ``search``; None for one that can find nothing (a header
    name without a letter or digit)."""
    if search.kind == "edits":
        return "marks : edited"
    if search.kind == "header":
        sides = {"req": ("rq",), "res": ("rs",), "any": ("rq", "rs")}[search.side]
        names = [_name_word(side, search.text) for side in sides]
        if not all(names):
            return None
        value = search.value.split() if search.value else []
        if not value:
            return f"marks : ({' OR '.join(names)})"
        phrases = [_phrase([name + JOIN + w for w in value], search.prefix) for name in names]
        return f"marks : ({' OR '.join(phrases)})"
    columns = "{" + " ".join(_COLUMNS[search.side]) + "}"
    phrase = _phrase(search.text.split(), search.prefix)
    return f"{columns} : {phrase}" if phrase else None


def _phrase(found: list[str], prefix: bool) -> str:
    # The words are letters and digits only (filtering.words): nothing to escape.
    return f"\"{' '.join(found)}\"" + (" *" if prefix else "") if found else ""


def lookup(conn: sqlite3.Connection, search: Search,
           among: Iterable[int] | None = None) -> set[int]:
    """The ids of the rows ``search`` finds in the index on ``conn`` (of ``among``
    only, when given: the rows of one batch, say)."""
    query = _query(search)
    if query is None:
        return set()
    ids = sorted(set(among)) if among is not None else None
    sql = f"SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH ?"
    args: list[Any] = [query]
    if ids is not None and len(ids) <= 500:
        sql += f" AND rowid IN ({', '.join('?' * len(ids))})"
        args.extend(ids)
    found = {r[0] for r in conn.execute(sql, args)}
    return found if ids is None else found.intersection(ids)


def insert(conn: sqlite3.Connection, rows: Iterable[IndexRow]) -> None:
    """Add ``rows`` (inside the caller's transaction). A failure leaves them out of the
    index and is logged: the exchanges themselves must still be written."""
    try:
        conn.executemany(_INSERT, ((r.id, r.reqbody, r.resbody, r.marks) for r in rows))
    except sqlite3.Error:
        log.exception("body index: rows left out")


def delete(conn: sqlite3.Connection, ids: Iterable[int]) -> None:
    conn.executemany(f"DELETE FROM {TABLE} WHERE rowid = ?", [(i,) for i in ids])


def clear(conn: sqlite3.Connection) -> None:
    conn.execute(f"DELETE FROM {TABLE}")


class SessionIndex:
    """The index of one store: in its file (``in_file``) or built in memory.

    ``lookup`` answers from what is indexed; ``ensure`` first indexes the ended
    exchanges not indexed yet (all of them, the first time, for an index in
    memory). Both may be called from any thread.
    """

    def __init__(self, store: Any, read: sqlite3.Connection, read_lock: threading.Lock,
                 in_file: bool) -> None:
        self.in_file = in_file
        self._store = store
        self._read, self._read_lock = read, read_lock
        self._lock = read_lock if in_file else threading.Lock()
        if in_file:
            self._conn = read
        else:
            self._conn = sqlite3.connect(":memory:", isolation_level=None,
                                         check_same_thread=False)
            create(self._conn)
        self._indexed: set[int] = set()  # in memory: the ids indexed so far
        self.writer: WriterIndex | None = None  # the store's, when it fills the file's
        self._build_lock = threading.Lock()

    def pending(self) -> int:
        """How many ended exchanges are not indexed yet: in memory, what ``ensure``
        would index; in the file, what the writer put off while busy."""
        if self.in_file:
            return len(self.writer.backlog) if self.writer is not None else 0
        return sum(1 for s in self._store.summaries() if _ended(s) and s.id not in
                   self._indexed)

    def ensure(self, progress: Callable[[int, int], None] | None = None,
               cancelled: Callable[[], bool] = lambda: False) -> None:
        """Index what is not indexed yet (an index in memory only); ``progress(done,
        total)`` now and then."""
        if self.in_file:
            return
        with self._build_lock:
            todo = [s.id for s in self._store.summaries()
                    if _ended(s) and s.id not in self._indexed]
            for start in range(0, len(todo), 200):
                if cancelled():
                    return
                rows = list(self._rows(todo[start:start + 200]))
                with self._lock:
                    insert(self._conn, rows)
                self._indexed.update(todo[start:start + 200])
                if progress is not None:
                    progress(min(start + 200, len(todo)), len(todo))

    def _rows(self, ids: list[int]) -> Iterator[IndexRow]:
        """Rows from the event logs as stored, decoded as data only (the file may come
        from anywhere); an older format's record, through the store's checks."""
        with self._read_lock:
            found = self._read.execute(f"SELECT id, data FROM exchanges WHERE id IN "
                                       f"({', '.join('?' * len(ids))})", ids).fetchall()
        for xid, data in found:
            events = _checked_log(data)
            if events is not None:
                yield from rows_of_logs([(xid, events)])
                continue
            try:
                yield row_from_exchange(self._store.get(xid))
            except KeyError:  # deleted meanwhile, or unreadable (the store says why)
                continue

    def lookup(self, search: Search, among: Iterable[int] | None = None) -> set[int]:
        try:
            with self._lock:
                return lookup(self._conn, search, among)
        except sqlite3.DatabaseError as exc:
            if not self.in_file:
                raise
            # A damaged (or crafted) index in the file: the exchanges are fine, so
            # index them in memory, as for a file without an index.
            log.info("body index: the file's cannot be read (%s); indexing in memory", exc)
            self._to_memory()
        self.ensure()
        with self._lock:
            return lookup(self._conn, search, among)

    def _to_memory(self) -> None:
        with self._build_lock:
            if not self.in_file:
                return
            conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            create(conn)
            self._lock, self._conn = threading.Lock(), conn
            self.in_file = False

    def find(self, searches: Iterable[Search]) -> dict[Search, set[int]]:
        """``ensure``, then each search's ids."""
        wanted = list(searches)
        if wanted:
            self.ensure()
        return {s: self.lookup(s) for s in wanted}

    def forget(self, ids: Iterable[int] | None = None) -> None:
        """Rows deleted (``ids``) or all cleared (None), for an index in memory."""
        if self.in_file:
            return
        with self._lock:
            if ids is None:
                clear(self._conn)
                self._indexed.clear()
            else:
                gone = [i for i in ids if i in self._indexed]
                delete(self._conn, gone)
                self._indexed.difference_update(gone)


def _ended(s: Any) -> bool:
    return s.state not in ("active", "paused")


def rows_of_logs(logs: Iterable[tuple[int, list[dict[str, Any]]]]) -> Iterator[IndexRow]:
    """The rows of ended exchanges' event logs; one that fails (a malformed event) is
    left out of the index, and the writer goes on."""
    for xid, events in logs:
        try:
            yield row_from_events(xid, events)
        except Exception:
            log.exception("body index: exchange %d left out", xid)


def rows_of_exchanges(exchanges: Iterable[Exchange]) -> Iterator[IndexRow]:
    for x in exchanges:
        try:
            yield row_from_exchange(x)
        except Exception:
            log.exception("body index: exchange %d left out", x.id)


class WriterIndex:
    """The writer thread's side of the file's index: rows of ended exchanges, now or,
    while the writer is busy, later (see the module docstring)."""

    CATCH_UP = 2000  # exchanges indexed from their rows per wake-up that is not busy

    def __init__(self) -> None:
        self.defer = True  # False: always at once (a --filter that reads the index live)
        self.busy = False
        self.backlog: list[int] = []  # ended, not indexed yet, oldest first

    def ended(self, conn: sqlite3.Connection,
              logs: Iterable[tuple[int, list[dict[str, Any]]]]) -> None:
        """Exchanges that ended in this batch (inside the writer's transaction)."""
        if self.busy and self.defer:
            self.backlog.extend(xid for xid, _events in logs)
        else:
            insert(conn, rows_of_logs(logs))

    def woke(self, conn: sqlite3.Connection, busy: bool) -> None:
        """After each wake-up's commit: busy or not; not busy, catch up a little."""
        self.busy = busy
        if not busy and self.backlog:
            self.catch_up(conn, self.CATCH_UP)

    def catch_up(self, conn: sqlite3.Connection, limit: int | None = None) -> None:
        """Index (up to ``limit`` of) the backlog from the rows, in a transaction."""
        if not self.backlog:
            return
        count = len(self.backlog) if limit is None else limit
        take, self.backlog = self.backlog[:count], self.backlog[count:]
        if not take:
            return
        try:
            conn.execute("BEGIN")
            for start in range(0, len(take), 500):
                part = take[start:start + 500]
                found = conn.execute(f"SELECT id, data FROM exchanges WHERE id IN "
                                     f"({', '.join('?' * len(part))})", part).fetchall()
                insert(conn, rows_of_logs(_logs(found)))
            conn.execute("COMMIT")
        except sqlite3.Error:  # disk full, say: the recording goes on, these unindexed
            log.exception("body index: %d exchanges left out", len(take))
            if conn.in_transaction:
                conn.execute("ROLLBACK")


def _checked_log(data: Any) -> list[dict[str, Any]] | None:
    """The events of a stored event log (format 3), checked as data; None for anything
    else (an older format, a damaged or crafted row: the store's own reading decides)."""
    if type(data) is not bytes:
        return None
    try:
        items = loads_plain(data, strict=True)
        if type(items) is not list:
            return None
        events = [loads_record(i, strict=True) if type(i) is bytes else i for i in items]
    except Exception:
        return None
    return events if all(type(e) is dict for e in events) else None


def _logs(rows: Iterable[tuple[int, Any]]) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """The event logs of rows this process wrote (ring records kept as their bytes)."""
    for xid, data in rows:
        try:
            items = loads_plain(data)
            yield xid, [loads_record(i) if type(i) is bytes else i for i in items]
        except Exception:  # a row written otherwise (an import): left out of the index
            log.debug("body index: row %d has no event log", xid)
