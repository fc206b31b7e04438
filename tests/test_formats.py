"""Export formats by name (inspector.host.formats): the API the window and --export share."""

from __future__ import annotations

import pytest

from inspector.host.appref import AppRef, record_app, recorded_app
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


class Meta:
    def __init__(self, value: str | None = None, read_only: bool = False) -> None:
        self.value, self.read_only = value, read_only

    def set_meta(self, key: str, value: str) -> None:
        self.value = value

    def meta(self, key: str) -> str | None:
        return self.value


def test_the_session_remembers_its_app(tmp_path) -> None:
    from inspector.host.store import Store

    with Store(tmp_path / "s.wsgi-session") as store:
        assert recorded_app(store) is None
        record_app(store, AppRef("web:app", "/srv/one"))
        record_app(store, AppRef("other:app", "/srv/two"))  # the last one served wins
        store.flush()
    with Store.open(tmp_path / "s.wsgi-session") as saved:
        assert recorded_app(saved) == AppRef("other:app", "/srv/two")
        record_app(saved, AppRef("x:app", "/x"))  # viewing a saved session changes nothing
        assert recorded_app(saved) == AppRef("other:app", "/srv/two")


@pytest.mark.parametrize("text", ["not json", "[1]", '{"spec": 1, "app_dir": "/x"}',
                                  '{"spec": "a:b"}'])
def test_a_crafted_app_record_is_ignored(text: str) -> None:
    assert recorded_app(Meta(text)) is None
