"""Tests for inspector.agent.loader: every spec form, served for real, and every failure."""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import pickle
import re
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from waitress import wasyncore
from waitress.server import create_server

from inspector.agent.loader import LoadError, load_app, project_files

# A tiny WSGI app maker shared by the user projects the tests write: the body
# says which object answered, so a test can tell the right one was loaded.
HANDLER = """
def make_handler(text):
    def handler(environ, start_response):
        body = (text + " " + environ["PATH_INFO"]).encode()
        start_response(
            "200 OK",
            [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
        )
        return [body]
    return handler
"""


# --- fixtures and helpers -----------------------------------------------------


@pytest.fixture(autouse=True)
def isolated() -> Iterator[None]:
    """Undo what loading did to sys.path and sys.modules."""
    saved_path = list(sys.path)
    saved_modules = dict(sys.modules)
    yield
    sys.path[:] = saved_path
    for name in list(sys.modules):
        if name not in saved_modules:
            del sys.modules[name]
        elif sys.modules[name] is not saved_modules[name]:
            sys.modules[name] = saved_modules[name]


@pytest.fixture
def uid(tmp_path: Path) -> str:
    """A suffix unique to this test, so module names never hit another test's cache."""
    return re.sub(r"\W", "_", tmp_path.name)


def write(path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


def make_package(root: Path, uid: str, web_source: str, handler: bool = True) -> str:
    """Write package myproj_<uid>/ with web.py; return the package name."""
    package = f"myproj_{uid}"
    write(root / package / "__init__.py", "")
    prefix = HANDLER if handler else ""
    write(root / package / "web.py", prefix + textwrap.dedent(web_source))
    return package


def import_file(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def serving(app: Callable[..., Any]) -> Iterator[int]:
    """Serve app with a real waitress server on a free port; yield the port."""
    server = create_server(app, host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=server.run, name="test-waitress", daemon=True)
    thread.start()
    try:
        yield int(server.effective_port)
    finally:
        # Close every socket from the loop's own thread: run() then returns at
        # once instead of waiting out its select() timeout.
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        thread.join(timeout=10)
        server.task_dispatcher.shutdown()
        assert not thread.is_alive() and not server.task_dispatcher.threads


def fetch(app: Callable[..., Any], path: str = "/probe") -> tuple[int, bytes]:
    """Do a real HTTP GET against app and return (status, body)."""
    with serving(app) as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()


def assert_serves(app: Callable[..., Any], text: str) -> None:
    assert fetch(app) == (200, f"{text} /probe".encode())


def load_error(spec: str, app_dir: Path | str | None = None) -> LoadError:
    with pytest.raises(LoadError) as info:
        load_app(spec, None if app_dir is None else str(app_dir))
    message = str(info.value)
    assert message and "\n" not in message and "\r" not in message
    assert message == message.strip() and message.endswith(".")
    return info.value


def assert_user_traceback(err: LoadError, path: Path, line: int) -> str:
    tb = err.user_traceback
    assert tb is not None
    assert f'File "{path}", line {line}' in tb
    assert "loader.py" not in tb
    assert "importlib._bootstrap" not in tb
    assert "importlib/__init__" not in tb
    return tb


# --- spec forms that load, proven by serving a request -------------------------


def test_module_colon_name(tmp_path: Path, uid: str) -> None:
    package = make_package(tmp_path, uid, 'app = make_handler("plain app")\n')
    app = load_app(f"{package}.web:app", str(tmp_path))
    assert_serves(app, "plain app")


def test_module_colon_dotted_attribute(tmp_path: Path, uid: str) -> None:
    source = """
    class Holder:
        def __init__(self):
            self.inner = make_handler("nested attr")

        def method(self, environ, start_response):
            return make_handler("bound method")(environ, start_response)

    holder = Holder()
    """
    package = make_package(tmp_path, uid, source)
    assert_serves(load_app(f"{package}.web:holder.inner", str(tmp_path)), "nested attr")
    assert_serves(load_app(f"{package}.web:holder.method", str(tmp_path)), "bound method")


def test_factory_call_without_arguments(tmp_path: Path, uid: str) -> None:
    source = """
    def create_app():
        return make_handler("made by factory")
    """
    package = make_package(tmp_path, uid, source)
    assert_serves(load_app(f"{package}.web:create_app()", str(tmp_path)), "made by factory")


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("create_app('dev', debug=True)", "env=dev debug=True extra=None"),
        ("create_app( 'prod' , extra={'a': [1, 2]} )", "env=prod debug=False extra={'a': [1, 2]}"),
        ("create_app('http://x:8000')", "env=http://x:8000 debug=False extra=None"),
        ("factories.build('qa')", "env=qa debug=False extra=None"),
    ],
    ids=["positional-and-keyword", "spaces-and-dict", "colon-in-string", "dotted-factory"],
)
def test_factory_call_with_literal_arguments(
    tmp_path: Path, uid: str, call: str, expected: str
) -> None:
    source = """
    def create_app(env, debug=False, extra=None):
        return make_handler(f"env={env} debug={debug} extra={extra}")

    class factories:
        build = staticmethod(create_app)
    """
    package = make_package(tmp_path, uid, source)
    assert_serves(load_app(f"{package}.web:{call}", str(tmp_path)), expected)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('app = make_handler("found app")\n', "found app"),
        ('application = make_handler("found application")\n', "found application"),
        ('def create_app():\n    return make_handler("from create_app")\n', "from create_app"),
        ('def make_app():\n    return make_handler("from make_app")\n', "from make_app"),
    ],
    ids=["app", "application", "create_app", "make_app"],
)
def test_module_alone_finds_the_app(tmp_path: Path, uid: str, source: str, expected: str) -> None:
    package = make_package(tmp_path, uid, source)
    assert_serves(load_app(f"{package}.web", str(tmp_path)), expected)


