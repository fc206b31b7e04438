"""The exchange list's row context menu, built afresh for the rows under the mouse.

``build_row_menu`` is the one place the menu is assembled: other features add
their entries here (next to the list's own actions: Delete, Copy URL, exports).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from PySide6.QtWidgets import QMenu

from inspector.host.store import Summary

from .exchange_model import status_code

if TYPE_CHECKING:
    from .main_window import MainWindow


FOLLOW_WINDOW = 200  # later exchanges looked at for the one that followed a redirect


def followed_by(later: Iterable[Summary], path: str, location: str
                ) -> tuple[int, str] | None:
    """(id, "GET /path") of the first of ``later`` that asked for ``location`` (a
    redirect of ``path``), by path and query: a URL's host is not kept per exchange."""
    target = urlsplit(urljoin(path, location))
    for s in later:
        if s.path == target.path and (not target.query or s.query == target.query):
            return s.id, f"{s.method} {s.path}" + (f"?{s.query}" if s.query else "")
    return None


def filter_terms(s: Summary) -> list[tuple[str, str]]:
    """(menu text, filter term) to narrow the list to rows like ``s``."""
    terms = []
    if s.path:
        terms.append((f"Filter to This Path ({s.path})", f"path:{shlex.quote(s.path)}"))
    if s.method:
        terms.append((f"Filter to This Method ({s.method})", f"method:{s.method}"))
    code = status_code(s)
    if code is not None:
        terms.append((f"Filter to This Status ({code})", f"status:{code}"))
    return terms


def add_filter_entries(window: MainWindow, menu: QMenu, s: Summary) -> None:
    for text, term in filter_terms(s):
        action = menu.addAction(text.replace("&", "&&"))
        action.triggered.connect(lambda _=False, t=term: window.add_filter_term(t))


def build_row_menu(window: MainWindow, s: Summary | None) -> QMenu:
    """The menu for a right-click on the list; ``s`` is the row clicked, if any.
    The list's actions in their order, the row's Filter to This… entries, Delete last
    (a destructive entry at the end, apart)."""
    menu = QMenu(window.table)
    delete = window.actions_by_name["delete"]
    actions = [a for a in window.table.actions() if a is not delete]
    while actions and actions[-1].isSeparator():  # the separator that led to Delete
        actions.pop()
    menu.addActions(actions)
    if s is not None:
        menu.addSeparator()
        add_filter_entries(window, menu, s)
    menu.addSeparator()
    menu.addAction(delete)
    return menu
