"""The map's alerts in real headless Chromium: the panel by severity, markers that hide, fade when
acknowledged and leave when resolved, a click that brings the alert's track into view; the legend."""

from __future__ import annotations

import pytest

from lookout.model import Alert, AlertState, GeoPoint, Severity
from web.conftest import open_map, shot

pytestmark = pytest.mark.browser

MARKERS = ".leaflet-marker-pane .alert-marker"
#: the panel's order: open alerts by severity, newest first; then resolved ones, in the same order
ORDER = ["a-crit", "a-e2e-1", "a-e2e-2", "a-surv", "a-low-new", "a-low-old", "a-info", "a-done"]
FAR = GeoPoint(31.24, -111.06)  # the south-west corner: far from every track


@pytest.fixture(scope="module")
def page(browser, demo_server):
    t0 = demo_server.t0
    demo_server.store.write_alerts([
        Alert(rule="drone_approach_agents", severity=Severity.CRITICAL, message="Drone closing on Post Bravo",
              start=t0 + 405, position=GeoPoint(31.30, -110.90), id="a-crit"),
        # about the orbiting aircraft, but placed elsewhere, so that centring on the track and
        # centring on the alert's position can be told apart
        Alert(rule="surveillance_orbit", severity=Severity.MEDIUM, message="OMAHA51 orbiting", start=t0 + 408,
              track_ids=["trk-surv-1"], position=FAR, id="a-surv"),
        Alert(rule="loiter", severity=Severity.LOW, message="Vehicle stopped", start=t0 + 390,
              position=GeoPoint(31.36, -111.00), id="a-low-old"),
        Alert(rule="loiter", severity=Severity.LOW, message="Group resting", start=t0 + 412,
              position=GeoPoint(31.38, -110.88), id="a-low-new"),
        Alert(rule="sensor_silent", severity=Severity.INFO, message="Camera back", start=t0 + 415,
              position=GeoPoint(31.42, -110.98), id="a-info"),
        Alert(rule="border_crossing", severity=Severity.CRITICAL, message="Old crossing, resolved", start=t0 + 300,
              position=GeoPoint(31.33, -110.99), state=AlertState.RESOLVED, resolved_by="day-shift", id="a-done"),
    ])
    ctx, pg = open_map(browser, demo_server.url)
    pg.wait_for_function(f"() => document.querySelectorAll('#alerts li').length === {len(ORDER)}")
    yield pg
    ctx.close()


def _panel(page):
    return page.eval_on_selector_all("#alerts li", "els => els.map(e => e.dataset.id)")


def _markers(page):
    return page.eval_on_selector_all(MARKERS, "els => Object.fromEntries(els.map(e => [e.dataset.alert, "
                                               "{opacity: Number(getComputedStyle(e).opacity), "
                                               "color: getComputedStyle(e).borderTopColor}]))")


def test_panel_lists_alerts_by_severity_newest_first(page):
    assert _panel(page) == ORDER
    sev = page.eval_on_selector_all("#alerts li .sev", "els => els.map(e => e.textContent)")
    assert sev == ["critical", "high", "medium", "medium", "low", "low", "info", "critical"]
    assert page.locator("#alert-count").inner_text() == "7 new"
    assert page.console_log.errors == []


def test_markers_in_severity_colours_and_a_toggle_hides_them(page):
    marks = _markers(page)
    assert set(marks) == set(ORDER) - {"a-done"}  # resolved alerts are not on the map
    assert marks["a-crit"]["color"] == "rgb(127, 29, 29)" and marks["a-e2e-1"]["color"] == "rgb(220, 38, 38)"
    assert marks["a-info"]["color"] == "rgb(107, 114, 128)"
    assert all(m["opacity"] == 1 for m in marks.values())
    shot(page, "08-alert-markers")
    page.locator("#alert-markers").uncheck()
    assert page.locator(MARKERS).count() == 0
    # the layer control agrees
    page.locator(".leaflet-control-layers").hover()
    alerts_box = page.locator(".leaflet-control-layers-overlays label", has_text="Alerts").locator("input")
    assert not alerts_box.is_checked()
    alerts_box.check()
    assert page.locator("#alert-markers").is_checked() and page.locator(MARKERS).count() == len(marks)
    page.mouse.move(700, 500)
    assert page.console_log.errors == []


