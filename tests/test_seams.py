"""Where the merged pieces meet: a server's own answer, a died exchange, a sanitized
body, info findings and paused time, as the list, the access log and the HAR show them.

Real waitress on 127.0.0.1 port 0 under the Agent, real sockets, a real Flask app.
"""

from __future__ import annotations

import json

from inspector.host.accesslog import access_line
from inspector.host.export import from_har, to_har
from inspector.host.store import summarize
from inspector.model import Exchange, ExchangeBuilder
from tests.conftest import fetch, raw_exchange
from tests.factories import exchange_events, make_exchange


def never_called(environ, start_response):  # pragma: no cover - must not run
    raise AssertionError("the app was called")


def one(log) -> Exchange:
    exchanges = log.wait_ended(1)
    assert len(exchanges) == 1
    return exchanges[0]


def test_a_request_waitress_could_not_parse_reads_as_what_it_is(serve_inspected) -> None:
    agent, log = serve_inspected(never_called)
    raw_exchange(agent.server.effective_port, b"NONSENSE\r\n\r\n")
    x = one(log)
    s = summarize(x)
    assert s.state == "server" and s.method == "" and s.path == "NONSENSE"
    line = access_line(s)
    assert "(malformed request: NONSENSE) 400" in line
    assert line.endswith("answered by waitress; the app was not called")
    wsgi = to_har([x])["log"]["entries"][0]["_wsgi"]
    assert wsgi["server_only"] is True and "app_response" not in wsgi  # the app gave none


def test_a_parsed_request_the_server_refused_keeps_its_path(serve_inspected) -> None:
    agent, log = serve_inspected(never_called, max_request_body_size=10)
    raw_exchange(agent.server.effective_port,
                 b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n" + b"z" * 50)
    s = summarize(one(log))
    assert (s.state, s.method, s.path, s.status) == ("server", "POST", "/up", 413)
    assert "POST /up 413" in access_line(s)


def untyped(environ, start_response):
    start_response("200 OK", [("Content-Length", "2")])  # no Content-Type: an info note
    return [b"ok"]


def test_info_findings_are_not_counted_as_problems(serve_inspected) -> None:
    agent, log = serve_inspected(untyped)
    fetch(agent.server.effective_port)
    x = one(log)
    assert [f.severity for f in x.findings] == ["info"]
    s = summarize(x)
    assert s.findings == 0
    assert "finding" not in access_line(s)


def test_a_sanitized_json_answer_is_not_a_different_app_answer(serve_inspected) -> None:
    from flask import Flask

    app = Flask("tokens")

    @app.post("/login")
    def login() -> dict:
        return {"ok": True, "token": "a-much-longer-s3cr3t-value"}

    agent, log = serve_inspected(app)
    status, _, body = fetch(agent.server.effective_port, "POST", "/login", b"")
    assert status == 200 and b"a-much-longer-s3cr3t-value" in body
    entry = to_har([one(log)])["log"]["entries"][0]
    content = entry["response"]["content"]
    assert "a-much-longer-s3cr3t-value" not in json.dumps(entry)
    assert content["size"] == len(content["text"].encode()) == entry["response"]["bodySize"]
    assert "app_response" not in entry["_wsgi"]  # the app's answer is the client's


def test_a_died_exchange_is_marked_no_reply_in_the_har() -> None:
    builder = ExchangeBuilder()
    for event in exchange_events(7, status=None, end=False):
        builder.apply(event)
    message = "The app's process was killed by SIGSEGV while serving this request."
    builder.apply({"type": "error", "id": 7, "t": 0.01, "phase": "error",  # as the host does
                   "exc_type": "ProcessDied", "message": message, "traceback": message})
    builder.apply({"type": "end", "id": 7, "t": 0.01, "closed": False, "size": 0,
                   "dropped": True})
    x = builder.exchanges[7]
    entry = to_har([x])["log"]["entries"][0]
    assert entry["response"]["status"] == 0 and entry["response"]["bodySize"] == -1
    assert entry["_wsgi"]["client_dropped"] is True
    back = from_har(to_har([x]))[0]
    assert back.client_dropped and summarize(back).state == "dropped"


def test_har_timings_leave_out_the_time_paused() -> None:
    x = make_exchange()
    x.paused_time = 5.0  # the user held it at start_response for 5 s
    x.start_response[0].t += 5.0
    x.duration = (x.duration or 0.0) + 5.0
    entry = to_har([x])["log"]["entries"][0]
    app_ms = (x.duration - 5.0) * 1000
    assert abs(entry["time"] - app_ms) < 1e-6
    assert entry["timings"]["wait"] < app_ms and entry["_wsgi"]["paused_ms"] == 5000.0
    back = from_har(to_har([x]))[0]
    assert back.paused_time == 5.0 and back.duration == x.duration


def sized(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "26")])
    return [b"abcdefghijklmnopqrstuvwxyz"]


def test_a_head_answer_is_listed_with_the_body_the_client_read(serve_inspected) -> None:
    agent, log = serve_inspected(sized)
    status, headers, body = fetch(agent.server.effective_port, "HEAD")
    assert (status, headers["content-length"], body) == (200, "26", b"")
    s = summarize(one(log))
    assert s.response_size == 0
    assert "HEAD / 200 0 B" in access_line(s)


def test_an_aborted_exchange_keeps_where_it_was_aborted_through_a_har() -> None:
    x = make_exchange(status="502 Bad Gateway")
    x.aborted, x.state = "start_response", "aborted"
    entry = to_har([x])["log"]["entries"][0]
    assert entry["_wsgi"]["aborted"] == "start_response"
    back = from_har(to_har([x]))[0]
    assert (back.aborted, back.state) == ("start_response", "aborted")
