"""``python tests/gated_stdout.py ARGS...``: ``wsgi-inspector ARGS...`` with a terminal
that takes its time over one line.

Once a line containing ``$STDOUT_GATE_TEXT`` is written, the write does not
return until the test answers on the socket at ``127.0.0.1:$STDOUT_GATE`` (or
closes it), the way a slow terminal or a full pipe holds a process up. A test
can then send signals while the command line is at exactly that point.
"""

from __future__ import annotations

import os
import runpy
import socket
import sys
from typing import Any, TextIO


class GatedStream:
    def __init__(self, stream: TextIO, text: str, port: int) -> None:
        self._stream, self._text, self._port = stream, text, port
        self._seen = False  # the text is written; the gate closes at the end of its line

    def write(self, data: str) -> int:
        written = self._stream.write(data)
        if self._text and self._text in data:
            self._text, self._seen = "", True  # once
        if self._seen and "\n" in data:
            self._seen = False
            self._stream.flush()
            with socket.create_connection(("127.0.0.1", self._port)) as gate:
                gate.sendall(b"printed")
                gate.recv(1)  # until the test lets go
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


if __name__ == "__main__":
    sys.stdout = GatedStream(sys.stdout, os.environ["STDOUT_GATE_TEXT"],  # type: ignore[assignment]
                             int(os.environ["STDOUT_GATE"]))
    sys.argv = ["wsgi-inspector", *sys.argv[1:]]
    runpy.run_module("ui.launch", run_name="__main__", alter_sys=True)
