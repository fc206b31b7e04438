"""First run on a machine where Qt cannot reach a display: one sentence saying what to
install or do (the headless alternative included), exit code 2, never Qt's abort text."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ui import qt_platform

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the check is for Linux's xcb and wayland plugins")
QT_ABORT_TEXT = ("qt.qpa", "Could not load the Qt platform plugin", "Aborted",
                 "Available platform plugins")


def test_xcb_without_a_display_says_what_to_do_in_one_sentence(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE")}
    env.update(QT_QPA_PLATFORM="xcb", XDG_DATA_HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "ui.launch", "--port", "0"], env=env,
                          cwd=Path(__file__).resolve().parents[2], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("wsgi-inspector: "), done.stderr
    assert "--headless" in lines[0] and lines[0].endswith(".")
    assert not any(text in done.stderr for text in QT_ABORT_TEXT)
    if "missing" in lines[0]:  # this machine lacks some of the plugin's libraries
        assert "sudo apt install lib" in lines[0] and "sudo dnf install " in lines[0]
    else:
        assert "DISPLAY is empty" in lines[0]


def test_a_missing_library_is_named_with_its_debian_and_fedora_packages(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qt_platform, "loadable",
                        lambda soname: soname not in {"libxcb-cursor.so.0", "libxcb-icccm.so.4"})
    said = qt_platform.missing_libraries(
        "xcb", "libxcb-cursor.so.0: cannot open shared object file: No such file or directory")
    assert "(libxcb-cursor.so.0, libxcb-icccm.so.4)" in said
    assert "'sudo apt install libxcb-cursor0 libxcb-icccm4' (Debian, Ubuntu)" in said
    assert "'sudo dnf install xcb-util-cursor xcb-util-wm' (Fedora)" in said


def test_a_library_outside_the_table_gets_the_whole_usual_set(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qt_platform, "loadable", lambda soname: True)
    said = qt_platform.missing_libraries(
        "xcb", "libfoo-new.so.3: cannot open shared object file: No such file or directory")
    assert "(libfoo-new.so.3)" in said
    assert qt_platform.DEBIAN_ALL in said and qt_platform.FEDORA_ALL in said


def test_a_loadable_plugin_needs_its_display_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qt_platform.ctypes, "CDLL", lambda path: None)
    monkeypatch.delenv("DISPLAY", raising=False)
    assert "DISPLAY is empty" in str(qt_platform.platform_problem("xcb"))
    monkeypatch.setenv("DISPLAY", ":0")
    assert qt_platform.platform_problem("xcb") is None


@pytest.mark.parametrize(("env", "tried"), [
    ({"QT_QPA_PLATFORM": "offscreen"}, ["offscreen"]),
    ({"QT_QPA_PLATFORM": "wayland;xcb"}, ["wayland", "xcb"]),
    ({"QT_QPA_PLATFORM": "vnc:size=800x600"}, ["vnc"]),
    ({"XDG_SESSION_TYPE": "wayland"}, ["wayland", "xcb"]),
    ({}, ["xcb"]),
])
def test_the_platforms_qt_will_try(monkeypatch: pytest.MonkeyPatch, env: dict[str, Any],
                                   tried: list[str]) -> None:
    for name in ("QT_QPA_PLATFORM", "XDG_SESSION_TYPE", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert qt_platform.requested_platforms() == tried


def test_other_platform_plugins_are_left_to_qt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert qt_platform.problem() is None
