"""Inside the app: each exchange carries exactly its own SQL queries, template
renders and outbound HTTP calls, with real Flask, Jinja2, sqlite3, SQLAlchemy,
urllib, requests and httpx, under concurrent requests."""

from __future__ import annotations

import contextlib
import sqlite3
import sys
import textwrap
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

import pytest

from inspector import inside as model_inside
from inspector.agent import inside_hooks
from inspector.agent.runtime import Agent
from inspector.agent.sink import EventLog
from inspector.model import Exchange
from tests.conftest import get, inspected, plain

flask = pytest.importorskip("flask")
CONCURRENT = 8


def by_path(exchanges: list[Exchange]) -> dict[str, Exchange]:
    return {x.path: x for x in exchanges}


def hammer(port: int, paths: list[str]) -> list[tuple[int, bytes]]:
    """Every path at once, CONCURRENT at a time."""
    with ThreadPoolExecutor(CONCURRENT) as pool:
        return list(pool.map(lambda p: get(port, p), paths))


@pytest.fixture
def module_from(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """``module_from(name, source)``: a module written by the test and imported."""
    names: list[str] = []

    def load(name: str, source: str) -> ModuleType:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        monkeypatch.syspath_prepend(str(tmp_path))
        names.append(name)
        __import__(name)
        return sys.modules[name]

    yield load
    for name in names:
        sys.modules.pop(name, None)


# -- Flask + sqlite3 + Jinja2 ---------------------------------------------------------------

FLASK_SQLITE = '''
import sqlite3
from flask import Flask, render_template_string

app = Flask(__name__)
DB = {db!r}

def setup():
    with sqlite3.connect(DB) as conn:
        conn.executescript("""
            CREATE TABLE author (id INTEGER PRIMARY KEY, name TEXT);
            CREATE TABLE book (id INTEGER PRIMARY KEY, author_id INT, title TEXT);
        """)
        conn.executemany("INSERT INTO author VALUES (?, ?)",
                         [(n, f"author {{n}}") for n in range(1, 9)])
        conn.executemany("INSERT INTO book VALUES (?, ?, ?)",
                         [(n * 10 + k, n, f"book {{n}}.{{k}}") for n in range(1, 9)
                          for k in range(3)])
    conn.close()

PAGE = "<h1>{{{{ author }}}}</h1>{{% for t in titles %}}<li>{{{{ t }}}}</li>{{% endfor %}}"

@app.route("/author/<int:n>")
def author(n):
    conn = sqlite3.connect(DB)
    (name,) = conn.execute("SELECT name FROM author WHERE id = ?", (n,)).fetchone()
    ids = [row[0] for row in conn.execute("SELECT id FROM book WHERE author_id = ?", (n,))]
    titles = []
    for book_id in ids:  # one query per book: an N+1
        titles.append(conn.execute("SELECT title FROM book WHERE id = ?",
                                   (book_id,)).fetchone()[0])
    conn.close()
    return render_template_string(PAGE, author=name, titles=titles)

@app.route("/plain")
def plain():
    return "no query"
'''


def test_flask_sqlite_jinja_each_exchange_has_its_own(tmp_path: Path, module_from) -> None:
    web = module_from("inside_flask_sqlite", FLASK_SQLITE.format(db=str(tmp_path / "b.db")))
    web.setup()  # outside any request: nothing recorded, nothing broken
    with inspected(web.app, threads=CONCURRENT) as (agent, log):
        paths = [f"/author/{n}" for n in range(1, 9)] + ["/plain"]
        answers = hammer(agent.server.effective_port, paths)
        assert all(status == 200 for status, _ in answers)
        exchanges = by_path(log.wait_ended(len(paths)))
    source_line = FLASK_SQLITE.splitlines().index(
        "        titles.append(conn.execute(\"SELECT title FROM book WHERE id = ?\",") + 1
    for n in range(1, 9):
        x = exchanges[f"/author/{n}"]
        assert [q.sql for q in x.queries] == [
            "SELECT name FROM author WHERE id = ?", "SELECT id FROM book WHERE author_id = ?",
            *["SELECT title FROM book WHERE id = ?"] * 3]
        assert [q.params for q in x.queries] == [
            f"({n},)", f"({n},)", *[f"({n * 10 + k},)" for k in range(3)]]
        assert all(q.db == f"sqlite:{tmp_path / 'b.db'}" and q.duration > 0 and not q.error
                   for q in x.queries)
        assert x.queries[2].source == f"inside_flask_sqlite.py:{source_line} in author" or \
            x.queries[2].source.endswith(f"inside_flask_sqlite.py:{source_line} in author")
        [render] = x.templates
        assert (render.name, render.engine, render.depth) == ("(string)", "jinja2", 0)
        assert render.context["author"] == repr(f"author {n}")
        assert render.source.endswith("in author")
        [n_plus_1] = [f for f in x.findings if f.code == "repeated-query"]
        assert "3 times" in n_plus_1.message and "in author" in n_plus_1.message
        assert n_plus_1.severity == "warning"
    quiet = exchanges["/plain"]
    assert (quiet.queries, quiet.templates, quiet.outbound, quiet.findings) == ([], [], [], [])


def test_the_app_s_connection_is_a_real_sqlite3_connection(tmp_path: Path) -> None:
    """What the app gets from sqlite3.connect behaves as sqlite3's own objects."""
    inside_hooks.install()
    try:
        conn = sqlite3.connect(str(tmp_path / "x.db"))
        assert isinstance(conn, sqlite3.Connection) and type(conn).__name__ == "Connection"
        cursor = conn.cursor()
        assert isinstance(cursor, sqlite3.Cursor)
        conn.execute("CREATE TABLE t (x)")
        conn.executemany("INSERT INTO t VALUES (?)", [(1,), (2,)])
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (2,)
        conn.commit()
        backup = sqlite3.connect(":memory:")
        conn.backup(backup)  # a C function that takes a Connection
        assert backup.execute("SELECT sum(x) FROM t").fetchone() == (3,)
        assert not hasattr(conn, "__dict__")  # nothing of ours to be seen in vars()
        conn.close()
        backup.close()
    finally:
        inside_hooks.uninstall()
    assert sqlite3.connect.__module__ == "_sqlite3" or sqlite3.connect is sqlite3.dbapi2.connect


# -- SQLAlchemy Core and ORM ------------------------------------------------------------------

SQLALCHEMY_APP = '''
from sqlalchemy import ForeignKey, String, create_engine, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

engine = create_engine({url!r})

class Base(DeclarativeBase):
    pass

class Author(Base):
    __tablename__ = "author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    books: Mapped[list["Book"]] = relationship(back_populates="author")

class Book(Base):
    __tablename__ = "book"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(50))
    author_id: Mapped[int] = mapped_column(ForeignKey("author.id"))
    author: Mapped[Author] = relationship(back_populates="books")

def setup():
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        for n in range(1, 9):
            session.add(Author(id=n, name=f"author {{n}}",
                               books=[Book(id=n * 10 + k, title=f"b{{k}}") for k in range(3)]))
        session.commit()

def app(environ, start_response):
    path = environ["PATH_INFO"]
    n = int(path.rsplit("/", 1)[1])
    if path.startswith("/core/"):
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT title FROM book WHERE author_id = :n"),
                                {{"n": n}}).all()
        body = ",".join(r[0] for r in rows)
    else:
        with Session(engine) as session:
            books = session.scalars(select(Book).where(Book.author_id <= n)).all()
            body = ",".join(book.author.name for book in books)  # lazy loads: N+1
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
'''


def test_sqlalchemy_core_and_orm(tmp_path: Path, module_from) -> None:
    pytest.importorskip("sqlalchemy")
    url = f"sqlite:///{tmp_path / 'sa.db'}"
    web = module_from("inside_sqlalchemy", SQLALCHEMY_APP.format(url=url))
    web.setup()
    with inspected(web.app, threads=CONCURRENT) as (agent, log):
        paths = [f"/core/{n}" for n in range(1, 5)] + [f"/orm/{n}" for n in range(1, 5)]
        assert all(status == 200 for status, _ in hammer(agent.server.effective_port, paths))
        exchanges = by_path(log.wait_ended(len(paths)))
    for n in range(1, 5):
        core = exchanges[f"/core/{n}"]
        [q] = core.queries  # SQLAlchemy's event, not a second one from sqlite3 below it
        assert q.sql == "SELECT title FROM book WHERE author_id = ?"
        assert q.params == f"({n},)" and q.db.startswith("sqlite:") and "sa.db" in q.db
        assert q.source.endswith("in app")
        orm = exchanges[f"/orm/{n}"]
        first, *lazy = orm.queries
        assert first.sql.startswith("SELECT book.id, book.title, book.author_id")
        assert first.params == f"({n},)"
        # One lazy load per author (the session's identity map keeps the rest).
        assert len(lazy) == n and {q.params for q in lazy} == {f"({a},)" for a in
                                                                 range(1, n + 1)}
        assert all(q.sql.startswith("SELECT author.id") for q in lazy)
        codes = [f.code for f in orm.findings]
        assert codes.count("repeated-query") == (1 if n >= 3 else 0)


# -- outbound HTTP ------------------------------------------------------------------------------

OUTBOUND_APP = '''
import urllib.request

import httpx
import requests

TARGET = {target!r}

def app(environ, start_response):
    client, n = environ["PATH_INFO"].strip("/").split("/")
    url = f"{{TARGET}}/echo/{{n}}"
    if client == "urllib":
        body = urllib.request.urlopen(url).read()
    elif client == "requests":
        body = requests.post(url, data=b"x" * int(n)).content
    else:
        with httpx.Client() as http:
            body = http.get(url, params={{"q": n}}).content
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
'''


def echo(environ, start_response):
    body = environ["PATH_INFO"].encode()
    status = "201 Created" if environ["REQUEST_METHOD"] == "POST" else "200 OK"
    start_response(status, [("Content-Type", "text/plain"),
                            ("Content-Length", str(len(body)))])
    return [body]


def test_outbound_calls_urllib_requests_httpx(module_from) -> None:
    pytest.importorskip("requests")
    pytest.importorskip("httpx")
    with plain(echo, threads=CONCURRENT) as target:
        base = target.url.rstrip("/")
        web = module_from("inside_outbound", OUTBOUND_APP.format(target=target.url.rstrip("/")))
        with inspected(web.app, threads=CONCURRENT) as (agent, log):
            paths = [f"/{client}/{n}" for n in range(1, 4)
                     for client in ("urllib", "requests", "httpx")]
            answers = hammer(agent.server.effective_port, paths)
            assert all(status == 200 for status, _ in answers)
            exchanges = by_path(log.wait_ended(len(paths)))
    for n in range(1, 4):
        [call] = exchanges[f"/urllib/{n}"].outbound
        assert (call.method, call.url, call.status, call.size) == (
            "GET", f"{base}/echo/{n}", 200, len(f"/echo/{n}"))
        assert call.source.endswith("in app") and call.duration > 0
        [call] = exchanges[f"/requests/{n}"].outbound
        assert (call.method, call.url, call.status, call.sent) == (
            "POST", f"{base}/echo/{n}", 201, n)
        [call] = exchanges[f"/httpx/{n}"].outbound
        assert (call.method, call.url, call.status) == ("GET", f"{base}/echo/{n}?q={n}", 200)
    assert not any(x.queries or x.templates for x in exchanges.values())


# -- the record ------------------------------------------------------------------------------

def test_queries_survive_the_session_file_and_har(tmp_path: Path, module_from) -> None:
    from inspector.host.export import from_har, to_har
    from inspector.host.store import Store

    web = module_from("inside_flask_sqlite2", FLASK_SQLITE.format(db=str(tmp_path / "c.db")))
    web.setup()
    path = tmp_path / "s.wsgi-session"
    log = EventLog()
    with Store(path) as store:
        def both(event: dict) -> None:
            store.put(dict(event))
            log.emit(event)

        with Agent(web.app, both) as agent:
            get(agent.server.effective_port, "/author/2")
            [x] = log.wait_ended(1)
        store.flush()
        [summary] = store.summaries()
        assert summary.queries == 5 and summary.findings == 1
        assert store.get(summary.id).queries == x.queries
    with Store.open(path) as reopened:
        assert reopened.summaries()[0].queries == 5
        again = reopened.get(reopened.summaries()[0].id)
        assert again.queries == x.queries and again.templates == x.templates
    entry = to_har([x])["log"]["entries"][0]["_wsgi"]
    assert [q["sql"] for q in entry["queries"]][-1] == "SELECT title FROM book WHERE id = ?"
    assert set(entry["queries"][0]) >= {"sql", "params", "duration_ms", "rows", "db", "source"}
    assert set(entry["templates"][0]) >= {"name", "duration_ms", "source"}
    assert any("repeated-query" in f["code"] for f in entry["findings"])
    [back] = from_har(to_har([x]))
    assert back.queries == x.queries and back.templates == x.templates


def test_statement_shapes() -> None:
    shape = model_inside.shape
    assert shape("SELECT * FROM t WHERE id = 3") == shape("SELECT *  FROM t WHERE id = ?")
    assert shape("SELECT * FROM t WHERE id IN (1, 2, 3)") == shape(
        "SELECT * FROM t WHERE id IN (%s, %s)")
    assert shape("SELECT * FROM t WHERE name = 'a'") == shape(
        "SELECT * FROM t WHERE name = :name")
    assert shape("SELECT * FROM a") != shape("SELECT * FROM b")


def test_crafted_inside_events_fold_into_plain_values() -> None:
    x = Exchange(1)
    x.apply({"type": "query", "id": 1, "sql": ["not", "text"], "duration": "slow",
             "rows": 2.5, "source": None})
    x.apply({"type": "template", "id": 1, "name": 3, "depth": -4, "context": {"a": 1}})
    x.apply({"type": "outbound", "id": 1, "url": b"x", "status": "200"})
    assert x.queries == [model_inside.Query("")]
    assert x.templates == [model_inside.TemplateRender("")]
    assert x.outbound == [model_inside.OutboundCall("", "")]


# -- Django, in the app's own process (hooks installed before the app imports Django) ----

DJANGO_SITE = '''
import django
from django.conf import settings

settings.configure(
    DEBUG=False, ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__, SECRET_KEY="test",
    DATABASES={{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": {db!r}}}}},
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"],
    TEMPLATES=[{{"BACKEND": "django.template.backends.django.DjangoTemplates",
                "DIRS": [{templates!r}]}}],
)
django.setup()

from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.shortcuts import render
from django.urls import path

call_command("migrate", verbosity=0)
for n in range(1, 9):
    user, _ = User.objects.get_or_create(username=f"user{{n}}")
    group, _ = Group.objects.get_or_create(name=f"group{{n}}")
    user.groups.add(group)

def team(request, n):
    users = list(User.objects.filter(id__lte=n).order_by("id"))
    rows = [(u.username, u.groups.count()) for u in users]  # one query per user
    return render(request, "team.html", {{"n": n, "rows": rows}})

urlpatterns = [path("team/<int:n>", team)]
application = get_wsgi_application()
'''


def test_django_orm_and_templates_in_the_app_process(tmp_path: Path) -> None:
    pytest.importorskip("django")
    from inspector.host.process import AppProcess, Options
    from tests.appproc import Recorder

    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "team.html").write_text(
        "<h1>Team {{ n }}</h1>{% for name, groups in rows %}"
        "{% include 'row.html' %}{% endfor %}")
    (templates / "row.html").write_text("<li>{{ name }}: {{ groups }}</li>")
    (tmp_path / "djsite.py").write_text(textwrap.dedent(DJANGO_SITE).format(
        db=str(tmp_path / "dj.db"), templates=str(templates)))
    recorder = Recorder()
    app = AppProcess(Options("djsite:application", str(tmp_path), threads=CONCURRENT),
                     recorder.on_event, recorder.on_status)
    app.start()
    try:
        assert app.status.state == "serving", app.status
        port = int(app.status.url.rstrip("/").rsplit(":", 1)[1])
        paths = [f"/team/{n}" for n in range(1, 9)]
        assert all(status == 200 for status, _ in hammer(port, paths))
        exchanges = {p: recorder.wait_exchange(app.generation, p) for p in paths}
    finally:
        app.stop()
    for n in range(1, 9):
        x = exchanges[f"/team/{n}"]
        first, *counts = x.queries
        assert "FROM \"auth_user\"" in first.sql and first.params == f"({n},)"
        assert first.db == "default (sqlite)" and first.source.endswith("in team")
        assert len(counts) == n and all("COUNT(*)" in q.sql for q in counts)
        assert sorted(q.params for q in counts) == sorted(f"({u},)" for u in range(1, n + 1))
        assert all(q.source == counts[0].source for q in counts)
        top, *rows = sorted(x.templates, key=lambda r: r.t)
        assert (top.name, top.engine, top.depth) == ("team.html", "django", 0)
        assert top.context["n"] == str(n) and top.source.endswith("in team")
        assert [(r.name, r.depth) for r in rows] == [("row.html", 1)] * n
        assert [f.code for f in x.findings].count("repeated-query") == (1 if n >= 3 else 0)


