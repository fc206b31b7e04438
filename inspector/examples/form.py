"""A form that posts: the request body arrives in ``wsgi.input``.

``GET /`` shows an HTML form. Submitting it sends ``POST /`` with the fields
URL-encoded in the body (``name=Ada&lang=python``); ``CONTENT_LENGTH`` says how
many bytes to read from ``environ["wsgi.input"]``, and ``urllib.parse``
decodes them. Frameworks do exactly this for ``request.form``.
"""

import html
from urllib.parse import parse_qs

FORM = """<!doctype html>
<html><head><meta charset="utf-8"><title>Form example</title></head><body>
<h1>Sign the guest book</h1>
<form method="post" action="/">
  <label>Name <input name="name" value="Ada"></label>
  <label>Favourite language <input name="lang" value="Python"></label>
  <button>Send</button>
</form>{result}
</body></html>
"""


def app(environ, start_response):
    result = ""
    if environ["REQUEST_METHOD"] == "POST":
        size = int(environ.get("CONTENT_LENGTH") or 0)
        fields = parse_qs(environ["wsgi.input"].read(size).decode("utf-8"))
        name = fields.get("name", ["?"])[0]
        lang = fields.get("lang", ["?"])[0]
        print(f"guest book: {name} likes {lang}")
        result = f"<p>Thanks, {html.escape(name)}! {html.escape(lang)} it is.</p>"
    body = FORM.format(result=result).encode("utf-8")
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]
