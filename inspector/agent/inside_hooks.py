"""Which module's import installs which hook, and the finder that installs them
(see :mod:`.inside`)."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

from .inside import Options, Patch, Undo
from .inside_http import patch_http_client, patch_httpx
from .inside_sql import patch_django, patch_sqlalchemy, patch_sqlite3
from .inside_templates import patch_django_templates, patch_jinja2

# Each name is the module whose own code, once run, defines what its hook patches.
HOOKS: dict[str, Patch] = {
    "sqlite3": patch_sqlite3,
    "django.db.backends.signals": patch_django,
    "sqlalchemy": patch_sqlalchemy,
    "http.client": patch_http_client,
    "httpx": patch_httpx,
    "jinja2": patch_jinja2,
    "django.template.base": patch_django_templates,
}


# -- post-import hooks --------------------------------------------------------------

class PostImport:
    """A meta path finder that patches a watched module right after it runs.

    It finds the module's spec with the finders after it and wraps that spec's
    loader's ``exec_module`` on the loader instance only, for that one call:
    the attribute is removed again before the module is handed to the
    importer, so ``module.__loader__`` and ``__spec__`` are what they would be.
    """

    def __init__(self, hooks: dict[str, Patch]) -> None:
        self.hooks = hooks
        self.undo: list[Undo] = []
        self._busy = threading.local()

    def find_spec(self, name: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        patch = self.hooks.get(name)
        if patch is None or getattr(self._busy, "name", None) == name:
            return None
        self._busy.name = name
        try:
            spec = self._real_spec(name, path, target)
        finally:
            self._busy.name = None
        loader = spec.loader if spec is not None else None
        if loader is None or isinstance(loader, type) or not hasattr(loader, "exec_module"):
            return spec
        run = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            try:
                run(module)
            finally:
                with contextlib.suppress(AttributeError):
                    del loader.exec_module  # type: ignore[union-attr]
            self.apply(name, module)

        # A loader with __slots__ cannot take it: its module goes unwatched.
        with contextlib.suppress(AttributeError, TypeError):
            loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec

    def _real_spec(self, name: str, path: Sequence[str] | None,
                   target: ModuleType | None) -> ModuleSpec | None:
        for finder in sys.meta_path:
            if finder is self:
                continue
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            spec = find(name, path, target)
            if spec is not None:
                return spec  # type: ignore[no-any-return]
        return None

    def apply(self, name: str, module: ModuleType) -> None:
        """Patch ``module``; a hook that fails leaves the app's import as it was."""
        patch = self.hooks.pop(name, None)
        if patch is None:
            return
        # A version of the library we do not know: record nothing of it.
        with contextlib.suppress(Exception):
            self.undo.append(patch(module))


_lock = threading.Lock()
_installed: list[PostImport] = []  # the finder in place, with a count of who asked
_users = 0


def install() -> None:
    """Watch the libraries from now on (patching those imported already); counted:
    each install needs its :func:`uninstall`."""
    global _users
    with _lock:
        _users += 1
        if _installed:
            return
        finder = PostImport(dict(HOOKS))
        _installed.append(finder)
        sys.meta_path.insert(0, finder)  # type: ignore[arg-type]
        for name in list(finder.hooks):
            module = sys.modules.get(name)
            if module is not None:
                finder.apply(name, module)


def uninstall() -> None:
    """Undo every patch once the last user is done; objects made meanwhile (a
    connection) keep their hooks, which record nothing outside a request."""
    global _users
    with _lock:
        _users = max(_users - 1, 0)
        if _users or not _installed:
            return
        Options.stacks = False
        finder = _installed.pop()
        if finder in sys.meta_path:
            sys.meta_path.remove(finder)  # type: ignore[arg-type]
        for undo in reversed(finder.undo):
            with contextlib.suppress(Exception):
                undo()
