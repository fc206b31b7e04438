"""Render the main window offscreen with real exchanges, light and dark, into docs/*.png.

Run from the project root::

    .venv/bin/python docs/screenshots.py                        # docs/*.png at 1280x780
    .venv/bin/python docs/screenshots.py --size 1920x1080 --out /tmp/shots

The window serves the built-in examples one after another (as the Examples
menu does) and real HTTP requests are sent to each, so every picture shows
what a user would see: a JSON response, a POST resent and compared with its
origin, an image, an app that raises, a streamed body, the SQL and templates
inside the ORM example and a load error; then requests are stepped through the
WSGI call for the flow view (paused at received, start_response and a chunk).
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from inspector.host.store import Store  # noqa: E402
from ui import theme  # noqa: E402
from ui.app_controller import Launch  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402

# PySide6 6.12.0 on Python < 3.12 drops a reference to None on every call of a
# method that returns nothing (setText, setPen, ...); a long run then ends in
# "Fatal Python error: none_dealloc". Hold enough references to outlive it.
_NONE_BALLAST = [None] * 2_000_000 if sys.version_info < (3, 12) else []

DOCS = ROOT / "docs"
SIZE = (1280, 780)  # a common laptop window: what the docs show


def wait_until(app: QApplication, check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.01)


def send_request(url: str, method: str = "GET", path: str = "/", body: bytes | None = None,
         headers: dict[str, str] | None = None) -> None:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers={"User-Agent": "lesson-client/1.0",
                                                       **(headers or {})})
        conn.getresponse().read()
    finally:
        conn.close()


def serve(app: QApplication, window: MainWindow, spec: str) -> str:
    window.open_app(spec)
    wait_until(app, lambda: window.controller.status.state == "serving"
               and window.controller.launch is not None
               and window.controller.launch.spec == spec and bool(window.url))
    return window.url


def record(app: QApplication, window: MainWindow) -> dict[str, int]:
    """Drive real requests against the examples; returns a few interesting row ids."""
    ids: dict[str, int] = {}
    sent = [0]

    def last_id() -> int:
        """Wait for every request sent so far to be listed and ended."""
        wait_until(app, lambda: window.model.rowCount() == sent[0] and all(
            s.state != "active" for s in window.model.summaries()))
        return window.model.summaries()[-1].id

    def send(*args: object, **kwargs: object) -> None:
        send_request(*args, **kwargs)
        sent[0] += 1

    url = serve(app, window, "inspector.examples.hello:app")
    send(url)
    ids["hello"] = last_id()
    url = serve(app, window, "inspector.examples.router:app")
    for path in ("/", "/hello/Ada", "/about"):
        send(url, path=path)
    send(url, path="/badge.png", headers={"Accept": "image/png"})
    ids["image"] = last_id()
    send(url, path="/nowhere")
    url = serve(app, window, "inspector.examples.form:app")
    send(url)
    send(url, "POST", "/", b"name=Ada&lang=Python",
         {"Content-Type": "application/x-www-form-urlencoded"})
    url = serve(app, window, "inspector.examples.json_api:app")
    send(url, path="/api/books?available=1",
         headers={"Accept": "application/json", "Cookie": "session=3f9a; theme=dark"})
    ids["json"] = last_id()
    send(url, "POST", "/api/books", json.dumps({"title": "Two Scoops of Django",
                                                "tags": ["django"]}).encode(),
         {"Content-Type": "application/json"})
    ids["post"] = last_id()
    window.select_id(ids["post"])
    window.loop.resend_selected()  # Resend (Ctrl+Shift+R): a new row, linked to its origin
    sent[0] += 1
    ids["resent"] = last_id()
    url = serve(app, window, "inspector.examples.orm_templates:app")
    send(url, path="/")
    ids["orm"] = last_id()
    url = serve(app, window, "inspector.examples.stream:app")
    send(url, path="/countdown")
    ids["stream"] = last_id()
    url = serve(app, window, "inspector.examples.boom:app")
    send(url, path="/report")
    ids["error"] = last_id()
    return ids


def shot(app: QApplication, window: MainWindow, xid: int, tab: str, name: str) -> Path:
    window.select_id(xid)
    window.tabs.setCurrentWidget(getattr(window, tab))
    return save(app, window, name)


def save(app: QApplication, window: QWidget, name: str) -> Path:
    for _ in range(5):
        app.processEvents()
    path = DOCS / name
    window.grab().save(str(path))
    print(f"wrote {path}")
    return path


def inside(app: QApplication, window: MainWindow, xid: int, name: str) -> None:
    """The Inside tab of the ORM example's page: its N+1 group selected, its SQL below."""
    window.select_id(xid)
    window.tabs.setCurrentWidget(window.inside)
    queries = window.inside.queries
    group = next(queries.topLevelItem(i) for i in range(queries.topLevelItemCount())
                 if queries.topLevelItem(i).childCount())
    queries.setCurrentItem(group)
    save(app, window, name)


