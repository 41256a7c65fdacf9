"""The map over the demo's real pipeline (simulated sensors -> tracker -> rules -> store -> hub)."""

from __future__ import annotations

import pytest

from web.conftest import open_map, shot

pytestmark = pytest.mark.browser


def test_tracks_from_the_running_pipeline_appear_and_move(browser, pipeline_server):
    ctx, page = open_map(browser, pipeline_server.url)
    try:
        first = {t["id"]: t for t in page.evaluate("() => window.lookout.displayed()")}
        live = {d["id"] for d in pipeline_server.hub.snapshot()}
        assert first, "no track from the pipeline on the map"
        assert len(set(first) & live) >= len(first) - 1  # the tracker's tracks, by their ids
        page.wait_for_timeout(2000)  # eight simulated seconds of tracking
        later = {t["id"]: t for t in page.evaluate("() => window.lookout.displayed()")}
        moved = [tid for tid in first.keys() & later.keys()
                 if (first[tid]["lat"], first[tid]["lon"]) != (later[tid]["lat"], later[tid]["lon"])]
        assert moved, (first, later)
        # the map's live time follows the pipeline's
        assert page.evaluate("() => window.lookout.state.liveTime") >= pipeline_server.scenario.config.start_time + 40
        shot(page, "06-pipeline")
        assert page.console_log.errors == []
    finally:
        ctx.close()
