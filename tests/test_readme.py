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