def test_module_alone_prefers_app_and_never_calls_factories_needlessly(
    tmp_path: Path, uid: str
) -> None:
    source = """
    app = make_handler("the app")
    application = make_handler("not this one")

    def create_app():
        raise AssertionError("must not be called")
    """
    package = make_package(tmp_path, uid, source)
    assert_serves(load_app(f"{package}.web", str(tmp_path)), "the app")


def test_module_alone_skips_non_callable_app(tmp_path: Path, uid: str) -> None:
    # A submodule or setting called "app" is common; it must not hide the real one.
    source = """
    app = {"name": "settings"}
    application = make_handler("the application")
    """
    package = make_package(tmp_path, uid, source)
    assert_serves(load_app(f"{package}.web", str(tmp_path)), "the application")


def test_file_alone_relative_to_app_dir(tmp_path: Path, uid: str) -> None:
    write(tmp_path / f"hello_{uid}.py", HANDLER + 'app = make_handler("file app")\n')
    assert_serves(load_app(f"hello_{uid}.py", str(tmp_path)), "file app")


def test_file_colon_name_with_sibling_import(tmp_path: Path, uid: str) -> None:
    write(tmp_path / "site" / f"helpers_{uid}.py", HANDLER)
    source = f"""
    from helpers_{uid} import make_handler

    def create_app(name):
        return make_handler("hello " + name)

    app = make_handler("sibling import")
    """
    write(tmp_path / "site" / f"hello_{uid}.py", source)
    assert_serves(load_app(f"site/hello_{uid}.py:app", str(tmp_path)), "sibling import")
    assert sys.path[0] == str(tmp_path / "site")
    spec = f"site/hello_{uid}.py:create_app('bob')"
    assert_serves(load_app(spec, str(tmp_path)), "hello bob")


def test_absolute_file_path(tmp_path: Path, uid: str) -> None:
    path = write(
        tmp_path / "elsewhere" / f"hello_{uid}.py", HANDLER + 'app = make_handler("abs")\n'
    )
    app_dir = tmp_path / "project"
    app_dir.mkdir()
    assert_serves(load_app(f"{path}:app", str(app_dir)), "abs")


