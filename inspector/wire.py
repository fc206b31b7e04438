"""The wire protocol between the agent (app process) and the host.

Stdlib only: both sides import it. See docs/protocol.md.

A *frame* is ``u32 length`` (big-endian) then that many bytes: ``u32 json_len``,
a UTF-8 JSON array of messages, then a blob. A message is a dict; a top-level
``bytes`` value travels in the blob and appears in the JSON as
``{"$b": [offset, length]}``, so bodies are binary-safe without base64. Many
messages share one frame: the sender batches whatever is queued.
"""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Iterator
from typing import Any

VERSION = 1
MAX_FRAME = 256 << 20  # a sanity bound: a corrupt length must not allocate gigabytes

_U32 = struct.Struct(">I")
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

Message = dict[str, Any]


class ProtocolError(Exception):
    """The peer sent something that is not a frame of this protocol."""


def encode(messages: list[Message]) -> bytes:
    blob = bytearray()
    plain = []
    for message in messages:
        if any(isinstance(v, (bytes, bytearray)) for v in message.values()):
            message = dict(message)
            for key, value in message.items():
                if isinstance(value, (bytes, bytearray)):
                    message[key] = {"$b": [len(blob), len(value)]}
                    blob += value
        plain.append(message)
    head = _dumps(plain).encode("utf-8")
    return b"".join((_U32.pack(4 + len(head) + len(blob)), _U32.pack(len(head)), head, blob))


def decode(payload: bytes) -> list[Message]:
    """Messages of one frame, ``payload`` being the bytes after the length prefix."""
    if len(payload) < 4:
        raise ProtocolError("frame shorter than its header")
    (json_len,) = _U32.unpack_from(payload)
    if json_len > len(payload) - 4:
        raise ProtocolError("frame shorter than its JSON part")
    blob = memoryview(payload)[4 + json_len:]
    try:
        messages = json.loads(payload[4:4 + json_len].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError(f"frame is not JSON: {exc}") from None
    if not isinstance(messages, list):
        raise ProtocolError("frame does not hold a list of messages")
    for message in messages:
        if type(message) is not dict:
            raise ProtocolError("frame holds something other than a message")
        for key, value in message.items():
            if type(value) is dict and "$b" in value:
                span = value["$b"]
                if (type(span) is not list or len(span) != 2
                        or not all(type(n) is int and n >= 0 for n in span)
                        or span[0] + span[1] > len(blob)):
                    raise ProtocolError(f"bytes field {key!r} points outside the frame")
                message[key] = bytes(blob[span[0]:span[0] + span[1]])
    return messages


def read_frames(sock: socket.socket) -> Iterator[list[Message]]:
    """Yield each frame's messages until the peer closes the connection."""
    buffer = bytearray()
    while True:
        while len(buffer) >= 4:
            (length,) = _U32.unpack_from(buffer)
            if length > MAX_FRAME:
                raise ProtocolError(f"frame of {length} bytes is larger than allowed")
            if len(buffer) < 4 + length:
                break
            payload = bytes(buffer[4:4 + length])
            del buffer[:4 + length]
            yield decode(payload)
        try:
            data = sock.recv(1 << 18)
        except OSError:
            return
        if not data:
            return
        buffer += data


def send(sock: socket.socket, messages: list[Message]) -> None:
    sock.sendall(encode(messages))
