"""Small helpers shared by the benchmark scripts (run them as scripts: this
folder is then first on sys.path)."""

from __future__ import annotations

import os
import time
from importlib import metadata
from pathlib import Path


def versions(*dists: str) -> dict[str, str]:
    """Installed versions of the given distributions (default: waitress, flask)."""
    found = {}
    for dist in dists or ("waitress", "flask"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "not installed"
    return found


def process_start() -> float:
    """When this process started, on the monotonic clock (Linux; else now)."""
    try:
        stat = Path(f"/proc/{os.getpid()}/stat").read_text()
        ticks = int(stat.rsplit(")", 1)[1].split()[19])
        since_boot = ticks / os.sysconf("SC_CLK_TCK")
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        # /proc/uptime counts suspend too (CLOCK_BOOTTIME); the difference is tiny here.
        return time.monotonic() - (uptime - since_boot)
    except (OSError, ValueError, IndexError):
        return time.monotonic()
