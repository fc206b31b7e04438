"""The table model, its filter proxy and the store bridge, without a window."""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt

from inspector.host import summaryfilter
from inspector.host.store import Store, Summary
from tests.factories import exchange_events
from ui.exchange_model import (
    COL_ID,
    COL_PATH,
    COL_SIZE,
    COL_STATUS,
    HEADERS,
    SORT_ROLE,
    ExchangeFilterProxy,
    ExchangeModel,
)
from ui.store_bridge import StoreBridge


def summary(id: int, method: str = "GET", path: str = "/", status: int | None = 200,
            state: str = "complete", query: str = "", ctype: str = "text/plain",
            findings: int = 0, error: bool = False) -> Summary:
    return Summary(id, 1_700_000_000.0 + id, method, path, query, status, ctype, id * 10,
                   None if state == "active" else 0.001 * id, findings, error, state)


SAMPLE = [
    summary(1, path="/"),
    summary(2, "POST", "/api/books", 201, ctype="application/json"),
    summary(3, path="/static/app.css", status=404),
    summary(4, path="/boom", status=None, error=True, state="failed"),
    summary(5, path="/slow", status=None, state="active"),
    summary(6, path="/lint", status=500, findings=2, query="x=1"),
]


def test_model_passes_qtmodeltester(qtmodeltester):
    model = ExchangeModel()
    model.reset(SAMPLE[:3])
    qtmodeltester.check(model, force_py=True)
    model.add(SAMPLE[3:])
    model.update([summary(5, path="/slow", status=200)])
    model.remove([SAMPLE[1], SAMPLE[2]])
    qtmodeltester.check(model, force_py=True)
    assert [s.id for s in model.summaries()] == [1, 4, 5, 6]
    assert model.columnCount() == len(HEADERS)


def test_proxy_passes_qtmodeltester(qtmodeltester):
    model = ExchangeModel()
    model.reset(SAMPLE)
    proxy = ExchangeFilterProxy()
    proxy.setSourceModel(model)
    proxy.sort(COL_STATUS, Qt.SortOrder.DescendingOrder)
    proxy.set_filter_text("-path:/static")
    qtmodeltester.check(proxy, force_py=True)
    assert proxy.rowCount() == 5


def test_model_cells_and_sort_keys():
    model = ExchangeModel()
    model.reset(SAMPLE)
    assert model.index(5, COL_PATH).data() == "/lint?x=1"
    assert model.index(4, COL_STATUS).data() == "…"
    assert model.index(0, COL_SIZE).data(SORT_ROLE) == 10
    assert model.index(0, COL_ID).data(SORT_ROLE) == 1
    assert model.index(4, COL_ID).data(Qt.ItemDataRole.FontRole).italic()
    assert model.rowCount(model.index(0, 0)) == 0
    c = model.counts
    assert (c.exchanges, c.errors, c.findings) == (6, 2, 2)
    model.update([summary(6, path="/lint", status=200)])
    assert (model.counts.errors, model.counts.findings) == (1, 0)


def test_quick_filter_terms():
    def ids(text: str) -> list[int]:
        accepts = summaryfilter.parse(text)
        return [s.id for s in SAMPLE if accepts(s)]

    assert ids("") == [1, 2, 3, 4, 5, 6]
    assert ids("API") == [2]
    assert ids("x=1") == [6]
    assert ids("method:post") == [2]
    assert ids("status:5xx") == [6]
    assert ids("status:404") == [3]
    assert ids("status:2") == [1, 2]
    assert ids("-path:/static -status:2xx") == [4, 5, 6]
    assert ids("is:error") == [4, 6]
    assert ids("is:active") == [5]
    assert ids("has:findings") == [6]
    assert ids("type:json") == [2]
    assert ids('"/static/app') == [3]  # an unbalanced quote while typing
    assert ids("status:abc") == []


def test_bridge_coalesces_bursts_into_few_signals(qtbot, tmp_path):
    store = Store(tmp_path / "s.wsgi-session", interval=0.005, batch_events=50)
    bridge = StoreBridge(store)
    model = ExchangeModel()
    bridge.added.connect(model.add)
    bridge.updated.connect(model.update)
    emissions = {"added": 0, "updated": 0}
    bridge.added.connect(lambda _: emissions.__setitem__("added", emissions["added"] + 1))
    bridge.updated.connect(lambda _: emissions.__setitem__("updated", emissions["updated"] + 1))
    n = 400

    def produce() -> None:
        for i in range(1, n + 1):
            for event in exchange_events(i, path=f"/{i}"):
                store.put(event)

    try:
        producer = threading.Thread(target=produce)
        producer.start()
        producer.join()
        store.flush()
        qtbot.waitUntil(lambda: model.rowCount() == n
                        and all(s.state == "complete" for s in model.summaries()))
        # The store committed many batches; the GUI saw a few flushes, never one per event.
        assert emissions["added"] < n / 4
        assert [s.path for s in model.summaries()[:3]] == ["/1", "/2", "/3"]
    finally:
        bridge.detach()
        store.close()


def test_bridge_orders_clear_before_later_adds(qtbot, tmp_path):
    store = Store(tmp_path / "s.wsgi-session", interval=0.005)
    bridge = StoreBridge(store, interval_ms=10_000)  # flushed by hand below
    model = ExchangeModel()
    bridge.cleared.connect(model.clear)
    bridge.added.connect(model.add)
    bridge.updated.connect(model.update)
    bridge.removed.connect(model.remove)
    try:
        for event in exchange_events(1, path="/old"):
            store.put(event)
        store.flush()
        store.clear()
        for event in exchange_events(2, path="/new") + exchange_events(3, path="/gone"):
            store.put(event)
        store.flush()
        store.delete([3])
        bridge.flush()
        assert [s.path for s in model.summaries()] == ["/new"]
    finally:
        bridge.detach()
        store.close()
