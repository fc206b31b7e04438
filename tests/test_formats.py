"""Export formats by name (inspector.host.formats): the API the window and --export share."""

from __future__ import annotations

import ast
import shutil
import subprocess

import pytest

from inspector.host.appref import AppRef, record_app, recorded_app
from inspector.host.formats import FORMATS, Context, ExportError, render
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


def hostile() -> list:
    """Requests whose every part tries to become code in the exported script."""
    evil = "$(touch pwned1)`touch pwned2`'\"; touch pwned3 #\n touch pwned4\n"
    # A header value HTTP can carry (no line break: one with is left out, see
    # test_formats_hostile.py).
    in_header = "$(touch pwned1)`touch pwned2`'\"; touch pwned3 # touch pwned4"
    return [
        make_exchange(1, method="POST", path="/x\n touch pwned5 #",
                      query="a=$(touch pwned6)", status="200 OK\n touch pwned7",
                      request_headers=[("X-Evil", in_header), ("Content-Type", "text/plain")],
                      request_body=evil.encode()),
        make_exchange(2, method="PUT", path="/bin", request_body=b"\x00" + evil.encode(),
                      request_headers=[("Content-Type", "application/octet-stream")]),
    ]


@pytest.mark.parametrize(("name", "program"), [("curl", "curl"), ("httpie", "http")])
def test_shell_scripts_run_nothing_the_request_holds(tmp_path, name: str, program: str) -> None:
    """The script runs with the client replaced by a shell function that writes its
    arguments and stdin: they arrive whole, and nothing else runs."""
    fake = (f'{program}() {{ printf "%s\\n" "$@" >> args; cat > /dev/null; }}\n'
            "echo() { :; }\n")
    script = render(name, hostile())
    assert isinstance(script, str)
    (tmp_path / "s.sh").write_text(fake + script)
    result = subprocess.run(["sh", "s.sh"], cwd=tmp_path, capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert not list(tmp_path.glob("pwned*"))
    args = (tmp_path / "args").read_text()
    assert "X-Evil" in args and "$(touch pwned1)" in args


def test_python_and_javascript_hold_the_request_as_literals(tmp_path) -> None:
    script = render("python", hostile())
    assert isinstance(script, str)
    tree = ast.parse(script)
    statements = [ast.unparse(node) for node in tree.body]
    assert [s for s in statements if "pwned" in s] == statements[-2:]
    assert all(s.startswith("show(session.request(") for s in statements[-2:])
    js = render("fetch", hostile())
    assert isinstance(js, str)
    for line in js.splitlines():
        assert "pwned" not in line or line.lstrip().startswith(("//", '"', "body:", "const"))
    if shutil.which("node"):
        (tmp_path / "s.js").write_text(js)
        checked = subprocess.run(["node", "--check", "s.js"], cwd=tmp_path, capture_output=True)
        assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize("name", [n for n, f in FORMATS.items() if f.parts is not None])
def test_streamed_formats_take_one_exchange_at_a_time(name: str) -> None:
    """What --export writes for a session of any size: each piece is made from the
    exchanges taken so far, none ahead, and the pieces join to render()'s output."""
    taken: list[int] = []

    def exchanges():
        for i in range(1, 4):
            taken.append(i)
            yield make_exchange(i, path=f"/p{i}")

    fmt = FORMATS[name]
    assert fmt.parts is not None
    pieces = []
    for piece in fmt.parts(exchanges(), Context()):
        pieces.append((piece, len(taken)))
    assert [seen for _, seen in pieces][:3] in ([0, 1, 2], [1, 2, 3])  # a head, or none
    joined = (b"" if fmt.binary else "").join(p for p, _ in pieces)
    assert joined == render(name, [make_exchange(i, path=f"/p{i}") for i in range(1, 4)])


@pytest.mark.parametrize("name", ["curl", "httpie", "python", "fetch"])
def test_scripts_say_what_they_cannot_send(name: str) -> None:
    cut = make_exchange(1, method="POST", request_body=b"x" * 10, request_size=500)
    waitress = make_exchange(2, path="/big", status="413 Request Entity Too Large")
    waitress.server_only = True
    script = render(name, [cut, waitress])
    assert isinstance(script, str)
    assert "Only 10 of 500 request body bytes were captured" in script
    assert "The server answered this request itself" in script
