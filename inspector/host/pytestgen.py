"""Recorded exchanges as a pytest file that calls the app in-process through WSGI."""

from __future__ import annotations

from collections.abc import Sequence

from ..model import Exchange
from .appref import AppRef
from .export import ExportError


def test_file(exchanges: Sequence[Exchange], app: AppRef) -> str:
    raise ExportError("The pytest export is not ready yet.")
