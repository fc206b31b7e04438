"""One access-log line per exchange, for the terminal."""

from __future__ import annotations

import time

from .store import SERVER_ONLY, Summary
from .terminal import inert, wsgi_text


def access_line(s: Summary) -> str:
    """``12:03:04 GET /path?q 200 14 B 0.4 ms 5 queries 1 finding``, control characters
    escaped: the path and method come from the network."""
    clock = _clock(s.start)
    target = wsgi_text(s.path) + (f"?{s.query}" if s.query else "")
    if s.state == SERVER_ONLY and not s.method:  # waitress could not read a request line
        target = f"(malformed request{': ' + s.path if s.path else ''})"
    status = str(s.status) if s.status is not None else "---"
    duration = f"{s.duration * 1000:.1f} ms" if s.duration is not None else "-"
    queries = f"{s.queries} quer{'ies' if s.queries != 1 else 'y'}" if s.queries else ""
    findings = f"{s.findings} finding{'s' if s.findings != 1 else ''}" if s.findings else ""
    error = "aborted by you" if s.state == "aborted" else "error" if s.error else ""
    if s.state == SERVER_ONLY:
        error = "answered by waitress; the app was not called"
    parts = [clock, s.method, target, status, human_size(s.response_size), duration,
             queries, findings, error]
    return inert(" ".join(p for p in parts if p))


_last_clock: tuple[int, str] = (-1, "")


def _clock(t: float) -> str:
    """``HH:MM:SS`` of ``t``; formatted once per second (there may be thousands of lines)."""
    global _last_clock
    second = int(t)
    if second != _last_clock[0]:
        _last_clock = (second, time.strftime("%H:%M:%S", time.localtime(t)))
    return _last_clock[1]


def human_size(size: float) -> str:
    if size < 1024:
        return f"{int(size)} B"
    for unit in ("KiB", "MiB", "GiB"):
        size /= 1024
        if size < 1024 or unit == "GiB":
            break
    return f"{size:.1f} {unit}"
