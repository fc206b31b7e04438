"""How what the client got differs from what the app returned, in one line."""

from __future__ import annotations

from .lint import content_length
from .model import Exchange


def wire_difference(x: Exchange) -> str:
    """One sentence on the difference, or "" when the wire was not recorded
    (or nothing but the server's usual headers differ: see :func:`added_headers`)."""
    if not x.wire_recorded:
        return ""
    if x.server_only and not x.status:
        return "the client hung up before waitress called the app; nothing was sent"
    if x.server_only:
        return f"waitress answered {x.status} itself; the app was not called"
    if x.client_disconnected:
        return f"the client hung up after {x.wire_size:,} bytes"
    if x.status != x.app_status:
        return _other_status(x)
    return _body_difference(x)


def _other_status(x: Exchange) -> str:
    code = x.status[:3] or "nothing"
    if not x.app_status:
        return f"waitress answered {code}: the app raised before start_response"
    if x.error is not None and x.error.phase == "chunk":
        return f"waitress answered {code}: the app's iterable raised before the first chunk"
    if x.error is not None:
        return (f"waitress answered {code}: the app raised ({x.error.type}) before the "
                "headers went out")
    return f"waitress answered {code} instead of the app's {x.app_status[:3]}"


def _body_difference(x: Exchange) -> str:
    sent, handed = x.sent_size, x.response_size
    if x.method == "HEAD":
        if sent:
            return (f"HEAD: a client reads no body, yet waitress sent the app's "
                    f"{sent:,} bytes after the head")
        return "HEAD: the body was not sent" if handed else ""
    if not x.client_reads_body and handed and not sent:
        return f"{x.status[:3]}: this status has no body; the app's {handed:,} bytes were dropped"
    declared = content_length(x.app_headers)
    if x.file_wrapper:
        limit = f" (Content-Length {declared})" if declared is not None else ""
        return f"wsgi.file_wrapper: waitress sent {sent:,} bytes of the file{limit}"
    if sent < handed:
        what = f"Content-Length {declared}: " if declared is not None else ""
        return f"{what}{handed - sent:,} bytes were cut"
    return ""


def added_headers(x: Exchange) -> list[str]:
    """Names of the headers the server added to the app's, in the order sent."""
    own = {name.lower() for name, _ in x.app_headers}
    return [name for name, _ in x.wire_headers if name.lower() not in own]