def test_file_loads_even_if_module_name_is_taken_by_another_file(tmp_path: Path, uid: str) -> None:
    stem = f"hello_{uid}"
    other = write(tmp_path / "old" / f"{stem}.py", HANDLER + 'app = make_handler("old file")\n')
    import_file(stem, other)
    new = write(tmp_path / "new" / f"{stem}.py", HANDLER + 'app = make_handler("new file")\n')
    app = load_app(f"new/{stem}.py:app", str(tmp_path))
    assert_serves(app, "new file")
    assert sys.modules[stem].__file__ == str(new)


def test_app_dir_defaults_to_cwd_and_goes_first(
    tmp_path: Path, uid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = make_package(tmp_path, uid, 'app = make_handler("from cwd")\n')
    monkeypatch.chdir(tmp_path)
    assert_serves(load_app(f"{package}.web:app"), "from cwd")
    assert sys.path[0] == str(tmp_path)


def test_app_dir_not_inserted_twice(tmp_path: Path, uid: str) -> None:
    package = make_package(tmp_path, uid, 'app = make_handler("x")\n')
    sys.path.insert(0, str(tmp_path))
    before = list(sys.path)
    load_app(f"{package}.web:app", str(tmp_path))
    assert sys.path == before


# --- project_files ------------------------------------------------------------


def test_project_files_lists_only_the_projects_own_modules(tmp_path: Path, uid: str) -> None:
    package = make_package(tmp_path, uid, 'app = make_handler("x")\n')
    load_app(f"{package}.web:app", str(tmp_path))
    write(tmp_path / f"hello_{uid}.py", HANDLER + 'app = make_handler("y")\n')
    load_app(f"hello_{uid}.py", str(tmp_path))
    # Modules imported from environments inside the project must be ignored.
    venv_dep = tmp_path / ".venv" / "lib" / "python3" / "site-packages" / f"dep_{uid}.py"
    other_env = tmp_path / "env" / "lib" / f"envdep_{uid}.py"
    write(tmp_path / "env" / "pyvenv.cfg", "home = /usr/bin\n")
    loose = tmp_path / "vendor" / "site-packages" / f"vendored_{uid}.py"
    for name, path in [("dep", venv_dep), ("envdep", other_env), ("vendored", loose)]:
        import_file(f"{name}_{uid}", write(path, "x = 1\n"))

    files = project_files(str(tmp_path))

    assert files == sorted(
        [
            str(tmp_path / package / "__init__.py"),
            str(tmp_path / package / "web.py"),
            str(tmp_path / f"hello_{uid}.py"),
        ]
    )


def test_project_files_of_an_empty_directory(tmp_path: Path) -> None:
    assert project_files(str(tmp_path)) == []


# --- malformed specs ----------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    ["", "   ", "mod:", ":app", "mod:1bad", "mod:a-b", "my-app:app", "mod:create_app(", "a:b:c"],
)
def test_malformed_spec(tmp_path: Path, spec: str) -> None:
    err = load_error(spec, tmp_path)
    assert "module:callable" in str(err)
    assert err.user_traceback is None


@pytest.mark.parametrize(
    ("call", "culprit"),
    [
        ("create_app(os.environ)", "os.environ"),
        ("create_app(debug=len)", "len"),
        ("create_app(*args)", "*args"),
        ("create_app(**opts)", "**opts"),
        ("create_app(1 + x)", "1 + x"),
    ],
)
def test_only_literal_arguments(tmp_path: Path, uid: str, call: str, culprit: str) -> None:
    package = make_package(tmp_path, uid, "def create_app(*a, **k):\n    raise SystemExit\n")
    err = load_error(f"{package}.web:{call}", tmp_path)
    assert "literal" in str(err)
    assert repr(culprit) in str(err)
    # The spec is checked before the user's code runs.
    assert f"{package}.web" not in sys.modules


