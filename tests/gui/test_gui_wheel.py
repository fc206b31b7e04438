"""The wheel works anywhere: built from the declared files only, installed into a fresh
virtualenv, its window starts offscreen, serves and records, reading every file it
opens (code, icon, explanation texts) from the installed wheel, none from this tree.

The fresh virtualenv borrows this one's third-party packages (PySide6, waitress,
ijson) through a .pth line, as --system-site-packages would: no download, and the
project itself is found only where the wheel put it.
"""

from __future__ import annotations

import http.client
import importlib.util
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import ijson
import PySide6
import pytest
import waitress

from inspector.host.store import Store

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "inspector", "ui", "resources")
# Logs every file the process opens (Python's audit hook), to prove where each came from.
AUDIT = """import os, sys
_log = os.environ.get("WI_OPENED_LOG")
if _log:
    def _hook(event, args, _out=open(_log, "a", buffering=1)):
        if event == "open" and isinstance(args[0], str):
            _out.write(args[0] + "\\n")
    sys.addaudithook(_hook)
"""

pytestmark = pytest.mark.slow


def run(*cmd: str | Path, cwd: Path | None = None) -> None:
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def has_setuptools() -> bool:
    return importlib.util.find_spec("setuptools") is not None


def site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python*/site-packages"))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh virtualenv with the wheel built from a copy of the declared sources."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    # Offline with the setuptools at hand when there is one (3.11's venv has one, 3.12's not).
    offline = ["--no-isolation", "--skip-dependency-check"] if has_setuptools() else []
    run(sys.executable, "-m", "build", "--wheel", *offline, "--outdir", tmp / "dist", source)
    wheel = next((tmp / "dist").glob("wsgi_inspector-*.whl"))
    venv = tmp / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    site = site_packages(venv)
    borrowed = {str(Path(m.__file__).resolve().parents[1]) for m in (PySide6, waitress, ijson)}
    (site / "borrowed.pth").write_text("\n".join(sorted(borrowed)) + "\n")
    (site / "opened_audit.py").write_text(AUDIT)
    (site / "opened_audit.pth").write_text("import opened_audit\n")
    run(sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install",
        "--no-deps", "--no-index", "--no-cache-dir", "--quiet", wheel)
    yield venv


def read_lines(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line)
    into.put("")


def get(url: str) -> int:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("GET", "/from-the-wheel")
        return conn.getresponse().status
    finally:
        conn.close()


@pytest.mark.parametrize("command", [["bin/wsgi-inspector"], ["bin/python", "-m", "inspector"]],
                         ids=["script", "python-m"])
def test_the_installed_wheel_serves_records_and_reads_its_own_resources(
        installed: Path, tmp_path: Path, command: list[str]) -> None:
    opened = tmp_path / "opened.txt"
    session = tmp_path / "s.wsgi-session"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_DATA_HOME=str(tmp_path / "data"), WI_OPENED_LOG=str(opened))
    cmd = [str(installed / command[0]), *command[1:], "--port", "0", "--session", str(session)]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=read_lines, args=(proc.stdout, lines), daemon=True).start()
    try:
        line = lines.get(timeout=60)
        assert line.startswith("Serving at http://127.0.0.1:"), line + proc.stderr.read()
        assert get(line.split()[-1]) == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    with Store.open(session) as store:
        assert [x.path for x in store.exchanges()] == ["/from-the-wheel"]

    opened_files = {Path(p).resolve() for p in opened.read_text().splitlines()
                    if os.path.isabs(p)}
    from_tree = {p for p in opened_files if p.is_relative_to(ROOT)
                 and p.relative_to(ROOT).parts[0] in SOURCES}
    assert not from_tree, "read from the source tree"
    site = site_packages(installed).resolve()
    resources = site / "wsgi_inspector_resources"
    assert {resources / "icons" / "wsgi-inspector-256.png",
            resources / "explanations" / "phases.json"} <= opened_files
    assert site / "ui" / "main_window.py" in opened_files
