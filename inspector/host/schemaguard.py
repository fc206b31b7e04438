"""Defences for session files that come from elsewhere: a file is data, never code.

A session is an SQLite file, and SQLite files can carry more than tables: views
and triggers run SQL whenever a table is read or written, and a virtual table's
declaration picks its own module, tokenizer and columns. Sessions this program
writes have none of that (the index is one FTS5 table declared as
:data:`bodyindex._CREATE` says), so a file that has any of it was made by hand
and is refused (:func:`foreign_parts`), or its index is not used
(:func:`own_index`). Every connection also runs with :func:`harden`'s settings,
so whatever is in a schema may only call functions without side effects.
"""

from __future__ import annotations

import sqlite3
from functools import lru_cache

__all__ = ["foreign_parts", "harden", "own_index"]

# SQLITE_DBCONFIG_DEFENSIVE (sqlite3.h): no writes to shadow tables or the schema by SQL.
_DEFENSIVE = getattr(sqlite3, "SQLITE_DBCONFIG_DEFENSIVE", 1010)


def harden(conn: sqlite3.Connection) -> sqlite3.Connection:
    """``conn`` set to distrust the schema of the file it opened."""
    # Views, triggers and virtual tables of the file may only call innocuous functions.
    conn.execute("PRAGMA trusted_schema = OFF")
    setconfig = getattr(conn, "setconfig", None)  # Python 3.12+
    if setconfig is not None:
        setconfig(_DEFENSIVE, True)
    return conn


def foreign_parts(conn: sqlite3.Connection) -> list[str]:
    """The views and triggers of the main schema (``"trigger t"``); a session has none."""
    rows = conn.execute("SELECT type, name FROM sqlite_master "
                        "WHERE type IN ('view', 'trigger') ORDER BY name LIMIT 5")
    return [f"{kind} {name!r}" for kind, name in rows]


def own_index(conn: sqlite3.Connection, table: str, create: str) -> bool:
    """True if ``table`` exists on ``conn`` exactly as ``create`` declares it."""
    row = conn.execute("SELECT type, sql FROM sqlite_master WHERE name = ?",
                       (table,)).fetchone()
    return row is not None and row[0] == "table" and row[1] == _declared(table, create)


@lru_cache(maxsize=4)
def _declared(table: str, create: str) -> str:
    """The ``sql`` SQLite stores for ``create`` (it drops IF NOT EXISTS, for one)."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(create)
        return conn.execute("SELECT sql FROM sqlite_master WHERE name = ?",
                            (table,)).fetchone()[0]
    finally:
        conn.close()
