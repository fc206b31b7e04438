"""Built-in example apps, for the lesson and for trying the inspector out."""

from __future__ import annotations

import sys


def needs(framework: str, package: str) -> Exception:
    """What an example raises when the app's interpreter lacks its framework: one
    sentence saying what to install (the loader shows it instead of a traceback)."""
    from ..agent.loader import LoadError

    return LoadError(
        f"This example needs {framework}, which {sys.executable} does not have; install "
        f"it there with: pip install 'wsgi-inspector[examples]' (or pip install {package}), "
        "then reload.")