# -- the lesson's examples -------------------------------------------------------------------

def test_orm_and_templates_example_shows_the_n_plus_1_and_its_fix() -> None:
    pytest.importorskip("sqlalchemy")
    from inspector.examples import orm_templates

    with inspected(orm_templates.app) as (agent, log):
        for path in ("/", "/books?fast=1", "/authors"):
            assert get(agent.server.effective_port, path)[0] == 200
        slow, fast, authors = log.wait_ended(3)
    assert [f.code for f in slow.findings] == ["repeated-query"]
    assert "templates/book_row.html:1 in" in slow.findings[0].message
    assert (len(slow.queries), len(fast.queries), fast.findings) == (5, 2, [])
    assert [(r.name, r.depth) for r in sorted(slow.templates, key=lambda r: r.t)] == [
        ("books.html", 0), ("base.html", 1), *[("book_row.html", 2)] * 5]
    assert [f.code for f in authors.findings] == ["repeated-query"]


@pytest.mark.parametrize("spec, framework", [
    ("inspector.examples.flask_hello:app", "Flask"),
    ("inspector.examples.orm_templates:app", "Flask"),
    ("inspector.examples.django_site.wsgi:application", "Django"),
])
def test_an_example_without_its_framework_says_what_to_install(spec: str,
                                                               framework: str) -> None:
    """In an interpreter that sees only the standard library and our package: one
    sentence, no traceback."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    code = (f"import sys; sys.path[:0] = {[str(root)]!r}\n"
            "from inspector.agent.loader import LoadError, load_app\n"
            f"try:\n    load_app({spec!r}, '.')\n"
            "except LoadError as exc:\n    print(exc); print(exc.user_traceback)\n")
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True,
                         text=True, timeout=60, check=True).stdout.splitlines()
    assert out[0].startswith(f"This example needs {framework}, which ")
    assert "pip install 'wsgi-inspector[examples]'" in out[0] and out[1] == "None"


def test_the_same_page_in_flask() -> None:
    from inspector.examples import flask_hello

    with inspected(flask_hello.app) as (agent, log):
        port = agent.server.effective_port
        assert get(port, "/") == (200, b"Hello, World!")
        assert get(port, "/hello/Ada") == (200, b"Hello, Ada!")
        status, body = get(port, "/api/books?tag=web")
        assert status == 200 and b"Flask Web Development" in body
        _, _, books = log.wait_ended(3)
    assert books.header("Content-Type") == "application/json"


def test_a_render_s_own_keyword_arguments_reach_the_template() -> None:
    """Keyword arguments named like the hook's own (name, template, engine...) pass
    through; a render that raises is recorded with its error and re-raised."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.DictLoader({
        "page.html": "{{ name }}/{{ template }}/{{ engine }}", "bad.html": "{{ 1 / 0 }}"}))

    def app(environ, start_response):
        with contextlib.suppress(ZeroDivisionError):
            env.get_template("bad.html").render()
        body = env.get_template("page.html").render(name="Ada", template="t", engine="e")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body.encode()]

    with inspected(app) as (agent, log):
        assert get(agent.server.effective_port, "/") == (200, b"Ada/t/e")
        [x] = log.wait_ended(1)
    bad, page = x.templates
    assert (bad.name, bad.error.split(":")[0]) == ("bad.html", "ZeroDivisionError")
    assert (page.name, page.error, page.context) == (
        "page.html", "", {"name": "'Ada'", "template": "'t'", "engine": "'e'"})


