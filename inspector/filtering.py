"""The filter language: one syntax for the list, the breakpoints, ``--break`` and ``--filter``.

A filter is a line of terms separated by spaces; every term must hold (AND).
A leading ``-`` negates a term (``-status:2xx``); double quotes keep spaces in
a value (``body:"out of stock"``, ``"/my path"``). Letters in keys and values
are case-insensitive.

=========================  ====================================================
term                       matches
=========================  ====================================================
``text``                   the path and query contain ``text``
``*``                      every exchange
``method:POST``            the request method (``method:GET,HEAD``: any of them)
``status:404``             the status code the client got; ``4xx`` or ``4`` a
                           class, ``400-499`` a range, ``>=400``, ``error``
                           (400 and above), ``none`` (no reply)
``path:/api/*``            the path, as a glob (``*`` ``?`` ``[...]``); without
                           a glob character, a path prefix
``header:NAME``            a request or response header of that name is there
``header:NAME=VALUE``      ... and its value holds the words of ``VALUE``
                           (as ``body:`` does; ``=Mozi*`` a word prefix)
``reqheader:``/``resheader:``  the same, on one side only
``body:TEXT``              the request or response body holds the words of
                           ``TEXT`` in that order (whole words; ``body:tok*``
                           a word prefix); gzip and deflate bodies decoded
``reqbody:``/``resbody:``  the same, on one side only
``type:json``              the response's Content-Type contains ``json``
``dur:>100ms``             the app's duration; ``us`` ``ms`` ``s`` ``m`` (a bare
                           number is ms); ``>`` ``>=`` ``<`` ``<=`` ``=``, a
                           range ``100ms-2s``; no operator means ``>=``
``size:>1mb``              the response body's size; ``b`` ``kb`` ``mb`` ``gb``
                           (1024-based), same operators
``has:findings``           PEP 3333 findings (not mere notes); ``has:error`` an
                           exception; ``has:edits`` changed while stepping;
                           ``has:query`` a query string; ``has:queries`` SQL
                           queries the app ran
``is:paused``              waiting at a breakpoint; ``is:resent`` sent again
                           from the window; ``is:active``, ``is:complete``,
                           ``is:error`` (an exception or a 5xx), ``is:dropped``
                           (no reply), ``is:server`` (waitress answered alone)
=========================  ====================================================

Using it::

    flt = parse("method:POST -status:2xx")   # FilterError(one sentence) if bad
    flt.matches(summary)                     # the list's Summary (or any object
                                             # with its attributes)
    flt.searches                             # terms the session's index answers
    flt.matches(summary, found)              # found: {Search: set of ids}
    bp = parse_breakpoint("method:POST path:/api/*")   # request-side terms only
    bp.matches_request(environ)              # in the app's process

Body, header and ``has:edits`` terms are :class:`Search` terms: a summary does
not hold bodies or headers, so whoever has the session looks them up (the host's
full-text index, :mod:`inspector.host.bodyindex`) and passes the ids found. A
breakpoint decides when a request arrives, before the app runs: it may use the
free text, ``method:``, ``path:`` and the request's headers, nothing else.

Standard library only (the agent imports it in the user's interpreter, Python
3.9 and later). The tokenizer is hand-written: ``shlex`` would turn
``"a:b"`` (free text) into ``a:b`` (a key) and has no place for an error.
"""

from __future__ import annotations

import fnmatch
import re
import unicodedata
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["Filter", "FilterError", "Search", "Term", "parse", "parse_breakpoint", "words"]

Test = Callable[[Any], bool]


class FilterError(ValueError):
    """A filter that cannot be read; ``str()`` is one sentence saying what to change."""


@dataclass(frozen=True)
class Search:
    """A term the session answers: ``kind`` body, header or edits."""

    kind: str
    side: str = "any"  # "req", "res" or "any"
    text: str = ""  # body: the words; header: its name
    value: str | None = None  # header: the words its value must hold (None: any value)
    prefix: bool = False  # the last word (of the body text, of the header value) is a prefix


@dataclass(frozen=True)
class Term:
    """One term: what it tests on a summary, on a request's environ, or what to search."""

    key: str  # "" for free text
    value: str
    negate: bool = False
    on_summary: Test | None = field(default=None, compare=False)
    on_request: Callable[[Mapping[str, Any]], bool] | None = field(default=None,
                                                                      compare=False)
    search: Search | None = None

    def __str__(self) -> str:
        plain = not any(c.isspace() or c == '"' for c in self.value) and (
            self.key or (":" not in self.value and not self.value.startswith("-")))
        value = self.value if plain else '"' + self.value.replace('"', "") + '"'
        return ("-" if self.negate else "") + (f"{self.key}:{value}" if self.key else value)


