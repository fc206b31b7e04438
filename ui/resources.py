"""The one way the application reads its files that are not code (``resources/``).

``resources/`` is installed as the package ``wsgi_inspector_resources`` (a name no
other distribution's top-level package will take, unlike ``resources``, which
several ship and whose files would land on ours in a shared site-packages).
``importlib.resources`` then reads it the same in an editable install, a wheel and
the frozen app. A bare source checkout that was never installed reads the folder
beside ``ui/``. No .qrc compile step: files are read here and cached.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.abc import Traversable

    from PySide6.QtGui import QIcon

PACKAGE = "wsgi_inspector_resources"
APP_ID = "io.github.wsgi_inspector.WSGIInspector"  # the .desktop file's and metainfo's name
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
PEP_3333_URL = "https://peps.python.org/pep-3333/"


@cache
def root() -> Traversable:
    """The resources folder, wherever this installation keeps it."""
    try:
        return resources.files(PACKAGE)
    except ModuleNotFoundError:  # a checkout run without installing: the folder itself
        return Path(__file__).resolve().parents[1] / "resources"


def read_bytes(*parts: str) -> bytes:
    """The bytes of ``resources/<parts...>``, e.g. ``read_bytes("icons", "x.png")``."""
    return root().joinpath("/".join(parts)).read_bytes()  # one argument: 3.9's zip paths


def read_text(name: str) -> str:
    """The text of ``resources/explanations/<name>``."""
    return read_bytes("explanations", name).decode("utf-8")


@cache
def read_json(name: str) -> Any:
    return json.loads(read_text(name))


@cache
def app_icon() -> QIcon:
    """The application's icon at every size drawn (PNGs: no SVG module needed)."""
    from PySide6.QtGui import QIcon, QPixmap

    icon = QIcon()
    for size in ICON_SIZES:
        pixmap = QPixmap()
        pixmap.loadFromData(read_bytes("icons", f"wsgi-inspector-{size}.png"), "PNG")
        icon.addPixmap(pixmap)
    return icon


def environ_explanation(key: str) -> str:
    """One sentence about an environ key (PEP 3333 / CGI), by exact key or by prefix."""
    data = read_json("environ_keys.json")
    text = data["keys"].get(key)
    if text:
        return text
    prefixes: dict[str, str] = data["prefixes"]
    for prefix in sorted(prefixes, key=len, reverse=True):
        if prefix and key.startswith(prefix):
            return prefixes[prefix]
    return prefixes[""]


def pep_section(pep: str) -> tuple[str, str]:
    """``(explanation, url)`` for a finding's ``pep`` field ("PEP 3333: <section>")."""
    section = pep.split(":", 1)[1].strip() if ":" in pep else pep.strip()
    entry = read_json("pep_sections.json").get(section)
    if entry is None:
        return "", PEP_3333_URL
    return entry["text"], f"{PEP_3333_URL}#{entry['anchor']}"


def phase_text(key: str) -> tuple[str, str, str, str]:
    """``(title, text, section, url)`` for a step of the flow (``phases.json``):
    browser, server, received, app_called, start_response, chunk, closed, back."""
    entry = read_json("phases.json").get(key)
    if entry is None:
        return "", "", "", ""
    anchor = entry.get("anchor", "")
    url = f"{PEP_3333_URL}#{anchor}" if anchor else ""
    section = f"PEP 3333: {entry['section']}" if entry.get("section") else ""
    return entry["title"], entry["text"], section, url