def test_acknowledged_markers_fade_and_resolved_ones_leave(page, demo_server):
    page.locator('#alerts li[data-id="a-low-new"] button.btn-acknowledge').click()
    page.wait_for_selector('#alerts li[data-id="a-low-new"].st-acknowledged', timeout=5000)
    marks = _markers(page)
    assert marks["a-low-new"]["opacity"] == pytest.approx(0.35, abs=0.01)
    assert marks["a-low-old"]["opacity"] == 1
    assert _panel(page) == ORDER  # still open: it keeps its place by severity
    assert page.locator("#alert-count").inner_text() == "6 new"
    shot(page, "09-acknowledged-faded")
    page.locator('#alerts li[data-id="a-low-new"] button.btn-resolve').click()
    page.wait_for_selector('#alerts li[data-id="a-low-new"].st-resolved', timeout=5000)
    assert "a-low-new" not in _markers(page)
    assert _panel(page) == [a for a in ORDER if a != "a-low-new"] + ["a-low-new"]  # resolved: last, by severity
    assert demo_server.store.alert("a-low-new").resolved_by == "web-operator"
    assert page.console_log.errors == []


_CENTRE = ("id => { const m = window.lookout.map, c = m.getCenter();"
           " const t = window.lookout.displayed().find(d => d.id === id);"
           " return {zoom: m.getZoom(), to_track: t ? m.distance(c, [t.lat, t.lon]) : null}; }")


def _off_centre(page, lat, lon):
    """Metres from the map's centre to (lat, lon)."""
    return page.evaluate("([a, b]) => window.lookout.map.distance([a, b], window.lookout.map.getCenter())", [lat, lon])


def test_clicking_an_alert_brings_its_track_into_view_and_selects_it(page):
    before = page.evaluate(_CENTRE, "trk-surv-1")
    assert before["to_track"] > 2000  # the map opened on the whole sector
    page.locator('#alerts li[data-id="a-surv"] .a-msg').click()
    page.wait_for_selector('#detail:not([hidden])[data-track="trk-surv-1"]', timeout=5000)
    after = page.evaluate(_CENTRE, "trk-surv-1")
    assert after["zoom"] >= 13
    # centred on the track where the map draws it (it flies on at ~70 m/s, four simulated
    # seconds per second of wall time), not on the alert's own position
    assert after["to_track"] < 600, after
    assert _off_centre(page, FAR.lat, FAR.lon) > 10_000
    assert page.evaluate("() => window.lookout.state.selected") == "trk-surv-1"
    assert page.locator("#detail-title").inner_text() == "OMAHA51"
    assert "focused" in page.locator('#alerts li[data-id="a-surv"]').get_attribute("class")
    shot(page, "10-alert-focus")
    # an alert without a track: centred on its position; a click on a marker does the same
    page.locator('#alerts li[data-id="a-e2e-2"] .a-msg').click()
    assert _off_centre(page, 31.333, -110.94) < 30  # Leaflet centres to the pixel (~15 m at zoom 13)
    page.locator(f'{MARKERS}[data-alert="a-crit"]').dispatch_event("click")
    assert _off_centre(page, 31.30, -110.90) < 30
    assert "focused" in page.locator('#alerts li[data-id="a-crit"]').get_attribute("class")
    assert page.console_log.errors == []


def test_the_legend_names_symbols_severities_zones_and_coverage(page):
    legend = page.locator("#legend")
    assert legend.is_visible() and legend.get_attribute("open") is not None
    text = legend.inner_text()
    for words in ("Drone", "Aircraft", "Surveillance aircraft", "Vehicle", "Person / group on foot",
                  "Own agent (blue force)", "Unknown", "Critical", "High", "Medium", "Low", "Info",
                  "Acknowledged: faded", "Border buffer", "Protected site", "No-drone zone", "Sensor coverage",
                  "Sensor site", "International border", "Sector boundary"):
        assert words in text, words
    # each track class with the symbol the map draws for it (milsymbol images)
    symbols = page.eval_on_selector_all("#legend .lg-sym", "els => els.map(e => [e.alt, e.naturalWidth > 0])")
    assert {s for s, ok in symbols if ok} == {"uas", "fixed_wing", "rotorcraft", "surveillance_aircraft",
                                              "ground_vehicle", "person", "vessel", "agent", "unknown"}
    # folds away
    legend.locator("summary").click()
    assert legend.get_attribute("open") is None and not page.locator("#legend .lg-section").first.is_visible()
    legend.locator("summary").click()
    assert page.console_log.errors == []
