"""Stepping a live request through the WSGI call: real waitress, real HTTP.

Each request comes from a client thread; the test waits on the agent's events
(it never sleeps) and answers each pause with the command dicts a host sends.
The last tests do the same through the isolated app process and its reloads.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from inspector.agent.gate import Gate
from inspector.agent.runtime import Agent
from inspector.agent.sink import EventLog
from inspector.agent.stepping import ABORT_BODY
from inspector.filtering import parse_breakpoint
from inspector.host.process import AppProcess, Options
from inspector.host.runner import Runner
from inspector.model import Edit, Exchange
from tests.appproc import Recorder, write_app
from tests.conftest import fetch

TIMEOUT = 30.0  # generous: a loaded 2-core machine can be slow
# What a client sees when the connection is cut: a truncated read, a reset, a close.
CUT = (http.client.HTTPException, ConnectionError)
WHOLE = b"one two three"


# -- the app under test ----------------------------------------------------------------

def chunks() -> Iterator[bytes]:
    yield b"one "
    yield b"two "
    yield b"three"


def app(environ: dict[str, Any], start_response: Callable) -> Any:
    """/chunks streams three chunks; /sized declares its length; the rest reports
    what the app saw, as JSON."""
    path = environ["PATH_INFO"]
    if path.startswith("/chunks"):
        start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
        return chunks()
    if path.startswith("/sized"):
        body = b"hello world"
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    size = int(environ.get("CONTENT_LENGTH") or 0)
    seen = {"path": path, "query": environ.get("QUERY_STRING", ""),
            "added": environ.get("X_ADDED"), "removed": environ.get("HTTP_X_REMOVE"),
            "content_length": environ.get("CONTENT_LENGTH", ""),
            "body": environ["wsgi.input"].read(size).decode()}
    body = json.dumps(seen).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


# -- helpers -------------------------------------------------------------------------------

class Client(threading.Thread):
    """One request from its own thread; ``result()`` joins and returns the answer."""

    def __init__(self, port: int, target: str, method: str = "GET", body: bytes | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(name=f"client {method} {target}", daemon=True)
        self.request = (port, method, target, body, headers)
        self.answer: tuple[int, dict[str, str], bytes] | None = None
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self.answer = fetch(*self.request)
        except Exception as exc:
            self.error = exc

    def finish(self) -> None:
        self.join(TIMEOUT)
        assert not self.is_alive(), f"{self.name} still waits for its answer"

    def result(self) -> tuple[int, dict[str, str], bytes]:
        self.finish()
        if self.error is not None:
            raise self.error
        assert self.answer is not None
        return self.answer

    def failure(self) -> BaseException:
        """The error the client got (the connection was cut)."""
        self.finish()
        assert self.error is not None, f"{self.name} got an answer: {self.answer}"
        return self.error


class Stepping:
    """An agent serving ``app``, the log of its events, and the test's commands."""

    def __init__(self, agent: Agent, log: EventLog, clients: list[Client]) -> None:
        self.agent, self.log, self.clients = agent, log, clients
        self.port = agent.server.effective_port
        self._taken: set[int] = set()  # indexes of paused events already returned

    def send(self, target: str, method: str = "GET", body: bytes | None = None,
             headers: dict[str, str] | None = None) -> Client:
        client = Client(self.port, target, method, body, headers)
        self.clients.append(client)
        return client

    def arm(self, *breakpoints: str, next_request: bool = False) -> None:
        self.agent.gate.handle({"type": "arm", "breakpoints": list(breakpoints),
                                "next": next_request})

    def command(self, kind: str, xid: int | None = None, **fields: Any) -> None:
        message: dict[str, Any] = {"type": kind, **fields}
        if xid is not None:
            message["id"] = xid
        self.agent.gate.handle(message)

    def paused(self, phase: str | None, xid: int | None = None) -> dict[str, Any]:
        """The next paused event at ``phase`` (None: any) of ``xid`` not returned before."""
        found: list[int] = []

        def ready() -> bool:
            for i, e in enumerate(self.log.events):
                if (i not in self._taken and e["type"] == "paused"
                        and phase in (None, e["phase"]) and xid in (None, e["id"])):
                    found.append(i)
                    return True
            return False

        self.log.wait_for(ready, TIMEOUT)
        self._taken.add(found[0])
        return self.log.events[found[0]]

    def events(self, kind: str, xid: int) -> list[dict[str, Any]]:
        events = list(self.log.events)  # a copy: worker threads append meanwhile
        return [e for e in events if e["type"] == kind and e.get("id") == xid]

    def resumed(self, xid: int, count: int = 1) -> list[str]:
        """How ``xid`` went on from its pauses, once it has ``count`` of them."""
        self.log.wait_for(lambda: len(self.events("resumed", xid)) >= count, TIMEOUT)
        return [e["how"] for e in self.events("resumed", xid)]

    def ended(self, xid: int) -> Exchange:
        self.log.wait_for(lambda: bool(self.events("end", xid)), TIMEOUT)
        return next(x for x in self.log.exchanges if x.id == xid)


