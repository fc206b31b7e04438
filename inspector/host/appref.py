"""Which app a session recorded: its spec and folder, kept in the session's meta table.

A generated pytest file imports the app the way the inspector did, so the
session remembers the spec (``myproj.wsgi:app``) and the app directory of the
last app it served. Sessions from older versions and HAR files have none.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Protocol

from ..agent.loader import LoadError, parse_spec

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


def checked_app(app: AppRef | None) -> AppRef | None:
    """``app`` as a session file names it, if a test may import it; else None.

    The file is data from anywhere, and the spec may call what it names
    (``pkg:create_app('dev')``): so it must name a module or ``.py`` file that
    exists in its own folder on this machine, neither part of Python (``os``,
    ``subprocess``) nor of an installed package, so no file can make a test
    call ``os:system('...')``.
    """
    if app is None or _project_file(app) is None:
        return None
    return app


def _project_file(app: AppRef) -> str | None:
    """The source file ``app.spec`` names inside ``app.app_dir``, if it is the project's."""
    try:
        parts = parse_spec(app.spec)
    except LoadError:
        return None
    root = os.path.realpath(app.app_dir)
    if not os.path.isabs(app.app_dir) or _installed(root):
        return None
    if parts.is_file:
        candidates = [os.path.join(root, parts.target)]
    else:
        names = parts.target.split(".")
        if names[0] in _python_names():
            return None
        base = os.path.join(root, *names)
        candidates = [base + ".py", os.path.join(base, "__init__.py")]
    for candidate in candidates:
        real = os.path.realpath(candidate)
        if os.path.isfile(real) and _inside(real, root) and not _installed(real):
            return real
    return None


def _inside(path: str, root: str) -> bool:
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:  # another drive
        return False


def _installed(path: str) -> bool:
    """Inside Python's installation, a package folder, or a folder of the standard
    library (one that holds os.py)."""
    parts = set(path.replace("\\", "/").split("/"))
    if parts & {"site-packages", "dist-packages"}:
        return True
    if os.path.isfile(os.path.join(path, "os.py")):
        return True
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    return any(_inside(path, os.path.realpath(p)) for p in prefixes)


def _python_names() -> frozenset[str]:
    names = set(sys.builtin_module_names)
    names.update(getattr(sys, "stdlib_module_names", ()))  # Python 3.10+
    return frozenset(names)
