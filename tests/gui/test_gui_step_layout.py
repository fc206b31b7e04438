"""A paused request in a 1280x780 window: the Flow tab's explanation and the Step dock
share the height so that what each shows is readable without scrolling."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from tests.gui.test_gui_stepping import Client, echo_window, key, paused_at

__all__ = ["echo_window"]  # the fixture, used by name


def fully_shown(widget: Any) -> bool:
    """The widget's whole rectangle is on screen (nothing clipped by a smaller parent)."""
    return widget.isVisible() and widget.visibleRegion().boundingRect() == widget.rect()


def test_paused_at_start_response_the_explanation_and_the_step_panel_fit(qtbot, echo_window):
    window = echo_window
    window.resize(1280, 780)
    key(window, Qt.Key.Key_F9)
    client = Client(window.url, "/fit")
    qtbot.waitUntil(paused_at(window, "received"), timeout=10000)
    key(window, Qt.Key.Key_F10)
    qtbot.waitUntil(paused_at(window, "start_response"), timeout=10000)
    flow, panel = window.flow, window.step_panel
    assert window.tabs.currentWidget() is flow and window.step_dock.isVisible()

    def laid_out() -> None:
        # The explanation: its first paragraph and the headers, with nothing to scroll.
        text = flow.detail.toPlainText()
        assert "Paused here." in text and "Content-Length" in text
        assert flow.detail.verticalScrollBar().maximum() == 0
        assert flow.scroll.verticalScrollBar().maximum() == 0  # the diagram scales instead
        assert flow.view.scale() >= flow.READABLE_SCALE - 0.01
        # The Step panel: every header row, the Learn text and the buttons in view.
        headers = panel.current.headers
        assert headers.verticalScrollBar().maximum() == 0
        assert panel.learn.height() >= panel.learn.heightForWidth(panel.learn.width())
        for button in panel.buttons.values():
            assert fully_shown(button)
        # The dock is about as tall as that content, not a third of the window of empty
        # table (the Learn text's wrapping may differ a line from the estimate).
        slack = 2 * headers.rowHeight(0)
        assert panel.height() <= panel.fitted_height(panel.width()) + slack

    qtbot.waitUntil(laid_out, timeout=10000)
    window.actions_by_name["continue"].trigger()
    qtbot.waitUntil(client.done, timeout=10000)
    assert client.reply is not None and client.reply.status == 200