@pytest.fixture
def clients() -> Iterator[list[Client]]:
    started: list[Client] = []
    yield started
    for client in started:  # the agent has stopped by now, so nothing waits any more
        client.join(TIMEOUT)


@pytest.fixture
def stepping(clients: list[Client], serve_inspected: Callable) -> Callable[..., Stepping]:
    """``stepping(app=app, **options)``: torn down before ``clients``, so paused
    requests are released before their threads are joined."""
    def start(wsgi_app: Callable = app, **options: Any) -> Stepping:
        agent, log = serve_inspected(wsgi_app, **options)
        return Stepping(agent, log, clients)
    return start


def step_to(s: Stepping, phase: str, target: str = "/chunks") -> tuple[Client, int]:
    """Send ``target`` (armed) and step it until it pauses at ``phase`` (chunk: the first)."""
    s.arm(f"path:{target}")
    client = s.send(target)
    paused = s.paused("received")
    xid = paused["id"]
    while paused["phase"] != phase:
        s.command("step", xid)
        paused = s.paused(None, xid)
    return client, xid


# -- each phase, each command ------------------------------------------------------------

PHASES = ["received", "start_response", "chunk", "closed"]
PAUSES = {"received": 1, "start_response": 2, "chunk": 3, "closed": 6}  # /chunks: 3 chunks
NEXT = {"received": ("start_response", None), "start_response": ("chunk", 1),
        "chunk": ("chunk", 2)}  # phase and chunk index of the pause after a step


@pytest.mark.parametrize("phase", PHASES)
def test_step_pauses_at_the_next_phase(stepping: Callable[..., Stepping], phase: str) -> None:
    s = stepping()
    client, xid = step_to(s, phase)
    s.command("step", xid)
    hows = ["step"] * PAUSES[phase]
    if phase != "closed":
        after = s.paused(None, xid)
        assert (after["phase"], after.get("index")) == NEXT[phase]
        s.command("continue", xid)
        hows.append("continue")
    status, _, body = client.result()
    assert (status, body) == (200, WHOLE)
    assert s.resumed(xid, len(hows)) == hows
    x = s.ended(xid)
    assert x.paused == "" and x.pause is None and x.error is None


@pytest.mark.parametrize("command", ["continue", "continue_all"])
@pytest.mark.parametrize("phase", PHASES)
def test_continue_runs_to_the_end(stepping: Callable[..., Stepping], phase: str,
                                  command: str) -> None:
    s = stepping()
    client, xid = step_to(s, phase)
    s.command(command, xid if command == "continue" else None)
    status, headers, body = client.result()
    assert (status, body) == (200, WHOLE)
    assert headers["transfer-encoding"] == "chunked"
    x = s.ended(xid)
    assert len(s.events("paused", xid)) == PAUSES[phase]  # no pause after the continue
    assert s.resumed(xid, PAUSES[phase])[-1] == command
    assert [p.name for p in x.phases] == ["received", "app_called", "start_response",
                                          "chunk", "closed"]
    assert x.response_body == WHOLE and x.edits == []


@pytest.mark.parametrize("phase", ["received", "start_response", "chunk"])
def test_abort_before_any_byte_answers_502(stepping: Callable[..., Stepping],
                                           phase: str) -> None:
    s = stepping()
    client, xid = step_to(s, phase)
    s.command("abort", xid, mode="502")
    status, headers, body = client.result()
    assert (status, body) == (502, ABORT_BODY)
    assert headers["content-length"] == str(len(ABORT_BODY))
    x = s.ended(xid)
    assert s.resumed(xid, PAUSES[phase])[-1] == "abort"
    assert x.status == "502 Bad Gateway" and x.response_body == ABORT_BODY
    assert len(s.events("paused", xid)) == PAUSES[phase]
    if phase == "received":  # the app was never called
        assert [c.status for c in x.start_response] == ["502 Bad Gateway"]
        assert any(e.get("aborted") for e in s.events("phase", xid))


