"""Sends requests to the served app from worker threads, never the GUI thread.

The requests of one :meth:`Resender.send` go out one after another, in order
(log in, then the page); separate sends run side by side, so a request paused
at a breakpoint does not hold up the next one. Each request goes out on its
own connection (see :mod:`inspector.host.resend`);
a request made from a row has its client address noted in the recorder's
links first, so its exchange is recorded as "resent from #N". Answers come
back to the GUI thread through a queued signal.
"""

from __future__ import annotations

import http.client
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

from PySide6.QtCore import QObject, Qt, Signal, Slot

from inspector.host.resend import Links, OutgoingRequest, Reply, ResendError, send


class Resender(QObject):
    # (the request, its Reply, or one sentence saying why it was not answered)
    answered = Signal(object, object)

    _from_worker = Signal(object, object)

    def __init__(self, links: Links, url: Callable[[], str],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._links = links
        self._url = url  # the app's URL now ("" when it is not served)
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="resend")
        self._closed = False
        self._from_worker.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def send(self, requests: list[OutgoingRequest]) -> Future[None]:
        """Send ``requests`` one after another, in order; answers come as ``answered``."""
        url = self._url()
        future: Future[None]
        if self._closed:
            future = Future()
            future.set_result(None)
            return future
        return self._executor.submit(self._send_all, url, list(requests))

    def close(self) -> None:
        self._closed = True
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _send_all(self, url: str, requests: list[OutgoingRequest]) -> None:
        for request in requests:
            self._from_worker.emit(request, self._send_one(url, request))

    def _send_one(self, url: str, request: OutgoingRequest) -> Reply | str:
        origin = request.origin

        def connected(client: tuple[str, int]) -> None:
            if origin is not None:
                self._links.expect(client, origin)

        if not url:
            return "The app is not being served; start it, then send the request again."
        try:
            return send(url, request, connected=connected)
        except ResendError as exc:
            return str(exc)
        except (OSError, http.client.HTTPException) as exc:
            return f"The app did not answer ({type(exc).__name__}: {exc})."

    @Slot(object, object)
    def _deliver(self, request: OutgoingRequest, result: Reply | str) -> None:
        if not self._closed:
            self.answered.emit(request, result)
