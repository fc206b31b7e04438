"""The session store: one SQLite file per recording, and an observable list.

A *session* is one SQLite database (WAL journal, ``synchronous=NORMAL``, file
mode 0600 because bodies and headers may hold secrets). Layout:

- ``meta(key, value)``: ``app = "wsgi-inspector-session"``, ``schema_version = 3``,
  and ``served_app`` (the app served, as JSON: :mod:`inspector.host.appref`) when known;
- ``exchanges``: summary columns for listing (filtering runs in memory), ``data``
  (the exchange's event log: a pickle of a list holding each event as the
  agent sent it, the ring record's bytes as they came, or the event itself
  when it came otherwise; read back by an unpickler that refuses every class,
  see :func:`inspector.wire.loads_plain` and :func:`inspector.wire.loads_record`)
  and two body BLOBs (empty: the bodies are in the events), so listing reads
  neither events nor bodies;
- ``process_output``: lines printed outside any request.

Format 2 differs only in ``data``, which holds the exchange's fields
(``to_dict(bodies=False)``), with the bodies in their BLOBs; exchanges added
whole (a HAR import) are still written so. Format 1 holds those fields as JSON
text. Such sessions are read as they are (each row by its value's type: text,
a table of fields or a list of events) and appended to in format 3; the first
write marks the file as format 3, so older versions refuse it instead of
failing on its new rows.

Writing. :meth:`Store.put` takes agent events from any thread; one writer
thread appends each to its exchange's log and keeps the exchange's summary
up to date (:class:`inspector.host.eventlog.Tally`, a few values per event).
It builds no Exchange: that happens when one is asked for (:meth:`Store.get`:
the window opens a row, an export), from the log. It writes in batches: a row
when an exchange begins (state ``active``) and again when it ends. A batch is
one transaction, committed at most
``interval`` seconds after its first event (or after ``batch_events``
events; under a heavy load the writer wakes every BUSY_INTERVAL instead),
so a finished exchange is on disk well within a second; with WAL every
committed batch survives a crash or SIGKILL of this process.

Ids. The agent numbers exchanges from 1 in each app process, and the isolated
app process is restarted on every reload, so agent ids repeat. Events may
carry ``"gen"`` (the app-process generation, default 0); the store maps each
``(gen, agent id)`` of an exchange in flight to its own row id, counting up
across the whole session. ``Exchange.id`` as read back is that row id. Events
of an exchange the store does not know (already ended, deleted or cleared)
are dropped; a new ``begin`` with a key still in flight starts a new row.

Opening. :meth:`Store.open` opens a saved session read-only (nothing is
written to it, and a folder without write access is fine); ``writable=True``
appends. A file may come from anywhere: a row whose columns do not have the
types the store writes is not listed, and a record is decoded as data only
and checked field by field (:mod:`inspector.host.records`) before it becomes
an Exchange. Each row left out is named in :attr:`Store.notes`.

Reading. Only a compact :class:`Summary` per exchange is held in memory;
:meth:`Store.get` folds a full exchange from its row (in-flight ones from the
events so far) and keeps the last CACHED_EXCHANGES it loaded from rows.
Observers (``on_add``, ``on_update``, ``on_remove``, ``on_clear``) are called
from the writer thread, once per committed batch, with lists of summaries: a
GUI must hop to its own thread before touching widgets.
"""

from __future__ import annotations

import bisect
import collections
import copy
import logging
import os
import queue
import sqlite3
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Union

from ..model import (
    EV_BEGIN,
    EV_END,
    EV_PHASE,
    Exchange,
    ExchangeBuilder,
    OutputLine,
)
from ..wire import Record, dumps_plain
from . import bodyindex
from .eventlog import SERVER_ONLY, Summary, Tally, fold
from .records import UnreadableRecord, exchange_from_row
from .schemaguard import foreign_parts, harden

log = logging.getLogger(__name__)

APP_ID = "wsgi-inspector-session"
SCHEMA_VERSION = 3
SUFFIX = ".wsgi-session"
_SQLITE_MAGIC = b"SQLite format 3\x00"

