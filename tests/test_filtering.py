"""The filter language: every term parsed and matched, on summaries and on requests."""

from __future__ import annotations

from typing import Any

import pytest

from inspector.filtering import FilterError, Search, parse, parse_breakpoint, split, words
from inspector.host.eventlog import Summary


def summary(id: int, method: str = "GET", path: str = "/", status: int | None = 200,
            *, query: str = "", ctype: str = "text/plain", size: int = 10,
            duration: float | None = 0.01, findings: int = 0, error: bool = False,
            state: str = "complete") -> Summary:
    return Summary(id, 1_700_000_000.0, method, path, query, status, ctype, size, duration,
                   findings, error, state)


ROWS = [
    summary(1, path="/", duration=0.002),
    summary(2, "POST", "/api/books", 201, ctype="application/json", size=3000,
            duration=0.150),
    summary(3, path="/static/app.css", status=404, ctype="text/css"),
    summary(4, path="/boom", status=None, error=True, state="failed", duration=0.5),
    summary(5, path="/slow", status=None, state="active", duration=None, size=0),
    summary(6, "PUT", "/lint", 500, query="x=1&name=a b", findings=2, size=2 * 1024 ** 2,
            duration=2.5),
    summary(7, path="/held", status=None, state="paused", duration=None),
    summary(8, path="/API/Books/7", status=302, state="dropped"),
    summary(9, path="/bad request", status=400, state="server"),
]


def ids(text: str, found: dict[Search, set[int]] | None = None) -> list[int]:
    test = parse(text).predicate(found)
    return [s.id for s in ROWS if test(s)]


@pytest.mark.parametrize(("text", "expected"), [
    ("", [1, 2, 3, 4, 5, 6, 7, 8, 9]),
    ("*", [1, 2, 3, 4, 5, 6, 7, 8, 9]),
    # free text: path or query, anywhere, any case
    ("api", [2, 8]),
    ("BOOKS", [2, 8]),
    ("name=a", [6]),
    ('"bad request"', [9]),
    ('"a:b"', []),  # quoted: text, not a key
    # method
    ("method:post", [2]),
    ("method:GET,put", [1, 3, 4, 5, 6, 7, 8, 9]),
    # status: code, class, short class, range, comparison, words
    ("status:404", [3]),
    ("status:5xx", [6]),
    ("status:4XX", [3, 9]),
    ("status:2", [1, 2]),
    ("status:300-499", [3, 8, 9]),
    ("status:>=400", [3, 6, 9]),
    ("status:<300", [1, 2]),
    ("status:error", [3, 6, 9]),
    ("status:none", [4, 5, 7]),
    # path: prefix without a glob character, a glob with one; any case
    ("path:/api", [2, 8]),
    ("path:/api/*/7", [8]),
    ("path:/static/*.css", [3]),
    ("path:/?oom", [4]),
    ("path:/[bh]*", [4, 7, 9]),
    # type
    ("type:json", [2]),
    ("type:text/", [1, 3, 4, 5, 6, 7, 8, 9]),
    # duration: units, operators, a range, a bare value (at least)
    ("dur:>100ms", [2, 4, 6]),
    ("dur:>=0.5s", [4, 6]),
    ("dur:<5ms", [1]),
    ("dur:100ms-1s", [2, 4]),
    ("dur:1s", [6]),
    ("dur:>2000us", [2, 3, 4, 6, 8, 9]),
    ("dur:>1m", []),
    # size
    ("size:>1mb", [6]),
    ("size:>=3000", [2, 6]),
    ("size:2kb-1mb", [2]),
    ("size:<1", [5]),
    ("size:=10", [1, 3, 4, 7, 8, 9]),
    # has:, is:
    ("has:findings", [6]),
    ("has:error", [4]),
    ("has:query", [6]),
    ("is:paused", [7]),
    ("is:active", [5]),
    ("is:complete", [1, 2, 3, 4, 6, 8, 9]),
    ("is:error", [4, 6]),
    ("is:dropped", [8]),
    ("is:server", [9]),
    ("is:resent", []),  # no summary here says it was resent
    # negation and AND
    ("-path:/static -status:2xx", [4, 5, 6, 7, 8, 9]),
    ("method:GET -status:none -is:error", [1, 3, 8, 9]),
    ("api status:2xx", [2]),
    ("-api", [1, 3, 4, 5, 6, 7, 9]),
])
def test_summary_terms(text: str, expected: list[int]) -> None:
    assert ids(text) == expected


def test_is_resent_reads_the_link_to_the_origin() -> None:
    rows = [summary(1)._replace(resent_from=12), summary(2)]
    test = parse("is:resent").predicate()
    assert [r.id for r in rows if test(r)] == [1]
    assert [r.id for r in rows if parse("-is:resent").matches(r)] == [2]


@pytest.mark.parametrize(("text", "search"), [
    ("body:Token", Search("body", "any", "token")),
    ('body:"Out of  STOCK"', Search("body", "any", "out of stock")),
    ("reqbody:e-mail", Search("body", "req", "e mail")),
    ("resbody:café*", Search("body", "res", "cafe", prefix=True)),
    ("header:X-Debug", Search("header", "any", "x-debug")),
    ("header:content_type=JSON", Search("header", "any", "content-type", "json")),
    ('reqheader:Authorization="Bearer a b"', Search("header", "req", "authorization",
                                                     "bearer a b")),
    ("resheader:Set-Cookie=", Search("header", "res", "set-cookie")),  # any value
    ("header:User-Agent=Curl/8*", Search("header", "any", "user-agent", "curl 8", True)),
    ("has:edits", Search("edits")),
])
def test_search_terms_are_looked_up_not_tested(text: str, search: Search) -> None:
    flt = parse(text)
    assert flt.searches == (search,)
    assert ids(text) == []  # nothing found: nothing matches
    assert ids(text, {search: {2, 6}}) == [2, 6]
    assert ids("-" + text, {search: {2, 6}}) == [1, 3, 4, 5, 7, 8, 9]
    assert ids(f"{text} status:5xx", {search: {2, 6}}) == [6]


