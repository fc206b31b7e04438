"""The one way the window reads its data files (``ui/data/``), via importlib.resources.

No .qrc compilation step: the files ship as package data and are read here,
cached, whatever the installation (a source tree, a wheel, a frozen app).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

PEP_3333_URL = "https://peps.python.org/pep-3333/"


def read_text(name: str) -> str:
    """The text of ``ui/data/<name>``."""
    return resources.files("ui").joinpath("data", name).read_text(encoding="utf-8")


@cache
def read_json(name: str) -> Any:
    return json.loads(read_text(name))


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
    """``(title, text, section, url)`` for a step of the flow (``ui/data/phases.json``):
    browser, server, received, app_called, start_response, chunk, closed, back."""
    entry = read_json("phases.json").get(key)
    if entry is None:
        return "", "", "", ""
    anchor = entry.get("anchor", "")
    url = f"{PEP_3333_URL}#{anchor}" if anchor else ""
    section = f"PEP 3333: {entry['section']}" if entry.get("section") else ""
    return entry["title"], entry["text"], section, url