def test_abort_after_bytes_went_out_cuts_the_connection(
        stepping: Callable[..., Stepping]) -> None:
    s = stepping()
    client, xid = step_to(s, "chunk")
    s.command("step", xid)
    assert s.paused("chunk", xid)["data"] == b"two "  # "one " has gone to the server
    s.command("abort", xid)
    assert isinstance(client.failure(), CUT)
    x = s.ended(xid)
    assert x.error is not None and x.error.type == "AbortedByUser"
    assert x.response_body == b"one "


def test_abort_at_closed_cuts_the_connection(stepping: Callable[..., Stepping]) -> None:
    s = stepping()
    client, xid = step_to(s, "closed")
    s.command("abort", xid)
    assert isinstance(client.failure(), CUT)  # chunked: the last, empty chunk never came
    x = s.ended(xid)
    assert x.error is not None and (x.error.type, x.error.phase) == ("AbortedByUser", "closed")
    assert x.response_body == WHOLE  # the app's body went out; only the ending is cut


@pytest.mark.parametrize("phase", ["received", "start_response", "chunk"])
def test_abort_drop_cuts_the_connection(stepping: Callable[..., Stepping], phase: str) -> None:
    s = stepping()
    client, xid = step_to(s, phase)
    s.command("abort", xid, mode="drop")
    assert isinstance(client.failure(), CUT)
    x = s.ended(xid)
    assert x.error is not None and x.error.type == "AbortedByUser"
    assert x.response_body == b""


# -- what a pause shows, and edits -----------------------------------------------------------

def test_each_pause_carries_its_phase_data(stepping: Callable[..., Stepping]) -> None:
    s = stepping()
    s.arm("path:/chunks")
    client = s.send("/chunks?x=1", "POST", b"payload")
    received = s.paused("received")
    xid = received["id"]
    assert received["environ"]["PATH_INFO"] == "/chunks"
    assert received["environ"]["QUERY_STRING"] == "x=1"
    assert "wsgi.input" not in received["environ"]  # text values only
    assert (received["body"], received["body_complete"]) == (b"payload", True)
    assert received["timeout"] == s.agent.gate.timeout
    s.command("step", xid)
    started = s.paused("start_response", xid)
    assert started["status"] == "200 OK"
    assert started["headers"] == [("Content-Type", "text/plain; charset=utf-8")]
    s.command("step", xid)
    for index, data in enumerate([b"one ", b"two ", b"three"], 1):
        chunk = s.paused("chunk", xid)
        assert (chunk["index"], chunk["data"]) == (index, data)
        s.command("step", xid)
    s.paused("closed", xid)
    assert s.agent.gate.paused == [xid]
    assert next(x for x in s.log.exchanges if x.id == xid).paused == "closed"
    s.command("step", xid)
    assert client.result()[2] == WHOLE
    assert s.resumed(xid, 6) == ["step"] * 6


def test_environ_edits_change_what_the_app_sees(stepping: Callable[..., Stepping]) -> None:
    s = stepping()
    s.arm("path:/see")
    client = s.send("/see", headers={"X-Remove": "yes"})
    paused = s.paused("received")
    assert paused["environ"]["HTTP_X_REMOVE"] == "yes"
    change = {"PATH_INFO": "/edited", "X_ADDED": "here", "HTTP_X_REMOVE": None}
    s.command("continue", paused["id"], edit={"environ": change})
    seen = json.loads(client.result()[2])
    assert (seen["path"], seen["added"], seen["removed"]) == ("/edited", "here", None)
    x = s.ended(paused["id"])
    assert x.edits == [Edit("received", "environ",
                            {"PATH_INFO": "/see", "X_ADDED": None, "HTTP_X_REMOVE": "yes"},
                            change, x.edits[0].t)]
    assert x.path == "/see"  # the exchange keeps the environ as it arrived


def test_body_edit_changes_what_the_app_reads(stepping: Callable[..., Stepping]) -> None:
    s = stepping()
    s.arm("method:POST")
    client = s.send("/see", "POST", b"original")
    paused = s.paused("received")
    s.command("step", paused["id"], edit={"body": "a longer, edited body"})
    s.paused("start_response", paused["id"])
    s.command("continue", paused["id"])
    seen = json.loads(client.result()[2])
    assert seen["body"] == "a longer, edited body"
    assert seen["content_length"] == str(len("a longer, edited body"))
    x = s.ended(paused["id"])
    assert [(e.phase, e.what, e.original, e.edited) for e in x.edits] == [
        ("received", "body", "original", "a longer, edited body")]
    assert x.request_body == b"original"


