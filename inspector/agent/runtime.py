"""The agent assembled: output routing, capture and waitress, started and stopped as one."""

from __future__ import annotations

from typing import Any, Callable

from . import inside, inside_hooks
from .capture import Capture, MiB
from .inside_profile import Profiling
from .onwire import recording_channel
from .output import OutputRouting
from .server import BackgroundServer
from .stepping import SteppedFlight

Emit = Callable[[dict[str, Any]], None]


class Agent:
    """Serves ``app`` under capture; every event goes to ``emit``."""

    def __init__(self, app: Callable, emit: Emit, *, host: str = "127.0.0.1", port: int = 0,
                 threads: int = 4, request_cap: int = MiB, response_cap: int = MiB,
                 lint: bool = True, debug_logs: bool = False, tee: bool = True,
                 look_inside: bool = True, **waitress_options: Any) -> None:
        self.look_inside = look_inside  # SQL, templates, outbound HTTP (agent.inside)
        self.capture = Capture(app, emit, request_cap=request_cap, response_cap=response_cap,
                               lint=lint, stepped=SteppedFlight)
        self.gate = self.capture.gate
        self.profiling = Profiling(self.capture)  # "profile the next request"
        self.output = OutputRouting(emit, tee=tee, debug=debug_logs)
        channel = recording_channel(emit, self.capture.next_id, response_cap)
        self.server = BackgroundServer(self.capture, host=host, port=port, threads=threads,
                                       channel_class=channel, **waitress_options)

    def inside_command(self, message: dict[str, Any]) -> None:
        """``profile`` (the next request, or the next one its ``filter`` matches) or
        ``inside`` (options: ``stacks``)."""
        if message.get("type") == "profile":
            wanted = message.get("filter")
            self.profiling.arm(wanted if isinstance(wanted, str) else "")
        elif message.get("type") == "inside":
            inside.Options.stacks = message.get("stacks") is True

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> str:
        if self.look_inside:
            inside_hooks.install()
        self.output.install()
        try:
            return self.server.start()
        except BaseException:
            self.output.uninstall()
            if self.look_inside:
                inside_hooks.uninstall()
            raise

    def release(self) -> None:
        """Let every paused request go on, and pause no more (before a stop)."""
        self.gate.close()

    def stop(self) -> None:
        self.release()
        try:
            self.server.stop()
        finally:
            self.output.uninstall()
            if self.look_inside:
                inside_hooks.uninstall()

    def __enter__(self) -> Agent:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