StrPath = Union[str, "os.PathLike[str]"]
__all__ = ["SCHEMA_VERSION", "SUFFIX", "SessionError", "Store", "Summary", "summarize"]

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE exchanges (
    id INTEGER PRIMARY KEY,
    start REAL NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    query TEXT NOT NULL,
    status INTEGER,
    content_type TEXT NOT NULL,
    response_size INTEGER NOT NULL,
    duration REAL,
    findings INTEGER NOT NULL,
    error INTEGER NOT NULL,
    state TEXT NOT NULL,
    resent_from INTEGER,
    queries INTEGER NOT NULL DEFAULT 0,
    data BLOB NOT NULL,
    request_body BLOB NOT NULL,
    response_body BLOB NOT NULL
);
CREATE TABLE process_output (
    id INTEGER PRIMARY KEY,
    gen INTEGER NOT NULL,
    stream TEXT NOT NULL,
    level TEXT NOT NULL,
    logger TEXT NOT NULL,
    text TEXT NOT NULL,
    t REAL NOT NULL
);
"""

_SUMMARY_COLUMNS = ("id, start, method, path, query, status, content_type, response_size, "
                    "duration, findings, error, state, resent_from, queries")
# Columns added to format 3 since it first shipped: (name, definition, older rows' value).
_ADDED_COLUMNS = (("resent_from", "INTEGER", "NULL"),
                  ("queries", "INTEGER NOT NULL DEFAULT 0", "0"))
# A row is listed only if each column has the type the store writes (a crafted file may
# hold anything: SQLite keeps any value in any column). Checked by SQLite, which reads
# only each value's type for typeof(), not the value itself.
_COLUMN_TYPES = (
    ("id", ("integer",)), ("start", ("real", "integer")), ("method", ("text",)),
    ("path", ("text",)), ("query", ("text",)), ("status", ("integer", "null")),
    ("content_type", ("text",)), ("response_size", ("integer",)),
    ("duration", ("real", "integer", "null")), ("findings", ("integer",)),
    ("error", ("integer",)), ("state", ("text",)),
    ("resent_from", ("integer", "null")),
    ("queries", ("integer",)))  # data and bodies: checked when loaded
_ROW_FITS = " AND ".join(
    f"typeof({name}) IN ({', '.join(repr(t) for t in types)})" for name, types in _COLUMN_TYPES)
_UPSERT = ("INSERT OR REPLACE INTO exchanges (" + _SUMMARY_COLUMNS
           + ", data, request_body, response_body) VALUES ("
           + ", ".join("?" * (len(Summary._fields) + 3)) + ")")


# A wake-up that finds this many events means a heavy load: the writer then
# waits ``busy_interval`` seconds instead of ``interval`` before the next one.
# Fewer, longer bursts cost an app on the same cores less of its throughput
# (measured: about a tenth at 5000 requests a second); a window in the same
# process as the writer would wait longer for the interpreter lock, so only
# the headless command line stretches it (to BUSY_INTERVAL).
BUSY_EVENTS = 500
BUSY_INTERVAL = 0.25
# While draining, the writer offers its core back every few events (~0.1 ms of
# work): an app thread that wakes then runs at once instead of waiting for the
# writer's time slice to end. Measured under load: p99 latency ~9.8 -> ~7.8 ms,
# throughput unchanged.
YIELD_EVERY = 10
# Exchanges loaded from rows that stay folded in memory (see Store.get).
CACHED_EXCHANGES = 16
_yield_cpu: Callable[[], None] = getattr(os, "sched_yield", lambda: None)


class SessionError(Exception):
    """A file that cannot be opened as a session; ``str()`` is one sentence for the user."""


def summarize(x: Exchange) -> Summary:
    # Interning the few repeated strings keeps 100k summaries small.
    # The duration listed is the app's: time paused while stepping is left out.
    # Info findings are notes, not problems: the count (the list's "⚠ N") leaves them out.
    # A server's own answer lists its request line when waitress could not parse a path.
    # The size is the body the client read: none for HEAD, 204 or 304.
    return Summary(x.id, x.start, sys.intern(x.method), x.path or x.request_line, x.query,
                   x.status_code, sys.intern(x.header("Content-Type") or ""), x.client_size,
                   x.app_duration, sum(f.severity != "info" for f in x.findings),
                   x.error is not None, sys.intern(_summary_state(x)), x.resent_from,
                   len(x.queries))


def _summary_state(x: Exchange) -> str:
    if x.paused:
        return "paused"
    if x.client_dropped:
        return "dropped"
    return SERVER_ONLY if x.server_only else x.state


# -- where sessions live ---------------------------------------------------------

def data_dir() -> Path:
    """The per-user data directory, by the platform's rules (no Qt needed)."""
    home = Path.home()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA")
        return Path(base) if base else home / "AppData" / "Local"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support"
    xdg = os.environ.get("XDG_DATA_HOME", "")
    # The XDG spec says relative paths are invalid and must be ignored.
    return Path(xdg) if os.path.isabs(xdg) else home / ".local" / "share"


def sessions_dir() -> Path:
    return data_dir() / "wsgi-inspector" / "sessions"


def default_session_path() -> Path:
    """A new, unused ``session-YYYYmmdd-HHMMSS-<pid>.wsgi-session`` path."""
    stem = f"session-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    folder = sessions_dir()
    path = folder / f"{stem}{SUFFIX}"
    n = 1
    while path.exists():  # two sessions within one second in one process
        path = folder / f"{stem}-{n}{SUFFIX}"
        n += 1
    return path


# -- opening and checking files -------------------------------------------------------