def compare(app: QApplication, window: MainWindow, first: int, second: int,
            name: str) -> None:
    """Compare with… (Ctrl+D) on two selected rows: the POST and its resend."""
    from PySide6.QtCore import QItemSelectionModel

    selection = window.table.selectionModel()
    selection.clearSelection()
    for xid in (first, second):
        index = window.proxy.index(window.proxy.row_of(xid), 0)
        selection.select(index, QItemSelectionModel.SelectionFlag.Select
                         | QItemSelectionModel.SelectionFlag.Rows)
    view = window.loop.compare_selected()
    assert view is not None
    view.resize(SIZE[0] * 3 // 4, SIZE[1] * 3 // 4)
    save(app, view, name)
    view.close()


def paused_at(window: MainWindow, phase: str) -> Callable[[], bool]:
    def check() -> bool:
        x = window.stepper.pauses.get(window.current_id or 0)
        editor = window.step_panel.current
        return (x is not None and x.paused == phase and editor is not None
                and editor.phase == phase and window.stepper.can_answer(window.current_id))
    return check


def set_cell(table: object, name: str, value: str) -> None:
    """Type ``value`` into the value cell of row ``name`` (as the user would)."""
    for row in range(table.rowCount()):  # type: ignore[attr-defined]
        if table.item(row, 0).text() == name:  # type: ignore[attr-defined]
            table.item(row, 1).setText(value)  # type: ignore[attr-defined]
            table.setCurrentCell(row, 0)  # type: ignore[attr-defined]
            return


def stepped(app: QApplication, window: MainWindow, suffix: str) -> None:
    """Step real requests through the WSGI call; the flow view mid-step, beside the
    Step dock that comes with the pause (the window's own layout, nothing arranged)."""
    url = serve(app, window, "inspector.examples.router:app")
    for path in ("/", "/about"):
        send_request(url, path=path)
    window.set_step_next(True)  # F9
    client = threading.Thread(target=send_request, kwargs={"url": url, "path": "/hello/Ada"})
    client.start()
    wait_until(app, paused_at(window, "received"))
    set_cell(window.step_panel.current.environ, "PATH_INFO", "/hello/Grace")
    if suffix == "light":
        save(app, window, "flow-received.png")
    window.step_current()  # F10
    wait_until(app, paused_at(window, "start_response"))
    save(app, window, "flow-start-response.png" if suffix == "light" else "flow-dark.png")
    window.continue_all()
    client.join()
    if suffix != "light":
        return
    # A streamed body: paused before its third chunk, the text being edited.
    url = serve(app, window, "inspector.examples.stream:app")
    window.set_step_next(True)
    client = threading.Thread(target=send_request, kwargs={"url": url, "path": "/countdown"})
    client.start()
    for phase in ("received", "start_response", "chunk", "chunk"):
        wait_until(app, paused_at(window, phase))
        window.step_current()
    wait_until(app, lambda: paused_at(window, "chunk")()
               and window.step_panel.current.pause.get("index") == 3)
    window.step_panel.current.chunk.setPlainText("three...\n")
    save(app, window, "flow-chunk.png")
    window.continue_all()
    client.join()


def shortcuts(app: QApplication, window: MainWindow, name: str) -> None:
    """Help ▸ Keyboard Shortcuts, as F1 opens it."""
    from ui.help_menu import show_shortcuts

    dialog = show_shortcuts(window)
    for _ in range(5):
        app.processEvents()
    dialog.grab().save(str(DOCS / name))
    print(f"wrote {DOCS / name}")
    dialog.close()


def parse_args(argv: list[str]) -> None:
    """``--size WxH`` and ``--out DIR``: the same pictures at another size, elsewhere."""
    global DOCS, SIZE
    args = dict(zip(argv[::2], argv[1::2]))
    if "--size" in args:
        width, _, height = args["--size"].partition("x")
        SIZE = (int(width), int(height))
    if "--out" in args:
        DOCS = Path(args["--out"]).resolve()
        DOCS.mkdir(parents=True, exist_ok=True)


def main() -> int:
    parse_args(sys.argv[1:])
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    work = Path(tempfile.mkdtemp(prefix="wsgi-inspector-shots-"))
    settings = QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat)
    for scheme, suffix in ((Qt.ColorScheme.Light, "light"), (Qt.ColorScheme.Dark, "dark")):
        theme.apply_scheme(app, scheme)
        window = MainWindow(Store(work / f"{suffix}.wsgi-session"),
                            Launch(port=0, in_process=True), settings=settings,
                            autostart=False)
        window.show()
        window.resize(*SIZE)
        window.restore_settings()  # a first start's layout (nothing saved yet)...
        window.resize(*SIZE)  # ...at this size
        ids = record(app, window)
        shot(app, window, ids["post"], "overview", f"main-{suffix}.png")
        if suffix == "light" or DOCS != ROOT / "docs":  # the docs show the light one
            shortcuts(app, window, f"shortcuts-{suffix}.png")
        if suffix == "light":
            shot(app, window, ids["json"], "response", "json.png")
            shot(app, window, ids["image"], "response", "image.png")
            window.select_id(ids["json"])
            items = window.environ.items()
            window.environ.tree.setCurrentItem(items["PATH_INFO"])
            shot(app, window, ids["json"], "environ", "environ.png")
            inside(app, window, ids["orm"], "inside.png")
            compare(app, window, ids["post"], ids["resent"], "compare.png")
        else:
            shot(app, window, ids["error"], "findings", "error.png")
            shot(app, window, ids["stream"], "overview", "stream.png")
            if DOCS != ROOT / "docs":  # for a look at dark mode; the docs show light ones
                inside(app, window, ids["orm"], "inside-dark.png")
                compare(app, window, ids["post"], ids["resent"], "compare-dark.png")
        stepped(app, window, suffix)
        window.shutdown()
        window.deleteLater()
        app.processEvents()
    # A load error, shown in the window with the user's traceback.
    theme.apply_scheme(app, Qt.ColorScheme.Light)
    project = work / "project"
    project.mkdir()
    (project / "myapp.py").write_text(
        "import json\n\nSETTINGS = json.loads(open('settings.json').read())\n\n"
        "def app(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [b'ok']\n")
    window = MainWindow(Store(work / "load-error.wsgi-session"),
                        Launch(spec="myapp:app", app_dir=str(project), port=0),
                        settings=settings)  # its own process: the URL shows the error too
    window.show()
    window.resize(*SIZE)
    wait_until(app, lambda: window.controller.status.state == "load_error")
    for _ in range(5):
        app.processEvents()
    window.grab().save(str(DOCS / "load-error.png"))
    print(f"wrote {DOCS / 'load-error.png'}")
    window.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