def test_profile_the_next_request_only(module_from, tmp_path: Path) -> None:
    web = module_from("inside_flask_sqlite3", FLASK_SQLITE.format(db=str(tmp_path / "p.db")))
    web.setup()
    with inspected(web.app, threads=CONCURRENT) as (agent, log):
        agent.profiling.arm()
        agent.profiling.arm()  # twice is still once
        paths = [f"/author/{n}" for n in range(1, 9)]
        assert all(s == 200 for s, _ in hammer(agent.server.effective_port, paths))
        exchanges = log.wait_ended(len(paths))
    [profiled] = [x for x in exchanges if x.profile is not None]
    root = profiled.profile
    assert root.name == "app(environ, start_response)" and root.calls == 1
    mine = [r for r in model_inside.top_functions(root, 500) if r["user"]]
    assert {r["name"] for r in mine} >= {"author"}
    assert all(r["file"].endswith("inside_flask_sqlite3.py") for r in mine), mine
    # Every query still recorded in the profiled request too.
    assert len(profiled.queries) == 5


def test_crafted_profile_events_fold_into_plain_values() -> None:
    x = Exchange(1)
    x.apply({"type": "profile", "id": 1, "tree": ["a", 1, "x", "yes", -1, "slow", [
        ["b", "f.py", 3, True, 2, 0.5, []], "junk", ["too", "short"]]]})
    assert x.profile == model_inside.ProfileNode("a", "", 0, False, -1, 0.0, [
        model_inside.ProfileNode("b", "f.py", 3, True, 2, 0.5, [])])
    x.apply({"type": "profile", "id": 1, "tree": "nothing"})
    assert x.profile is None
    deep: list = ["n", "", 0, False, 1, 1.0, []]
    for _ in range(1000):
        deep = ["n", "", 0, False, 1, 1.0, [deep]]
    x.apply({"type": "profile", "id": 1, "tree": deep})  # no RecursionError
    assert x.profile is not None


