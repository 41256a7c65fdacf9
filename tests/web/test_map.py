"""The web map in real headless Chromium against a running server fed live."""

from __future__ import annotations

import time as _time

import pytest

from web.conftest import LIVE_FROM, shot

pytestmark = pytest.mark.browser

SHOWN = "() => window.lookout.displayed()"


def test_static_bundle_is_served(demo_server):
    import httpx

    r = httpx.get(demo_server.url + "/")
    assert r.status_code == 200 and "<title>Lookout" in r.text and "/static/app.js" in r.text
    js = httpx.get(demo_server.url + "/static/app.js")
    assert js.status_code == 200 and len(js.content) > 100_000  # Leaflet + milsymbol bundled, no CDN
    assert "unpkg.com" not in r.text and "cdn" not in r.text.lower()
    assert httpx.get(demo_server.url + "/static/app.css").status_code == 200


def test_page_loads_without_console_errors(page, demo_server):
    page.wait_for_timeout(1500)
    shot(page, "01-live")
    assert page.console_log.errors == []
    assert page.locator("#conn").inner_text() == "connected"
    assert page.locator("#mode").inner_text() == "LIVE"
    # the basemap (sector outline, border, towns) is drawn from the shipped GeoJSON
    assert page.locator(".lbl-town").count() == 2
    assert page.locator("#sector-name").inner_text().startswith("Nogales sector")
    # every live track is on the map (the hub's picture)
    n_live = len(demo_server.hub.snapshot())
    assert abs(len(page.evaluate(SHOWN)) - n_live) <= 1  # the feed may have moved on by one step
    assert page.locator("#alerts li").count() == 2


def test_tracks_appear_and_move(page, demo_server):
    first = {t["id"]: t for t in page.evaluate(SHOWN)}
    assert {"uas", "surveillance_aircraft", "ground_vehicle"} <= {t["cls"] for t in first.values()}
    page.wait_for_timeout(1500)  # six simulated seconds
    later = {t["id"]: t for t in page.evaluate(SHOWN)}
    moved = [tid for tid in first.keys() & later.keys()
             if (first[tid]["lat"], first[tid]["lon"]) != (later[tid]["lat"], later[tid]["lon"])]
    assert len(moved) >= len(first) // 2, (first, later)
    # the map shows what the server published: positions match the hub's live picture
    hub = {d["id"]: d for d in demo_server.hub.snapshot()}
    page.wait_for_timeout(300)
    now = {t["id"]: t for t in page.evaluate(SHOWN)}
    close = [tid for tid in now if tid in hub and abs(now[tid]["lat"] - hub[tid]["position"]["lat"]) < 0.01]
    assert len(close) >= len(now) - 1
    # trails: seeded from the stored history (120 s before the page opened), then grown live
    trails = page.evaluate("() => Object.fromEntries([...window.lookout.state.trails].map(([k, v]) => [k, v.length]))")
    surv = next(tid for tid in trails if tid.startswith("trk-surv"))
    assert trails[surv] >= 60
    # own agents at their reported posts
    page.wait_for_function(f"() => document.querySelectorAll('.agent-icon').length === {len(demo_server.agents)}")
    shot(page, "02-moved")
    assert page.console_log.errors == []


def test_acknowledge_and_resolve_alert_in_ui(page, demo_server):
    import httpx

    item = page.locator('#alerts li[data-id="a-e2e-1"]')
    assert "new" in item.locator(".a-state").inner_text()
    item.locator("button.btn-acknowledge").click()
    page.wait_for_selector('#alerts li[data-id="a-e2e-1"].st-acknowledged', timeout=5000)
    api = httpx.get(f"{demo_server.url}/api/alerts/a-e2e-1").json()
    assert api["state"] == "acknowledged" and api["acknowledged_by"] == "web-operator"
    shot(page, "03-acknowledged")
    page.locator('#alerts li[data-id="a-e2e-1"] button.btn-resolve').click()
    page.wait_for_selector('#alerts li[data-id="a-e2e-1"].st-resolved', timeout=5000)
    assert httpx.get(f"{demo_server.url}/api/alerts/a-e2e-1").json()["state"] == "resolved"
    assert demo_server.store.alert("a-e2e-1").resolved_by == "web-operator"
    assert page.console_log.errors == []


def test_track_detail_shows_remote_id_operator(page, demo_server):
    uas = next(t for t in demo_server.hub.snapshot() if t["cls"] == "uas" and t["operator"])
    # click the drone's symbol where the map draws it
    xy = page.evaluate("([lat, lon]) => { const p = window.lookout.map.latLngToContainerPoint([lat, lon]);"
                       " const r = window.lookout.map.getContainer().getBoundingClientRect();"
                       " return [p.x + r.left, p.y + r.top]; }",
                       [uas["position"]["lat"], uas["position"]["lon"]])
    page.mouse.click(*xy)
    page.wait_for_selector("#detail:not([hidden])", timeout=5000)
    body = page.locator("#detail-body").inner_text()
    assert uas["identities"]["remote_id"] in body
    assert f"{uas['operator']['lat']:.5f}" in body and "Remote ID operator" in body
    assert page.locator("#detail-title").inner_text() == uas["identities"]["remote_id"]
    shot(page, "04-detail")
    assert page.console_log.errors == []


