"""resources/: installed as its own package, read through ui/resources.py, complete."""

from __future__ import annotations

import configparser
import struct
import sys
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import pytest

from ui import resources as res

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.9/3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_code_folder_is_a_listed_package() -> None:
    """The package list is explicit (a mapped folder cannot be found): a new
    package folder under inspector/ or ui/ must be named there or the wheel lacks it."""
    setuptools = pyproject()["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    folders = {".".join(p.parent.relative_to(ROOT).parts)
               for top in ("inspector", "ui") for p in (ROOT / top).rglob("*.py")
               if "__pycache__" not in p.parts}
    assert folders - listed == set(), "add these to [tool.setuptools] packages"
    assert setuptools["package-dir"][res.PACKAGE] == "resources"
    assert res.PACKAGE in listed


def test_the_accessor_reads_the_installed_package() -> None:
    assert Path(str(res.root())) == Path(str(resources.files(res.PACKAGE)))
    assert (Path(str(res.root())) / "explanations" / "phases.json").is_file()


def test_a_checkout_never_installed_reads_the_folder_itself(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def not_installed(name: str) -> None:
        raise ModuleNotFoundError(name)

    monkeypatch.setattr(res.resources, "files", not_installed)
    res.root.cache_clear()
    try:
        assert Path(str(res.root())) == ROOT / "resources"
        assert res.read_text("phases.json")
    finally:
        res.root.cache_clear()


def test_every_explanation_file_is_read() -> None:
    assert res.environ_explanation("PATH_INFO")
    text, url = res.pep_section("PEP 3333: The start_response() Callable")
    assert text and url.startswith(res.PEP_3333_URL + "#")
    assert res.phase_text("start_response")[0]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.parametrize("size", res.ICON_SIZES)
def test_icon_png_at_each_size(size: int) -> None:
    assert png_size(res.read_bytes("icons", f"wsgi-inspector-{size}.png")) == (size, size)


def test_icon_svg_is_the_source() -> None:
    root = ET.fromstring(res.read_bytes("icons", "wsgi-inspector.svg"))
    assert root.tag.endswith("svg") and root.get("viewBox") == "0 0 256 256"


def test_desktop_entry_and_metainfo_name_the_same_app() -> None:
    script = next(iter(pyproject()["project"]["scripts"]))
    entry = configparser.ConfigParser(interpolation=None)
    entry.read_string(res.read_bytes("linux", f"{res.APP_ID}.desktop").decode())
    desktop = entry["Desktop Entry"]
    assert (desktop["Exec"], desktop["Icon"], desktop["Type"]) == (script, res.APP_ID,
                                                                   "Application")
    info = ET.fromstring(res.read_bytes("linux", f"{res.APP_ID}.metainfo.xml"))
    assert info.findtext("id") == res.APP_ID
    assert info.findtext("launchable") == f"{res.APP_ID}.desktop"
    assert info.findtext("provides/binary") == script
    assert info.findtext("project_license") == pyproject()["project"]["license"]["text"]
