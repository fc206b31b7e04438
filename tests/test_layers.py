"""Layers hold: nothing under inspector/ imports Qt or ui, and the agent runs on
the standard library and waitress alone (it must work in the user's interpreter)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "inspector"
QT = {"PySide6", "shiboken6", "PyQt5", "PyQt6", "PySide2", "ui"}
STDLIB = set(sys.stdlib_module_names)


def imported_modules(path: Path) -> set[str]:
    """Absolute top-level names a module imports (relative imports resolved)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                names.add(".".join([*base, node.module] if node.module else base))
            else:
                names.add(node.module or "")
    return names


def engine_files() -> list[Path]:
    return sorted(ENGINE.rglob("*.py"))


@pytest.mark.parametrize("path", engine_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_engine_does_not_import_qt_or_ui(path: Path) -> None:
    bad = {name for name in imported_modules(path) if name.split(".")[0] in QT}
    assert not bad, f"{path.name} imports {sorted(bad)}"


def agent_allowed(name: str) -> bool:
    top = name.split(".")[0]
    return (top in STDLIB or top == "waitress" or name.startswith("inspector.agent")
            or name in {"inspector", *SHARED})


@pytest.mark.parametrize("path", sorted((ENGINE / "agent").rglob("*.py")),
                         ids=lambda p: p.name)
def test_agent_imports_only_stdlib_and_waitress(path: Path) -> None:
    bad = {name for name in imported_modules(path) if not agent_allowed(name)}
    assert not bad, f"{path.name} imports {sorted(bad)}"


# Modules both sides import: the agent runs them in the user's interpreter.
SHARED = {"inspector.model", "inspector.lint", "inspector.wire", "inspector.filtering",
          "inspector.inside"}


@pytest.mark.parametrize("name", sorted(SHARED))
def test_shared_modules_are_stdlib_only(name: str) -> None:
    path = ENGINE / f"{name.split('.')[-1]}.py"
    bad = {n for n in imported_modules(path)
           if n.split(".")[0] not in STDLIB and n not in SHARED}
    assert not bad


def test_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    """The checks above can fail: a planted import is found."""
    planted = ENGINE / "agent" / "_planted_for_test.py"
    planted.write_text("from PySide6 import QtCore\nimport flask\n")
    try:
        names = imported_modules(planted)
    finally:
        planted.unlink()
    assert "PySide6" in names and not agent_allowed("flask")


def test_agent_runs_without_site_packages() -> None:
    """Import the whole agent in an interpreter that sees only the stdlib,
    waitress and our package, and list what got loaded."""
    import waitress

    code = (
        "import sys\n"
        "import inspector.agent.runtime, inspector.agent.loader, inspector.agent.sink\n"
        "mods = {m.split('.')[0] for m in sys.modules}\n"
        "print(' '.join(sorted(m for m in mods if m not in sys.stdlib_module_names)))\n"
    )
    paths = [str(ROOT), str(Path(waitress.__file__).parents[1])]
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-c", f"import sys; sys.path[:0] = {paths!r}\n{code}"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.split()
    assert set(out) <= {"__main__", "inspector", "waitress"}, out


def test_headless_command_does_not_load_qt() -> None:
    """`wsgi-inspector --headless` goes through ui.launch, which must not import Qt."""
    code = "import sys, ui.launch; print('PySide6' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60, cwd=ROOT).stdout.strip()
    assert out == "False"