def test_status_and_header_edits_change_what_the_client_gets(
        stepping: Callable[..., Stepping]) -> None:
    s = stepping()
    client, xid = step_to(s, "start_response", "/sized")
    headers = [["Content-Type", "text/plain"], ["Content-Length", "11"], ["X-Edited", "yes"]]
    s.command("continue", xid, edit={"status": "418 I'm a teapot", "headers": headers})
    status, got, body = client.result()
    assert (status, got["x-edited"], body) == (418, "yes", b"hello world")
    x = s.ended(xid)
    assert x.status == "418 I'm a teapot" and x.header("X-Edited") == "yes"
    assert [(e.what, e.original, e.edited) for e in x.edits] == [
        ("status", "200 OK", "418 I'm a teapot"),
        ("headers", [("Content-Type", "text/plain"), ("Content-Length", "11")],
         [tuple(h) for h in headers])]
    assert not any(f.edited for f in x.findings)


def test_an_unchanged_edit_is_not_recorded(stepping: Callable[..., Stepping]) -> None:
    s = stepping()
    client, xid = step_to(s, "start_response", "/sized")
    s.command("continue", xid, edit={"status": "200 OK", "headers": [
        ["Content-Type", "text/plain"], ["Content-Length", "11"]]})
    assert client.result()[2] == b"hello world"
    assert s.ended(xid).edits == []


def test_chunk_edit_and_drop_change_the_body(stepping: Callable[..., Stepping]) -> None:
    s = stepping()
    client, xid = step_to(s, "chunk")
    s.command("step", xid, edit={"data": "ONE "})
    assert s.paused("chunk", xid)["index"] == 2
    s.command("step", xid, edit={"drop": True})
    third = s.paused("chunk", xid)
    assert (third["index"], third["data"]) == (3, b"three")  # numbered as the app yields
    s.command("continue", xid)
    assert client.result()[2] == b"ONE three"
    x = s.ended(xid)
    assert [(e.phase, e.what, e.original, e.edited) for e in x.edits] == [
        ("chunk", "chunk 1", "one ", "ONE "), ("chunk", "chunk 2", "two ", None)]
    assert x.response_body == b"ONE three"


def test_an_edited_header_finding_is_flagged_edited(stepping: Callable[..., Stepping]) -> None:
    s = stepping()
    client, xid = step_to(s, "start_response", "/sized")
    s.command("continue", xid, edit={"headers": [["Content-Type", "text/plain"],
                                                 ["X-Bad", "a\nb"]]})
    assert client.result()[0] == 500  # waitress refuses the header: the app's call fails
    x = s.ended(xid)
    found = [f for f in x.findings if f.code == "header-value-control"]
    assert found and all(f.edited for f in found)


def test_a_chunk_edit_against_content_length_is_flagged_edited(
        stepping: Callable[..., Stepping]) -> None:
    s = stepping()
    client, xid = step_to(s, "chunk", "/sized")
    s.command("continue", xid, edit={"data": "hi"})
    assert isinstance(client.failure(), CUT)  # 2 of the 11 declared bytes, then closed
    x = s.ended(xid)
    found = [f for f in x.findings if f.code == "content-length-mismatch"]
    assert len(found) == 1 and found[0].edited


