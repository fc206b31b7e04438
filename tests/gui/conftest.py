"""Fixtures for driving the real window offscreen: fresh settings and session per test,
apps served in-process on port 0 (one test uses the isolated app process)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
from PySide6.QtCore import QSettings

HERE = Path(__file__).parent
# The offscreen platform plugin says so whenever a window has size constraints.
OFFSCREEN_NOISE = "This plugin does not support propagateSizeHints"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.fspath).parents:
            item.add_marker(pytest.mark.qt_log_ignore(OFFSCREEN_NOISE))


@pytest.fixture(autouse=True)
def private_settings(tmp_path: Path) -> Iterator[Path]:
    """Every QSettings() in the test (including the app's own) lives under tmp_path."""
    folder = tmp_path / "settings"
    folder.mkdir()
    old_format = QSettings.defaultFormat()
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    yield folder
    QSettings.setDefaultFormat(old_format)


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "window.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_window(qtbot: Any, tmp_path: Path, settings: QSettings) -> Iterator[Callable[..., Any]]:
    """``make_window(spec, **launch)`` -> a shown MainWindow serving ``spec``."""
    from inspector.host.store import Store
    from ui.app_controller import Launch
    from ui.main_window import MainWindow

    windows: list[Any] = []
    counter = [0]

    def make(spec: str = "inspector.examples.hello:app", *, wait: str | None = "serving",
             settings_: QSettings | None = None, start: bool = True, **launch: Any) -> Any:
        counter[0] += 1
        launch.setdefault("port", 0)
        launch.setdefault("in_process", True)
        store = Store(tmp_path / f"session-{counter[0]}.wsgi-session", interval=0.01)
        window = MainWindow(store, Launch(spec=spec, **launch),
                            settings=settings_ if settings_ is not None else settings,
                            autostart=start)
        qtbot.addWidget(window)
        windows.append(window)
        window.resize(1200, 700)
        window.show()
        if start and wait:
            qtbot.waitUntil(lambda: window.controller.status.state == wait, timeout=20000)
        return window

    yield make
    for window in windows:
        window.shutdown()
