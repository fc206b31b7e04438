"""Small helpers shared by the benchmark scripts (run them as scripts: this
folder is then first on sys.path)."""

from __future__ import annotations

from importlib import metadata


def versions(*dists: str) -> dict[str, str]:
    """Installed versions of the given distributions (default: waitress, flask)."""
    found = {}
    for dist in dists or ("waitress", "flask"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "not installed"
    return found
