"""The report over a real SQLite store: it renders, and its numbers equal the API's."""

from __future__ import annotations

import json

import numpy as np
import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from lookout.analytics.api import router
from lookout.analytics.report import AnalyticsQuery, analyse, parse_region, parse_time, write_report
from lookout.analytics.synth import CorridorTruth, synth_crossing_tracks, synth_flights
from lookout.commands import analytics as analytics_cmd
from lookout.model import (
    Alert,
    GeoPoint,
    GeoPosition,
    ObjectClass,
    Observation,
    OperatorLocationType,
    Severity,
    SourceKind,
    Track,
    Zone,
    ZoneKind,
)
from lookout.sector import load_sector
from lookout.store.sqlite import SQLiteStore

DAY = 86400.0
T0 = 1_767_225_600.0  # 2026-01-01, a Thursday
START, END = T0 + 14 * DAY, T0 + 28 * DAY  # the window; the baseline is the 14 days before


def _tracks_from_history(hist, cls):
    out = []
    for i in range(0, len(hist), 2):  # every other point: the store's history is sparser than ADS-B
        ident = str(hist.ident[i])
        out.append(Track(id=f"t-{ident}", time=float(hist.time[i]),
                         position=GeoPoint(float(hist.lat[i]), float(hist.lon[i]), float(hist.alt[i])), cls=cls,
                         identities={"icao24": ident, "callsign": hist.callsigns[ident]}))
    return out


@pytest.fixture(scope="module")
def sector():
    return load_sector()


@pytest.fixture(scope="module")
def store_path(tmp_path_factory, sector):
    path = tmp_path_factory.mktemp("analytics") / "lookout.db"
    st = SQLiteStore(path)
    truth = {}
    h_win, t_win = synth_flights(5, seed=31, start_time=START, days=13, mix={"orbit": 0.6, "racetrack": 0.4}, dt=5.0)
    h_base, t_base = synth_flights(2, seed=32, start_time=T0, days=13, mix={"orbit": 1.0}, dt=5.0)
    h_tr, _ = synth_flights(6, seed=33, start_time=T0, days=27, mix={"transit": 0.5, "approach": 0.5}, dt=5.0)
    for h in (h_win, h_base, h_tr):
        st.write_tracks(_tracks_from_history(h, ObjectClass.FIXED_WING))
    truth["missions"] = sorted(t.ident for t in t_win)
    truth["baseline"] = len(t_base)
    # drone tracks crossing the border through two corridors; half of corridor 0 raised alerts
    cors = [CorridorTruth(9000, 150, 120, start=START, end=END), CorridorTruth(24000, 200, 60, start=START, end=END)]
    ids, t, lat, lon, labels, _ = synth_crossing_tracks(sector, cors, noise_count=20, seed=4, dt=2.0)
    st.write_tracks([Track(id=str(i), time=float(tt), position=GeoPoint(float(a), float(o), 1300.0),
                           cls=ObjectClass.UAS, identities={"remote_id": str(i)})
                     for i, tt, a, o in zip(ids, t, lat, lon)])
    alerted = [f"d-4-{j}" for j in np.flatnonzero(labels == 0)[::2]]
    alerts = []
    for tid in alerted:
        m = ids == tid
        k = int(np.argmin(np.abs(np.diff(np.sign(lat[m] - 31.327))))) if m.any() else 0
        alerts.append(Alert(rule="border_crossing", severity=Severity.HIGH, message="northbound crossing",
                            start=float(t[m][k]), track_ids=[tid],
                            position=GeoPoint(float(lat[m][k]), float(lon[m][k])), evidence={"direction": "north"}))
    alerts += [Alert(rule="zone", severity=Severity.MEDIUM, message="zone entry", start=START + k * DAY,
                     position=GeoPoint(31.3, -110.9)) for k in range(3)]
    alerts.append(Alert(rule="zone", severity=Severity.LOW, message="before the window", start=T0))
    st.write_alerts(alerts)
    # Remote ID: 8 flights launched from site A, 3 from site B (take-off positions)
    obs = []
    for k, (site, n) in enumerate((((31.30, -110.96), 8), ((31.22, -110.85), 3))):
        for f in range(n):
            for j in range(10):
                obs.append(Observation(time=START + DAY * (f + 1) + 3600 * k + j, source=SourceKind.REMOTE_ID,
                                       sensor="rid-1", ident=f"rid-{k}-{f % 2}",
                                       position=GeoPosition(site[0] + 0.01, site[1], 1400.0),
                                       operator=GeoPoint(*site), operator_location_type=OperatorLocationType.TAKE_OFF))
    st.write_observations(obs)
    st.put_zone(Zone(id="west", name="West half", kind=ZoneKind.CUSTOM,
                     geometry={"type": "Polygon", "coordinates": [[[-111.3, 31.0], [-110.95, 31.0], [-110.95, 31.7],
                                                                   [-111.3, 31.7], [-111.3, 31.0]]]}))
    st.close()
    truth["crossings"] = len(labels)
    truth["alerted"] = len(alerted)
    return path, truth


