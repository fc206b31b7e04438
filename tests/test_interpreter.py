"""The app's interpreter in the frozen build: python3 on PATH, or served in-process
and said so when there is none; the agent imported from the bundle's source files."""

from __future__ import annotations

import http.client
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from inspector.host import interpreter, process
from inspector.host.process import Options, Status, agent_path, find_python
from inspector.host.runner import Runner


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """As in the frozen build: sys.frozen, and an empty PATH folder to fill."""
    monkeypatch.setattr(interpreter, "FROZEN", True)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "bundle"), raising=False)
    path = tmp_path / "bin"
    path.mkdir()
    monkeypatch.setenv("PATH", str(path))
    agent_path.cache_clear()  # one per host process: not this pretended one's
    yield path
    agent_path.cache_clear()


def test_not_frozen_the_app_runs_under_our_interpreter(tmp_path: Path) -> None:
    assert find_python(str(tmp_path)) == sys.executable
    assert interpreter.bundled_agent() is None


def test_frozen_the_app_runs_under_python3_on_path(frozen: Path, tmp_path: Path) -> None:
    (frozen / "python3").symlink_to(sys.executable)
    assert find_python(str(tmp_path)) == str(frozen / "python3")
    assert find_python(str(tmp_path), "/opt/py/bin/python") == "/opt/py/bin/python"


def test_frozen_the_agent_comes_from_the_bundle(frozen: Path, tmp_path: Path) -> None:
    assert agent_path() == str(tmp_path / "bundle" / interpreter.AGENT_SOURCE)


def test_frozen_without_any_python_the_app_is_served_here_and_said_so(
        frozen: Path, tmp_path: Path) -> None:
    assert find_python(str(tmp_path)) is None
    statuses: list[Status] = []
    runner = Runner(Options("inspector.examples.hello:app", str(tmp_path), port=0),
                    lambda event: None, statuses.append, reload=False)
    try:
        status = runner.start()
        assert status.state == "serving"
        assert statuses[-1].message == interpreter.NO_PYTHON
        assert not isinstance(runner.app, process.AppProcess)
        host, port = status.url.split("//")[1].rstrip("/").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("GET", "/")
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        runner.stop()
    assert os.environ["PATH"] == str(frozen)


def test_frozen_never_runs_a_python3_of_the_current_folder(
        frozen: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty PATH entry (a trailing colon) means "here" to shutil.which and execvp;
    a python3 lying in the folder the inspector was started from is not run."""
    here = tmp_path / "downloaded"
    here.mkdir()
    (here / "python3").symlink_to(sys.executable)
    monkeypatch.chdir(here)
    monkeypatch.setenv("PATH", f"{frozen}{os.pathsep}")
    assert find_python(str(tmp_path / "downloaded")) is None
    (frozen / "python3").symlink_to(sys.executable)
    assert find_python(str(tmp_path / "downloaded")) == str(frozen / "python3")


def squatted_venv(tmp_path: Path) -> tuple[Path, Path]:
    """A .venv in a shared folder above the app, as another user could leave one."""
    shared = tmp_path / "shared"
    (shared / ".venv" / "bin").mkdir(parents=True)
    (shared / ".venv" / "bin" / "python").symlink_to(sys.executable)
    app = shared / "myproject"
    app.mkdir()
    return shared / ".venv", app


def test_a_venv_anyone_may_write_is_not_run(tmp_path: Path) -> None:
    venv, app = squatted_venv(tmp_path)
    assert find_python(str(app)) == str(venv / "bin" / "python")  # the user's own: run
    venv.chmod(0o777)
    assert find_python(str(app)) == sys.executable


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="giving a folder to another user needs root")
def test_a_venv_of_another_user_is_not_run(tmp_path: Path) -> None:
    venv, app = squatted_venv(tmp_path)
    os.chown(venv, 65534, 65534)  # nobody
    assert find_python(str(app)) == sys.executable
