"""print(), stderr (= wsgi.errors) and logging land on the exchange that produced them."""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import get, inspected

CLIENTS = 8




def lines(output) -> list[tuple[str, str]]:
    return [(o.stream, o.text) for o in output]


def not_waitress(output) -> list:
    """Lines other than waitress's own (it may log "Task queue depth" at any time)."""
    return [o for o in output if not o.logger.startswith("waitress")]


def test_concurrent_requests_get_their_own_lines(serve_inspected) -> None:
    barrier = threading.Barrier(CLIENTS, timeout=10)

    def app(environ, start_response):
        n = environ["QUERY_STRING"]
        print(f"a{n}", end="")
        barrier.wait()  # every request is in flight, each with half a line pending
        print(f"b{n}")
        sys.stdout.write("one line in ")
        barrier.wait()
        sys.stdout.write(f"three pieces {n}")
        sys.stdout.write("\n")
        sys.stderr.write(f"stderr {n}\n")
        barrier.wait()
        logging.getLogger("x").warning("warning %s", n)
        environ["wsgi.errors"].write(f"wsgi.errors {n}\n")
        barrier.wait()
        print(f"last {n}", end="")  # no newline: flushed when the exchange ends
        body = n.encode()
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    agent, log = serve_inspected(app, threads=CLIENTS)
    port = agent.server.effective_port
    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(lambda n: get(port, f"/?{n}"), range(CLIENTS)))
    assert answers == [(200, str(n).encode()) for n in range(CLIENTS)]

    exchanges = log.wait_ended(CLIENTS)
    assert len(exchanges) == CLIENTS
    assert len({x.thread for x in exchanges}) == CLIENTS  # all in flight at once
    for x in exchanges:
        n = x.query
        assert lines(x.output) == [
            ("stdout", f"a{n}b{n}"),
            ("stdout", f"one line in three pieces {n}"),
            ("stderr", f"stderr {n}"),
            ("log", f"warning {n}"),
            ("stderr", f"wsgi.errors {n}"),  # under waitress wsgi.errors is sys.stderr
            ("stdout", f"last {n}"),
        ]
        record = x.output[3]
        assert (record.level, record.logger) == ("WARNING", "x")
        times = [o.t for o in x.output]
        assert times == sorted(times)
    assert not any(re.search(r"\d", o.text) for o in not_waitress(log.process_output))


def test_output_while_streaming_belongs_to_the_exchange(serve_inspected) -> None:
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        for i in range(3):
            print("yielding", i)
            yield b"%d" % i

    agent, log = serve_inspected(app)
    assert get(agent.server.effective_port) == (200, b"012")
    (x,) = log.wait_ended(1)
    assert lines(x.output) == [("stdout", f"yielding {i}") for i in range(3)]


def test_output_outside_requests_goes_to_the_process_lane() -> None:
    def app(environ, start_response):
        print("inside")
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    with inspected(app) as (agent, log):
        print("outside", "the", end=" ")
        print("requests")
        sys.stderr.write("process stderr\n")
        logging.getLogger("y").warning("process %s", "warning")
        assert get(agent.server.effective_port) == (200, b"ok")
        (x,) = log.wait_ended(1)
        print("pending at stop", end="")
    assert lines(x.output) == [("stdout", "inside")]
    assert [(o.stream, o.text, o.level, o.logger) for o in not_waitress(log.process_output)] == [
        ("stdout", "outside the requests", "", ""),
        ("stderr", "process stderr", "", ""),
        ("log", "process warning", "WARNING", "y"),
        ("stdout", "pending at stop", "", ""),
    ]


def test_log_record_printed_by_a_stream_handler_is_not_doubled(serve_inspected) -> None:
    logger = logging.getLogger("inspector-test.handled")

    def app(environ, start_response):
        logger.warning("handled %s", "once")
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    agent, log = serve_inspected(app)
    handler = logging.StreamHandler()  # writes to sys.stderr as it is now: our stream
    logger.addHandler(handler)
    try:
        get(agent.server.effective_port)
        (x,) = log.wait_ended(1)
    finally:
        logger.removeHandler(handler)
    assert handler.stream is sys.stderr
    assert [(o.stream, o.text, o.level) for o in x.output] == [("log", "handled once", "WARNING")]


