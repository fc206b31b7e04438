"""Which app a session recorded: its spec and folder, kept in the session's meta table.

A generated pytest file imports the app the way the inspector did, so the
session remembers the spec (``myproj.wsgi:app``) and the app directory of the
last app it served. Sessions from older versions and HAR files have none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Protocol

META_KEY = "served_app"


class MetaStore(Protocol):
    def set_meta(self, key: str, value: str) -> None: ...

    def meta(self, key: str) -> str | None: ...


@dataclass(frozen=True)
class AppRef:
    spec: str  # as given: "myproj.wsgi:app", "app.py", "pkg:create_app('dev')"
    app_dir: str  # absolute: put first on sys.path, and what a .py path is relative to


def record_app(store: MetaStore, app: AppRef) -> None:
    """Remember ``app`` in the session (the last one served wins); a session opened
    read-only to view it stays as it is."""
    if getattr(store, "read_only", False):
        return
    store.set_meta(META_KEY, json.dumps({"spec": app.spec, "app_dir": app.app_dir}))


def recorded_app(store: MetaStore) -> AppRef | None:
    """The app the session last served; None if it does not say (or says nonsense)."""
    text = store.meta(META_KEY)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    spec, app_dir = data.get("spec"), data.get("app_dir")
    if isinstance(spec, str) and isinstance(app_dir, str) and spec and app_dir:
        return AppRef(spec, app_dir)
    return None