def test_missing_app_dir(tmp_path: Path) -> None:
    err = load_error("mod:app", tmp_path / "nope")
    assert str(tmp_path / "nope") in str(err)


# --- import failures ----------------------------------------------------------


def test_module_not_found_lists_sys_path(tmp_path: Path, uid: str) -> None:
    extra = [str(tmp_path / f"extra{i}") for i in range(6)]
    sys.path[:0] = extra
    err = load_error(f"absent_{uid}.web:app", tmp_path)
    message = str(err)
    assert f"'absent_{uid}'" in message and "sys.path" in message
    assert str(tmp_path) in message  # the app dir, searched first
    assert extra[0] in message and extra[-1] not in message and "…" in message
    assert err.user_traceback is None


def test_submodule_not_found_names_the_package(tmp_path: Path, uid: str) -> None:
    package = make_package(tmp_path, uid, "")
    err = load_error(f"{package}.nope:app", tmp_path)
    assert f"'{package}.nope'" in str(err)
    assert str(tmp_path / package) in str(err)


def test_missing_dependency_inside_user_module(tmp_path: Path, uid: str) -> None:
    source = f"""\
    import os
    import missing_dep_{uid}
    """
    package = make_package(tmp_path, uid, source, handler=False)
    err = load_error(f"{package}.web:app", tmp_path)
    message = str(err)
    assert f"Importing module '{package}.web' raised ModuleNotFoundError" in message
    assert f"missing_dep_{uid}" in message
    assert "Could not find" not in message
    assert_user_traceback(err, tmp_path / package / "web.py", 2)


def test_file_not_found(tmp_path: Path) -> None:
    err = load_error("sub/nothere.py:app", tmp_path)
    assert "'sub/nothere.py'" in str(err)
    assert str(tmp_path / "sub" / "nothere.py") in str(err)


def test_path_that_is_not_a_python_file(tmp_path: Path) -> None:
    err = load_error("some/dir:app", tmp_path)
    assert "'some/dir'" in str(err) and ".py" in str(err)


def test_syntax_error_keeps_file_line_and_caret(tmp_path: Path, uid: str) -> None:
    source = """\
    x = 1
    def broken(:
        pass
    """
    package = make_package(tmp_path, uid, source, handler=False)
    err = load_error(f"{package}.web:app", tmp_path)
    assert "SyntaxError" in str(err) and "line 2" in str(err)
    tb = assert_user_traceback(err, tmp_path / package / "web.py", 2)
    assert "def broken(:" in tb
    assert re.search(r"^\s+\^+\s*$", tb, re.MULTILINE)


def test_exception_at_import_time(tmp_path: Path, uid: str) -> None:
    source = """\
    def helper():
        raise RuntimeError("kaput\\nsecond line")
    helper()
    """
    package = make_package(tmp_path, uid, source, handler=False)
    err = load_error(f"{package}.web", tmp_path)
    assert f"'{package}.web'" in str(err)
    assert "RuntimeError: kaput second line" in str(err)
    tb = assert_user_traceback(err, tmp_path / package / "web.py", 3)
    assert f'File "{tmp_path / package / "web.py"}", line 2, in helper' in tb
    assert tb.startswith("Traceback (most recent call last):")


def test_system_exit_at_import_time(tmp_path: Path, uid: str) -> None:
    package = make_package(tmp_path, uid, "import sys\nsys.exit(3)\n", handler=False)
    err = load_error(f"{package}.web:app", tmp_path)
    assert "SystemExit: 3" in str(err)
    assert_user_traceback(err, tmp_path / package / "web.py", 2)


def test_failed_file_import_restores_sys_modules(tmp_path: Path, uid: str) -> None:
    stem = f"hello_{uid}"
    old = import_file(stem, write(tmp_path / "old" / f"{stem}.py", "x = 1\n"))
    path = write(tmp_path / f"{stem}.py", "x = 1\nraise ValueError('bad file')\n")
    err = load_error(f"{stem}.py:app", tmp_path)
    assert f"'{stem}.py'" in str(err) and "ValueError: bad file" in str(err)
    assert_user_traceback(err, path, 2)
    assert sys.modules[stem] is old


