"""Helpers for the GUI tests: real HTTP requests, waiting for rows."""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def http_request(url: str, method: str = "GET", path: str = "/", body: bytes | None = None,
                 headers: dict[str, str] | None = None, timeout: float = 10) -> Reply:
    """One real HTTP request to the app (the server runs on its own threads)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return Reply(response.status, dict(response.getheaders()), response.read())
    finally:
        conn.close()


def wait_rows(qtbot: Any, window: Any, n: int, *, done: bool = True,
              timeout: int = 10000) -> None:
    """Until the list has ``n`` rows (all ended, unless ``done`` is False)."""
    def check() -> None:
        assert window.model.rowCount() == n
        if done:
            assert all(s.state not in ("active", "paused") for s in window.model.summaries())
    qtbot.waitUntil(check, timeout=timeout)
