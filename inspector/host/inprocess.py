"""In-process mode: the same agent, in a background thread of the host.

Fast to start and no IPC, but no isolation: a crash of the app is a crash of
the host, and reload cannot be correct (``importlib.reload`` leaves stale
submodules and framework caches), so it only restarts the server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..agent.errorpage import error_app
from ..agent.loader import LoadError, load_app
from ..agent.runtime import Agent
from ..agent.server import BackgroundServer, ServeError
from .process import Options, Status

Message = dict[str, Any]


class InProcessApp:
    """Same interface as :class:`AppProcess`: start, restart, stop, status."""

    reloads_code = False

    def __init__(self, options: Options, on_event: Callable[[Message], None],
                 on_status: Callable[[Status], None]) -> None:
        self.options = options
        self.on_event = on_event
        self.on_status = on_status
        self.generation = 0
        self.status = Status("stopped")
        self._agent: Agent | None = None
        self._app: Callable[..., Any] | None = None
        self._port = options.port
        self._arm: Message | None = None
        self._error_page: BackgroundServer | None = None  # while the app cannot load

    def start(self, timeout: float = 0) -> Status:
        o = self.options
        try:
            if self._app is None:
                self._app = load_app(o.spec, o.app_dir)
        except LoadError as exc:
            return self._set_status(self._serve_load_error(exc))
        self.generation += 1
        agent = Agent(self._app, self._emit(self.generation), host=o.host, port=self._port,
                      threads=o.threads, request_cap=o.request_cap,
                      response_cap=o.response_cap, debug_logs=o.debug_logs)
        if self._arm is not None:  # before serving, so the first request meets it
            agent.gate.handle(self._arm)
        try:
            url = agent.start()
        except ServeError as exc:
            return self._set_status(Status("serve_error", str(exc)))
        self._agent = agent
        self._port = agent.server.effective_port
        return self._set_status(Status("serving", url=url))

    def _serve_load_error(self, exc: LoadError) -> Status:
        """The app's URL shows the load error (a 500 page) until the next start."""
        o = self.options
        page = BackgroundServer(error_app(str(exc), exc.user_traceback, o.spec), host=o.host,
                                port=self._port, threads=1)
        try:
            url = page.start()
        except ServeError:  # the port is taken: the window still shows the error
            return Status("load_error", str(exc), exc.user_traceback)
        self._error_page, self._port = page, page.effective_port
        return Status("load_error", str(exc), exc.user_traceback, url=url)

    def _emit(self, generation: int) -> Callable[[Message], None]:
        on_event = self.on_event

        def emit(event: Message) -> None:
            event["gen"] = generation
            on_event(event)
        return emit

    def command(self, message: Message) -> bool:
        """Stepping commands go straight to the agent's gate."""
        if message.get("type") == "arm":
            self._arm = message
        agent = self._agent
        if agent is None:
            return False
        if message.get("type") in ("profile", "inside"):
            agent.inside_command(message)
        else:
            agent.gate.handle(message)
        return True

    def restart(self, timeout: float = 0) -> Status:
        self.stop()
        return self.start()

    def stop(self, grace: float = 2.0) -> None:
        page, self._error_page = self._error_page, None
        if page is not None:
            page.stop(0.2)
        agent, self._agent = self._agent, None
        if agent is not None:
            agent.release()
            agent.server.stop(grace)
            agent.output.uninstall()
            self._set_status(Status("stopped"))

    @property
    def pid(self) -> int | None:
        return None

    def _set_status(self, status: Status) -> Status:
        self.status = status
        self.on_status(status)
        return status