# --- finding the callable -----------------------------------------------------


def test_missing_attribute_lists_callables(tmp_path: Path, uid: str) -> None:
    source = """
    CONSTANT = 1
    def zeta(): pass
    def alpha(): pass
    def _private(): pass
    class Beta: pass
    """
    package = make_package(tmp_path, uid, source, handler=False)
    err = load_error(f"{package}.web:app", tmp_path)
    message = str(err)
    assert f"'{package}.web'" in message and "'app'" in message
    assert "Beta, alpha, zeta" in message
    assert "_private" not in message and "CONSTANT" not in message


def test_missing_attribute_list_is_capped(tmp_path: Path, uid: str) -> None:
    source = "".join(f"def f{i:02d}(): pass\n" for i in range(15))
    package = make_package(tmp_path, uid, source, handler=False)
    message = str(load_error(f"{package}.web:nope", tmp_path))
    assert "f00" in message and "f09" in message and "f10" not in message and "…" in message


def test_missing_nested_attribute(tmp_path: Path, uid: str) -> None:
    package = make_package(tmp_path, uid, "class obj: pass\n", handler=False)
    message = str(load_error(f"{package}.web:obj.wsgi", tmp_path))
    assert "'obj'" in message and "'wsgi'" in message


@pytest.mark.parametrize(
    ("attr", "type_name"),
    [("NAME", "str"), ("count", "int"), ("os", "module")],
)
def test_attribute_not_callable(tmp_path: Path, uid: str, attr: str, type_name: str) -> None:
    package = make_package(tmp_path, uid, "import os\nNAME = 'x'\ncount = 3\n", handler=False)
    message = str(load_error(f"{package}.web:{attr}", tmp_path))
    assert f"'{attr}'" in message and f"a {type_name}," in message and "not a callable" in message


@pytest.mark.parametrize("spec_suffix", [".web:create_app()", ".web"])
def test_factory_raised(tmp_path: Path, uid: str, spec_suffix: str) -> None:
    source = """\
    def create_app():
        raise KeyError("DATABASE_URL")
    """
    package = make_package(tmp_path, uid, source, handler=False)
    err = load_error(package + spec_suffix, tmp_path)
    assert "create_app()" in str(err) and "KeyError" in str(err)
    assert_user_traceback(err, tmp_path / package / "web.py", 2)


def test_factory_called_with_wrong_arguments(tmp_path: Path, uid: str) -> None:
    package = make_package(tmp_path, uid, "def create_app():\n    pass\n", handler=False)
    err = load_error(f"{package}.web:create_app('dev')", tmp_path)
    assert "TypeError" in str(err) and "create_app('dev')" in str(err)
    assert err.user_traceback is not None and "loader.py" not in err.user_traceback


@pytest.mark.parametrize("spec_suffix", [".web:make_app()", ".web"])
def test_factory_returned_non_callable(tmp_path: Path, uid: str, spec_suffix: str) -> None:
    package = make_package(tmp_path, uid, "def make_app():\n    return None\n", handler=False)
    message = str(load_error(package + spec_suffix, tmp_path))
    assert "make_app()" in message and "NoneType" in message and "not a callable" in message


def test_module_alone_without_app(tmp_path: Path, uid: str) -> None:
    source = """
    app = 42
    def serve(): pass
    def wsgi_handler(environ, start_response): pass
    """
    package = make_package(tmp_path, uid, source, handler=False)
    message = str(load_error(f"{package}.web", tmp_path))
    for looked_for in ("'app'", "'application'", "create_app()", "make_app()"):
        assert looked_for in message
    assert "'app' is a int" in message
    assert "serve, wsgi_handler" in message


def test_load_error_pickles_with_traceback() -> None:
    err = pickle.loads(pickle.dumps(LoadError("Something broke.", user_traceback="tb text")))
    assert str(err) == "Something broke." and err.user_traceback == "tb text"
