"""Scripts made from crafted requests (a HAR or session made by hand) show what they
do: no option smuggled in as a URL, no line break, bidirectional control or line
separator in the text a person reads before running it, and nothing HTTP cannot
carry sent as if it had been recorded."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from inspector.host.formats import render
from tests.factories import make_exchange

SCRIPTS = ["curl", "httpie", "python", "fetch"]


def crafted_scheme() -> list:
    x = make_exchange(1, path="/page")
    x.environ["wsgi.url_scheme"] = ("-o pwned", "str")  # curl -o: write a file
    return [x]


@pytest.mark.parametrize(("name", "program"), [("curl", "curl"), ("httpie", "http")])
def test_a_crafted_scheme_is_no_option(tmp_path: Path, name: str, program: str) -> None:
    fake = (f'{program}() {{ printf "%s\\n" "$@" >> args; cat > /dev/null; }}\n'
            "echo() { :; }\n")
    script = render(name, crafted_scheme())
    assert isinstance(script, str)
    (tmp_path / "s.sh").write_text(fake + script)
    result = subprocess.run(["sh", "s.sh"], cwd=tmp_path, capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr
    args = (tmp_path / "args").read_text().splitlines()
    assert not [a for a in args if a.startswith("-o")], args
    assert next(a for a in args if a.endswith("/page")).startswith("http://"), args


def hidden() -> list:
    """Line breaks and characters that move text around on screen, where HTTP has none."""
    x = make_exchange(1, path="/p", query="q=\u2028x\u202e",
                      request_headers=[("X-Split", "a\r\nX-Injected: 1"),
                                       ("X-Bidi", "safe\u202e; txet"), ("X-Ok", "fine"),
                                       ("Bad Name\n", "v")])
    x.environ["HTTP_HOST"] = ("example.org\u2029", "str")
    return [x]


@pytest.mark.parametrize("name", SCRIPTS)
def test_what_http_cannot_carry_is_left_out_and_said(name: str) -> None:
    script = render(name, hidden())
    assert isinstance(script, str)
    assert all(c.isprintable() or c == "\n" for c in script), [
        c for c in script if not (c.isprintable() or c == "\n")]
    assert "X-Ok" in script and "fine" in script
    assert "X-Injected" not in script.replace("X-Split", "")
    note = [line for line in script.splitlines() if "Left out: the headers" in line]
    assert len(note) == 1 and "X-Split" in note[0] and "X-Bidi" in note[0], script
    assert "%E2%80%A8" in script and "%E2%80%AE" in script  # the URL, %-escaped


@pytest.mark.parametrize("name", SCRIPTS)
def test_a_method_http_cannot_carry_is_not_sent(name: str) -> None:
    script = render(name, [make_exchange(1, method="GET\n;touch pwned", path="/a"),
                           make_exchange(2, path="/b")])
    assert isinstance(script, str)
    assert "Not sent: the method GET\\n;touch pwned is not" in script
    # Only comments speak of it: the heading (escaped) and the note.
    assert all(line.lstrip().startswith(("#", "//"))
               for line in script.splitlines() if "pwned" in line or "/a" in line)
    assert "/b" in script


def test_fetch_strings_cannot_end_a_script_element() -> None:
    js = render("fetch", [make_exchange(1, path="/p", request_body=b"</script><script>x()",
                                        request_headers=[("Content-Type", "text/plain")])])
    assert isinstance(js, str)
    assert "</script>" not in js and "\\u003c/script>" in js


@pytest.mark.parametrize(("name", "program"), [("curl", "curl"), ("httpie", "http")])
def test_names_that_start_as_options_are_left_out(tmp_path: Path, name: str,
                                                  program: str) -> None:
    """HTTPie reads "-o:x" (a header named -o) as --output; curl reads -X's method."""
    fake = (f'{program}() {{ printf "%s\\n" "$@" >> args; cat > /dev/null; }}\n'
            "echo() { :; }\n")
    script = render(name, [make_exchange(1, path="/a", request_headers=[("-o", "pwned")]),
                           make_exchange(2, method="-opwned", path="/b")])
    assert isinstance(script, str)
    (tmp_path / "s.sh").write_text(fake + script)
    result = subprocess.run(["sh", "s.sh"], cwd=tmp_path, capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr
    args = (tmp_path / "args").read_text().splitlines()
    assert not [a for a in args if a.startswith("-o")], args
    assert "left out: the header -o," in script.lower() and "Not sent: the method -opwned" in script


def files_in_values(tmp_path: Path) -> list:
    secret = tmp_path / "secret.txt"
    secret.write_text("local secret\n")
    return [make_exchange(1, path="/a", request_headers=[
        ("X-File", f"@{secret}"), ("X-Json", "=1"), ("X-Escaped", "a\\=b"), ("X-Ok", "a:b@c")])]


def test_httpie_items_read_no_file_and_add_no_data(tmp_path: Path) -> None:
    """HTTPie reads "X:@path" as a header from that file and "X:=1" as JSON data."""
    script = render("httpie", files_in_values(tmp_path))
    assert isinstance(script, str)
    assert "'X-File:\\@" in script and "'X-Json:\\=1'" in script and " X-Ok:a:b@c " in script
    assert "Left out: the header X-Escaped: HTTPie reads a backslash" in script


def test_real_httpie_sends_the_values_as_recorded(tmp_path: Path) -> None:
    http = shutil.which("http", path=str(Path(sys.executable).parent)) or shutil.which("http")
    if http is None:
        pytest.skip("HTTPie is not installed")
    script = render("httpie", files_in_values(tmp_path))
    assert isinstance(script, str)
    wrapper = f'http() {{ {shlex.quote(http)} --offline "$@"; }}\n'  # prints the request
    (tmp_path / "s.sh").write_text(wrapper + script)
    result = subprocess.run(["sh", "s.sh"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "local secret" not in result.stdout
    assert f"X-File: @{tmp_path}/secret.txt" in result.stdout
    assert "X-Json: =1" in result.stdout and "X-Ok: a:b@c" in result.stdout
    assert "Content-Length" not in result.stdout  # no JSON body made of a header
