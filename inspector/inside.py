"""What happened inside the app during one exchange: its SQL queries, template
renders and outbound HTTP calls, as plain data, and the findings they give.

The agent sends them as ``query``, ``template`` and ``outbound`` events
(:mod:`inspector.agent.inside`); :mod:`inspector.model` folds them into
``Exchange.queries``, ``templates`` and ``outbound`` with :func:`from_event`.
A session file or a HAR may come from anywhere, so every value read here is
checked for its type and a bad one becomes an empty or zero value: the record
shows what it can and never holds another type than these classes declare.

Findings (checked when the exchange ends, on the host, like the record checks
of :mod:`inspector.lint`): ``repeated-query``, the same statement shape run
REPEATED times or more in one exchange (an "N+1": a query per row of a first
query), and ``slow-query``, a query that took SLOW_QUERY seconds or more.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .lint import Finding

EV_QUERY = "query"
EV_TEMPLATE = "template"
EV_OUTBOUND = "outbound"
EV_PROFILE = "profile"  # the call tree of one request, taken on demand

REPEATED = 3  # the same statement this many times in one exchange is an N+1
SLOW_QUERY = 0.1  # seconds; the GUI's settings may change it (see set_slow_query)


@dataclass
class Query:
    sql: str
    params: str = ""  # a capped repr
    duration: float = 0.0  # seconds
    rows: int | None = None  # the cursor's rowcount when cheap to know
    db: str = ""
    source: str = ""  # "path/to/file.py:LINE in function" of the user's code
    t: float = 0.0  # seconds since the exchange began
    many: bool = False  # executemany / executescript
    error: str = ""
    stack: list[str] = field(default_factory=list)  # the user's frames, when asked for


@dataclass
class TemplateRender:
    name: str
    duration: float = 0.0
    depth: int = 0  # 0: the render the app asked for; 1: one it includes or extends...
    engine: str = ""  # "jinja2" or "django"
    source: str = ""
    t: float = 0.0
    context: dict[str, str] = field(default_factory=dict)  # key -> capped repr (top only)
    error: str = ""


@dataclass
class OutboundCall:
    method: str
    url: str
    status: int | None = None  # None: no response (it raised)
    duration: float = 0.0  # until the response's head arrived
    sent: int | None = None  # request body bytes it declared
    size: int | None = None  # the response's Content-Length
    source: str = ""
    t: float = 0.0
    error: str = ""


@dataclass
class ProfileNode:
    """A function at one place in the call tree of a profiled request."""

    name: str
    file: str = ""
    line: int = 0
    user: bool = False  # the user's code (not the standard library, site-packages...)
    calls: int = 0
    total: float = 0.0  # seconds, itself and what it called
    children: list[ProfileNode] = field(default_factory=list)

    @property
    def own(self) -> float:
        return max(self.total - sum(c.total for c in self.children), 0.0)


PROFILE_NODES = 20_000  # a profile read from a file holds at most this many nodes
PROFILE_DEPTH = 150  # and at most this many levels (the agent sends up to 120)


def profile_from(value: Any) -> ProfileNode | None:
    """The agent's ``[name, file, line, user, calls, total, children]`` tree, checked;
    None when it is not one. Nodes past PROFILE_NODES are left out."""
    budget = [PROFILE_NODES]

    def node(item: Any, depth: int) -> ProfileNode | None:
        if (type(item) not in (list, tuple) or len(item) != 7 or budget[0] <= 0
                or depth > PROFILE_DEPTH):
            return None
        budget[0] -= 1
        name, file, line, user, calls, total, children = item
        kids = [n for n in (node(c, depth + 1) for c in
                            (children if type(children) in (list, tuple) else ()))
                if n is not None]
        return ProfileNode(_text(name), _text(file), _count(line) or 0, user is True,
                           _count(calls) or 0, _number(total), kids)

    return node(value, 0)


def profile_to_plain(root: ProfileNode) -> list[Any]:
    return [root.name, root.file, root.line, root.user, root.calls, root.total,
            [profile_to_plain(c) for c in root.children]]


def top_functions(root: ProfileNode, limit: int = 50) -> list[dict[str, Any]]:
    """Functions by own time: ``name, file, line, user, calls, own, cumulative``; a
    function's cumulative time counts each outermost call once (not its recursion)."""
    table: dict[tuple[str, str, int], dict[str, Any]] = {}

    def walk(node: ProfileNode, open_keys: frozenset[tuple[str, str, int]]) -> None:
        key = (node.name, node.file, node.line)
        row = table.setdefault(key, {"name": node.name, "file": node.file, "line": node.line,
                                     "user": node.user, "calls": 0, "own": 0.0,
                                     "cumulative": 0.0})
        row["calls"] += node.calls
        row["own"] += node.own
        if key not in open_keys:
            row["cumulative"] += node.total
        for child in node.children:
            walk(child, open_keys | {key})

    for child in root.children:
        walk(child, frozenset())
    return sorted(table.values(), key=lambda r: -r["own"])[:limit]