def test_findings_of_unedited_requests_are_not_flagged(stepping: Callable[..., Stepping]
                                                       ) -> None:
    def bad(environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        start_response("200 OK", [("Content-Length", "99")])
        return [b"short"]

    s = stepping(bad)
    client, xid = step_to(s, "received", "/")
    s.command("continue", xid)
    assert isinstance(client.failure(), CUT)
    found = [f for f in s.ended(xid).findings if f.code == "content-length-mismatch"]
    assert len(found) == 1 and not found[0].edited


# -- timeout, several at once, arming ----------------------------------------------------

def test_a_forgotten_pause_times_out_and_goes_on(stepping: Callable[..., Stepping]) -> None:
    s = stepping()
    s.agent.gate.timeout = 0.5
    s.arm("path:/chunks")
    client = s.send("/chunks")
    paused = s.paused("received")
    assert paused["timeout"] == 0.5
    assert s.resumed(paused["id"]) == ["timeout"]
    status, _, body = client.result()
    assert (status, body) == (200, WHOLE)
    s.ended(paused["id"])
    assert len(s.events("paused", paused["id"])) == 1


def test_four_paused_at_once_released_one_by_one(stepping: Callable[..., Stepping]) -> None:
    s = stepping(threads=4)
    s.arm("path:/see")
    sent = {f"n={n}": s.send(f"/see?n={n}") for n in range(4)}
    paused = [s.paused("received") for _ in range(4)]
    by_id = {p["id"]: sent[p["environ"]["QUERY_STRING"]] for p in paused}
    assert sorted(s.agent.gate.paused) == sorted(by_id)
    waiting = sorted(by_id)
    for xid in sorted(by_id, reverse=True):
        s.command("continue", xid)
        seen = json.loads(by_id[xid].result()[2])
        assert by_id[xid] is sent[seen["query"]]
        waiting.remove(xid)
        assert sorted(s.agent.gate.paused) == waiting  # the others still wait
        assert all(by_id[w].is_alive() for w in waiting)


def test_arm_next_pauses_exactly_one_request(stepping: Callable[..., Stepping]) -> None:
    s = stepping()
    s.arm(next_request=True)
    first = s.send("/see")
    xid = s.paused("received")["id"]
    assert not s.agent.gate.armed_next
    s.command("continue", xid)
    assert first.result()[0] == 200
    second = s.send("/see")
    assert second.result()[0] == 200
    assert len(s.log.wait_ended(2, TIMEOUT)) == 2
    assert [len(s.events("paused", x.id)) for x in s.log.exchanges] == [1, 0]


def test_only_matching_requests_pause(stepping: Callable[..., Stepping]) -> None:
    s = stepping()
    s.arm("method:POST path:/see header:X-Debug", "path:/api/*/edit")
    for method, target, headers in [("GET", "/see", {"X-Debug": "1"}),
                                    ("POST", "/see", {}),
                                    ("POST", "/other", {"X-Debug": "1"}),
                                    ("GET", "/api/7", {})]:
        assert s.send(target, method, b"" if method == "POST" else None,
                      headers).result()[0] == 200
    assert len(s.log.wait_ended(4, TIMEOUT)) == 4
    assert not any(e["type"] == "paused" for e in s.log.events)
    for method, target, headers in [("POST", "/see", {"X-Debug": "1"}),
                                    ("GET", "/api/7/edit", {})]:
        client = s.send(target, method, b"" if method == "POST" else None, headers)
        paused = s.paused("received")
        assert paused["environ"]["PATH_INFO"] == target
        s.command("continue", paused["id"])
        assert client.result()[0] == 200


def test_rearming_replaces_the_breakpoints(stepping: Callable[..., Stepping]) -> None:
    s = stepping()
    s.arm("path:/see")
    s.arm("path:/chunks")
    assert s.send("/see").result()[0] == 200
    s.arm()  # nothing
    assert s.send("/chunks").result()[0] == 200
    s.log.wait_ended(2, TIMEOUT)
    assert not any(e["type"] == "paused" for e in s.log.events)


# -- releasing on stop -------------------------------------------------------------------

def test_stop_releases_every_paused_request(stepping: Callable[..., Stepping]) -> None:
    s = stepping()
    s.arm("path:/see", "path:/chunks")
    at_received = s.send("/see")
    a = s.paused("received")["id"]
    at_chunk = s.send("/chunks")
    b = s.paused("received")["id"]
    s.command("step", b)
    s.paused("start_response", b)
    s.command("step", b)
    s.paused("chunk", b)
    s.agent.stop()
    assert at_received.result()[0] == 200
    assert at_chunk.result()[2] == WHOLE
    assert s.resumed(a) == ["released"]
    assert s.resumed(b, 3)[-1] == "released"


def test_stop_lets_a_request_between_two_phases_finish(
        stepping: Callable[..., Stepping]) -> None:
    entered, go = threading.Event(), threading.Event()

    def slow(environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        entered.set()
        go.wait(TIMEOUT)
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    s = stepping(slow)
    client, xid = step_to(s, "received", "/slow")
    s.command("step", xid)  # it runs the app, and would pause at start_response
    assert entered.wait(TIMEOUT)
    s.agent.release()  # what stop does first
    go.set()
    assert client.result()[2] == b"ok"  # no pause with nobody left to answer it
    s.ended(xid)
    assert len(s.events("paused", xid)) == 1


# -- breakpoints -------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "meaning"), [
    ("method:post", "method POST"),
    ("/api", "path or query containing “/api”"),
    ("path:/api/*", "path matching /api/*"),
    ("header:Authorization", "header Authorization"),
    ("METHOD:PUT PATH:/x header:X-Debug", "method PUT, path starting with /x, header X-Debug"),
    ("*", "every request"),
    ("all", "every request"),
    ("", "every request"),
])
def test_breakpoint_parse(text: str, meaning: str) -> None:
    assert parse_breakpoint(text).describe() == meaning


