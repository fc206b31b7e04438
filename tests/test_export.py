"""Exporters: HAR 1.2 out (schema-valid, redactable) and in, curl, raw HTTP."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shlex
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import inspector
from inspector.host.export import (
    EXPORTERS,
    REDACTED,
    HarError,
    curl,
    from_har,
    is_json_file,
    iter_har,
    raw,
    read_har,
    to_har,
    write_har,
)
from inspector.host.jsonstream import BadJson, DepthGuard
from inspector.model import Exchange, StartResponseCall
from tests.factories import BINARY_SAMPLE, make_exchange

DATA = Path(__file__).parent / "data"
SCHEMA = json.loads((DATA / "har-1.2.schema.json").read_text())

SECRETS = {
    "Authorization": "Bearer s3cr3t-t0ken",
    "Proxy-Authorization": "Basic cHJveHk6aHVudGVyMg==",
    "Cookie": "sid=c00kie-secret; theme=dark-secret",
}
SET_COOKIE = "sid=set-c00kie-secret; Path=/; HttpOnly; Secure"


def file_wrapper_exchange() -> Exchange:
    x = make_exchange(9, path="/report.pdf", headers=[("Content-Type", "application/pdf")],
                      response_body=b"")
    x.file_wrapper, x.response_size = True, 48_000
    return x


def error_handler_exchange() -> Exchange:
    """start_response called twice: the second time with exc_info, as PEP 3333 allows."""
    x = make_exchange(10, path="/oops", status="500 Internal Server Error",
                      response_body=b"Internal error", error="KeyError: 'user'")
    x.start_response.insert(0, StartResponseCall("200 OK", [("Content-Type", "text/html")],
                                                 None, 0.0001))
    x.start_response[-1].exc_info = "Traceback ...\nKeyError: 'user'"
    return x


def sample_exchanges() -> list[Exchange]:
    return [
        make_exchange(1, query="lang=fr&empty=", output=["rendering index"]),
        make_exchange(2, method="POST", path="/login", status="302 Found",
                      headers=[("Location", "/home"), ("Set-Cookie", SET_COOKIE),
                               ("Content-Type", "text/html; charset=utf-8")],
                      request_body=b"user=ada&password=s%C3%A9same",
                      request_headers=[("Content-Type", "application/x-www-form-urlencoded"),
                                       *SECRETS.items()],
                      response_body=b""),
        make_exchange(3, method="PUT", path="/blob/caf\xc3\xa9 1",
                      headers=[("Content-Type", "application/octet-stream")],
                      request_body=BINARY_SAMPLE, response_body=BINARY_SAMPLE,
                      request_headers=[("Content-Type", "application/octet-stream")]),
        make_exchange(4, path="/big", response_body=b"x" * 1000, response_size=5000,
                      request_body=b"y" * 10, request_size=64,
                      request_headers=[("Content-Type", "text/plain")]),
        make_exchange(5, path="/crash", status=None, response_body=b"",
                      error="ZeroDivisionError: division by zero",
                      findings=[("no-start-response", "error", "closed",
                                 "The app never called start_response.", "PEP 3333")]),
        make_exchange(6, path="/latin", headers=[("Content-Type",
                                                  "text/plain; charset=iso-8859-1")],
                      response_body="Très café".encode("latin-1"),
                      output=[("log", "slow query", "WARNING")]),
        make_exchange(7, path="/pending", end=False),
        make_exchange(8, method="DELETE", path="/items/8", status="204 No Content",
                      headers=[], response_body=b""),
        file_wrapper_exchange(),
        error_handler_exchange(),
    ]


def validate(har: dict[str, Any]) -> None:
    jsonschema.validate(har, SCHEMA, cls=jsonschema.Draft7Validator)


def entry_of(x: Exchange, **options: Any) -> dict[str, Any]:
    return to_har([x], **options)["log"]["entries"][0]


# -- HAR out --------------------------------------------------------------------------------

def test_schema_is_a_valid_draft7_schema_that_can_fail() -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    har = to_har([make_exchange()])
    validate(har)
    del har["log"]["entries"][0]["timings"]
    with pytest.raises(jsonschema.ValidationError):
        validate(har)
    har = to_har([make_exchange()])
    har["log"]["entries"][0]["unknownField"] = 1  # custom fields need a leading "_"
    with pytest.raises(jsonschema.ValidationError):
        validate(har)


def test_har_validates_against_the_har_1_2_schema() -> None:
    har = json.loads(json.dumps(to_har(sample_exchanges())))
    validate(har)
    log = har["log"]
    assert log["version"] == "1.2"
    assert log["creator"] == {"name": "wsgi-inspector", "version": inspector.__version__}
    assert "pages" not in log
    assert len(log["entries"]) == len(sample_exchanges())


def test_har_entry_fields() -> None:
    x = make_exchange(1, method="POST", path="/login", query="next=%2Fhome&x=",
                      status="302 Found",
                      headers=[("Location", "/home"), ("Set-Cookie", SET_COOKIE)],
                      request_body=b"user=ada&password=s%C3%A9same", response_body=b"",
                      request_headers=[("Content-Type", "application/x-www-form-urlencoded"),
                                       ("Cookie", "a=1; b=2")])
    entry = entry_of(x, redact=False)
    request, response = entry["request"], entry["response"]
    assert request["method"] == "POST"
    assert request["url"] == "http://127.0.0.1:8000/login?next=%2Fhome&x="
    assert request["httpVersion"] == "HTTP/1.1"
    assert {"name": "Host", "value": "127.0.0.1:8000"} in request["headers"]
    assert {"name": "Content-Type",
            "value": "application/x-www-form-urlencoded"} in request["headers"]
    assert request["cookies"] == [{"name": "a", "value": "1"}, {"name": "b", "value": "2"}]
    assert request["queryString"] == [{"name": "next", "value": "/home"},
                                      {"name": "x", "value": ""}]
    assert request["postData"] == {
        "mimeType": "application/x-www-form-urlencoded",
        "text": "user=ada&password=s%C3%A9same",
        "params": [{"name": "user", "value": "ada"}, {"name": "password", "value": "sésame"}]}
    assert (request["headersSize"], request["bodySize"]) == (-1, 29)
    assert (response["status"], response["statusText"]) == (302, "Found")
    assert response["redirectURL"] == "/home"
    assert response["cookies"] == [{"name": "sid", "value": "set-c00kie-secret", "path": "/",
                                    "httpOnly": True, "secure": True}]
    assert response["content"] == {"size": 0, "mimeType": "", "text": ""}
    assert entry["cache"] == {} and entry["serverIPAddress"] == "127.0.0.1"


def test_started_date_time_and_timings() -> None:
    x = make_exchange(1)
    entry = entry_of(x)
    started = entry["startedDateTime"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d", started)
    assert datetime.fromisoformat(started).timestamp() == pytest.approx(x.start, abs=1e-3)
    timings = entry["timings"]
    assert timings["send"] == 0
    assert timings["wait"] == pytest.approx(x.start_response[0].t * 1000)
    assert timings["wait"] + timings["receive"] == pytest.approx(x.duration * 1000)
    assert entry["time"] == pytest.approx(timings["wait"] + timings["receive"])
    assert all(v >= 0 for v in timings.values())


def test_in_flight_and_failed_exchanges_still_give_valid_timings() -> None:
    pending, crash = make_exchange(1, end=False), make_exchange(
        2, status=None, response_body=b"", error="ValueError: no")
    for x in (pending, crash):
        entry = entry_of(x)
        validate({"log": {"version": "1.2", "creator": {"name": "t", "version": "1"},
                          "entries": [entry]}})
        assert entry["time"] == pytest.approx(sum(entry["timings"].values()))
    assert entry_of(crash)["response"]["status"] == 0
    assert entry_of(pending)["_wsgi"]["state"] == "active"


def test_binary_bodies_are_base64() -> None:
    x = make_exchange(1, method="PUT", request_body=BINARY_SAMPLE, response_body=BINARY_SAMPLE,
                      headers=[("Content-Type", "application/octet-stream")])
    entry = entry_of(x)
    content = entry["response"]["content"]
    assert content["encoding"] == "base64"
    assert base64.b64decode(content["text"]) == BINARY_SAMPLE
    post = entry["request"]["postData"]
    assert post["_encoding"] == "base64"  # HAR has no postData encoding: a custom field
    assert base64.b64decode(post["text"]) == BINARY_SAMPLE


def test_text_bodies_follow_their_charset() -> None:
    x = make_exchange(1, headers=[("Content-Type", "text/plain; charset=iso-8859-1")],
                      response_body="Très café".encode("latin-1"))
    content = entry_of(x)["response"]["content"]
    assert content == {"size": 9, "mimeType": "text/plain; charset=iso-8859-1",
                       "text": "Très café"}


def test_truncated_bodies_say_so() -> None:
    x = make_exchange(1, response_body=b"x" * 1000, response_size=5000,
                      request_body=b"y" * 10, request_size=64)
    entry = entry_of(x)
    content = entry["response"]["content"]
    assert content["size"] == 5000 and content["text"] == "x" * 1000
    assert content["comment"] == "captured 1000 of 5000 bytes"
    assert entry["request"]["postData"]["comment"] == "captured 10 of 64 bytes"
    assert entry["request"]["bodySize"] == 64
    wrapped = entry_of(file_wrapper_exchange())["response"]["content"]
    assert "text" not in wrapped and wrapped["comment"] == "captured 0 of 48000 bytes"


def test_wsgi_extension() -> None:
    x = make_exchange(4, output=["hi", ("log", "slow", "WARNING")],
                      findings=[("status-type", "error", "start_response",
                                 "The status must be a str.", "PEP 3333")],
                      error="ValueError: bad")
    ours = entry_of(x)["_wsgi"]
    assert ours["id"] == 4
    assert ours["environ"]["REQUEST_METHOD"] == "GET"
    assert ours["environ"]["wsgi.version"] == "(1, 0)"
    assert [p["name"] for p in ours["phases"]] == [p.name for p in x.phases]
    assert ours["phases"][1]["t_ms"] == pytest.approx(x.phases[1].t * 1000)
    assert ours["findings"] == [{"code": "status-type", "severity": "error",
                                 "message": "The status must be a str.",
                                 "phase": "start_response", "pep": "PEP 3333"}]
    assert ours["error"] == x.error.traceback and ours["error"].endswith("ValueError: bad")
    assert [(o["stream"], o["level"], o["text"]) for o in ours["output"]] == [
        ("stdout", "", "hi"), ("log", "WARNING", "slow")]
    assert entry_of(make_exchange())["_wsgi"]["error"] is None


def test_redaction_removes_secrets_everywhere() -> None:
    exchanges = sample_exchanges()
    plain = json.dumps(to_har(exchanges, redact=False))
    secrets = [*SECRETS.values(), "c00kie-secret", "dark-secret", "set-c00kie-secret",
               "s%C3%A9same"]
    assert all(secret in plain for secret in secrets)  # the test can fail

    har = to_har(exchanges)  # redacted by default
    validate(har)
    text = json.dumps(har)
    leaked = [secret for secret in secrets if secret in text]
    assert not leaked
    login = har["log"]["entries"][1]
    headers = {h["name"]: h["value"] for h in login["request"]["headers"]}
    assert headers["Authorization"] == headers["Cookie"] == REDACTED
    assert headers["Proxy-Authorization"] == REDACTED
    assert {c["value"] for c in login["request"]["cookies"]} == {REDACTED}
    assert [c["name"] for c in login["request"]["cookies"]] == ["sid", "theme"]
    assert login["response"]["cookies"][0] == {"name": "sid", "value": REDACTED, "path": "/",
                                               "httpOnly": True, "secure": True}
    assert login["_wsgi"]["environ"]["HTTP_AUTHORIZATION"] == REDACTED
    assert login["_wsgi"]["environ"]["HTTP_USER_AGENT"] == "curl/8.5.0"  # the rest stays
    assert login["request"]["postData"]["params"] == [
        {"name": "user", "value": "ada"}, {"name": "password", "value": REDACTED}]


# -- HAR in ----------------------------------------------------------------------------------

def assert_same(got: Any, want: Any, where: str = "exchange") -> None:
    """Equal, with float times compared to the nanosecond (HAR carries ms as floats)."""
    if isinstance(want, float) and not isinstance(got, bool):
        assert got == pytest.approx(want, abs=1e-9), where
    elif isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), where
        for key in want:
            assert_same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{where}[{i}]")
    else:
        assert got == want, where


@pytest.mark.parametrize("index", range(len(sample_exchanges())))
def test_round_trip_through_har(index: int) -> None:
    original = sample_exchanges()[index]
    text = json.dumps(to_har([original], redact=False))
    (back,) = from_har(json.loads(text))
    assert_same(back.to_dict(), original.to_dict())
    assert back.request_body == original.request_body
    assert back.response_body == original.response_body


def test_round_trip_of_many_keeps_order_and_ids() -> None:
    originals = sample_exchanges()
    back = from_har(json.loads(json.dumps(to_har(originals, redact=False))))
    assert [x.id for x in back] == [x.id for x in originals]


def test_import_a_browser_har() -> None:
    page, login, logo, blocked = read_har(DATA / "browser.har")

    assert (page.method, page.path, page.query) == ("GET", "/app/search",
                                                    "q=wsgi%20inspector&page=2")
    assert page.status == "200 OK" and page.status_code == 200  # reason filled in for h2
    assert page.header("content-type") == "text/html; charset=utf-8"
    assert page.response_body.decode("utf-8").startswith("<!doctype html><title>Résultats")
    assert page.response_size == len(page.response_body) == 85
    assert page.env("HTTP_HOST") == "example.test"
    assert page.env("HTTP_COOKIE") == "theme=dark; sid=abc123"  # repeated headers joined
    assert page.env("HTTP_ACCEPT_LANGUAGE") == "fr-FR,fr;q=0.9,en;q=0.8"
    assert page.env("wsgi.url_scheme") == "https" and page.env("SERVER_PORT") == "443"
    assert not any(key.startswith("HTTP_:") for key in page.environ)
    assert page.duration == pytest.approx(0.05812)
    assert page.start == pytest.approx(datetime.fromisoformat(
        "2024-03-05T14:22:10.412+00:00").timestamp())
    assert page.state == "complete" and page.error is None

    assert (login.method, login.path, login.status) == ("POST", "/api/login", "302 Found")
    assert login.request_body == b"user=ada&password=s%C3%A9same&remember=on"
    assert login.env("CONTENT_TYPE") == "application/x-www-form-urlencoded"
    assert login.env("CONTENT_LENGTH") == "41"
    assert login.header("Location") == "/app/home"

    assert logo.path == "/static/logo small.png"  # PATH_INFO is unquoted
    assert logo.response_body.startswith(b"\x89PNG\r\n\x1a\n") and len(logo.response_body) == 70
    assert logo.start == pytest.approx(datetime.fromisoformat(
        "2024-03-05T14:22:10.530+01:00").timestamp())

    assert blocked.status_code is None and blocked.start_response == []
    assert blocked.state == "failed"

    # What was imported exports again as valid HAR.
    validate(to_har([page, login, logo, blocked]))


def test_import_rejects_what_is_not_har(tmp_path: Path) -> None:
    with pytest.raises(HarError, match="not a HAR log"):
        from_har({"entries": []})
    with pytest.raises(HarError, match="Entry 1"):
        from_har({"log": {"entries": [{"request": {}}]}})
    bad = tmp_path / "notes.har"
    bad.write_text("not json at all")
    with pytest.raises(HarError, match="is not a HAR file"):
        read_har(bad)


def test_write_har(tmp_path: Path) -> None:
    path = tmp_path / "out.har"
    path.write_text("old")
    if os.name == "posix":
        path.chmod(0o644)
    write_har(path, sample_exchanges(), redact=True)
    if os.name == "posix":
        assert path.stat().st_mode & 0o777 == 0o600
    har = json.loads(path.read_text(encoding="utf-8"))
    validate(har)
    assert SECRETS["Authorization"] not in path.read_text(encoding="utf-8")
    assert [x.id for x in read_har(path)] == [x.id for x in sample_exchanges()]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.har"]  # no temp file left


# -- curl ---------------------------------------------------------------------------------------

def test_curl_get() -> None:
    argv = shlex.split(curl(make_exchange(1, path="/a b", query="q=1&r=%2F")))
    assert argv == ["curl", "http://127.0.0.1:8000/a%20b?q=1&r=%2F",
                    "-H", "User-Agent: curl/8.5.0", "-H", "Accept: */*"]


def test_curl_post_with_text_body() -> None:
    body = b"{\"name\": \"O'Brien caf\xc3\xa9\", \"n\": \"$HOME `id`\"}\n"
    x = make_exchange(1, method="POST", path="/api", request_body=body,
                      request_headers=[("Content-Type", "application/json"),
                                       ("X-Empty", "")])
    argv = shlex.split(curl(x))
    assert argv[:2] == ["curl", "http://127.0.0.1:8000/api"]  # curl infers POST from data
    headers = [argv[i + 1] for i, a in enumerate(argv) if a == "-H"]
    assert headers == ["User-Agent: curl/8.5.0", "Accept: */*",
                       "Content-Type: application/json", "X-Empty;"]  # no Host, no length
    assert argv[-2:] == ["--data-binary", body.decode("utf-8")]


@pytest.mark.parametrize(("method", "body", "flags"), [
    ("PUT", b"data", ["-X", "PUT"]),
    ("DELETE", b"", ["-X", "DELETE"]),
    ("HEAD", b"", ["--head"]),
    ("GET", b"odd but allowed", ["-X", "GET"]),
    ("POST", b"", ["-X", "POST"]),
])
def test_curl_method(method: str, body: bytes, flags: list[str]) -> None:
    argv = shlex.split(curl(make_exchange(1, method=method, request_body=body)))
    assert argv[1:1 + len(flags)] == flags


def test_curl_body_without_content_type_drops_curls_default() -> None:
    x = make_exchange(1, method="POST", request_body=b"a=b")
    x.environ.pop("CONTENT_TYPE")
    argv = shlex.split(curl(x))
    assert "Content-Type:" in argv


def test_curl_binary_body_goes_through_printf() -> None:
    body = b"\x00\x01%s\\n'\"\xff\r\n@end"
    x = make_exchange(1, method="PUT", path="/blob", request_body=body)
    command = curl(x)
    printf, _, rest = command.partition(" | ")
    argv = shlex.split(rest)
    assert argv[0] == "curl" and argv[-2:] == ["--data-binary", "@-"]
    assert argv[1:3] == ["-X", "PUT"]
    assert shlex.split(printf)[0] == "printf"
    sh = shutil.which("sh")
    if sh:  # the shell really writes the same bytes
        out = subprocess.run([sh, "-c", printf], capture_output=True, check=True, timeout=30)
        assert out.stdout == body


def test_curl_body_starting_with_at_is_not_a_file_name() -> None:
    x = make_exchange(1, method="POST", request_body=b"@/etc/passwd")
    assert "--data-binary @-" in curl(x) and curl(x).startswith("printf ")


def test_curl_says_when_the_body_is_incomplete() -> None:
    x = make_exchange(1, method="POST", request_body=b"abc", request_size=100)
    first, command = curl(x).split("\n")
    assert first.startswith("# Only 3 of 100 request body bytes")
    assert shlex.split(command)[-2:] == ["--data-binary", "abc"]


# -- raw -------------------------------------------------------------------------------------------

def test_raw_export() -> None:
    x = make_exchange(1, method="POST", path="/form", query="a=1", status="201 Created",
                      headers=[("Content-Type", "text/plain"), ("X-Id", "7")],
                      request_body=b"n=1", response_body=b"made",
                      request_headers=[("Content-Type", "application/x-www-form-urlencoded")])
    assert raw(x) == (
        b"POST /form?a=1 HTTP/1.1\r\n"
        b"Host: 127.0.0.1:8000\r\n"
        b"User-Agent: curl/8.5.0\r\n"
        b"Accept: */*\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 3\r\n"
        b"\r\n"
        b"n=1"
        b"\r\n\r\n"
        b"HTTP/1.1 201 Created\r\n"
        b"Content-Type: text/plain\r\n"
        b"X-Id: 7\r\n"
        b"\r\n"
        b"made")


def test_raw_export_keeps_bytes_and_handles_no_response() -> None:
    x = make_exchange(1, path="/caf\xc3\xa9", response_body=BINARY_SAMPLE)
    data = raw(x)
    assert data.startswith(b"GET /caf%C3%A9 HTTP/1.1\r\n")
    assert data.endswith(b"\r\n\r\n" + BINARY_SAMPLE)
    crashed = make_exchange(1, status=None, response_body=b"", error="ValueError: x")
    assert raw(crashed).endswith(b"Accept: */*\r\n\r\n")


def test_exporters_registry() -> None:
    x = make_exchange()
    assert set(EXPORTERS) == {"curl", "raw", "har"}
    assert isinstance(EXPORTERS["curl"](x), str)
    assert isinstance(EXPORTERS["raw"](x), bytes)
    har = json.loads(EXPORTERS["har"](x))
    validate(har)
    assert len(har["log"]["entries"]) == 1


# -- strict, streaming HAR files -----------------------------------------------------------------

def refuse_constant(name: str) -> None:
    raise ValueError(f"{name} in a HAR file")


def test_written_har_is_strict_json_without_nan_or_infinity(tmp_path: Path) -> None:
    x = make_exchange(1)
    x.duration = float("nan")
    x.start_response[0].t = float("inf")
    x.phases[-1].t = float("-inf")
    x.response_size = float("nan")  # type: ignore[assignment]
    path = tmp_path / "out.har"
    assert write_har(path, iter([x])) == 1
    har = json.loads(path.read_text(), parse_constant=refuse_constant)
    validate(har)
    entry = har["log"]["entries"][0]
    assert entry["time"] == 0 and entry["response"]["content"]["size"] == -1
    assert entry["_wsgi"]["duration"] is None
    single = json.loads(EXPORTERS["har"](x), parse_constant=refuse_constant)
    assert single["log"]["entries"][0]["time"] == 0


def test_write_har_takes_exchanges_one_at_a_time(tmp_path: Path) -> None:
    made: list[int] = []

    def exchanges() -> Any:
        for i in range(1, 4):
            made.append(i)
            yield make_exchange(i, path=f"/{i}")

    path = tmp_path / "out.har"
    assert write_har(path, exchanges(), redact=False) == 3
    har = json.loads(path.read_text(), parse_constant=refuse_constant)
    validate(har)
    assert [e["_wsgi"]["id"] for e in har["log"]["entries"]] == made == [1, 2, 3]
    assert write_har(tmp_path / "empty.har", iter(())) == 0
    assert json.loads((tmp_path / "empty.har").read_text())["log"]["entries"] == []


def test_iter_har_reads_entry_by_entry(tmp_path: Path) -> None:
    """The first exchanges come before the rest of the file is even parsed."""
    good = json.dumps(to_har([make_exchange(1, path="/a")], redact=False)["log"]["entries"][0])
    path = tmp_path / "mixed.har"
    path.write_text('{"log": {"entries": [' + good + ", " + good + ', {"request": 7}]}}')
    exchanges = iter_har(path)
    assert next(exchanges).path == "/a" and next(exchanges).path == "/a"
    with pytest.raises(HarError, match=r"Entry 3 of .*mixed\.har is malformed"):
        next(exchanges)


def test_iter_har_accepts_a_bom_and_blanks(tmp_path: Path) -> None:
    text = json.dumps(to_har(sample_exchanges()[:3], redact=False))
    path = tmp_path / "bom.har"
    path.write_bytes(b"\xef\xbb\xbf \n\t" + text.encode())
    assert [x.id for x in iter_har(path)] == [1, 2, 3]
    assert is_json_file(path)


@pytest.mark.parametrize(("content", "problem"), [
    (b"", "it is empty"),
    (b"{\"log\": {\"entries\": [{\"re", "cut short"),
    (b"[" * 100_000 + b"]" * 100_000, "nests more than 64 levels"),
    (b"{\"log\": {\"entries\": []}} and more", "not valid JSON"),
    (b"{\"log\": {\"entries\": [{\"a\": NaN}]}}", "not valid JSON"),
    (b"{\"log\": {\"entries\": [{\"a\": 1e999}]}}", "too large"),
    (b"\xff\xfe{\x00}\x00", "UTF-16"),
    (b"{\"log\": {}}", "no log.entries list"),
    (b"[1, 2]", "not an object"),
    (b"{\"log\": {\"entries\": \"none\"}}", "log.entries is not a list"),
])
def test_iter_har_says_what_is_wrong(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "bad.har"
    path.write_bytes(content)
    with pytest.raises(HarError, match=re.escape(problem)) as caught:
        list(iter_har(path))
    message = str(caught.value)
    assert message.startswith(str(path)) and message.endswith(".") and "\n" not in message


@pytest.mark.parametrize(("value", "problem"), [
    ({"environ": {"PATH_INFO": ["/a"]}}, "environ value is not text"),
    ({"start": "yesterday"}, "not a number"),
    ({"start_response": [{"status": "200 OK", "headers": [{"name": "A", "value": 1}]}]},
     "header is not a name and a value"),
    ({"chunks": [{"size": "big", "t_ms": 0}]}, "chunk"),
    ({"output": [{"stream": "stdout", "text": {"deep": [[[]]]}}]}, "output line"),
])
def test_from_har_refuses_wrong_types(value: dict[str, Any], problem: str) -> None:
    entry = to_har([make_exchange(1)], redact=False)["log"]["entries"][0]
    entry["_wsgi"].update(value)
    with pytest.raises(HarError, match=problem):
        from_har({"log": {"entries": [entry]}})


def json_depth(value: Any) -> int:
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return 1 + max(map(json_depth, value), default=0)
    return 0


def test_depth_guard_counts_brackets_outside_strings_only() -> None:
    """Brackets, quotes and backslashes inside strings, cut anywhere between reads."""
    tricky = ['[[[[{{{{', '\\"[', '\\\\', '\\\\"', '"]]]}}}', "é\n\t\\"] * 50
    value: Any = {"s": tricky}
    while json_depth(value) < 64:
        value = [value, "[{\\\"[", {"k]": "v{"}]
    text = json.dumps(value).encode()
    for size in (1, 2, 3, 7, 64, 4096):
        guard = DepthGuard(io.BytesIO(text))
        while guard.read(size):
            pass
    too_deep = json.dumps([value]).encode()  # one more level than allowed
    for size in (1, 5, 4096):
        guard = DepthGuard(io.BytesIO(too_deep))
        with pytest.raises(BadJson, match="nests more than 64 levels"):
            while guard.read(size):
                pass


# -- secrets left out ---------------------------------------------------------------------------

def test_json_multipart_and_query_secrets_are_redacted() -> None:
    body = json.dumps({"user": {"name": "ada", "Password": "pw-1", "tokens": ["t-2"],
                                "profile": {"apiKey": "k-3", "client_secret": {"x": "s-4"}}},
                       "items": [{"API_KEY": "k-5", "qty": 2}]}).encode()
    x = make_exchange(1, method="POST", path="/api", query="q=1&access_token=t-6",
                      request_body=body,
                      request_headers=[("Content-Type", "application/json; charset=utf-8")])
    multipart = (b"--XyZ\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nada\r\n"
                 b"--XyZ\r\nContent-Disposition: form-data; name=\"passwd\"\r\n\r\npw-7\r\n"
                 b"--XyZ\r\nContent-Disposition: form-data; name=\"secret_file\"; "
                 b"filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nfile-8\r\n--XyZ--\r\n")
    form = make_exchange(2, method="POST", path="/upload", request_body=multipart,
                         request_headers=[("Content-Type",
                                           "multipart/form-data; boundary=XyZ")])
    texts = {"har": json.dumps(to_har([x, form])), "curl": curl(x) + curl(form),
             "raw": (raw(x) + raw(form)).decode("latin-1")}
    for name, text in texts.items():
        leaked = [s for s in ("pw-1", "t-2", "k-3", "s-4", "k-5", "t-6", "pw-7") if s in text]
        assert leaked == [], name
        assert "ada" in text and "file-8" in text, name  # the rest stays
    sent = json.loads(shlex.split(curl(x))[-1])
    assert sent["user"]["tokens"] == REDACTED and sent["items"][0]["qty"] == 2
    assert "q=1&access_token=[redacted]" in curl(x)
    assert "pw-1" in curl(x, redact=False) and b"pw-7" in raw(form, redact=False)


def test_a_truncated_json_body_is_redacted_by_pattern() -> None:
    body = b'{"name": "ada", "password": "pw-1", "token": "t-2", "more": "cut sh'
    x = make_exchange(1, method="POST", request_body=body, request_size=5000,
                      request_headers=[("Content-Type", "application/json")])
    text = curl(x)
    assert "pw-1" not in text and "t-2" not in text and "ada" in text
    assert "# Only" in text  # still says the body was cut


def test_a_handled_error_stays_handled_through_har() -> None:
    """A framework's logged 500 (caught by the app) is still told apart from an
    exception that reached the server once the exchange went through a HAR."""
    from inspector.model import ErrorInfo

    x = make_exchange(status="500 Internal Server Error")
    x.error = ErrorInfo("handled", "KeyError", "2", "Traceback...\nKeyError: 2",
                        handled=True, logged="app: Exception on /orders/2 [GET]")
    (back,) = from_har(to_har([x]))
    assert back.error == x.error


def _wire_entry() -> dict[str, Any]:
    x = make_exchange()
    x.wire_size, x.wire_status, x.wire_version = 5, "200 OK", "HTTP/1.1"
    x.wire_headers = [("Content-Type", "text/plain")]
    har = to_har([x])
    return har


@pytest.mark.parametrize(("change", "why"), [
    (lambda e: e["_wsgi"].update(wire_size=1e19), "a size is larger than any file"),
    (lambda e: e["response"]["headers"][0].update(value=42), "malformed"),
    (lambda e: e["response"]["headers"][0].update(value={"a": 1}), "malformed"),
    (lambda e: e["_wsgi"].update(request_line={"a": 1}), "the response as sent is not text"),
    (lambda e: e["response"].update(headersSize=12.5), "a size as sent"),
    (lambda e: e["_wsgi"].update(start=True), "the start time is not a number"),
])
def test_a_har_entry_with_wire_fields_of_the_wrong_type_is_refused(change, why) -> None:
    """Our own HAR fields are input too: a wrong type in them is one sentence, not a
    crash while converting nor a batch of rows a session could not write or read."""
    har = _wire_entry()
    change(har["log"]["entries"][0])
    with pytest.raises(HarError, match=why):
        from_har(har)
