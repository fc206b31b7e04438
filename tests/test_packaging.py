"""The frozen build's spec and the code agree: the Qt modules it leaves out are never
imported by the window, and the agent ships as source for the user's interpreter."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "packaging" / "wsgi-inspector.spec"


def spec_list(name: str) -> list[str]:
    for node in ast.parse(SPEC.read_text()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == name:
            return [ast.literal_eval(item) for item in node.value.elts]  # type: ignore[attr-defined]
    raise AssertionError(f"{name} is not in {SPEC.name}")


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_the_window_imports_no_qt_module_the_build_leaves_out() -> None:
    excluded = {m for m in spec_list("EXCLUDED_MODULES") if m.startswith("PySide6.")}
    assert "PySide6.QtNetwork" in excluded
    for path in [*sorted((ROOT / "ui").rglob("*.py")), ROOT / "inspector" / "host" / "cli.py"]:
        used = imports(path) & excluded
        assert not used, f"{path.relative_to(ROOT)} imports {sorted(used)}: drop it from " \
                         "EXCLUDED_MODULES in packaging/wsgi-inspector.spec"


def test_the_build_keeps_the_platforms_a_desktop_and_the_smoke_test_need() -> None:
    assert set(spec_list("KEPT_PLATFORMS")) >= {"libqxcb.so", "libqwayland.so",
                                                 "libqoffscreen.so"}


def test_the_agent_source_folder_is_the_one_the_host_looks_in() -> None:
    from inspector.host.interpreter import AGENT_SOURCE

    assert f'AGENT_SOURCE = "{AGENT_SOURCE}"' in SPEC.read_text()


def test_build_tools_are_pinned() -> None:
    lines = [line for line in (ROOT / "packaging" / "requirements.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    assert lines and all("==" in line for line in lines)
