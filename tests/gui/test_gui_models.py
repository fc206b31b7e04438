"""The table model, its filter proxy and the store bridge, without a window."""

from __future__ import annotations

import random
import threading

import pytest
from PySide6.QtCore import QPersistentModelIndex, Qt

from inspector.host import summaryfilter
from inspector.host.store import Store, Summary
from tests.factories import exchange_events, make_exchange
from ui.exchange_model import (
    COL_BADGE,
    COL_DURATION,
    COL_ID,
    COL_PATH,
    COL_SIZE,
    COL_STATUS,
    HEADERS,
    ID_ROLE,
    SORT_ROLE,
    ExchangeFilterProxy,
    ExchangeModel,
    sort_key,
)
from ui.panes.overview import status_line
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


def test_a_dropped_exchange_shows_no_reply_not_500():
    """The app's process died while serving it: the client got no reply at all."""
    model = ExchangeModel()
    model.reset([summary(1, path="/boom", status=None, error=True, state="failed"),
                 summary(2, path="/segv", status=None, error=True, state="dropped")])
    assert model.index(0, COL_STATUS).data() == "(500)"
    assert model.index(1, COL_STATUS).data() == "—"
    assert model.index(1, COL_STATUS).data(Qt.ItemDataRole.ToolTipRole).startswith(
        "No reply (connection dropped)")
    assert model.index(1, COL_STATUS).data(SORT_ROLE) == 0
    assert model.counts.errors == 2


def test_the_overview_says_the_client_got_no_reply():
    dropped = make_exchange(1, status=None, end=False)
    dropped.apply({"type": "end", "id": 1, "t": 0.1, "closed": False, "size": 0,
                   "dropped": True})
    assert status_line(dropped) == "no reply (connection dropped)"
    streaming = make_exchange(2, end=False)
    streaming.apply({"type": "end", "id": 2, "t": 0.1, "dropped": True})
    assert status_line(streaming) == "200 OK (then the connection dropped)"
    assert status_line(make_exchange(3, status=None)) == "(start_response was never called)"


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
    for bad in ('"/static/app', "status:abc"):  # the box shows why, in one sentence
        with pytest.raises(summaryfilter.FilterError):
            ids(bad)
    held = summary(7, path="/held", status=None, state="paused")
    assert [summaryfilter.parse(term)(held) for term in ("is:paused", "is:active",
                                                         "is:complete", "-is:paused")] \
        == [True, False, False, False]
    assert not summaryfilter.parse("is:paused")(SAMPLE[4])  # active, not paused


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


# -- the cached cells, the pass-through proxy, the bridge's cap --------------------------

def shown_ids(proxy: ExchangeFilterProxy) -> list[int]:
    return [proxy.index(row, 0).data(ID_ROLE) for row in range(proxy.rowCount())]


def test_cached_cells_follow_summary_changes(qtbot):
    model = ExchangeModel()
    model.reset([summary(1, path="/slow", status=None, state="active")])
    cell = model.index(0, COL_STATUS)
    assert (cell.data(), model.index(0, COL_DURATION).data()) == ("…", "running…")
    assert cell.data(Qt.ItemDataRole.ForegroundRole) is None
    with qtbot.waitSignal(model.dataChanged):
        model.update([summary(1, path="/slow", status=503)])
    assert (cell.data(), model.index(0, COL_DURATION).data()) == ("503", "1.0 ms")
    assert cell.data(Qt.ItemDataRole.ForegroundRole) is not None
    assert cell.data(Qt.ItemDataRole.FontRole) is None  # no longer in flight
    model.update([summary(1, path="/slow", status=200, state="paused")])
    assert model.index(0, COL_BADGE).data().endswith("paused")
    with qtbot.waitSignal(model.dataChanged):
        model.set_paused({1: "chunk 2"})
    assert model.index(0, COL_BADGE).data().endswith("chunk 2")


def test_proxy_passes_rows_through_in_store_order(qtmodeltester):
    model = ExchangeModel()
    model.reset(SAMPLE[:4])
    proxy = ExchangeFilterProxy()
    proxy.setSourceModel(model)
    proxy.sort(COL_ID, Qt.SortOrder.AscendingOrder)  # what the window's header asks for
    qtmodeltester.check(proxy, force_py=True)
    assert proxy.is_pass_through()
    model.add(SAMPLE[4:])
    assert shown_ids(proxy) == [1, 2, 3, 4, 5, 6]
    assert proxy.index(5, COL_PATH).data() == "/lint?x=1"

    proxy.sort(COL_SIZE, Qt.SortOrder.DescendingOrder)
    assert not proxy.is_pass_through()
    assert shown_ids(proxy) == [6, 5, 4, 3, 2, 1]
    proxy.sort(COL_PATH, Qt.SortOrder.AscendingOrder)
    assert [proxy.index(r, COL_PATH).data() for r in range(3)] == ["/", "/api/books", "/boom"]
    proxy.sort(COL_ID, Qt.SortOrder.DescendingOrder)
    assert shown_ids(proxy) == [6, 5, 4, 3, 2, 1]
    proxy.sort(COL_ID, Qt.SortOrder.AscendingOrder)  # back to "#": the store's order again
    assert proxy.is_pass_through()
    assert shown_ids(proxy) == [1, 2, 3, 4, 5, 6]
    proxy.set_filter_text("status:2xx")
    assert not proxy.is_pass_through() and shown_ids(proxy) == [1, 2]
    proxy.set_filter_text("")
    assert proxy.is_pass_through()


