"""One access-log line per exchange, for the terminal."""

from __future__ import annotations

import time

from ..model import Exchange


def access_line(x: Exchange) -> str:
    """``12:03:04 GET /path?q 200 14 B 0.4 ms 1 finding``"""
    clock = time.strftime("%H:%M:%S", time.localtime(x.start))
    target = x.path + (f"?{x.query}" if x.query else "")
    status = str(x.status_code) if x.status_code is not None else "---"
    duration = f"{x.duration * 1000:.1f} ms" if x.duration is not None else "-"
    count = len(x.findings)
    findings = f"{count} finding{'s' if count != 1 else ''}" if count else ""
    error = f"error: {x.error.type}" if x.error else ""
    parts = [clock, x.method, target, status, human_size(x.response_size), duration,
             findings, error]
    return " ".join(p for p in parts if p)


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    for unit in ("KiB", "MiB", "GiB"):
        size /= 1024  # type: ignore[assignment]
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}"
    raise AssertionError("unreachable")
