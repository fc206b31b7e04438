"""The same page in Flask: what the framework does with the same WSGI call.

Compare with "Hello, World!" (a bare function) and "JSON API": ``app`` here is
still one WSGI callable (``app(environ, start_response)``, see the Flow tab),
but Flask routes by ``PATH_INFO`` for you (``@app.route``), wraps the environ
in a ``request`` object (``request.args`` is the parsed ``QUERY_STRING``), and
builds the status line, headers and body from what a view returns.

Try ``/``, ``/hello/Ada``, ``/api/books?tag=web`` and ``/nowhere``.
"""

try:
    from flask import Flask, jsonify, request
except ImportError:
    from . import needs

    raise needs("Flask", "flask") from None

app = Flask(__name__)

BOOKS = [
    {"id": 1, "title": "Fluent Python", "tags": ["python", "advanced"]},
    {"id": 2, "title": "Flask Web Development", "tags": ["flask", "web"]},
]


@app.route("/")
def hello():
    # A str becomes a 200 text/html response with a Content-Length: start_response
    # and the body list are Flask's to make.
    return "Hello, World!"


@app.route("/hello/<name>")
def hello_name(name):
    # The <name> part of the path arrives as an argument: routing on PATH_INFO.
    return f"Hello, {name}!"


@app.route("/api/books")
def books():
    tag = request.args.get("tag")  # QUERY_STRING, parsed
    found = [b for b in BOOKS if tag is None or tag in b["tags"]]
    return jsonify(found)  # Content-Type: application/json
