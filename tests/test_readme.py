"""The README's commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Try it (fresh clone)")[1].split("\n## ")[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_readme_has_launch_and_test_commands() -> None:
    launch, test = readme_commands()
    assert launch.endswith("wsgi-inspector")
    assert "pytest" in test and "QT_QPA_PLATFORM=offscreen" in test


def test_ci_runs_exactly_the_readme_test_command() -> None:
    _, test = readme_commands()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test in ci


def markdown_links(path: Path) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)\)", path.read_text())


def test_readme_and_docs_link_only_to_files_in_the_repository() -> None:
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for link in markdown_links(page):
            if link.startswith(("http://", "https://", "#")):
                continue
            target = (page.parent / link.split("#")[0]).resolve()
            assert target.is_relative_to(ROOT) and target.exists(), f"{page.name}: {link}"
        assert "../shared" not in page.read_text(), page.name


def test_readme_names_the_system_packages_before_the_first_command() -> None:
    text = (ROOT / "README.md").read_text()
    first_command = text.index(".venv/bin/wsgi-inspector")  # the first thing to run
    for package in ("libxcb-cursor0", "libxkbcommon-x11-0", "xcb-util-cursor"):
        assert -1 < text.find(package) <= first_command, package
    try_it = text.split("## Try it (fresh clone)")[1].split("\n## ")[0]
    assert "http://127.0.0.1:8000/" in try_it
