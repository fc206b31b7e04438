"""Export formats by name (inspector.host.formats): the API the window and --export share."""

from __future__ import annotations

import pytest

from inspector.host.formats import FORMATS, ExportError, render
from tests.factories import make_exchange


def test_every_format_the_menu_and_the_command_line_name() -> None:
    assert set(FORMATS) == {"curl", "httpie", "python", "fetch", "raw-request", "raw-response",
                            "raw", "har-entry", "har", "pytest"}
    for fmt in FORMATS.values():
        assert fmt.label and fmt.suffix.startswith(".")


@pytest.mark.parametrize("name", sorted(set(FORMATS) - {"pytest"}))
def test_each_format_renders_text_or_bytes(name: str) -> None:
    out = render(name, [make_exchange(1), make_exchange(2, method="POST", request_body=b"a")])
    assert isinstance(out, bytes if FORMATS[name].binary else str) and out


def test_unknown_format_and_nothing_to_export_are_one_sentence() -> None:
    with pytest.raises(ExportError, match=r"'xml' is not an export format; use one of curl, "):
        render("xml", [make_exchange(1)])
    with pytest.raises(ExportError, match="no exchange to export"):
        render("curl", [])
