"""How an export is rendered (where to send requests, secrets, which app): shared by
:mod:`.formats` and the writers it calls, so neither imports the other for it."""

from __future__ import annotations

from dataclasses import dataclass

from .appref import AppRef


@dataclass(frozen=True)
class Context:
    """How to render: where to send requests, whether to keep secrets, which app."""

    base_url: str | None = None
    redact: bool = True
    app: AppRef | None = None
    out: str | None = None  # where the output will be saved, if known