def test_breakpoint_str_round_trips() -> None:
    for text in ("method:POST path:/api/* header:X-Debug", "path:/x", '-"/a b"'):
        bp = parse_breakpoint(text)
        assert parse_breakpoint(str(bp)).describe() == bp.describe()


def environ(method: str = "GET", path: str = "/", script: str = "",
            **extra: str) -> dict[str, Any]:
    return {"REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": script, **extra}


@pytest.mark.parametrize(("text", "env", "matches"), [
    ("method:POST", environ("POST"), True),
    ("method:POST", environ("GET"), False),
    ("path:/api", environ(path="/api/users"), True),
    ("path:/api", environ(path="/apx"), False),
    ("/api", environ(path="/v1/api/x"), True),  # free text: anywhere in the path
    ("path:/app/api", environ(path="/api", script="/app"), True),  # the full path
    ("path:/api/*/edit", environ(path="/api/7/edit"), True),
    ("path:/api/*/edit", environ(path="/api/7"), False),
    ("path:/v?/x", environ(path="/v2/x"), True),
    ("path:/[ab]", environ(path="/c"), False),
    ("header:X-Debug", environ(HTTP_X_DEBUG="1"), True),
    ("header:x-debug", environ(HTTP_X_DEBUG="1"), True),
    ("header:X-Debug", environ(), False),
    ("header:Content-Type", environ(CONTENT_TYPE="text/plain"), True),
    ("header:Content-Length", environ(), False),
    ("method:POST path:/x", environ("POST", "/x"), True),
    ("method:POST path:/x", environ("GET", "/x"), False),
    ("*", environ("DELETE", "/anything"), True),
])
def test_breakpoint_matches(text: str, env: dict[str, Any], matches: bool) -> None:
    assert parse_breakpoint(text).matches_request(env) is matches


def test_gate_wants_and_answers_without_a_server() -> None:
    events: list[dict[str, Any]] = []
    gate = Gate(events.append)
    assert not gate.wants(environ())  # nothing armed
    gate.arm(["path:/x"])
    assert gate.wants(environ(path="/x/y")) and not gate.wants(environ(path="/y"))
    assert not gate.answer(1, {"type": "step"})  # not paused: ignored
    gate.close()
    assert not gate.wants(environ(path="/x"))
    assert gate.pause(1, 0.0, "received") == {"type": "continue", "how": "released"}
    assert events == []  # closed: no pause at all


# -- through the isolated process --------------------------------------------------------

@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def port_of(url: str) -> int:
    port = urllib.parse.urlsplit(url).port
    assert port is not None
    return port


def wire_paused(recorder: Recorder, gen: int, phase: str, count: int = 1) -> dict[str, Any]:
    """The ``count``-th paused event of generation ``gen`` at ``phase``."""
    def probe() -> dict[str, Any] | None:
        found = [e for e in recorder.events
                 if e["type"] == "paused" and e["gen"] == gen and e["phase"] == phase]
        return found[count - 1] if len(found) >= count else None
    return recorder.wait(probe, f"a pause at {phase} (generation {gen})")


def wire_resumed(recorder: Recorder, gen: int, xid: int, count: int) -> list[str]:
    def probe() -> list[str] | None:
        hows = [e["how"] for e in recorder.events
                if e["type"] == "resumed" and e["gen"] == gen and e["id"] == xid]
        return hows if len(hows) >= count else None
    return recorder.wait(probe, f"{count} resumes of #{xid} (generation {gen})")