def test_har_leaves_secrets_inside_the_app_out_unless_asked() -> None:
    from inspector.host.export import to_har

    x = Exchange(1)
    for event in (
        {"type": "query", "id": 1, "sql": "UPDATE account SET password = ? WHERE id = ?",
         "params": "('hunter2', 7)"},
        {"type": "query", "id": 1, "sql": "SELECT name FROM account WHERE id = ?",
         "params": "(7,)"},
        {"type": "template", "id": 1, "name": "t.html",
         "context": {"user": "'ada'", "api_key": "'k-123'"}},
        {"type": "outbound", "id": 1, "method": "GET",
         "url": "https://api.example/v1?q=1&token=abc", "status": 200},
    ):
        x.apply(event)
    safe = to_har([x])["log"]["entries"][0]["_wsgi"]
    assert [q["params"] for q in safe["queries"]] == ["[redacted]", "(7,)"]
    assert safe["templates"][0]["context"] == {"user": "'ada'", "api_key": "[redacted]"}
    assert safe["outbound"][0]["url"] == "https://api.example/v1?q=1&token=[redacted]"
    whole = to_har([x], redact=False)["log"]["entries"][0]["_wsgi"]
    assert whole["queries"][0]["params"] == "('hunter2', 7)"
    assert x.queries[0].params == "('hunter2', 7)"  # the record itself keeps everything


