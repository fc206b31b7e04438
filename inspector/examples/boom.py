"""An app that raises: what a server does with an exception.

The function fails before calling ``start_response``, so nothing has been
sent yet and waitress can still answer ``500 Internal Server Error``. The
traceback goes to the server's log (here: the inspector's error pane, where
``file:line`` opens the source), never to the client.
"""


def average(numbers):
    return sum(numbers) / len(numbers)


def app(environ, start_response):
    print("computing the average of no numbers at all...")
    value = average([])  # ZeroDivisionError
    body = f"{value}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