def test_export_menu_downloads_kml_and_geojson(page, demo_server):
    import json
    from xml.etree import ElementTree as ET

    page.locator("#exports summary").click()
    with page.expect_download() as dl:
        page.locator('#exports a[href="/api/export/tracks.kml"]').click()
    assert dl.value.suggested_filename == "tracks.kml"
    root = ET.parse(dl.value.path()).getroot()
    names = [n.text for n in root.iter("{http://www.opengis.net/kml/2.2}name")]
    assert "OMAHA51" in names and len(names) >= len(demo_server.scenario.truth) // 2
    with page.expect_download() as dl:
        page.locator('#exports a[href="/api/export/alerts.geojson"]').click()
    feats = json.loads(open(dl.value.path()).read())["features"]
    assert {f["id"] for f in feats} == {"a-e2e-1", "a-e2e-2"}
    page.locator("#exports summary").click()
    assert page.console_log.errors == []


def test_replay_shows_a_past_position(page, demo_server):
    t_past = demo_server.t0 + 350.0
    track_id = next(tid for tid, _ in demo_server.store.track_points(start=t_past, end=t_past)
                    if tid.startswith("trk-surv"))
    past = demo_server.store.track_history(track_id, start=t_past, end=t_past)[0]
    page.locator("#btn-mode").click()
    page.wait_for_function("() => window.lookout.replay.from !== null && !document.querySelector('#slider').disabled"
                           " && Number(document.querySelector('#slider').max) === Math.ceil(window.lookout.replay.end)")
    assert page.locator("#mode").inner_text() == "REPLAY"
    # drag the slider to the past time (set its value and fire 'input' as a user's drag does)
    page.evaluate("t => { const s = document.querySelector('#slider'); s.value = String(t);"
                  " s.dispatchEvent(new Event('input', {bubbles: true})); }", t_past)
    page.wait_for_function("([id, t]) => window.lookout.replay.time === t"
                           " && window.lookout.displayed().some(d => d.id === id)",
                           arg=[track_id, t_past], timeout=10_000)
    shown = next(d for d in page.evaluate(SHOWN) if d["id"] == track_id)
    assert shown["lat"] == pytest.approx(past.lat, abs=1e-7) and shown["lon"] == pytest.approx(past.lon, abs=1e-7)
    # the open track detail (the drone selected earlier) follows the replay time
    when = _time.strftime("%Y-%m-%d %H:%M:%S", _time.gmtime(t_past)) + "Z"
    page.wait_for_function("w => document.querySelector('#detail-body').innerText.includes(w)", arg=when, timeout=5000)
    live_now = demo_server.hub.track(track_id)
    assert abs(live_now["position"]["lat"] - past.lat) + abs(live_now["position"]["lon"] - past.lon) > 1e-3
    shot(page, "05-replay")
    # play at 60x: replay time advances and the track moves along its stored history
    page.select_option("#speed", "60")
    page.locator("#btn-play").click()
    page.wait_for_timeout(1000)
    t_now = page.evaluate("() => window.lookout.replay.time")
    assert t_now > t_past + 20
    assert t_now <= demo_server.t0 + LIVE_FROM + 600
    page.locator("#btn-play").click()  # pause
    paused = page.evaluate("() => window.lookout.replay.time")
    page.wait_for_timeout(400)
    assert page.evaluate("() => window.lookout.replay.time") == paused
    page.locator("#btn-mode").click()
    assert page.locator("#mode").inner_text() == "LIVE"
    assert page.console_log.errors == []


def test_class_filter_filters_the_stream_on_the_server(page, demo_server):
    assert any(t["cls"] == "uas" for t in page.evaluate(SHOWN))
    page.locator("#filters summary").click()
    page.locator('#class-filter input[value="uas"]').uncheck()
    # the server sends a fresh snapshot without drones, and no drone in later updates
    page.wait_for_function("() => [...window.lookout.state.live.values()].every(t => t.cls !== 'uas')", timeout=5000)
    page.wait_for_timeout(800)
    live = page.evaluate("() => [...window.lookout.state.live.values()].map(t => t.cls)")
    assert live and "uas" not in live
    assert all(t["cls"] != "uas" for t in page.evaluate(SHOWN))
    page.locator('#class-filter input[value="uas"]').check()
    page.wait_for_function("() => [...window.lookout.state.live.values()].some(t => t.cls === 'uas')", timeout=5000)
    assert page.console_log.errors == []