def test_slow_queries_and_failed_calls_are_recorded_as_such() -> None:
    import socket
    import urllib.error
    import urllib.request

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]

    def app(environ, start_response):
        conn = sqlite3.connect(":memory:")
        conn.create_function("slow", 1, lambda n: sum(range(n)))
        conn.execute("SELECT slow(3000000)").fetchone()
        with contextlib.suppress(sqlite3.OperationalError):
            conn.execute("SELECT * FROM missing")
        with contextlib.suppress(urllib.error.URLError):
            urllib.request.urlopen(f"http://127.0.0.1:{closed}/x", timeout=5)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    before = model_inside.SLOW_QUERY
    with inspected(app) as (agent, log):
        assert get(agent.server.effective_port, "/")[0] == 200
        [x] = log.wait_ended(1)
    slow, missing = x.queries
    model_inside.set_slow_query(slow.duration / 2)
    try:
        found = model_inside.check_queries(x.queries)
    finally:
        model_inside.set_slow_query(before)
    assert [f.code for f, _t in found] == ["slow-query"] and "in app" in found[0][0].message
    assert missing.error.startswith("OperationalError: no such table")
    [call] = x.outbound
    assert call.status is None and call.error.startswith(("URLError", "ConnectionRefused"))


# -- the command line, with the app in its own process ------------------------------------