# -- reading values that may come from anywhere ------------------------------------------

def _text(value: Any) -> str:
    return value if type(value) is str else ""


def _number(value: Any) -> float:
    return float(value) if type(value) in (int, float) and value == value else 0.0


def _count(value: Any) -> int | None:
    return value if type(value) is int else None


def _context(value: Any) -> dict[str, str]:
    if type(value) is not dict:
        return {}
    return {k: v for k, v in value.items() if type(k) is str and type(v) is str}


def query_from(data: dict[str, Any]) -> Query:
    return Query(_text(data.get("sql")), _text(data.get("params")),
                 _number(data.get("duration")), _count(data.get("rows")),
                 _text(data.get("db")), _text(data.get("source")), _number(data.get("t")),
                 data.get("many") is True, _text(data.get("error")),
                 [line for line in data.get("stack") or () if type(line) is str][:100]
                 if type(data.get("stack")) in (list, tuple) else [])


def template_from(data: dict[str, Any]) -> TemplateRender:
    depth = _count(data.get("depth"))
    return TemplateRender(_text(data.get("name")), _number(data.get("duration")),
                          depth if depth is not None and depth >= 0 else 0,
                          _text(data.get("engine")), _text(data.get("source")),
                          _number(data.get("t")), _context(data.get("context")),
                          _text(data.get("error")))


def outbound_from(data: dict[str, Any]) -> OutboundCall:
    return OutboundCall(_text(data.get("method")), _text(data.get("url")),
                        _count(data.get("status")), _number(data.get("duration")),
                        _count(data.get("sent")), _count(data.get("size")),
                        _text(data.get("source")), _number(data.get("t")),
                        _text(data.get("error")))


def _plain(item: Any) -> dict[str, Any]:
    data = dict(vars(item))
    if "context" in data:
        data["context"] = dict(data["context"])
    if "stack" in data:
        data["stack"] = list(data["stack"])
    return data


def to_plain(x: Any) -> dict[str, Any]:
    """The lists and the profile as plain data (for ``Exchange.to_dict``); {} when
    there is nothing."""
    if not (x.queries or x.templates or x.outbound or x.profile):
        return {}
    inside = {"queries": [_plain(q) for q in x.queries],
              "templates": [_plain(t) for t in x.templates],
              "outbound": [_plain(o) for o in x.outbound]}
    if x.profile is not None:
        inside["profile"] = profile_to_plain(x.profile)
    return {"inside": inside}


def from_plain(data: dict[str, Any]) -> dict[str, Any]:
    """``to_plain``'s value read back as Exchange fields; items that are not tables left out."""
    inside = data.get("inside")
    if type(inside) is not dict:
        return {}
    fields: dict[str, Any] = {
        name: [read(item) for item in _items(inside.get(name))]
        for name, read in (("queries", query_from), ("templates", template_from),
                           ("outbound", outbound_from))}
    fields["profile"] = profile_from(inside.get("profile"))
    return fields


def _items(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if type(item) is dict] if type(value) is list else []


def summary_line(x: Any) -> str:
    """"5 SQL queries · 7 templates · 1 HTTP call": what ran inside, or ""."""
    parts = []
    for items, one, many in ((x.queries, "SQL query", "SQL queries"),
                             (x.templates, "template", "templates"),
                             (x.outbound, "HTTP call", "HTTP calls")):
        if items:
            parts.append(f"{len(items)} {one if len(items) == 1 else many}")
    return " · ".join(parts)


# -- findings -------------------------------------------------------------------------------

_LITERAL = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b|%s|%\(\w+\)s|:\w+|\$\d+|\?")
_LIST = re.compile(r"\(\s*\?(?:\s*,\s*\?)*\s*\)")
_SPACE = re.compile(r"\s+")


