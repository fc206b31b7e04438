"""A profile of one request, on demand: "profile the next request".

:meth:`Profiling.arm` puts a profiling stand-in where the capture layer takes
the app from, for one request (the next one, or the next one a filter in the
breakpoints' language matches): no request pays anything until then, and the
stand-in puts the app back as soon as one request has taken it. That request's
``app(environ, start_response)`` call runs under ``sys.setprofile`` on its own
thread only (others are not slowed), which builds the tree of calls as they
happened: each node is a function (or a builtin) at one place in the stack,
with its calls and total time. When the call returns, one ``profile`` event
carries the tree, pruned to what took at least PRUNE of the time (the body
iterated afterwards, as for a streamed response, is not in it).
"""

from __future__ import annotations

import sys
import threading
import time
from types import CodeType, FrameType
from typing import Any, Callable

from .gate import breakpoint_filter
from .inside import _place, lane

PRUNE = 0.002  # a node under this share of the whole is left out
DEPTH = 120  # deeper nodes are left out
_perf = time.perf_counter


class Node:
    __slots__ = ("calls", "children", "key", "started", "total")

    def __init__(self, key: Any) -> None:
        self.key = key
        self.calls = 0
        self.total = 0.0
        self.started = 0.0
        self.children: dict[Any, Node] = {}


class Tracer:
    """The profile function: one node per (parent node, function) pair."""

    def __init__(self) -> None:
        self.root = Node(None)
        self.stack = [self.root]

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        now = _perf()
        if event == "call" or event == "c_call":
            key = frame.f_code if event == "call" else arg
            top = self.stack[-1]
            node = top.children.get(key)
            if node is None:
                node = top.children[key] = Node(key)
            node.calls += 1
            node.started = now
            self.stack.append(node)
        elif len(self.stack) > 1:  # return, c_return, c_exception
            node = self.stack.pop()
            node.total += now - node.started


def _describe(key: Any) -> tuple[str, str, int, bool]:
    """(name, file, line, the user's code) of a node's key."""
    if isinstance(key, CodeType):
        place = _place(key)
        return key.co_qualname if hasattr(key, "co_qualname") else key.co_name, (
            place or key.co_filename), key.co_firstlineno, bool(place)
    module = getattr(key, "__module__", None) or ""
    name = getattr(key, "__qualname__", None) or getattr(key, "__name__", "?")
    return (f"{module}.{name}" if module else str(name)), "", 0, False


def tree(node: Node, whole: float, depth: int = 0) -> list[Any]:
    """``[name, file, line, user, calls, total, children]`` of the kept nodes."""
    name, file, line, user = _describe(node.key) if node.key is not None else (
        "app(environ, start_response)", "", 0, False)
    children = [] if depth >= DEPTH else [
        tree(child, whole, depth + 1) for child in sorted(
            node.children.values(), key=lambda n: -n.total) if child.total >= whole * PRUNE]
    return [name, file, line, user, node.calls, node.total, children]


def _nothing(environ: Any) -> bool:
    return False


class Profiling:
    """Arms a one-shot profile of the next request served by ``capture``."""

    def __init__(self, capture: Any) -> None:
        self.capture = capture
        self._lock = threading.Lock()

    def arm(self, request_filter: str = "") -> None:
        """Profile the next request, or the next one ``request_filter`` matches (the
        breakpoints' language: ``path:/books method:POST``)."""
        match = None
        if request_filter.strip():  # one the host let through unread profiles nothing
            flt = breakpoint_filter(request_filter)
            match = flt.matches_request if flt is not None else _nothing
        with self._lock:
            app = self.capture.app
            self.capture.app = _Once(app.app if isinstance(app, _Once) else app, self, match)

    def disarm(self, once: _Once) -> bool:
        """True for the one request that takes ``once`` (others got it too, in a race)."""
        with self._lock:
            if self.capture.app is not once:
                return False
            self.capture.app = once.app
            return True


class _Once:
    def __init__(self, app: Callable[..., Any], owner: Profiling,
                 match: Callable[[dict[str, Any]], bool] | None) -> None:
        self.app = app
        self.owner = owner
        self.match = match

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        if (self.match is not None and not self.match(environ)) or not self.owner.disarm(self):
            return self.app(environ, start_response)
        flight = lane()
        tracer = Tracer()
        previous = sys.getprofile()
        start = _perf()
        sys.setprofile(tracer)
        try:
            return self.app(environ, start_response)
        finally:
            sys.setprofile(previous)
            whole = _perf() - start
            tracer.root.total, tracer.root.calls = whole, 1
            if flight is not None:
                flight.emit({"type": "profile", "id": flight.xid, "t": start - flight.t0,
                             "duration": whole, "tree": tree(tracer.root, whole)})