def _create_private(path: Path, *, exclusive: bool) -> None:
    """Create ``path`` with mode 0600 before anyone (sqlite included) writes to it."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)  # the umask or an existing file may have left other bits


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _connect(path: Path) -> sqlite3.Connection:
    # Autocommit mode: transactions are begun and committed explicitly.
    conn = harden(sqlite3.connect(str(path), isolation_level=None, check_same_thread=False))
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def _describe(head: bytes) -> str:
    """What a file that is not SQLite looks like, for the error sentence."""
    if not head:
        return "an empty file"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{"):
        return "a HAR file" if b'"log"' in head else "a JSON file"
    if text[:5].lower() in (b"<html", b"<!doc"):
        return "an HTML file"
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character may be cut at the end of the sample.
        try:
            head[:-4].decode("utf-8")
        except UnicodeDecodeError:
            return "a binary file of another kind"
    return "a text file"


def _not_a_session(path: Path, what: str) -> SessionError:
    if what == "a HAR file":
        return SessionError(f"{path} is a HAR file, not a WSGI Inspector session; "
                            "import it as HAR instead.")
    return SessionError(f"{path} is not a WSGI Inspector session (it is {what}); "
                        "open a .wsgi-session or HAR file.")


def _damaged(path: Path, detail: str) -> SessionError:
    return SessionError(f"{path} is a damaged WSGI Inspector session ({detail}) and cannot "
                        "be opened; open another session or a HAR file.")


def _sniff(path: Path) -> None:
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except FileNotFoundError:
        raise SessionError(f"{path} does not exist; choose an existing session file.") from None
    except IsADirectoryError:
        raise SessionError(f"{path} is a folder; choose a session file inside it.") from None
    except OSError as exc:
        raise SessionError(f"{path} cannot be read ({exc.strerror}); check its "
                           "permissions and try again.") from None
    if not head.startswith(_SQLITE_MAGIC):
        raise _not_a_session(path, _describe(head))


def _open_error(path: Path, exc: Exception, *, writable: bool) -> SessionError:
    if isinstance(exc, SessionError):
        return exc
    text = str(exc)
    if "no such table" in text or "no such column" in text:
        return _not_a_session(path, "a database of another application")
    if isinstance(exc, sqlite3.OperationalError) and "locked" in text:
        return SessionError(f"{path} is locked by another program; close it there, or copy "
                            "the file and open the copy.")
    if isinstance(exc, sqlite3.OperationalError) and writable:  # read-only, I/O error
        return SessionError(f"{path} cannot be opened for writing ({text}); check that the "
                            "file and its folder are writable, then try again.")
    if isinstance(exc, sqlite3.OperationalError) and "unable to open" in text:
        return SessionError(f"{path} cannot be read; check its permissions and try again.")
    return _damaged(path, text)


def _connect_existing(path: Path, writable: bool) -> tuple[sqlite3.Connection, bool]:
    """A connection to the session at ``path``; never creates a file.

    Read-only, nothing is written to the file. A session no process has open has
    no ``-wal`` file: then ``immutable=1``, which also leaves the folder as it was
    (no ``-shm`` file) and works in a read-only folder. One with a ``-wal`` file is
    being recorded (or was not closed): ``mode=ro`` reads what is in the WAL too,
    unless the folder is read-only and has no ``-shm`` file: then the WAL cannot be
    read, and the second value is True.
    """
    uri = path.resolve().as_uri()
    if writable:
        query = "mode=rw"
    elif Path(f"{path}-wal").exists():
        query = "mode=ro"
    else:
        query = "mode=ro&immutable=1"
    conn = harden(sqlite3.connect(f"{uri}?{query}", uri=True, isolation_level=None,
                                  check_same_thread=False))
    if query == "mode=ro":
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:  # no -shm and cannot make one: a read-only folder
            conn.close()
            conn = harden(sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True,
                                          isolation_level=None, check_same_thread=False))
            return conn, True
    return conn, False


def _wal_unread(path: Path, what: str) -> SessionError:
    return SessionError(f"{path} was not closed, and {what} can only be read with its -wal "
                        "file in a folder you can write to; copy the session and its -wal "
                        "file to such a folder and open the copy.")


def _check(path: Path, conn: sqlite3.Connection) -> int:
    """The session format of ``conn``; SessionError unless it is an intact session we can
    read."""
    try:
        rows = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    except sqlite3.OperationalError as exc:
        if "no such" not in str(exc):  # locked, unreadable...: not about the content
            raise
        # No meta table, or not ours: some other application's database.
        raise _not_a_session(path, "a database of another application") from None
    if rows.get("app") != APP_ID:
        raise _not_a_session(path, "a database of another application")
    version = rows.get("schema_version", "")
    if not version.isdigit():
        raise _damaged(path, "its format version is missing")
    crafted = foreign_parts(conn)
    if crafted:
        raise SessionError(f"{path} holds SQL that runs by itself ({', '.join(crafted)}), "
                           "which no WSGI Inspector session has, so it was not opened; "
                           "open a session you recorded, or a HAR file.")
    if int(version) > SCHEMA_VERSION:
        raise SessionError(f"{path} was saved by a newer WSGI Inspector (session format "
                           f"{version}, this one reads up to {SCHEMA_VERSION}); update "
                           "WSGI Inspector to open it.")
    # quick_check reads every page once; it catches damage the summary
    # query would skip (bodies, indexes) before the user meets it mid-session.
    problems = [r[0] for r in conn.execute("PRAGMA quick_check(5)").fetchall()]
    if problems != ["ok"]:
        raise _damaged(path, "the database structure is inconsistent")
    return int(version)


# -- the store --------------------------------------------------------------------------

Callback = Callable[..., None]


class _Command:
    """Something the writer thread does in order with the events, then signals."""

    __slots__ = ("args", "done", "kind", "result")

    def __init__(self, kind: str, *args: Any) -> None:
        self.kind = kind
        self.args = args
        self.done = threading.Event()
        self.result: Any = None


class Store:
    """A session file being written and read; see the module docstring.

    ``Store(path)`` starts a new session (``path`` defaults to
    :func:`default_session_path`); ``Store.open(path)`` opens an existing one.
    """

    def __init__(self, path: StrPath | None = None, *, interval: float = 0.05,
                 batch_events: int = 1000, busy_interval: float | None = None) -> None:
        target = Path(path) if path is not None else default_session_path()
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            _create_private(target, exclusive=True)
        except FileExistsError:
            raise SessionError(f"{target} already exists; choose a new file name for the "
                               "session.") from None
        conn = _connect(target)
        with _transaction(conn):
            for statement in filter(str.strip, _SCHEMA.split(";")):
                conn.execute(statement)
            conn.executemany("INSERT INTO meta VALUES (?, ?)",
                             [("app", APP_ID), ("schema_version", str(SCHEMA_VERSION))])
            bodyindex.create(conn)  # bodies and headers, for body: and header: filters
        self._setup(target, conn, SCHEMA_VERSION, [], interval, batch_events,
                    busy_interval or interval)

    @classmethod
    def open(cls, path: StrPath, *, writable: bool = False, interval: float = 0.05,
             batch_events: int = 1000) -> Store:
        """Open an existing session: read-only (viewing, exporting), so the file stays
        as it was, or ``writable`` to append to it.

        Rows whose columns do not have the types the store writes are left out of
        the list; :attr:`notes` says which and why.
        """
        target = Path(path)
        _sniff(target)
        conn: sqlite3.Connection | None = None
        wal_unread = False
        try:
            conn, wal_unread = _connect_existing(target, writable)
            version = _check(target, conn)
            if writable:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            _add_columns(conn, writable)
            summaries, notes = _read_summaries(conn)
        except (sqlite3.DatabaseError, SessionError) as exc:
            if conn is not None:
                conn.close()
            if wal_unread:
                raise _wal_unread(target, "it") from None
            raise _open_error(target, exc, writable=writable) from None
        if wal_unread:
            notes.insert(0, str(_wal_unread(target, "its latest exchanges")))
        store = cls.__new__(cls)
        store._setup(target, conn, version, summaries, interval, batch_events, interval,
                     read_only=not writable, strict=True)
        store.notes.extend(notes)
        return store

    def _setup(self, path: Path, conn: sqlite3.Connection, version: int,
               summaries: list[Summary], interval: float, batch_events: int,
               busy_interval: float, *, read_only: bool = False, strict: bool = False
               ) -> None:
        self.path = path
        self.read_only = read_only  # opened to view: nothing is ever written to the file
        # "row N is unreadable (why)", for each row left out or that failed to load.
        self.notes: list[str] = []
        self._unreadable: dict[int, str] = {}  # row id -> why it cannot be loaded
        # Rows of a file opened from disk may have been crafted: decoded data-only.
        self._strict = strict
        self._version = version  # of the file; raised to SCHEMA_VERSION by the first write
        self._interval = interval
        self._busy_interval = busy_interval  # see BUSY_EVENTS
        self._batch_events = batch_events
        self._write_conn = conn
        # Its own connection: reads never wait on a batch.
        self._read_conn = conn if read_only else _connect(path)
        self._read_lock = threading.Lock()
        self._lock = threading.Lock()  # guards the summary lists and the live exchanges
        self._summaries = summaries
        self._ids = [s.id for s in summaries]  # ascending: bisect finds an id's index
        self._next_id = (self._ids[-1] + 1) if self._ids else 1
        self._keys: dict[tuple[int, int], int] = {}  # (gen, agent id) -> row id, in flight
        self._live: dict[int, _Live] = {}  # row id -> events so far, in flight
        self._builder = ExchangeBuilder()  # for the process lane's output
        # The last few exchanges loaded from rows (the window opens one, then its
        # panes and updates ask again): folded once, handed out as they are.
        self._cache: collections.OrderedDict[int, Exchange] = collections.OrderedDict()
        self._observers: dict[str, list[Callback]] = {
            "add": [], "update": [], "remove": [], "clear": []}
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()  # commands
        # Events only go into a deque, which the writer drains every interval:
        # waking it per event would cost a thread switch per event, paid for in
        # the app's throughput when it runs in this process.
        self._pending: collections.deque[dict[str, Any]] = collections.deque()
        self._closed = False
        # Body search: the writer fills the file's index; a file without one gets it in memory.
        self.search_index = bodyindex.SessionIndex(self, self._read_conn, self._read_lock,
                                                   in_file=bodyindex.exists(conn))
        self._indexing = self.search_index.in_file and not read_only
        self._index_writer = self.search_index.writer = (
            bodyindex.WriterIndex() if self._indexing else None)
        self._thread = threading.Thread(target=self._run, name="session-writer", daemon=True)
        if not read_only:
            self._thread.start()

    # -- writing (any thread) --------------------------------------------------------
    def put(self, event: dict[str, Any]) -> None:
        """Queue one agent event (kept, not copied: do not change it afterwards);
        thread-safe and never blocks on disk. A read-only session ignores it."""
        if not self._closed and not self.read_only:
            self._pending.append(event)

    def add(self, exchanges: Iterable[Exchange], *, owned: bool = False) -> None:
        """Queue finished exchanges (a HAR import, say); they get new row ids.

        ``owned``: the caller hands them over and never touches them again, so they
        are not copied (a copy costs more than reading them from a HAR file).
        """
        self._check_writable()
        taken = list(exchanges) if owned else [copy.deepcopy(x) for x in exchanges]
        self._queue.put(_Command("add", taken))

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far is committed (and observers told)."""
        return self._call("flush", timeout=timeout) is not _TIMEOUT

    def delete(self, ids: Iterable[int]) -> None:
        """Delete these exchanges (after what is queued before); observers get on_remove."""
        self._check_writable()
        self._call("delete", set(ids))

    def clear(self) -> None:
        """Delete every exchange, in flight ones included; observers get on_clear."""
        self._check_writable()
        self._call("clear")

    def close(self) -> None:
        """Write what is queued, stop the writer and close the file; idempotent."""
        if self._closed:
            return
        self._call("close")
        self._closed = True
        if self._thread.is_alive():
            self._thread.join()
        with self._read_lock:
            self._read_conn.close()

    def _check_writable(self) -> None:
        if self.read_only:
            raise SessionError(f"{self.path} is open read-only; new exchanges go to a new "
                               "session.")

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, kind: str, *args: Any, timeout: float | None = None) -> Any:
        if self._closed or not self._thread.is_alive():
            return None
        command = _Command(kind, *args)
        if threading.current_thread() is self._thread:  # from an observer: no deadlock
            self._do(command)
            return command.result
        self._queue.put(command)
        if not command.done.wait(timeout):
            return _TIMEOUT
        return command.result

    def set_meta(self, key: str, value: str) -> None:
        """Keep ``key = value`` in the session's meta table (after what is queued now)."""
        self._check_writable()
        self._call("meta", key, value)

    def meta(self, key: str) -> str | None:
        """A value of the meta table; None if absent or not text (a crafted file)."""
        with self._read_lock:
            row = self._read_conn.execute("SELECT value FROM meta WHERE key = ?",
                                          (key,)).fetchone()
        return row[0] if row is not None and isinstance(row[0], str) else None

    # -- reading (any thread) ----------------------------------------------------------
    def __len__(self) -> int:
        return len(self._summaries)

    def summary(self, index: int) -> Summary:
        return self._summaries[index]

    def summaries(self) -> list[Summary]:
        return list(self._summaries)

    def index(self, xid: int) -> int:
        """The list index of exchange ``xid``; ValueError if absent."""
        ids = self._ids
        i = bisect.bisect_left(ids, xid)
        if i == len(ids) or ids[i] != xid:
            raise ValueError(f"no exchange {xid}")
        return i

    def get(self, xid: int) -> Exchange:
        """The full exchange, bodies included; KeyError if there is none.

        A row that cannot be read back (damaged, or a ``data`` pickle that names a
        class) is logged and also raises KeyError: every caller already copes with
        an exchange that is gone, and one bad row must not take the window down.
        """
        with self._lock:
            live = self._live.get(xid)
            if live is not None:  # folded from what has come so far (it changes on)
                events = list(live.events)
            else:
                cached = self._cache.get(xid)
                if cached is not None:
                    self._cache.move_to_end(xid)
                    return cached
        if live is not None:
            return fold(xid, events)
        try:
            with self._read_lock:
                row = self._read_conn.execute(
                    "SELECT data, request_body, response_body FROM exchanges WHERE id = ?",
                    (xid,)).fetchone()
            if row is None:
                raise KeyError(xid)
            x = exchange_from_row(*row, strict=self._strict, xid=xid)
        except sqlite3.DatabaseError as exc:  # a damaged page that quick_check missed
            self._note_unreadable(xid, f"the file is damaged there: {exc}")
            raise KeyError(xid) from exc
        except UnreadableRecord as exc:
            self._note_unreadable(xid, str(exc))
            raise KeyError(xid) from exc
        with self._lock:
            if self._index_or_none(xid) is not None:  # not deleted meanwhile
                self._cache[xid] = x
                while len(self._cache) > CACHED_EXCHANGES:
                    self._cache.popitem(last=False)
        return x

    def _index_or_none(self, xid: int) -> int | None:
        try:
            return self.index(xid)
        except ValueError:
            return None

    def _note_unreadable(self, xid: int, why: str) -> None:
        with self._lock:
            if xid in self._unreadable:
                return
            self._unreadable[xid] = why
            self.notes.append(f"row {xid} is unreadable ({why})")
        # Told through ``notes`` (the command line prints them, the window shows them).
        log.info("session store: row %d of %s is unreadable: %s", xid, self.path, why)

    def unreadable(self, xid: int) -> str | None:
        """Why exchange ``xid`` could not be loaded, if it could not."""
        return self._unreadable.get(xid)

    def exchanges(self) -> Iterator[Exchange]:
        """Every exchange in list order, loaded one at a time (for exporting)."""
        for s in self.summaries():
            try:
                yield self.get(s.id)
            except KeyError:  # deleted meanwhile
                continue

    def process_output(self) -> list[OutputLine]:
        """Lines printed outside any request, oldest first (committed ones)."""
        with self._read_lock:
            rows = self._read_conn.execute(
                "SELECT stream, text, level, logger, t FROM process_output ORDER BY id"
            ).fetchall()
        return [OutputLine(*row) for row in rows]

    def save_as(self, path: StrPath) -> None:
        """Copy the session, as committed after what is queued now, to ``path`` (0600)."""
        self.flush()
        target = Path(path)
        if target.exists() and target.samefile(self.path):
            raise ValueError("save_as needs another file than the session's own")
        _create_private(target, exclusive=False)
        dest = sqlite3.connect(str(target))
        try:
            with self._read_lock:
                self._read_conn.backup(dest)
        finally:
            dest.close()
        os.chmod(target, 0o600)

    # -- observers ---------------------------------------------------------------------
    def on_add(self, callback: Callable[[list[Summary]], None]) -> Callable[[], None]:
        return self._observe("add", callback)

    def on_update(self, callback: Callable[[list[Summary]], None]) -> Callable[[], None]:
        return self._observe("update", callback)

    def on_remove(self, callback: Callable[[list[Summary]], None]) -> Callable[[], None]:
        return self._observe("remove", callback)

    def on_clear(self, callback: Callable[[], None]) -> Callable[[], None]:
        return self._observe("clear", callback)

    def _observe(self, kind: str, callback: Callback) -> Callable[[], None]:
        """Register; the returned function unregisters."""
        self._observers[kind].append(callback)
        return lambda: self._observers[kind].remove(callback)

    def _notify(self, kind: str, *args: Any) -> None:
        for callback in list(self._observers[kind]):
            try:
                callback(*args)
            except Exception:  # an observer's bug must not stop the recording
                log.exception("session observer failed")

    # -- the writer thread ----------------------------------------------------------
    def _run(self) -> None:
        batch = _Batch()
        wait = self._interval
        while True:
            try:
                command = self._queue.get(timeout=wait)
            except queue.Empty:
                command = None
            drained = self._drain(batch)  # events put before a command go before it runs
            self._commit(batch)
            wait = self._busy_interval if drained >= BUSY_EVENTS else self._interval
            if self._index_writer is not None:  # a busy writer indexes later
                self._index_writer.woke(self._write_conn, drained >= BUSY_EVENTS)
            if command is not None:
                self._do(command)
                if command.kind == "close":
                    return

    def _drain(self, batch: _Batch) -> int:
        """Take every pending event into ``batch``; how many there were."""
        popleft = self._pending.popleft
        drained = 0
        while True:
            try:
                event = popleft()
            except IndexError:
                return drained
            drained += 1
            if not drained % YIELD_EVERY:
                _yield_cpu()
            self._take(event, batch)
            if batch.events >= self._batch_events:
                self._commit(batch)

    def _take(self, event: dict[str, Any], batch: _Batch) -> None:
        """Append ``event`` to its exchange's log and tally; nothing is folded here."""
        batch.events += 1
        try:
            if event.get("id") is None:
                self._builder.apply(event)
                batch.output_gens.append(event.get("gen", 0))
                return
            key = (event.get("gen", 0), event["id"])
            kind = event["type"]
            if kind == EV_BEGIN:
                self._begin(key, batch)
            xid = self._keys.get(key)
            if xid is None:  # ended, deleted or cleared: nothing to add it to
                return
            live = self._live.get(xid)
            if live is None:
                live = self._live[xid] = _Live()
            with self._lock:  # kept first: a fold leaves out what it cannot apply
                live.events.append(event)
            try:
                live.tally.apply(event)
            except Exception:  # the list's summary misses this one event, nothing more
                log.exception("session store: cannot tally event %r", kind)
            if kind in (EV_BEGIN, EV_END):
                batch.write.add(xid)
            if kind == EV_END:
                batch.ended.add(xid)
                del self._keys[key]
            elif kind != EV_PHASE or event.get("name") != "app_called":
                batch.touched.add(xid)
        except Exception:  # a malformed event is lost, the session goes on
            log.exception("session store: cannot take event %r", event.get("type"))

    def _begin(self, key: tuple[int, int], batch: _Batch) -> None:
        stale = self._keys.get(key)
        if stale is not None:  # the app process restarted without a new generation
            batch.write.add(stale)
            batch.ended.add(stale)
        xid = self._keys[key] = self._next_id
        self._next_id += 1
        batch.new.append(xid)

    def _commit(self, batch: _Batch) -> None:
        if not batch:
            return
        live = self._live
        new = set(batch.new)
        # One summary per exchange and commit, for its row and for the observers.
        summaries = dict(batch.made)
        summaries.update((xid, live[xid].tally.summary(xid))
                         for xid in sorted(batch.write | batch.touched | new) if xid in live)
        added = [summaries[xid] for xid in batch.new if xid in summaries]
        changed = [s for xid, s in summaries.items()  # output alone changes no summary
                   if xid not in new and self._known(s) not in (None, s)]
        try:
            self._write(batch, summaries)
        except sqlite3.Error:  # disk full, file gone: keep recording in memory
            log.exception("session store: cannot write to %s", self.path)
        with self._lock:
            for xid in batch.ended:
                live.pop(xid, None)
            self._summaries.extend(added)
            self._ids.extend(s.id for s in added)
            for s in changed:
                self._summaries[self.index(s.id)] = s
        batch.reset()
        if added:
            self._notify("add", added)
        if changed:
            self._notify("update", changed)

    def _known(self, s: Summary) -> Summary | None:
        try:
            return self._summaries[self.index(s.id)]
        except ValueError:
            return None

    def _write(self, batch: _Batch, summaries: dict[int, Summary]) -> None:
        """Upsert the rows of ``batch.write`` (``summaries`` has theirs) and the output."""
        conn = self._write_conn
        live = self._live
        lines = self._builder.process_output
        self._builder.process_output = []
        rows = [row for xid in sorted(batch.write) if xid in live
                for row in self._log_row(xid, live[xid].events, summaries[xid])]
        rows += batch.rows
        upgrade = bool(rows) and self._version < SCHEMA_VERSION  # see the module docstring
        with _transaction(conn):
            if upgrade:
                conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                             (str(SCHEMA_VERSION),))
            conn.executemany(_UPSERT, rows)
            if self._index_writer is not None:
                self._index_writer.ended(conn, [(xid, live[xid].events)
                                                for xid in sorted(batch.ended) if xid in live])
            conn.executemany(
                "INSERT INTO process_output (gen, stream, level, logger, text, t) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(gen, o.stream, o.level, o.logger, o.text, o.t)
                 for gen, o in zip(batch.output_gens, lines)])
        if upgrade:
            self._version = SCHEMA_VERSION

    def _log_row(self, xid: int, events: list[dict[str, Any]], summary: Summary
                 ) -> list[tuple[Any, ...]]:
        """The row of an exchange's log, or none if it cannot be pickled (a cycle an
        in-process app put in an event, say): one bad record must not stop the writer."""
        # A ring record is stored as the bytes it came as (no second pickle).
        log_items = [e.raw if type(e) is Record else e for e in events]
        try:
            return [(*summary, dumps_plain(log_items), b"", b"")]
        except (ValueError, TypeError, RecursionError):
            log.exception("session store: exchange %d cannot be saved", xid)
            return []

    def _do(self, command: _Command) -> None:
        try:
            handler = getattr(self, f"_do_{command.kind}")
            command.result = handler(*command.args)
        except Exception:
            log.exception("session store: %s failed", command.kind)
        finally:
            command.done.set()

    def _do_flush(self) -> None:
        if self._index_writer is not None:  # flushed: body search finds it all
            self._index_writer.catch_up(self._write_conn)

    def _do_meta(self, key: str, value: str) -> None:
        with _transaction(self._write_conn):
            self._write_conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def _do_close(self) -> None:
        # Exchanges still in flight keep what they have so far, marked active.
        batch = _Batch()
        live = self._live
        batch.write.update(live)
        self._write(batch, {xid: item.tally.summary(xid) for xid, item in live.items()})
        self._do_flush()
        self._write_conn.close()

    def _do_add(self, exchanges: list[Exchange]) -> None:
        # Whole exchanges (an import) have no event log: they are written as records.
        batch = _Batch()
        for x in exchanges:
            x.id = self._next_id
            self._next_id += 1
            summary = batch.made[x.id] = summarize(x)
            try:
                batch.rows.append(_row(x, summary))
            except (ValueError, TypeError, RecursionError):
                log.exception("session store: exchange %d cannot be saved", x.id)
            batch.new.append(x.id)
        self._commit(batch)
        if self._indexing:
            with _transaction(self._write_conn):
                bodyindex.insert(self._write_conn, bodyindex.rows_of_exchanges(exchanges))

    def _do_delete(self, ids: set[int]) -> None:
        with _transaction(self._write_conn):
            self._write_conn.executemany("DELETE FROM exchanges WHERE id = ?",
                                         [(i,) for i in sorted(ids)])
            if self._indexing:
                bodyindex.delete(self._write_conn, sorted(ids))
        self.search_index.forget(ids)
        self._forget(ids)
        with self._lock:
            removed = [s for s in self._summaries if s.id in ids]
            self._summaries = [s for s in self._summaries if s.id not in ids]
            self._ids = [s.id for s in self._summaries]
        if removed:
            self._notify("remove", removed)

    def _do_clear(self) -> None:
        with _transaction(self._write_conn):
            self._write_conn.execute("DELETE FROM exchanges")
            if self._indexing:
                bodyindex.clear(self._write_conn)
        self.search_index.forget()
        self._forget(set(self._live) | set(self._cache))
        with self._lock:
            self._summaries = []
            self._ids = []
        self._notify("clear")

    def _forget(self, ids: set[int]) -> None:
        """Drop in-flight exchanges (their later events are ignored) and cached ones."""
        self._keys = {k: v for k, v in self._keys.items() if v not in ids}
        with self._lock:
            for xid in ids:
                self._live.pop(xid, None)
                self._cache.pop(xid, None)