def shape(sql: str) -> str:
    """The statement with its literals and placeholders as ``?`` and lists of them as
    ``(?)``: two queries that differ only in values have the same shape."""
    text = _LITERAL.sub("?", sql)
    return _SPACE.sub(" ", _LIST.sub("(?)", text)).strip()


def set_slow_query(seconds: float) -> None:
    global SLOW_QUERY
    SLOW_QUERY = seconds


def check_queries(queries: Sequence[Query]) -> list[tuple[Finding, float]]:
    """The findings of one exchange's queries, with the time each refers to."""
    if not queries:
        return []
    found: list[tuple[Finding, float]] = []
    shapes = Counter(shape(q.sql) for q in queries)
    for statement, times in shapes.items():
        if times < REPEATED:
            continue
        runs = [q for q in queries if shape(q.sql) == statement]
        where = Counter(q.source for q in runs if q.source).most_common(1)
        line = f" from {where[0][0]}" if where else ""
        found.append((Finding("repeated-query", (
            f"The same query ran {times} times in this request{line}: "
            f"{_cut(statement)}. One query per row of an earlier one is an \"N+1\": "
            "fetch them together (a JOIN or WHERE … IN; select_related/prefetch_related "
            "in Django, selectinload in SQLAlchemy).")), runs[REPEATED - 1].t))
    slow = SLOW_QUERY
    for q in queries:
        if q.duration >= slow:
            at = f" at {q.source}" if q.source else ""
            found.append((Finding("slow-query", (
                f"A query took {q.duration * 1000:.0f} ms{at} (the threshold is "
                f"{slow * 1000:.0f} ms): {_cut(shape(q.sql))}. An index on the columns "
                "it filters or sorts by, or fewer rows, makes it faster.")), q.t))
    return found


def _cut(text: str, cap: int = 120) -> str:
    return text if len(text) <= cap else text[: cap - 1] + "…"


def problems(queries: Iterable[Query]) -> int:
    """How many findings :func:`check_queries` gives (all are warnings)."""
    return len(check_queries(list(queries)))


# -- HAR ------------------------------------------------------------------------------------

def _ms(seconds: float) -> float:
    return seconds * 1000


def to_har(x: Any) -> dict[str, Any]:
    """``_wsgi.queries``, ``templates`` and ``outbound`` (only those that are not empty)."""
    har: dict[str, Any] = {}
    if x.queries:
        har["queries"] = [{"sql": q.sql, "params": q.params, "duration_ms": _ms(q.duration),
                           "rows": q.rows, "db": q.db, "source": q.source, "t_ms": _ms(q.t),
                           **({"many": True} if q.many else {}),
                           **({"stack": list(q.stack)} if q.stack else {}),
                           **({"error": q.error} if q.error else {})} for q in x.queries]
    if x.templates:
        har["templates"] = [{"name": r.name, "duration_ms": _ms(r.duration),
                             "source": r.source, "depth": r.depth, "engine": r.engine,
                             "t_ms": _ms(r.t), "context": dict(r.context),
                             **({"error": r.error} if r.error else {})} for r in x.templates]
    if x.profile is not None:
        har["profile"] = {"tree": profile_to_plain(x.profile),
                          "top": top_functions(x.profile, 30)}
    if x.outbound:
        har["outbound"] = [{"method": o.method, "url": o.url, "status": o.status,
                            "duration_ms": _ms(o.duration), "sent": o.sent, "size": o.size,
                            "source": o.source, "t_ms": _ms(o.t),
                            **({"error": o.error} if o.error else {})} for o in x.outbound]
    return har


def from_har(ours: dict[str, Any]) -> dict[str, Any]:
    """Exchange fields from a HAR entry's ``_wsgi`` written by :func:`to_har`."""
    def seconds(item: dict[str, Any]) -> dict[str, Any]:
        item = dict(item)
        for key in ("duration", "t"):
            value = item.pop(f"{key}_ms", None)
            item[key] = _number(value) / 1000
        return item

    fields: dict[str, Any] = {
        name: [read(seconds(item)) for item in _items(ours.get(name))]
        for name, read in (("queries", query_from), ("templates", template_from),
                           ("outbound", outbound_from))}
    profile = ours.get("profile")
    fields["profile"] = profile_from(profile.get("tree")) if type(profile) is dict else None
    return fields
