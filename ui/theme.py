"""Colours and fonts that follow the system's light or dark scheme.

Every colour here is computed from the current palette, so the window stays
readable whichever scheme is active and when the user switches it.
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QFontMetrics, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

_STATUS = {  # (light, dark) per status class
    1: ("#5f6b7a", "#a9b4c2"),
    2: ("#1b7f3b", "#6fd08c"),
    3: ("#1f5fbf", "#7fb0ff"),
    4: ("#b35c00", "#ffb35c"),
    5: ("#c0262d", "#ff7b7b"),
}
_LEVEL = {
    "DEBUG": ("#6b7280", "#9ca3af"),
    "INFO": ("#1f5fbf", "#7fb0ff"),
    "WARNING": ("#b35c00", "#ffb35c"),
    "ERROR": ("#c0262d", "#ff7b7b"),
    "CRITICAL": ("#8b0000", "#ff5c5c"),
}
_SEVERITY = {"error": _LEVEL["ERROR"], "warning": _LEVEL["WARNING"], "info": _LEVEL["INFO"]}
_ACCENT = ("#1f5fbf", "#7fb0ff")
_ERROR_BG = ("#fdecea", "#4a1f22")
_PAUSED_BG = ("#fff3cd", "#4a3d14")


def is_dark(palette: QPalette | None = None) -> bool:
    palette = palette or QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def _pick(pair: tuple[str, str], palette: QPalette | None = None) -> QColor:
    return QColor(pair[1] if is_dark(palette) else pair[0])


def status_color(code: int | None, palette: QPalette | None = None) -> QColor | None:
    if code is None:
        return None
    pair = _STATUS.get(code // 100)
    return _pick(pair, palette) if pair else None


def level_color(stream: str, level: str, palette: QPalette | None = None) -> QColor | None:
    pair = _LEVEL.get(level.upper())
    if pair is None and stream in ("stderr", "wsgi.errors"):
        pair = _LEVEL["ERROR"]
    return _pick(pair, palette) if pair else None


def severity_color(severity: str, palette: QPalette | None = None) -> QColor:
    return _pick(_SEVERITY.get(severity, _LEVEL["INFO"]), palette)


def accent_color(palette: QPalette | None = None) -> QColor:
    return _pick(_ACCENT, palette)


def error_background(palette: QPalette | None = None) -> QColor:
    return _pick(_ERROR_BG, palette)


def paused_background(palette: QPalette | None = None) -> QColor:
    """A paused request's row: a soft amber, readable under either scheme's text."""
    return _pick(_PAUSED_BG, palette)


PAUSE_SIGN = "\u23f8"  # the media "pause" sign
PAUSE_FALLBACK = "\u275a\u275a"  # two heavy vertical bars, in nearly every font


@cache
def pause_glyph() -> str:
    """The pause sign, or two bars where the application font has no such glyph."""
    metrics = QFontMetrics(QGuiApplication.font())
    return PAUSE_SIGN if metrics.inFontUcs4(ord(PAUSE_SIGN)) else PAUSE_FALLBACK


def mono_font() -> QFont:
    """The system's fixed-width font, for bodies, headers and tracebacks."""
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


def dark_palette() -> QPalette:
    p = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    base = {
        role.Window: "#1f2228", role.WindowText: "#e6e6e6", role.Base: "#16181d",
        role.AlternateBase: "#1c1f25", role.ToolTipBase: "#2b2f37", role.ToolTipText: "#e6e6e6",
        role.PlaceholderText: "#8a8f98", role.Text: "#e6e6e6", role.Button: "#2a2e36",
        role.ButtonText: "#e6e6e6", role.BrightText: "#ff6b6b", role.Link: "#7fb0ff",
        role.LinkVisited: "#b89cff", role.Highlight: "#2f5d9e", role.HighlightedText: "#ffffff",
        role.Light: "#3a3f48", role.Midlight: "#30343c", role.Mid: "#25282f",
        role.Dark: "#121418", role.Shadow: "#000000",
    }
    for r, colour in base.items():
        p.setColor(r, QColor(colour))
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(group.Disabled, r, QColor("#7a7f88"))
    return p


def apply_scheme(app: QApplication, scheme: Qt.ColorScheme | None = None) -> None:
    """Fusion style with a palette for ``scheme``; None follows the system, live."""
    app.setStyle(QStyleFactory.create("Fusion"))
    hints = app.styleHints()
    if scheme is not None:
        hints.setColorScheme(scheme)
        _set_palette(app, scheme)
        return
    if hasattr(hints, "unsetColorScheme"):  # a scheme chosen before: follow the system again
        hints.unsetColorScheme()
    _set_palette(app, hints.colorScheme())
    if not app.property("wsgi_inspector_follows_scheme"):
        app.setProperty("wsgi_inspector_follows_scheme", True)
        hints.colorSchemeChanged.connect(lambda s: _set_palette(app, s))


def _set_palette(app: QApplication, scheme: Qt.ColorScheme) -> None:
    if scheme == Qt.ColorScheme.Dark:
        app.setPalette(dark_palette())
    else:
        style = app.style()
        app.setPalette(style.standardPalette())