def test_the_same_search_twice_is_looked_up_once() -> None:
    assert len(parse("body:a -body:a resbody:a").searches) == 2


def test_words_are_what_fts5_unicode61_reads() -> None:
    assert words("Hello, wörld_2 x-y ÉTÉ 42") == ["hello", "world", "2", "x", "y", "ete", "42"]


@pytest.mark.parametrize(("text", "terms"), [
    ('a "b c" -d', [(False, "", "a"), (False, "", "b c"), (True, "", "d")]),
    ('body:"x y" -path:/a', [(False, "body", "x y"), (True, "path", "/a")]),
    ('header:A="1 2"', [(False, "header", "A=1 2")]),
    ("- x", [(False, "", "-"), (False, "", "x")]),
    ("METHOD:get", [(False, "method", "get")]),
    ("  ", []),
])
def test_split(text: str, terms: list[tuple[bool, str, str]]) -> None:
    assert split(text) == terms


@pytest.mark.parametrize(("text", "says"), [
    ('"abc', "A quote is not closed"),
    ("body:\"abc", "A quote is not closed"),
    ("foo:bar", "foo: is not a filter key"),
    ("method:", "method: needs a value after the colon, e.g. method:POST."),
    ("status:abc", "status:abc is not a status I can read"),
    ("status:4x4", "is not a status I can read"),
    ("dur:>fast", "is not a dur I can read; write it like dur:>100ms."),
    ("size:10 parsecs", "10 is not"),  # "parsecs" is text; size:10 reads
    ("size:3lb", "is not a size I can read"),
    ("has:bugs", "has:bugs is not something I know"),
    ("is:nice", "is:nice is not a state I know"),
    ("body:{}", "has no word to look for"),
    ("header:=x", "names no header"),
    ("header:X-A=--", "has no word to look for in the value"),
    ('""', 'An empty "" matches nothing'),
])
def test_errors_are_one_sentence(text: str, says: str) -> None:
    if text == "size:10 parsecs":
        assert parse(text).terms  # reads fine
        return
    with pytest.raises(FilterError) as caught:
        parse(text)
    message = str(caught.value)
    assert says in message
    assert message.endswith(".") and "\n" not in message


# -- on requests (breakpoints) -------------------------------------------------------------

def environ(method: str = "GET", path: str = "/", query: str = "", **extra: str
            ) -> dict[str, Any]:
    return {"REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "",
            "QUERY_STRING": query, **extra}


@pytest.mark.parametrize(("text", "env", "matches"), [
    ("api", environ(path="/v1/API/x"), True),
    ("debug=1", environ(query="debug=1"), True),
    ("api", environ(path="/"), False),
    ("method:POST,PUT", environ("PUT"), True),
    ("-method:GET", environ("GET"), False),
    ("path:/api", environ(path="/api/x"), True),
    ("path:/api/*", environ(path="/api"), False),
    ("header:X-Debug=yes", environ(HTTP_X_DEBUG="Yes please"), True),
    ("header:X-Debug=yes", environ(HTTP_X_DEBUG="no"), False),
    ("header:X-Debug=ye", environ(HTTP_X_DEBUG="yes"), False),  # words, not a substring
    ("header:X-Debug=ye*", environ(HTTP_X_DEBUG="yes"), True),
    ('header:User-Agent="curl 8"', environ(HTTP_USER_AGENT="curl/8.1"), True),
    ("reqheader:content-type=json", environ(CONTENT_TYPE="application/json"), True),
    ("-header:Cookie", environ(HTTP_COOKIE="a=1"), False),
    ("-header:Cookie", environ(), True),
    ("*", environ("DELETE", "/x"), True),
])
def test_request_terms(text: str, env: dict[str, Any], matches: bool) -> None:
    assert parse_breakpoint(text).matches_request(env) is matches


@pytest.mark.parametrize("text", ["status:500", "body:token", "reqbody:x", "resheader:A",
                                  "type:json", "dur:>1s", "size:>1kb", "has:findings",
                                  "is:paused", "-has:edits"])
def test_a_breakpoint_says_which_term_cannot_apply(text: str) -> None:
    key = text.lstrip("-").split(":")[0]
    with pytest.raises(FilterError) as caught:
        parse_breakpoint(f"method:POST {text}")
    assert str(caught.value).startswith(f"{key}: cannot be in a breakpoint: a breakpoint "
                                        "decides when the request arrives")
    assert not parse(text).matches_request(environ("POST"))  # and never pauses


def test_describe_and_str() -> None:
    flt = parse('method:post -path:/static "a b" header:X-A=1 -header:Cookie')
    assert flt.describe() == ("method POST, not path starting with /static, path or query "
                              "containing “a b”, header X-A with “1”, no header Cookie")
    assert str(flt) == 'method:post -path:/static "a b" header:X-A=1 -header:Cookie'
    assert str(parse('"a:b" "-x"')) == '"a:b" "-x"'
    assert parse(str(parse('"a:b" "-x"'))).describe() == parse('"a:b" "-x"').describe()


def test_has_queries_reads_the_count_of_sql_the_app_ran() -> None:
    rows = [summary(1)._replace(queries=3), summary(2, query="a=1")]
    assert [r.id for r in rows if parse("has:queries").matches(r)] == [1]
    assert [r.id for r in rows if parse("-has:queries").matches(r)] == [2]