def test_analyse_numbers(store_path, sector):
    path, truth = store_path
    with SQLiteStore(path) as st:
        res = analyse(st, AnalyticsQuery(start=START, end=END), sector=sector)
    d = res.to_dict()
    assert sorted(m["icao24"] for m in d["missions"]["items"]) == truth["missions"]
    assert d["missions"]["baseline"]["baseline_count"] == truth["baseline"]
    assert d["missions"]["baseline"]["ratio"] == pytest.approx(len(truth["missions"]) / truth["baseline"])
    assert sum(p["count"] for p in d["missions"]["per_period"]) == len(truth["missions"])
    # crossings: alerts plus the drone tracks no alert covers, each crossing counted once
    assert d["crossings"]["count"] == truth["crossings"]
    assert [c["count"] for c in d["corridors"]][:2] == sorted([c["count"] for c in d["corridors"]], reverse=True)[:2]
    assert len(d["corridors"]) == 2 and d["corridors"][0]["count"] >= 110
    assert d["launch_points"]["count"] == 11
    assert [(h["count"], h["drones"]) for h in d["launch_points"]["hotspots"]] == [(8, 2), (3, 2)]
    assert d["alerts"]["by_rule"] == {"border_crossing": truth["alerted"], "zone": 3}


def test_report_renders_and_equals_api(store_path, sector, tmp_path):
    path, truth = store_path
    q = AnalyticsQuery(start=START, end=END, period="day")
    with SQLiteStore(path) as st:
        files = write_report(st, q, tmp_path / "rep", sector=sector)
        for name in ("missions_timeline", "mission_counts", "corridor_map", "launch_heatmap", "alert_stats"):
            data = files[name].read_bytes()
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, name
        assert files["pdf"].read_bytes()[:5] == b"%PDF-"
        html = files["html"].read_text()
        report = json.loads(files["json"].read_text())
        assert report["missions"]["baseline"]["text"] in html
        for name in ("missions_timeline", "corridor_map", "launch_heatmap", "alert_stats", "mission_counts"):
            assert f'src="{name}.png"' in html
        for m in report["missions"]["items"]:
            assert m["icao24"] in html
        assert html.count("<tr>") >= 1 + len(report["missions"]["items"]) + len(report["corridors"])
        app = FastAPI()
        app.state.store = st
        app.state.sector = sector
        app.include_router(router)
        client = TestClient(app)
        params = {"start": "2026-01-15T00:00:00Z", "end": str(END), "period": "day"}
        api = client.get("/api/analytics/summary", params=params).json()
        assert api == report
        assert client.get("/api/analytics/missions", params=params).json() == report["missions"]
        assert client.get("/api/analytics/corridors", params=params).json()["corridors"] == report["corridors"]
        assert client.get("/api/analytics/launch-points", params=params).json() == report["launch_points"]
        assert client.get("/api/analytics/alerts", params=params).json() == report["alerts"]
        r = client.get("/api/analytics/figures/corridor_map.png", params=params)
        assert r.status_code == 200 and r.headers["content-type"] == "image/png" and r.content[:4] == b"\x89PNG"
        assert client.get("/api/analytics/figures").json()[0] == "missions_timeline"
        assert client.get("/api/analytics/figures/nothing.png", params=params).status_code == 404
        bad = client.get("/api/analytics/summary", params={"start": "yesterday-ish"})
        assert bad.status_code == 400 and "ISO 8601" in bad.json()["detail"]
        assert client.get("/api/analytics/summary", params={**params, "region": "zone:nope"}).status_code == 400
        assert client.get("/api/analytics/summary", params={**params, "period": "year"}).status_code == 400
        # a region: the stored western zone keeps only what lies west of -110.95
        west = client.get("/api/analytics/summary", params={**params, "region": "zone:west"}).json()
        assert west["window"]["region"] == "West half"
        assert all(m["center_lon"] < -110.95 for m in west["missions"]["items"])
        assert all(c["center_lon"] < -110.95 for c in west["corridors"])
        assert west["launch_points"]["count"] == 8