# -- reading the text ------------------------------------------------------------------

_KEY = re.compile(r"([A-Za-z]+):")


def split(text: str) -> list[tuple[bool, str, str]]:
    """The terms of ``text`` as ``(negated, key, value)``; key "" is free text."""
    terms = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        negate = text[i] == "-" and i + 1 < n and not text[i + 1].isspace()
        i += negate
        match = _KEY.match(text, i)
        key = ""
        if match:
            key, i = match.group(1).lower(), match.end()
        value, i = _value(text, i)
        terms.append((negate, key, value))
    return terms


def _value(text: str, i: int) -> tuple[str, int]:
    """The value starting at ``i``, up to the next space outside quotes (which are
    dropped), and where it ends."""
    parts = []
    n = len(text)
    while i < n and not text[i].isspace():
        if text[i] == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise FilterError('A quote is not closed; add the closing " or remove '
                                  "the opening one.")
            parts.append(text[i + 1:end])
            i = end + 1
        else:
            end = i
            while end < n and not text[end].isspace() and text[end] != '"':
                end += 1
            parts.append(text[i:end])
            i = end
    return "".join(parts), i


# -- numbers with units ------------------------------------------------------------------

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    "<": lambda a, b: a < b, "=": lambda a, b: a == b}
_NUMBER = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*([a-zµ]*)$")
_DURATION_UNITS = {"": 1e-3, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "sec": 1.0,
                   "m": 60.0, "min": 60.0}
_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1024 ** 2,
               "mb": 1024 ** 2, "mib": 1024 ** 2, "g": 1024 ** 3, "gb": 1024 ** 3,
               "gib": 1024 ** 3}


def _amount(text: str, units: Mapping[str, float], key: str, example: str) -> float:
    match = _NUMBER.match(text.strip().lower())
    if match is None or match.group(2) not in units:
        raise FilterError(f"{key}:{text} is not a {key} I can read; write it like "
                          f"{key}:{example}.")
    return float(match.group(1)) * units[match.group(2)]


def _comparison(text: str, read: Callable[[str], float], default_op: str = ">="
                ) -> Callable[[float], bool]:
    """``>100``, ``<=2``, ``=5``, ``10-20`` or a bare number (``default_op``)."""
    for op in (">=", "<=", ">", "<", "="):
        if text.startswith(op):
            bound, compare = read(text[len(op):]), _OPS[op]
            return lambda v: compare(v, bound)
    low, dash, high = text.partition("-")
    if dash and low and high:
        lo, hi = read(low), read(high)
        return lambda v: lo <= v <= hi
    bound, compare = read(text), _OPS[default_op]
    return lambda v: compare(v, bound)


# -- the terms ---------------------------------------------------------------------------

def _path(environ: Mapping[str, Any]) -> str:
    return str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))


def _free_text(value: str) -> Term:
    if value in ("*", "all"):
        return Term("", value, on_summary=lambda s: True, on_request=lambda e: True)
    needle = value.lower()

    def on_summary(s: Any) -> bool:
        return needle in s.path.lower() or needle in s.query.lower()

    def on_request(e: Mapping[str, Any]) -> bool:
        return needle in _path(e).lower() or needle in str(e.get("QUERY_STRING", "")).lower()
    return Term("", value, on_summary=on_summary, on_request=on_request)


def _method(value: str) -> Term:
    methods = frozenset(m.upper() for m in value.split(",") if m)
    return Term("method", value, on_summary=lambda s: s.method.upper() in methods,
                on_request=lambda e: str(e.get("REQUEST_METHOD", "")).upper() in methods)


def _path_term(value: str) -> Term:
    pattern = value.lower()
    if any(c in pattern for c in "*?["):
        def check(path: str) -> bool:
            return fnmatch.fnmatchcase(path.lower(), pattern)
    else:
        def check(path: str) -> bool:
            return path.lower().startswith(pattern)
    return Term("path", value, on_summary=lambda s: check(s.path),
                on_request=lambda e: check(_path(e)))


_STATUS_WORDS: dict[str, Test] = {
    "error": lambda s: s.status is not None and s.status >= 400,
    "none": lambda s: s.status is None,
}


