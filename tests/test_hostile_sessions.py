"""Session files made by hand to act on whoever opens them: SQL that runs by itself
(triggers, views) and a body index declared otherwise than ours (another tokenizer,
other columns, not a full-text table at all). The file is opened by the real command
line, as a user would, or by the store."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from inspector.host.store import SessionError, Store
from tests.factories import exchange_events

ROOT = Path(__file__).resolve().parents[1]


def session(path: Path, sql: str) -> Path:
    """A recorded session of /p1../p3 (bodies "Hello"), then ``sql`` run on its file."""
    with Store(path) as store:
        for xid in (1, 2, 3):
            for event in exchange_events(xid, path=f"/p{xid}", response_body=b"Hello world"):
                store.put(event)
    db = sqlite3.connect(path)
    db.executescript(sql)
    db.commit()
    db.close()
    return path


def convert(path: Path, tmp_path: Path, *args: str) -> tuple[int, list[str], Path]:
    har = tmp_path / "out.har"
    proc = subprocess.run(
        [sys.executable, "-m", "ui.launch", "--open", str(path), "--har", str(har), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stderr.splitlines(), har


# Each deletes the recorded rows (or changes them) as soon as the store touches the file.
RUNS_BY_ITSELF = {
    "trigger": "CREATE TRIGGER wipe AFTER INSERT ON exchanges BEGIN DELETE FROM exchanges; END;",
    "view": "CREATE VIEW endless AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL "
            "SELECT i + 1 FROM n) SELECT i FROM n;",
}


@pytest.mark.parametrize("kind", sorted(RUNS_BY_ITSELF))
def test_sql_that_runs_by_itself_is_refused_in_one_sentence(tmp_path: Path, kind: str) -> None:
    path = session(tmp_path / "crafted.wsgi-session", RUNS_BY_ITSELF[kind])
    code, lines, har = convert(path, tmp_path)
    assert code == 2
    assert len(lines) == 1 and str(path) in lines[0] and kind in lines[0], lines
    assert not har.exists()


def test_a_trigger_never_fires_when_appending(tmp_path: Path) -> None:
    path = session(tmp_path / "crafted.wsgi-session", RUNS_BY_ITSELF["trigger"])
    with pytest.raises(SessionError, match="not opened"):
        Store.open(path, writable=True)
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM exchanges").fetchone() == (3,)
    db.close()


def test_the_store_distrusts_the_schema(tmp_path: Path) -> None:
    path = session(tmp_path / "s.wsgi-session", "")
    with Store.open(path) as store:
        # Views, triggers and virtual tables may call innocuous functions only.
        assert store._read_conn.execute("PRAGMA trusted_schema").fetchone() == (0,)


FOREIGN_INDEXES = {
    "plain table": "CREATE TABLE search (reqbody, resbody, marks);",
    "other tokenizer": "CREATE VIRTUAL TABLE search USING fts5(reqbody, resbody, marks, "
                       "tokenize='porter');",
    "other columns": "CREATE VIRTUAL TABLE search USING fts5(a);",
    "a view": "CREATE VIEW search AS SELECT 1 AS reqbody;",
}


@pytest.mark.parametrize("kind", sorted(set(FOREIGN_INDEXES) - {"a view"}))
def test_an_index_not_ours_is_left_alone(tmp_path: Path, kind: str) -> None:
    path = session(tmp_path / "s.wsgi-session",
                   "DROP TABLE search; " + FOREIGN_INDEXES[kind])
    code, lines, har = convert(path, tmp_path, "--filter", "body:world")
    assert code == 0, lines
    entries = json.loads(har.read_text())["log"]["entries"]
    assert [e["request"]["url"].rsplit("/", 1)[1] for e in entries] == ["p1", "p2", "p3"]
    with Store.open(path) as store:
        assert not store.search_index.in_file  # indexed in memory instead


def test_an_index_that_is_a_view_is_refused(tmp_path: Path) -> None:
    path = session(tmp_path / "s.wsgi-session", "DROP TABLE search; " + FOREIGN_INDEXES["a view"])
    code, lines, _ = convert(path, tmp_path, "--filter", "body:world")
    assert code == 2 and len(lines) == 1 and "view 'search'" in lines[0], lines


def named_app(path: Path, spec: str, app_dir: str) -> Path:
    if not path.exists():
        session(path, "")
    db = sqlite3.connect(path)
    db.execute("INSERT OR REPLACE INTO meta VALUES ('served_app', ?)",
               (json.dumps({"spec": spec, "app_dir": app_dir}),))
    db.commit()
    db.close()
    return path


def export_pytest(path: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "ui.launch", "--open", str(path), "--export", "pytest",
         "--out", str(cwd / "test_crafted.py")],
        cwd=ROOT, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.mark.parametrize(("spec", "where"), [
    ("os:system('touch pwned')", "project"),  # Python's own module, called
    ("subprocess:getoutput('touch pwned')", "stdlib"),  # from Python's own folder
    ("/tmp/elsewhere.py:app", "project"),  # a file outside its folder
    ("web:app", "missing"),  # a folder not on this machine
])
def test_a_crafted_app_is_never_put_in_a_test(tmp_path: Path, spec: str, where: str) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "os.py").write_text("def system(command): ...\n")  # shadows nothing: refused
    folders = {"project": str(project), "stdlib": os.path.dirname(os.__file__),
               "missing": str(tmp_path / "gone")}
    path = named_app(tmp_path / "s.wsgi-session", spec, folders[where])
    result = export_pytest(path, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "not a project on this machine" in lines[0], lines
    assert not (tmp_path / "test_crafted.py").exists()


def test_an_app_of_its_own_folder_is_put_in_the_test(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "pkg").mkdir(parents=True)
    (project / "pkg" / "__init__.py").write_text("")
    (project / "pkg" / "web.py").write_text("def make(name): ...\n")
    path = named_app(tmp_path / "s.wsgi-session", "pkg.web:make('dev')", str(project))
    result = export_pytest(path, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "APP_SPEC = \"pkg.web:make('dev')\"" in (tmp_path / "test_crafted.py").read_text()


def test_a_page_built_to_stall_the_token_search_exports_at_once(tmp_path: Path) -> None:
    """A recorded page with one huge attribute run ("id=aid=aid=a..."): the CSRF token
    search reads it once (it took hours). The limit is far above the seconds it takes."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "web.py").write_text("def app(environ, start_response): ...\n")
    page = b"<html><input " + b"id=a" * 200_000 + b"><input name=csrf value='t'></html>"
    path = tmp_path / "s.wsgi-session"
    with Store(path) as store:
        for event in exchange_events(1, path="/form", response_body=page,
                                     headers=[("Content-Type", "text/html")]):
            store.put(event)
    named_app(path, "web:app", str(project))
    proc = subprocess.run(
        [sys.executable, "-m", "ui.launch", "--open", str(path), "--export", "pytest",
         "--out", str(tmp_path / "test_page.py")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert "def test_get_form(app):" in (tmp_path / "test_page.py").read_text()


@pytest.mark.parametrize("damage", [
    "UPDATE search_data SET block = x'ffffffffffffffff';",
    "UPDATE search_config SET v = 999 WHERE k = 'version';",
])
def test_a_damaged_index_is_replaced_by_one_in_memory(tmp_path: Path, damage: str) -> None:
    """Damage SQLite notices (an index that reads fine but lies finds what it says, as
    the rest of a crafted file does)."""
    path = session(tmp_path / "s.wsgi-session", damage)
    code, lines, har = convert(path, tmp_path, "--filter", "body:world")
    assert code == 0, lines
    entries = json.loads(har.read_text())["log"]["entries"]
    assert [e["request"]["url"].rsplit("/", 1)[1] for e in entries] == ["p1", "p2", "p3"]