_TIMEOUT = object()


class _Live:
    """An exchange in flight: its events so far and the tally of its summary."""

    __slots__ = ("events", "tally")

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.tally = Tally()


class _Batch:
    """What one transaction writes and tells the observers."""

    __slots__ = ("ended", "events", "made", "new", "output_gens", "rows", "touched", "write")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.events = 0
        self.new: list[int] = []  # row ids begun in this batch, in order
        self.write: set[int] = set()  # rows to upsert (begun or ended)
        self.touched: set[int] = set()  # changed in memory only (status, findings...)
        self.ended: set[int] = set()  # done: drop from memory after the commit
        self.output_gens: list[int] = []  # generation of each process-lane line
        self.rows: list[tuple[Any, ...]] = []  # rows made already (added exchanges)
        self.made: dict[int, Summary] = {}  # and their summaries

    def __bool__(self) -> bool:
        return bool(self.events or self.new or self.write or self.ended)

# -- rows <-> exchanges ----------------------------------------------------------------

def _row(x: Exchange, summary: Summary) -> tuple[Any, ...]:
    # The bodies go to their BLOB columns, so listing never reads them. A pickle
    # of the plain dict costs a fraction of JSON, which was a third of the writer's time.
    return (*summary, dumps_plain(x.to_dict(bodies=False)), x.request_body, x.response_body)


