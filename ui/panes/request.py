"""Request: headers, query parameters, cookies, form fields, multipart parts and the body."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl

from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from inspector.model import Exchange

from ..exchange_model import human_size
from .widgets import BodyView, KeyValueTable

SPECIAL_HEADERS = {"CONTENT_TYPE": "Content-Type", "CONTENT_LENGTH": "Content-Length"}


def request_headers(x: Exchange) -> list[tuple[str, str]]:
    """The request headers, rebuilt from the environ (HTTP_* plus the two CGI ones)."""
    out = []
    for key, (value, _kind) in x.environ.items():
        if key.startswith("HTTP_"):
            out.append((key[5:].replace("_", "-").title(), value))
        elif key in SPECIAL_HEADERS and value:
            out.append((SPECIAL_HEADERS[key], value))
    return sorted(out)


def cookies(header: str) -> list[tuple[str, str]]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # a malformed Cookie header: show it split by hand
        return [tuple(part.strip().partition("=")[::2])  # type: ignore[misc]
                for part in header.split(";") if part.strip()]
    return [(name, morsel.value) for name, morsel in jar.items()]


def multipart_parts(content_type: str, body: bytes) -> list[tuple[str, str, str, str]]:
    """(name, filename, content type, size or value) per part of a multipart body."""
    if not content_type.lower().startswith("multipart/"):
        return []
    message = message_from_bytes(
        f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace") + body,
        policy=policy.HTTP)
    parts = []
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        return []
    for part in message.iter_parts():
        params = dict(part.get_params(header="content-disposition") or [])
        payload = part.get_payload(decode=True) or b""
        filename = params.get("filename", "")
        if filename or not _is_text(payload):
            shown = human_size(len(payload))
        else:
            shown = payload.decode("utf-8", "replace")
        parts.append((params.get("name", ""), filename, part.get_content_type(), shown))
    return parts


def _is_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return len(data) < 2000


class RequestPane(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.headers = KeyValueTable()
        self.query = KeyValueTable()
        self.cookies = KeyValueTable()
        self.form = KeyValueTable()
        self.parts = KeyValueTable(("Name", "File name", "Type", "Value / size"))
        self.body = BodyView(modes=("Text", "JSON tree", "Hex"))
        self._tabs = [(self.headers, "Headers"), (self.query, "Query"),
                      (self.cookies, "Cookies"), (self.form, "Form"),
                      (self.parts, "Multipart"), (self.body, "Body")]
        for widget, title in self._tabs:
            self.tabs.addTab(widget, title)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)

    def show_exchange(self, x: Exchange | None) -> None:
        if x is None:
            for table in (self.headers, self.query, self.cookies, self.form, self.parts):
                table.set_rows([])
            self.body.set_body(b"", 0, "")
            self._retitle()
            return
        ctype = x.env("CONTENT_TYPE")
        self.headers.set_rows(request_headers(x))
        self.query.set_rows(parse_qsl(x.query, keep_blank_values=True))
        self.cookies.set_rows(cookies(x.env("HTTP_COOKIE")))
        form: list[tuple[str, str]] = []
        if ctype.lower().startswith("application/x-www-form-urlencoded"):
            form = parse_qsl(x.request_body.decode("latin-1"), keep_blank_values=True)
        self.form.set_rows(form)
        self.parts.set_rows(multipart_parts(ctype, x.request_body))
        self.body.set_body(x.request_body, x.request_size, ctype, note="No request body.",
                           content_encoding=x.env("HTTP_CONTENT_ENCODING"))
        self._retitle()

    def _retitle(self) -> None:
        for i, (widget, title) in enumerate(self._tabs):
            if isinstance(widget, KeyValueTable):
                n = widget.rowCount()
                self.tabs.setTabText(i, f"{title} ({n})" if n else title)
