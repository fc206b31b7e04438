"""A JSON API: the same WSGI function, a different Content-Type.

``GET /api/books`` answers a JSON list; ``POST /api/books`` with a JSON body
adds a book and answers ``201 Created``. The app turns Python data into bytes
with ``json.dumps(...).encode()`` and says so with
``Content-Type: application/json``; the client does the reverse. It also logs
each change with :mod:`logging`, which the inspector shows per request.
"""

import json
import logging
import threading

log = logging.getLogger("json_api")
_lock = threading.Lock()
BOOKS = [
    {"id": 1, "title": "Fluent Python", "tags": ["python", "advanced"], "available": True},
    {"id": 2, "title": "Flask Web Development", "tags": ["flask", "web"], "available": False},
]


def _answer(start_response, status, data):
    body = json.dumps(data, indent=None).encode("utf-8")
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(body)))])
    return [body]


def app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    method = environ["REQUEST_METHOD"]
    if path in ("/", "/api/books"):
        if method == "POST":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            try:
                book = json.loads(environ["wsgi.input"].read(size) or b"{}")
            except ValueError:
                return _answer(start_response, "400 Bad Request", {"error": "invalid JSON"})
            with _lock:
                book["id"] = len(BOOKS) + 1
                BOOKS.append(book)
            log.warning("added book %s: %s", book["id"], book.get("title"))
            return _answer(start_response, "201 Created", book)
        return _answer(start_response, "200 OK", {"count": len(BOOKS), "books": BOOKS})
    return _answer(start_response, "404 Not Found", {"error": f"no such endpoint {path}"})
