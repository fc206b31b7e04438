"""Where the window keeps its settings: QSettings, one group per window."""

from __future__ import annotations

from PySide6.QtCore import QSettings

ORGANIZATION = "wsgi-inspector"
APPLICATION = "wsgi-inspector"
RECENT_APPS = "recent/apps"
RECENT_LIMIT = 10


def make_settings() -> QSettings:
    """The user's settings (native format, or whatever QSettings.setDefaultFormat says)."""
    return QSettings(QSettings.defaultFormat(), QSettings.Scope.UserScope, ORGANIZATION,
                     APPLICATION)


def read_list(settings: QSettings, key: str) -> list[str]:
    value = settings.value(key, [])
    if isinstance(value, str):  # a one-item list comes back as a str from INI files
        return [value] if value else []
    return [str(v) for v in value or []]


def remember_recent(settings: QSettings, spec: str) -> list[str]:
    recent = [spec] + [s for s in read_list(settings, RECENT_APPS) if s != spec]
    recent = recent[:RECENT_LIMIT]
    settings.setValue(RECENT_APPS, recent)
    return recent