def test_proxy_follows_live_changes_under_filter_and_sort(qtmodeltester):
    """Random inserts, changes and removals, checked against a plain sort and filter
    (and by the model tester, which watches every signal)."""
    rng = random.Random(3333)
    model = ExchangeModel()
    proxy = ExchangeFilterProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy, force_py=True)
    views = [("", COL_ID, Qt.SortOrder.AscendingOrder),
             ("-status:404", COL_STATUS, Qt.SortOrder.DescendingOrder),
             ("", COL_DURATION, Qt.SortOrder.AscendingOrder),
             ("is:active", COL_ID, Qt.SortOrder.DescendingOrder),
             ("a", COL_PATH, Qt.SortOrder.AscendingOrder)]

    def random_summary(xid: int) -> Summary:
        state = rng.choice(["active", "complete", "complete", "paused"])
        status = None if state == "active" else rng.choice([200, 201, 404, 500])
        return summary(xid, path=rng.choice(["/a", "/b", "/api", "/x"]), status=status,
                       state=state)

    def expected(text: str, col: int, order: Qt.SortOrder) -> list[int]:
        """A stable sort: equal keys stay in store order, whichever the direction."""
        accepts = summaryfilter.parse(text)
        descending = order == Qt.SortOrder.DescendingOrder
        rows = sorted((s for s in model.summaries() if accepts(s)),
                      key=lambda s: sort_key(s, col), reverse=descending)
        return [s.id for s in rows]

    next_id = 1
    for step in range(60):
        # Persistent indexes (what a selection is made of) must stay on their exchange.
        held = {xid: QPersistentModelIndex(proxy.index(row, 1))
                for row, xid in enumerate(shown_ids(proxy))}
        text, col, order = views[step // 12]
        proxy.set_filter_text(text)
        proxy.sort(col, order)
        batch = [random_summary(i) for i in range(next_id, next_id + rng.randint(1, 6))]
        next_id += len(batch)
        model.add(batch)
        listed = model.summaries()
        if listed:
            model.update([random_summary(s.id) for s in rng.sample(listed, min(4, len(listed)))])
        if step % 3 == 2:
            model.remove(rng.sample(listed, min(3, len(listed))))
        shown = shown_ids(proxy)
        assert shown == expected(text, col, order), (step, text, col, order)
        assert all(shown[proxy.row_of(xid)] == xid for xid in shown)
        for xid, index in held.items():
            assert index.isValid() == (xid in shown), (step, xid)
            assert not index.isValid() or (index.row(), index.column()) == (shown.index(xid), 1)


def test_model_removes_scattered_rows(qtmodeltester):
    model = ExchangeModel()
    model.reset([summary(i) for i in range(1, 101)])
    qtmodeltester.check(model, force_py=True)
    model.remove([summary(i) for i in (3, 4, 50, 99)])  # a few runs: removed one by one
    model.remove([summary(i) for i in range(1, 101, 2)])  # many runs: one reset
    assert [s.id for s in model.summaries()] == [i for i in range(2, 101, 2) if i not in (4, 50)]
    assert all(model.row_of(s.id) == row for row, s in enumerate(model.summaries()))
    assert model.counts.exchanges == 48


def test_bridge_caps_rows_per_flush_and_carries_the_rest(qtbot, tmp_path):
    store = Store(tmp_path / "s.wsgi-session", interval=0.005)
    bridge = StoreBridge(store, interval_ms=10_000, max_rows=10)  # flushed by hand below
    batches: list[list[int]] = []
    bridge.added.connect(lambda summaries: batches.append([s.id for s in summaries]))
    try:
        for i in range(1, 26):
            for event in exchange_events(i, path=f"/{i}"):
                store.put(event)
        store.flush()
        bridge.flush()
        assert batches == [list(range(1, 11))]
        assert bridge._timer.isActive()  # the rest is due at the next tick, not forgotten
        bridge.flush()
        bridge.flush()
        assert batches[1:] == [list(range(11, 21)), list(range(21, 26))]
        assert not bridge._timer.isActive()
    finally:
        bridge.detach()
        store.close()


def test_the_waterfall_span_covers_every_row_whenever_it_is_first_asked(qtbot) -> None:
    model = ExchangeModel()
    assert model.time_span() is None
    model.reset([summary(2), summary(1)])
    t0 = 1_700_000_000.0
    assert model.time_span() == (t0 + 1, t0 + 2 + 0.002)
    model.add([summary(5)])  # known span: widened as rows come
    assert model.time_span() == (t0 + 1, t0 + 5 + 0.005)
    model.reset([summary(3)])
    model.add([summary(4, state="active")])  # not asked yet: worked out over all rows
    assert model.time_span() == (t0 + 3, t0 + 4)
