"""A streamed response: the returned iterable yields the body piece by piece.

The app returns a generator. The WSGI server sends each piece as soon as it
is yielded, so a slow producer (a report, a large file, a countdown) starts
reaching the browser before it is finished. No Content-Length is known in
advance, so waitress sends the body with ``Transfer-Encoding: chunked``.
Watch the chunks and their times in the inspector's timeline.
"""

import time


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])

    def countdown():
        for n in range(5, 0, -1):
            yield f"{n}...\n".encode()
            time.sleep(0.1)
        yield b"Lift-off!\n"
    return countdown()