@pytest.mark.parametrize("debug_logs", [False, True])
def test_debug_records_only_when_asked(serve_inspected, debug_logs) -> None:
    verbose = logging.getLogger("inspector-test.verbose")

    def app(environ, start_response):
        logging.getLogger("inspector-test.plain").debug("plain debug")
        logging.getLogger("inspector-test.plain").info("plain info")
        verbose.debug("verbose debug")
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    verbose.setLevel(logging.DEBUG)  # a logger the app itself turned up
    try:
        agent, log = serve_inspected(app, debug_logs=debug_logs)
        get(agent.server.effective_port)
        (x,) = log.wait_ended(1)
    finally:
        verbose.setLevel(logging.NOTSET)
    got = [(o.level, o.text) for o in x.output]
    if debug_logs:
        assert got == [("DEBUG", "plain debug"), ("INFO", "plain info"),
                       ("DEBUG", "verbose debug")]
    else:
        assert got == [("INFO", "plain info")]


@pytest.mark.parametrize("root_level", [logging.WARNING, logging.DEBUG, logging.NOTSET])
def test_streams_and_logging_restored_after_stop(root_level) -> None:
    root = logging.getLogger()
    saved_level = root.level
    own = logging.StreamHandler(sys.__stderr__)  # level NOTSET: the agent adjusts it
    strict = logging.NullHandler()
    strict.setLevel(logging.ERROR)
    root.addHandler(own)
    root.addHandler(strict)
    root.setLevel(root_level)
    try:
        before = (sys.stdout, sys.stderr, root.level, list(root.handlers),
                  [h.level for h in root.handlers])

        def app(environ, start_response):
            print("hello")
            logging.getLogger("z").info("info")
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
            return [b"ok"]

        with inspected(app) as (agent, log):
            assert sys.stdout is not before[0] and sys.stderr is not before[1]
            assert len(root.handlers) == len(before[3]) + 1
            get(agent.server.effective_port)
            log.wait_ended(1)
        after = (sys.stdout, sys.stderr, root.level, list(root.handlers),
                 [h.level for h in root.handlers])
        assert after[0] is before[0]
        assert after[1] is before[1]
        assert after == before
    finally:
        root.removeHandler(own)
        root.removeHandler(strict)
        root.setLevel(saved_level)


def test_waitress_lines_are_rate_limited() -> None:
    def app(environ, start_response):  # never called
        raise AssertionError

    queue_logger = logging.getLogger("waitress.queue")
    with inspected(app) as (_agent, log):
        first = int(time.monotonic())
        for i in range(1000):
            queue_logger.warning("Task queue depth is %d", i)
        seconds = int(time.monotonic()) - first + 1
    waitress = [o for o in log.process_output if o.logger.startswith("waitress")]
    dropped = [o for o in waitress if "dropped" in o.text]
    admitted = [o for o in waitress if o not in dropped]
    assert waitress[:20] == admitted[:20]
    assert [o.text for o in admitted[:20]] == [f"Task queue depth is {i}" for i in range(20)]
    assert 20 <= len(admitted) <= 20 * seconds
    assert 1 <= len(dropped) <= seconds
    counts = [int(re.match(r"\((\d+) more waitress lines dropped\)", o.text).group(1))
              for o in dropped]
    assert len(admitted) + sum(counts) == 1000
    # other loggers are never limited
    assert not [o for o in log.process_output if not o.logger.startswith("waitress")]


def test_streams_that_are_not_text_wrappers_are_routed_too(monkeypatch) -> None:
    """A harness may have put an io.StringIO in sys.stdout, or nothing (pythonw)."""
    import io

    plain_stdout = io.StringIO()
    monkeypatch.setattr(sys, "stdout", plain_stdout)
    monkeypatch.setattr(sys, "stderr", None)

    def app(environ, start_response):
        print("to a StringIO")
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    with inspected(app) as (agent, log):
        assert sys.stderr is None  # nothing to route: it stays missing
        assert repr(sys.stdout) == repr(plain_stdout)
        assert get(agent.server.effective_port) == (200, b"ok")
        (x,) = log.wait_ended(1)
    assert sys.stdout is plain_stdout
    assert lines(x.output) == [("stdout", "to a StringIO")]
    assert plain_stdout.getvalue() == "to a StringIO\n"  # still teed to the original


def test_stand_in_is_the_original_streams_class(serve_inspected) -> None:
    import io

    original = sys.stderr
    seen = {}

    def app(environ, start_response):
        errors = environ["wsgi.errors"]
        seen.update(same=errors is sys.stderr, type=type(errors), repr=repr(errors),
                    fileno=errors.fileno(), buffer=errors.buffer)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    agent, log = serve_inspected(app)
    get(agent.server.effective_port)
    log.wait_ended(1)
    assert isinstance(original, io.TextIOWrapper)  # as under any test runner
    assert seen == {"same": True, "type": type(original), "repr": repr(original),
                    "fileno": original.fileno(), "buffer": original.buffer}