def _status(value: str) -> Term:
    word = _STATUS_WORDS.get(value.lower())
    if word is not None:
        return Term("status", value, on_summary=word)
    klass = value.lower().rstrip("x")
    if klass.isdigit() and len(klass) < 3 and len(value) in (1, 3) and klass != "0":
        low = int(klass) * 10 ** (3 - len(klass))
        high = low + 10 ** (3 - len(klass))
        return Term("status", value,
                    on_summary=lambda s: s.status is not None and low <= s.status < high)

    def read(text: str) -> float:
        if not text.isdigit():
            raise FilterError(f"status:{value} is not a status I can read; write a code "
                              "(404), a class (5xx), a range (400-499) or error.")
        return float(text)
    compare = _comparison(value, read, default_op="=")
    return Term("status", value,
                on_summary=lambda s: s.status is not None and compare(s.status))


def _type(value: str) -> Term:
    needle = value.lower()
    return Term("type", value, on_summary=lambda s: needle in s.content_type.lower())


def _duration(value: str) -> Term:
    compare = _comparison(value, lambda t: _amount(t, _DURATION_UNITS, "dur", ">100ms"))
    return Term("dur", value,
                on_summary=lambda s: s.duration is not None and compare(s.duration))


def _size(value: str) -> Term:
    compare = _comparison(value, lambda t: _amount(t, _SIZE_UNITS, "size", ">1mb"))
    return Term("size", value, on_summary=lambda s: compare(s.response_size))


_HAS: dict[str, Test] = {
    "findings": lambda s: s.findings > 0,
    "error": lambda s: bool(s.error),
    "query": lambda s: bool(s.query),
    "queries": lambda s: getattr(s, "queries", 0) > 0,  # SQL the app ran (Inside)
}
_IS: dict[str, Test] = {
    "paused": lambda s: s.state == "paused",
    # A flag the window sets on what it sent again; a summary without it was not.
    "resent": lambda s: getattr(s, "resent_from", None) is not None,
    "active": lambda s: s.state == "active",
    "complete": lambda s: s.state not in ("active", "paused"),
    "error": lambda s: bool(s.error) or (s.status or 0) >= 500,
    "dropped": lambda s: s.state == "dropped",
    "server": lambda s: s.state == "server",
}
_ALIASES = {"finding": "findings", "errors": "error", "edit": "edits", "edited": "edits",
            "done": "complete", "failed": "error"}


def _has(value: str) -> Term:
    what = _ALIASES.get(value.lower(), value.lower())
    if what == "edits":
        return Term("has", value, search=Search("edits"))
    if what not in _HAS:
        raise FilterError(f"has:{value} is not something I know; use has:findings, "
                          "has:error, has:edits, has:query or has:queries.")
    return Term("has", value, on_summary=_HAS[what])


def _is(value: str) -> Term:
    what = _ALIASES.get(value.lower(), value.lower())
    if what not in _IS:
        raise FilterError(f"is:{value} is not a state I know; use is:paused, is:resent, "
                          "is:active, is:complete, is:error, is:dropped or is:server.")
    return Term("is", value, on_summary=_IS[what])


def _header(key: str, value: str) -> Term:
    name, _, wanted = value.partition("=")
    name = name.strip()
    if not name:
        raise FilterError(f"{key}:{value} names no header; write it like "
                          f"{key}:Content-Type or {key}:Content-Type=json.")
    found = words(wanted)
    if wanted.strip() and not found:
        raise FilterError(f"{key}:{value} has no word to look for in the value; a value "
                          f"is matched by its words, e.g. {key}:{name}=json.")
    side = {"header": "any", "reqheader": "req", "resheader": "res"}[key]
    prefix = wanted.endswith("*")
    search = Search("header", side, name.lower().replace("_", "-"),
                    " ".join(found) if found else None, prefix)
    request = _request_header(name, found, prefix) if side != "res" else None
    return Term(key, value, on_request=request, search=search)


def _request_header(name: str, wanted: list[str], prefix: bool
                    ) -> Callable[[Mapping[str, Any]], bool]:
    env_key = name.upper().replace("-", "_")
    if env_key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        env_key = "HTTP_" + env_key

    def check(environ: Mapping[str, Any]) -> bool:
        got = environ.get(env_key)
        if got is None:
            return False
        return not wanted or has_phrase(words(str(got)), wanted, prefix)
    return check


def _body(key: str, value: str) -> Term:
    prefix = value.endswith("*")
    found = words(value)
    if not found:
        raise FilterError(f"{key}:{value} has no word to look for; body search finds "
                          f"words, e.g. {key}:token or {key}:\"out of stock\".")
    side = {"body": "any", "reqbody": "req", "resbody": "res"}[key]
    return Term(key, value, search=Search("body", side, " ".join(found), prefix=prefix))


_WORD = re.compile(r"[^\W_]+")


