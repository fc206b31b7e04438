"""SQL per exchange: stdlib sqlite3, Django's ORM and SQLAlchemy.

Each query becomes a ``query`` event: ``sql`` (capped), ``params`` (a capped
repr), ``duration``, ``rows`` (the cursor's rowcount when the driver knows it
without fetching: None for a SELECT on SQLite), ``db``, ``source`` (the user's
line), ``many`` for executemany/executescript and ``error`` when it raised.

sqlite3. ``sqlite3.connect`` passes a ``factory``: a subclass of the class the
app asked for (``sqlite3.Connection`` unless it gave its own), whose
``cursor()`` hands out a subclass of the app's cursor class, and both time
``execute``, ``executemany`` and ``executescript``. They are real sqlite3
objects, so ``isinstance`` holds, C functions that take a connection
(``backup``) accept them, and every other method is sqlite3's own. What the
app could notice: ``type(conn) is sqlite3.Connection`` is False (the class is
a subclass of that name), ``sqlite3.connect`` is another function object, and
a factory that is a plain function (not a class) is passed through unwatched.
Connections Django and SQLAlchemy open are not wrapped: their own hooks below
see the same queries with better names.

Django. A receiver of ``connection_created`` (no settings change) puts an
``execute_wrapper`` on each connection as it is made. SQLAlchemy. Listeners of
``before/after_cursor_execute`` and ``handle_error`` on the ``Engine`` class.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any

from .inside import SQL_CAP, Options, Undo, _perf, error_text, lane, preview, source, stack

_QUIET_CALLERS = ("django.", "sqlalchemy.")
_EXAMPLES = "inspector.examples."


def query(flight: Any, start: float, sql: Any, params: Any, rows: Any, db: str, *,
          many: bool = False, error: BaseException | None = None) -> None:
    """Emit one query event. Built in one go: this runs for every query the app makes."""
    end = _perf()
    text = sql if type(sql) is str else preview(sql, SQL_CAP)
    event = {"type": "query", "id": flight.xid, "t": start - flight.t0,
             "duration": end - start, "sql": text if len(text) <= SQL_CAP
             else text[:SQL_CAP] + "…", "db": db, "source": source()}
    if params:
        event["params"] = preview(params)
    if type(rows) is int and rows >= 0:
        event["rows"] = rows
    if many:
        event["many"] = True
    if error is not None:
        event["error"] = error_text(error)
    if Options.stacks:
        event["stack"] = stack()
    flight.emit(event)


# -- sqlite3 -------------------------------------------------------------------------

def patch_sqlite3(module: ModuleType) -> Undo:
    dbapi2 = getattr(module, "dbapi2", module)
    original = module.connect
    classes: dict[type, type] = {}

    def connect(*args: Any, **kwargs: Any) -> Any:
        caller = sys._getframe(1).f_globals.get("__name__", "")
        # Django's and SQLAlchemy's own hooks record theirs; the inspector's own session
        # store (the window's process, --in-process) is not the app.
        if caller.startswith(_QUIET_CALLERS) or (caller.startswith("inspector.")
                                                 and not caller.startswith(_EXAMPLES)):
            return original(*args, **kwargs)
        if len(args) > 5:
            args = (*args[:5], _watched(args[5], classes, dbapi2), *args[6:])
        else:
            kwargs["factory"] = _watched(kwargs.get("factory", dbapi2.Connection), classes,
                                         dbapi2)
        return original(*args, **kwargs)

    connect.__doc__ = original.__doc__
    connect.__name__ = original.__name__
    module.connect = connect
    if dbapi2 is not module:
        dbapi2.connect = connect

    def undo() -> None:
        module.connect = original
        if dbapi2 is not module:
            dbapi2.connect = original

    return undo


def _watched(factory: Any, classes: dict[type, type], dbapi2: ModuleType) -> Any:
    """A subclass of the app's connection class that records; the factory itself
    when it is not a Connection class."""
    if not (isinstance(factory, type) and issubclass(factory, dbapi2.Connection)):
        return factory
    watched = classes.get(factory)
    if watched is None:
        watched = classes[factory] = _connection_class(factory, dbapi2)
    return watched


def _connection_class(base: type, dbapi2: ModuleType) -> type:
    cursors: dict[type, type] = {}
    plain_cursor = dbapi2.Cursor
    base_cursor = base.cursor

    def cursor_class(factory: Any) -> Any:
        if not (isinstance(factory, type) and issubclass(factory, plain_cursor)):
            return factory
        watched = cursors.get(factory)
        if watched is None:
            watched = cursors[factory] = _cursor_class(factory)
        return watched

    class Connection(base):  # type: ignore[valid-type, misc]
        __slots__ = ("_inside_db",)

        def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
            super().__init__(database, *args, **kwargs)
            name = database if type(database) is str else preview(database)
            self._inside_db = f"sqlite:{name}"

        def cursor(self, factory: Any = plain_cursor) -> Any:
            return super().cursor(cursor_class(factory))

        # As sqlite3's own: a new cursor, then its method. A connection class of the
        # app's that has its own execute keeps it (those queries go unrecorded).
        def execute(self, sql: Any, parameters: Any = (), /) -> Any:
            if own or lane() is None:
                return base_execute(self, sql, parameters)
            return base_cursor(self, watched_cursor).execute(sql, parameters)

        def executemany(self, sql: Any, parameters: Any, /) -> Any:
            if own or lane() is None:
                return base_executemany(self, sql, parameters)
            return base_cursor(self, watched_cursor).executemany(sql, parameters)

        def executescript(self, script: Any, /) -> Any:
            if own or lane() is None:
                return base_executescript(self, script)
            return base_cursor(self, watched_cursor).executescript(script)

    watched_cursor = cursor_class(plain_cursor)
    base_execute, base_executemany = base.execute, base.executemany
    base_executescript = base.executescript
    sqlite = dbapi2.Connection
    own = (base_execute is not sqlite.execute or base_executemany is not sqlite.executemany
           or base_executescript is not sqlite.executescript)
    Connection.__qualname__ = Connection.__name__ = base.__name__
    Connection.__module__ = base.__module__
    return Connection


def _cursor_class(base: type) -> type:
    class Cursor(base):  # type: ignore[valid-type, misc]
        __slots__ = ()

        def execute(self, sql: Any, parameters: Any = (), /) -> Any:
            flight = lane()
            if flight is None:
                return run_execute(self, sql, parameters)
            start = _perf()
            try:
                result = run_execute(self, sql, parameters)
            except BaseException as exc:
                query(flight, start, sql, parameters, None, self._db(), error=exc)
                raise
            query(flight, start, sql, parameters, self.rowcount, self._db())
            return result

        def executemany(self, sql: Any, parameters: Any, /) -> Any:
            flight = lane()
            if flight is None:
                return run_executemany(self, sql, parameters)
            return self._timed(flight, run_executemany, sql, parameters, True)

        def executescript(self, script: Any, /) -> Any:
            flight = lane()
            if flight is None:
                return super().executescript(script)
            start = _perf()
            try:
                result = super().executescript(script)
            except BaseException as exc:
                query(flight, start, script, None, None, self._db(), many=True, error=exc)
                raise
            query(flight, start, script, None, None, self._db(), many=True)
            return result

        def _timed(self, flight: Any, run: Any, sql: Any, parameters: Any, many: bool) -> Any:
            start = _perf()
            try:
                result = run(self, sql, parameters)
            except BaseException as exc:
                query(flight, start, sql, parameters, None, self._db(), many=many, error=exc)
                raise
            query(flight, start, sql, parameters, self.rowcount, self._db(), many=many)
            return result

        def _db(self) -> str:
            return getattr(self.connection, "_inside_db", "sqlite")


    # Looked up once: the base class's own methods, called without super()'s lookup.
    run_execute, run_executemany = base.execute, base.executemany
    Cursor.__qualname__ = Cursor.__name__ = base.__name__
    Cursor.__module__ = base.__module__
    return Cursor


# -- Django ----------------------------------------------------------------------------

def patch_django(signals: ModuleType) -> Undo:
    """``signals`` is django.db.backends.signals: every new connection gets our wrapper."""

    def connected(sender: Any, connection: Any, **kwargs: Any) -> None:
        wrappers = connection.execute_wrappers
        if _django_wrapper not in wrappers:
            wrappers.insert(0, _django_wrapper)  # outermost: it times what the others add

    signals.connection_created.connect(connected, weak=False, dispatch_uid=_UID)

    def undo() -> None:
        signals.connection_created.disconnect(dispatch_uid=_UID)

    return undo


_UID = "wsgi-inspector-queries"


def _django_wrapper(execute: Any, sql: Any, params: Any, many: bool, context: Any) -> Any:
    flight = lane()
    if flight is None:
        return execute(sql, params, many, context)
    connection = context.get("connection")
    db = f"{getattr(connection, 'alias', '?')} ({getattr(connection, 'vendor', '?')})"
    start = _perf()
    try:
        result = execute(sql, params, many, context)
    except BaseException as exc:
        query(flight, start, sql, params, None, db, many=many, error=exc)
        raise
    cursor = context.get("cursor")
    query(flight, start, sql, params, getattr(cursor, "rowcount", None), db, many=many)
    return result


# -- SQLAlchemy --------------------------------------------------------------------------

_KEY = "wsgi_inspector_started"


def patch_sqlalchemy(sqlalchemy: ModuleType) -> Undo:
    # The app imported sqlalchemy: these are its own modules, imported already.
    event = importlib.import_module(f"{sqlalchemy.__name__}.event")
    Engine = importlib.import_module(f"{sqlalchemy.__name__}.engine").Engine

    listeners = (("before_cursor_execute", _before), ("after_cursor_execute", _after),
                 ("handle_error", _failed))
    for name, listener in listeners:
        event.listen(Engine, name, listener)

    def undo() -> None:
        for name, listener in listeners:
            event.remove(Engine, name, listener)

    return undo


def _before(conn: Any, cursor: Any, statement: Any, parameters: Any, context: Any,
            executemany: bool) -> None:
    if lane() is not None:
        conn.info.setdefault(_KEY, []).append(_perf())


def _after(conn: Any, cursor: Any, statement: Any, parameters: Any, context: Any,
           executemany: bool) -> None:
    flight = lane()
    started = conn.info.get(_KEY)
    if flight is None or not started:
        return
    query(flight, started.pop(), statement, parameters, getattr(cursor, "rowcount", None),
          _engine_name(conn), many=executemany)


def _failed(context: Any) -> None:
    conn = context.connection
    flight = lane()
    started = conn.info.get(_KEY) if conn is not None else None
    if flight is None or not started:
        return
    query(flight, started.pop(), context.statement, context.parameters, None,
          _engine_name(conn), many=bool(getattr(context.execution_context, "executemany", False)),
          error=context.original_exception)


def _engine_name(conn: Any) -> str:
    try:
        url = conn.engine.url
        return f"{url.drivername}:{url.database or ''}"
    except Exception:
        return "sqlalchemy"
