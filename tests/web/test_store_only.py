"""The map served over a store without a live feed (``lookout serve`` on a recorded run)."""

from __future__ import annotations

import pytest

from api.world import T0, TRACKS, fill, track_at
from web.conftest import Console, LiveServer, shot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def store_server(tmp_path_factory):
    from lookout.api import create_app

    srv = LiveServer(tmp_path_factory.mktemp("store-only"), "store-only")  # no live feed
    fill(srv.store)
    srv.serve(create_app(srv.store, hub=srv.hub))
    srv.start()
    yield srv.url
    srv.stop()


def test_opens_on_the_stored_history_without_a_live_feed(browser, store_server):
    ctx = browser.new_context(viewport={"width": 1200, "height": 800})
    page = ctx.new_page()
    console = Console(page)
    try:
        page.goto(store_server + "/")
        page.wait_for_function(f"() => window.lookout && window.lookout.displayed().length === {len(TRACKS)}",
                               timeout=20_000)
        assert page.locator("#mode").inner_text() == "REPLAY"
        assert page.evaluate("() => window.lookout.replay.time") == T0 + 60
        shown = {d["id"]: d for d in page.evaluate("() => window.lookout.displayed()")}
        last = track_at(1, T0 + 60).position
        assert shown["t-fw-1"]["lat"] == pytest.approx(last.lat, abs=1e-6)
        assert shown["t-fw-1"]["name"] == "N123AB"
        shot(page, "07-store-only")
        assert console.errors == []
    finally:
        ctx.close()