@pytest.mark.skipif(os.name != "posix", reason="the child's venv layout")
def test_isolated_process_steps_over_the_wire(tmp_path: Path, recorder: Recorder,
                                              clients: list[Client]) -> None:
    write_app(tmp_path)
    proc = AppProcess(Options("web:app", str(tmp_path)), recorder.on_event, recorder.on_status)
    try:
        assert proc.start().state == "serving", proc.status
        assert proc.command({"type": "arm", "breakpoints": ["method:POST path:/echo"]})
        clients.append(client := Client(port_of(proc.status.url), "/echo", "POST", b"abc"))
        gen = proc.generation
        received = wire_paused(recorder, gen, "received")
        xid = received["id"]
        assert received["body"] == b"abc" and received["environ"]["PATH_INFO"] == "/echo"
        assert proc.command({"type": "step", "id": xid, "edit": {"body": "stressed"}})
        started = wire_paused(recorder, gen, "start_response")
        assert started["status"] == "200 OK"
        headers = [[n, v] for n, v in started["headers"]] + [["X-Edited", "over the wire"]]
        assert proc.command({"type": "step", "id": xid, "edit": {"headers": headers}})
        chunk = wire_paused(recorder, gen, "chunk")
        assert (chunk["index"], chunk["data"]) == (1, b"desserts")
        assert proc.command({"type": "continue", "id": xid, "edit": {"data": "DESSERTS"}})
        status, got, body = client.result()
        assert (status, got["x-edited"], body) == (200, "over the wire", b"DESSERTS")
        x = recorder.wait_exchange(gen, "/echo")
        assert [(e.phase, e.what) for e in x.edits] == [
            ("received", "body"), ("start_response", "headers"), ("chunk", "chunk 1")]
        assert x.edits[0].original == "abc" and x.edits[2].edited == "DESSERTS"
        assert wire_resumed(recorder, gen, xid, 3) == ["step", "step", "continue"]
        assert x.paused == ""
    finally:
        proc.stop()


@pytest.mark.skipif(os.name != "posix", reason="the child's venv layout")
@pytest.mark.parametrize("in_process", [False, True], ids=["isolated", "in-process"])
def test_reload_releases_paused_requests_and_keeps_breakpoints(
        tmp_path: Path, recorder: Recorder, clients: list[Client],
        monkeypatch: pytest.MonkeyPatch, in_process: bool) -> None:
    if in_process:  # the app is imported here: keep this test's module and path to itself
        monkeypatch.setattr(sys, "path", list(sys.path))
        monkeypatch.setitem(sys.modules, "stepweb", None)
        del sys.modules["stepweb"]
    write_app(tmp_path, name="stepweb")
    runner = Runner(Options("stepweb:app", str(tmp_path)), recorder.on_event,
                    recorder.on_status, in_process=in_process, reload=False)
    try:
        assert runner.start().state == "serving", runner.status
        runner.command({"type": "arm", "breakpoints": ["path:/held"]})
        port = port_of(runner.status.url)
        gen = runner.app.generation
        clients.append(held := Client(port, "/held"))
        xid = wire_paused(recorder, gen, "received")["id"]
        assert runner.reload().state == "serving"
        status, _, body = held.result()  # released before the old app stopped
        assert (status, body) == (200, b"hello v1")
        assert wire_resumed(recorder, gen, xid, 1) == ["released"]
        assert runner.app.generation == gen + 1 and port_of(runner.status.url) == port
        clients.append(again := Client(port, "/held"))
        paused = wire_paused(recorder, gen + 1, "received")  # still armed
        assert again.is_alive()
        assert runner.command({"type": "continue", "id": paused["id"]})
        assert again.result()[2] == b"hello v1"
        assert wire_resumed(recorder, gen + 1, paused["id"], 1) == ["continue"]
    finally:
        runner.stop()


@pytest.mark.skipif(os.name != "posix", reason="the child's venv layout")
def test_a_child_armed_before_start_pauses_its_first_request(
        tmp_path: Path, recorder: Recorder, clients: list[Client]) -> None:
    write_app(tmp_path)
    proc = AppProcess(Options("web:app", str(tmp_path)), recorder.on_event, recorder.on_status)
    try:
        assert not proc.command({"type": "arm", "breakpoints": ["*"]})  # no child yet: kept
        assert proc.start().state == "serving", proc.status
        clients.append(client := Client(port_of(proc.status.url), "/first"))
        paused = wire_paused(recorder, proc.generation, "received")
        assert proc.command({"type": "abort", "id": paused["id"]})
        status, _, body = client.result()
        assert (status, body) == (502, ABORT_BODY)
    finally:
        proc.stop()
