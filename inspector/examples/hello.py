"""The lesson's example: a WSGI application is just a function.

Serve it with ``wsgi-inspector inspector.examples.hello:app`` (the default) or
``gunicorn -w 4 inspector.examples.hello:app``.
"""


def app(environ, start_response):
    body = b"Hello, World!\n"
    start_response("200 OK", [
        ("Content-Type", "text/plain"),
        ("Content-Length", str(len(body))),
    ])
    return iter([body])