def has_phrase(found: list[str], wanted: list[str], prefix: bool = False) -> bool:
    """Do the words ``wanted`` come in a row in ``found`` (the last one a prefix of its
    word with ``prefix``)? As an FTS5 phrase query answers."""
    n = len(wanted)
    if not n:
        return True
    head, last = wanted[:-1], wanted[-1]
    for i in range(len(found) - n + 1):
        word = found[i + n - 1]
        if (word.startswith(last) if prefix else word == last) and found[i:i + n - 1] == head:
            return True
    return False


def words(text: str) -> list[str]:
    """The words of ``text`` as the body index reads them: runs of letters and
    digits, lower case, without accents (SQLite FTS5's unicode61 tokenizer)."""
    if text.isascii():  # nearly always: no accents to take off
        return _WORD.findall(text.lower())
    plain = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return _WORD.findall(plain)


_BUILDERS: dict[str, Callable[[str, str], Term]] = {
    "method": lambda k, v: _method(v),
    "status": lambda k, v: _status(v),
    "path": lambda k, v: _path_term(v),
    "type": lambda k, v: _type(v),
    "dur": lambda k, v: _duration(v),
    "size": lambda k, v: _size(v),
    "has": lambda k, v: _has(v),
    "is": lambda k, v: _is(v),
    "header": _header, "reqheader": _header, "resheader": _header,
    "body": _body, "reqbody": _body, "resbody": _body,
}
KEYS = tuple(_BUILDERS)
_KEY_ALIASES = {"duration": "dur", "larger": "size", "code": "status", "content": "type"}


def _term(negate: bool, key: str, value: str) -> Term:
    key = _KEY_ALIASES.get(key, key)
    if not key:
        return _with_negation(_free_text(value), negate) if value else _nothing(negate)
    build = _BUILDERS.get(key)
    if build is None:
        raise FilterError(f"{key}: is not a filter key; use one of "
                          f"{', '.join(k + ':' for k in KEYS)} (or quote the text, "
                          f'"{key}:{value}").')
    if not value:
        raise FilterError(f"{key}: needs a value after the colon, e.g. {_EXAMPLES[key]}.")
    return _with_negation(build(key, value), negate)


def _nothing(negate: bool) -> Term:
    raise FilterError('An empty "" matches nothing; put text between the quotes or '
                      "remove them.")


def _with_negation(term: Term, negate: bool) -> Term:
    if not negate:
        return term
    return Term(term.key, term.value, True, term.on_summary, term.on_request, term.search)


_EXAMPLES = {"method": "method:POST", "status": "status:404", "path": "path:/api/*",
             "type": "type:json", "dur": "dur:>100ms", "size": "size:>1mb",
             "has": "has:findings", "is": "is:paused", "header": "header:Authorization",
             "reqheader": "reqheader:X-Debug", "resheader": "resheader:Set-Cookie",
             "body": "body:token", "reqbody": "reqbody:email", "resbody": "resbody:error"}


# -- the filter --------------------------------------------------------------------------

Found = Mapping[Search, Set[int]]