HEADLESS_APP = '''
import sqlite3

DB = sqlite3.connect(":memory:", check_same_thread=False)
DB.executescript("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);"
                 "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c');")

def app(environ, start_response):
    ids = [row[0] for row in DB.execute("SELECT id FROM t")]
    names = [DB.execute("SELECT name FROM t WHERE id = ?", (i,)).fetchone()[0] for i in ids]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [",".join(names).encode()]
'''


def test_headless_lines_and_har_carry_the_queries(tmp_path: Path) -> None:
    import json

    from tests.test_cli_outputs import headless, read_until, stop

    (tmp_path / "web.py").write_text(HEADLESS_APP)
    har = tmp_path / "out.har"
    with headless(tmp_path, "--har", str(har)) as (proc, port):
        assert get(port, "/names") == (200, b"a,b,c")
        [line] = [x for x in read_until(proc, "/names") if "/names" in x]
        stop(proc)
    assert " 200 " in line and "4 queries 1 finding" in line
    entry = json.loads(har.read_text())["log"]["entries"][0]["_wsgi"]
    assert [q["sql"] for q in entry["queries"]] == [
        "SELECT id FROM t", *["SELECT name FROM t WHERE id = ?"] * 3]
    assert entry["queries"][1]["source"].startswith("web.py:10 in ")  # <listcomp> before 3.12
    assert [f["code"] for f in entry["findings"]] == ["repeated-query"]


def test_profile_the_next_request_a_filter_matches(module_from, tmp_path: Path) -> None:
    web = module_from("inside_flask_sqlite4", FLASK_SQLITE.format(db=str(tmp_path / "f.db")))
    web.setup()
    with inspected(web.app) as (agent, log):
        agent.inside_command({"type": "profile", "filter": "path:/author/3"})
        port = agent.server.effective_port
        for path in ("/plain", "/author/1", "/author/3", "/author/3"):
            assert get(port, path)[0] == 200
        exchanges = log.wait_ended(4)
    assert [x.profile is not None for x in exchanges] == [False, False, True, False]