def test_report_command(store_path, tmp_path):
    path, _ = store_path
    a = typer.Typer()
    analytics_cmd.register(a)
    out = tmp_path / "cli"
    r = CliRunner().invoke(a, ["report", "--from", "2026-01-15", "--to", "2026-01-29", "--region", "sector",
                               "--store", str(path), "--out", str(out), "--no-pdf"])
    assert r.exit_code == 0, r.output
    assert (out / "report.html").stat().st_size > 2000 and not (out / "report.pdf").exists()
    d = json.loads((out / "report.json").read_text())
    assert d["window"]["region"] == load_sector().name and d["window"]["start"] == START
    r = CliRunner().invoke(a, ["report", "--from", "2026-01-29", "--to", "2026-01-15", "--store", str(path)])
    assert r.exit_code == 2 and "must be after" in r.output


def test_region_and_time_parsing(tmp_path):
    assert parse_time("1767225600") == T0 and parse_time("2026-01-01") == T0
    assert parse_time("2026-01-01T01:00:00+01:00") == T0
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_time("soon")
    g, name = parse_region("31.0,-111.0,31.5,-110.5")
    assert g.bounds == (-111.0, 31.0, -110.5, 31.5)
    with pytest.raises(ValueError, match="invalid bounding box"):
        parse_region("31.5,-111.0,31.0,-110.5")
    g, _ = parse_region('{"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}')
    assert g.area == 0.5
    with pytest.raises(ValueError, match="Polygon"):
        parse_region('{"type": "Point", "coordinates": [0, 0]}')
    f = tmp_path / "r.geojson"
    f.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
                 '"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 0]]]}}]}')
    assert parse_region(str(f), allow_files=True)[0].area == 2.0
    with pytest.raises(ValueError, match="unknown region"):
        parse_region(str(f))  # files only where allowed (the CLI), never through the API
    assert parse_region(None) == (None, "all")


def test_report_on_an_empty_store(tmp_path, sector):
    with SQLiteStore(tmp_path / "empty.db") as st:
        files = write_report(st, AnalyticsQuery(start=START, end=END, region="sector"), tmp_path / "r", pdf=False,
                             sector=sector)
    d = json.loads(files["json"].read_text())
    assert d["missions"]["count"] == 0 and d["crossings"]["count"] == 0 and d["corridors"] == []
    assert d["missions"]["baseline"]["ratio"] is None and "none in the baseline" in d["missions"]["baseline"]["text"]
    # Thursday to Thursday: parts of three ISO weeks, the first and last cut to the window
    assert [(p["period_start"], p["period_end"], p["count"]) for p in d["missions"]["per_period"]] == [
        (START, START + 4 * DAY, 0), (START + 4 * DAY, START + 11 * DAY, 0), (START + 11 * DAY, END, 0)]
    for name in ("missions_timeline", "corridor_map", "launch_heatmap"):
        assert files[name].read_bytes()[:4] == b"\x89PNG"