@dataclass(frozen=True)
class Filter:
    """A parsed filter: every term must hold (see the module docstring)."""

    text: str
    terms: tuple[Term, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.terms

    @property
    def searches(self) -> tuple[Search, ...]:
        """What the session must look up for this filter (no duplicates, in order)."""
        seen: dict[Search, None] = {}
        for term in self.terms:
            if term.search is not None:
                seen.setdefault(term.search)
        return tuple(seen)

    def predicate(self, found: Found | None = None) -> Test:
        """A fast test of summaries; a search term tests ``id in found[search]``
        (nothing is found for a search missing from ``found``)."""
        checks = []
        for term in self.terms:
            test = term.on_summary
            if test is None:
                ids = (found or {}).get(term.search, frozenset())  # type: ignore[arg-type]
                test = _member(ids)
            checks.append((test, term.negate))
        if not checks:
            return lambda s: True
        if len(checks) == 1:
            (test, negate), = checks
            return (lambda s: not test(s)) if negate else test
        if len(checks) == 2:  # the common case, without a loop per row
            (first, no_first), (second, no_second) = checks
            return lambda s: first(s) != no_first and second(s) != no_second

        def every(s: Any) -> bool:
            for test, negate in checks:  # noqa: SIM110 (a loop: no generator per row)
                if test(s) == negate:
                    return False
            return True
        return every

    def matches(self, summary: Any, found: Found | None = None) -> bool:
        return self.predicate(found)(summary)

    def matches_request(self, environ: Mapping[str, Any]) -> bool:
        """For a breakpoint: a term that cannot apply to a request matches nothing."""
        for term in self.terms:
            check = term.on_request
            if check is None or check(environ) == term.negate:
                return False
        return True

    def request_problem(self) -> str | None:
        """Why this filter cannot be a breakpoint, in one sentence; None if it can."""
        for term in self.terms:
            if term.on_request is None:
                return (f"{term.key}: cannot be in a breakpoint: a breakpoint decides when "
                        "the request arrives, before the app answers, so it can use the "
                        "path, method:, path: and the request's headers (header:NAME) only.")
        return None

    def describe(self) -> str:
        """What the filter holds, in words, for a preview line."""
        if not self.terms or all(t.key == "" and t.value in ("*", "all") for t in self.terms):
            return "every request"
        return ", ".join(_describe(t) for t in self.terms)

    def __str__(self) -> str:
        return " ".join(str(t) for t in self.terms)


def _member(ids: Set[int]) -> Test:
    return lambda s: s.id in ids


def _describe(term: Term) -> str:
    nots = "not " if term.negate else ""
    if not term.key:
        if term.value in ("*", "all"):
            return "every request"
        return f"{nots}path or query containing “{term.value}”"
    if term.key == "path":
        glob = any(c in term.value for c in "*?[")
        return f"{nots}path {'matching' if glob else 'starting with'} {term.value}"
    if term.key == "method":
        return f"{nots}method {term.value.upper()}"
    if term.key.endswith("header"):
        name, eq, value = term.value.partition("=")
        side = {"reqheader": "request ", "resheader": "response "}.get(term.key, "")
        has = f"{side}header {name}" + (f" with “{value}”" if eq and value else "")
        return f"{'no ' if term.negate else ''}{has}"
    return str(term)


def parse(text: str) -> Filter:
    """The filter ``text`` says; raises :class:`FilterError` (one sentence) if it
    cannot be read. An empty text matches everything."""
    terms = tuple(_term(*part) for part in split(text))
    return Filter(text, terms)


def parse_breakpoint(text: str) -> Filter:
    """A filter for a breakpoint: ``parse`` plus a FilterError for a term that
    needs the answer (a status, a duration, a response body...)."""
    flt = parse(text)
    problem = flt.request_problem()
    if problem:
        raise FilterError(problem)
    return flt


# The syntax, term by term, for help texts (Help ▸ Filter syntax; kept beside the code
# that reads it, so a new key cannot be left out: a test checks every key is here).
SYNTAX: tuple[tuple[str, str], ...] = (
    ("text", "the path or query contains the text (any case); \"two words\" in quotes"),
    ("*", "every exchange (a breakpoint that pauses every request)"),
    ("method:POST", "the request method; method:GET,HEAD for any of several"),
    ("status:404", "the status the client got; status:4xx or status:4 a class, "
                   "status:400-499 a range, status:>=400, status:error (400 and above), "
                   "status:none (no reply)"),
    ("path:/api/*", "the path as a glob (* ? [ab]); without a glob character a prefix: "
                    "path:/api"),
    ("header:NAME", "a request or response header of that name is there"),
    ("header:NAME=VALUE", "... and its value holds the words of VALUE in this order, as "
                          "body: does (header:Content-Type=json, header:User-Agent=curl*)"),
    ("reqheader: resheader:", "the same, on the request or the response only"),
    ("body:TEXT", "the request or response body holds these words in this order (whole "
                  "words, any case, accents ignored; body:tok* for a word prefix); gzip "
                  "and deflate bodies are decoded, binary ones are not searched"),
    ("reqbody: resbody:", "the same, in the request or the response body only"),
    ("type:json", "the response's Content-Type contains the text"),
    ("dur:>100ms", "the app's duration: us, ms, s, m (a bare number is ms); > >= < <= = "
                   "or a range dur:100ms-2s; no operator means at least"),
    ("size:>1mb", "the response body's size: b, kb, mb, gb (1024-based); the same "
                  "operators"),
    ("has:findings", "PEP 3333 findings; has:error an exception; has:edits changed while "
                     "stepping; has:query a query string; has:queries SQL queries the app ran"),
    ("is:paused", "waiting at a breakpoint; is:resent sent again from the window; "
                  "is:active, is:complete, is:error (an exception or a 5xx), is:dropped "
                  "(no reply), is:server (answered by waitress alone)"),
    ("-TERM", "negates a term: -path:/static, -status:2xx, -header:Cookie"),
)
BREAKPOINT_NOTE = ("A breakpoint decides when a request arrives, before the app runs: it "
                   "may use the text, method:, path: and the request's headers "
                   "(header:, reqheader:), with - to negate; the other terms need the "
                   "answer and are refused with a sentence saying so.")