def _row_summary(row: tuple[Any, ...]) -> Summary:
    # Only rows whose columns passed _ROW_FITS come here (its verdict is the last value).
    (xid, start, method, path, query, status, content_type, response_size, duration,
     findings, error, state, resent_from, queries, _fits) = row
    return Summary(xid, start, sys.intern(method), path, query, status,
                   sys.intern(content_type), response_size, duration, findings, bool(error),
                   sys.intern(state), resent_from, queries)


def _add_columns(conn: sqlite3.Connection, writable: bool) -> None:
    """Sessions saved before a column of _ADDED_COLUMNS was added lack it: one opened to
    append gets it (older versions name their columns, so they still read and write
    such a file); one opened read-only is read through a temporary view that adds it
    (the temp schema lives in memory: the file stays as it was)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(exchanges)")}
    missing = [c for c in _ADDED_COLUMNS if c[0] not in columns]
    if not columns or not missing:
        return
    if writable:
        for name, definition, _value in missing:
            conn.execute(f"ALTER TABLE exchanges ADD COLUMN {name} {definition}")
    else:
        added = ", ".join(f"{value} AS {name}" for name, _definition, value in missing)
        conn.execute(f"CREATE TEMP VIEW exchanges AS SELECT *, {added} FROM main.exchanges")


def _read_summaries(conn: sqlite3.Connection) -> tuple[list[Summary], list[str]]:
    """The summaries of the rows that have the store's column types, and a note for
    each row that has not."""
    # One scan: each row comes with SQLite's verdict on its column types.
    rows = conn.execute(f"SELECT {_SUMMARY_COLUMNS}, {_ROW_FITS} FROM exchanges ORDER BY id")
    summaries = []
    bad = 0
    for row in rows:
        if row[-1]:
            summaries.append(_row_summary(row))
        else:
            bad += 1
    return summaries, (_why_unfit(conn) if bad else [])


def _why_unfit(conn: sqlite3.Connection) -> list[str]:
    """A note for each row (the first thousand) whose columns have other types."""
    notes = []
    rows = conn.execute(
        f"SELECT {', '.join(f'typeof({name})' for name, _ in _COLUMN_TYPES)}, id "
        f"FROM exchanges WHERE NOT ({_ROW_FITS}) ORDER BY id LIMIT 1000")
    for *types, xid in rows:
        name, kind = next((name, kind) for (name, allowed), kind in zip(_COLUMN_TYPES, types)
                          if kind not in allowed)
        what = {"null": "NULL", "integer": "a number", "real": "a number", "text": "a text",
                "blob": "bytes"}.get(kind, kind)
        notes.append(f"row {xid!r} is unreadable (its {name.replace('_', ' ')} is {what})")
    return notes
