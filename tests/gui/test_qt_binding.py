"""The installed Qt binding keeps None's reference count (a broken release did not)."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QLabel


def test_void_qt_calls_keep_nones_reference_count(qtbot) -> None:
    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(10_000):
        label.setText("x")  # returns nothing: the binding hands back None
    assert sys.getrefcount(None) >= before - 100
