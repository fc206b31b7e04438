"""The Inside settings the window keeps: the slow-query threshold (App menu)."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QInputDialog, QWidget

from inspector import inside

SLOW_QUERY_MS = "inside/slow_query_ms"


def slow_query_ms(settings: QSettings) -> int:
    value = settings.value(SLOW_QUERY_MS, round(inside.SLOW_QUERY * 1000))
    try:
        return max(int(value), 1)
    except (TypeError, ValueError):  # a hand-edited settings file
        return round(inside.SLOW_QUERY * 1000)


def apply(settings: QSettings) -> None:
    """Findings from now on use the saved threshold."""
    inside.set_slow_query(slow_query_ms(settings) / 1000)


def ask(parent: QWidget, settings: QSettings) -> bool:
    """Ask for a new threshold; True when one was set."""
    value, ok = QInputDialog.getInt(
        parent, "Slow query threshold",
        "A query that takes this long or longer is a \"slow-query\" finding (for "
        "exchanges recorded from now on), in milliseconds:",
        slow_query_ms(settings), 1, 600_000)
    if not ok:
        return False
    settings.setValue(SLOW_QUERY_MS, value)
    apply(settings)
    return True
