"""Missions and reports on histories of any region and size: flights thousands of km apart (both
hemispheres, across the antimeridian), no receiver position, regions by box or named GeoJSON
file, histories read in chunks, and the real capture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lookout.analytics import history as history_mod
from lookout.analytics import missions as missions_mod
from lookout.analytics.missions import MissionStream, PointHistory, detect_missions
from lookout.analytics.report import AnalyticsQuery, analyse, parse_bbox, parse_region
from lookout.analytics.synth import WIDE_AREA, jsonl_lines, raw_lines, sbs_lines, synth_wide_area
from lookout.geo import distance_m
from lookout.model import GeoPoint, ObjectClass, Track
from lookout.store.sqlite import SQLiteStore

DAY = 86400.0
T0 = 1_767_225_600.0  # 2026-01-01
REAL = Path(__file__).parents[1] / "data" / "adsb-real" / "short_flights.csv"
MIX = {"orbit": 0.3, "racetrack": 0.1, "survey": 0.1, "loiter": 0.05, "transit": 0.25, "approach": 0.2}
CENTRE = {name: (lat, lon) for name, lat, lon in WIDE_AREA}


@pytest.fixture(scope="module")
def wide():
    return synth_wide_area(48, seed=11, start_time=T0, days=2, mix=MIX, dt=5.0)


def _scripted(truths, region_of, region=None):
    return {t.ident for t in truths if t.is_mission and (region is None or region_of[t.ident] == region)}


def test_missions_found_in_every_region(wide):
    hist, truths, region_of = wide
    assert hist.lon.min() < -179.0 and hist.lon.max() > 179.0  # Fiji's flights cross the antimeridian
    found = detect_missions(hist)
    assert {m.icao24 for m in found} == _scripted(truths, region_of)
    truth = {t.ident: t for t in truths}
    for m in found:
        assert m.pattern == truth[m.icao24].kind or truth[m.icao24].kind == "loiter"
        # each centre where its region's flights are, thousands of km from the others
        assert distance_m(m.center_lat, m.center_lon, *CENTRE[region_of[m.icao24]]) < 400_000
    assert {region_of[m.icao24] for m in found} == set(CENTRE)


def test_missions_command_on_a_wide_area_sbs_history(app, wide, tmp_path):
    hist, truths, region_of = wide
    src = tmp_path / "aggregate.sbs"
    src.write_text("\n".join(sbs_lines(hist)) + "\n")
    out = tmp_path / "missions.jsonl"
    r = CliRunner().invoke(app, ["missions", str(src), "--out", str(out)])
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert {m["icao24"] for m in rows} == _scripted(truths, region_of)
    assert "rejected" in r.output and '"out_of_range"' not in r.output
    assert f"{len(hist)} positions" in r.output
    # --bbox lon_min,lat_min,lon_max,lat_max: France only
    r = CliRunner().invoke(app, ["missions", str(src), "--bbox", "-5,42,8,51"])
    assert r.exit_code == 0, r.output
    got = {json.loads(x)["icao24"] for x in r.stdout.splitlines() if x.startswith("{")}
    assert got == _scripted(truths, region_of, "france") and got
    # a box across the antimeridian: Fiji
    r = CliRunner().invoke(app, ["missions", str(src), "--bbox", "175,-22,-175,-13"])
    got = {json.loads(x)["icao24"] for x in r.stdout.splitlines() if x.startswith("{")}
    assert got == _scripted(truths, region_of, "fiji") and got
    # a named region file: the feature called 'texas' of a collection
    geo = tmp_path / "regions.geojson"
    geo.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": name},
         "geometry": {"type": "Polygon", "coordinates": [[[lon - 5, lat - 5], [lon + 5, lat - 5], [lon + 5, lat + 5],
                                                          [lon - 5, lat + 5], [lon - 5, lat - 5]]]}}
        for name, lat, lon in WIDE_AREA if name in ("texas", "alaska")]}))
    r = CliRunner().invoke(app, ["missions", str(src), "--region", f"{geo}#texas"])
    assert r.exit_code == 0, r.output
    got = {json.loads(x)["icao24"] for x in r.stdout.splitlines() if x.startswith("{")}
    assert got == _scripted(truths, region_of, "texas") and got
    r = CliRunner().invoke(app, ["missions", str(src), "--region", str(geo)])  # both features
    got = {json.loads(x)["icao24"] for x in r.stdout.splitlines() if x.startswith("{")}
    assert got == _scripted(truths, region_of, "texas") | _scripted(truths, region_of, "alaska")
    # errors name the problem
    r = CliRunner().invoke(app, ["missions", str(src), "--bbox", "1,2,3"])
    assert r.exit_code == 2 and "bad bbox" in r.output
    r = CliRunner().invoke(app, ["missions", str(src), "--bbox", "-5,42,8,51", "--region", str(geo)])
    assert r.exit_code != 0 and "not both" in r.output
    r = CliRunner().invoke(app, ["missions", str(src), "--region", f"{geo}#mars"])
    assert r.exit_code == 2 and "named 'mars'" in r.output


def test_a_receiver_position_still_range_checks_when_given(app, wide, tmp_path):
    hist, truths, region_of = wide
    src = tmp_path / "aggregate.raw"
    src.write_text("\n".join(raw_lines(hist)) + "\n")
    tx = CENTRE["texas"]
    r = CliRunner().invoke(app, ["missions", str(src), "--format", "raw", "--receiver", f"{tx[0]},{tx[1]}",
                                 "--max-range-km", "500"])
    assert r.exit_code == 0, r.output
    got = {json.loads(x)["icao24"] for x in r.stdout.splitlines() if x.startswith("{")}
    assert got == _scripted(truths, region_of, "texas") and '"out_of_range"' in r.output
    r = CliRunner().invoke(app, ["missions", str(src), "--format", "raw"])  # raw frames, no receiver
    got = {json.loads(x)["icao24"] for x in r.stdout.splitlines() if x.startswith("{")}
    assert r.exit_code == 0 and got == _scripted(truths, region_of)


def test_reading_in_chunks_gives_the_same_missions(app, wide, tmp_path, monkeypatch):
    """A small chunk size and pending-point bound force flights to be analysed while the file is
    still being read: the missions are those of the whole history."""
    hist, truths, region_of = wide
    src = tmp_path / "aggregate.jsonl"
    src.write_text("\n".join(jsonl_lines(hist)) + "\n")
    whole = CliRunner().invoke(app, ["missions", str(src)])
    monkeypatch.setattr(history_mod, "CHUNK_LINES", 2_000)
    monkeypatch.setattr(missions_mod, "MAX_PENDING_POINTS", 5_000)
    chunked = CliRunner().invoke(app, ["missions", str(src)])
    assert whole.exit_code == chunked.exit_code == 0
    assert whole.stdout == chunked.stdout and whole.stdout.count("\n") == len(_scripted(truths, region_of))
    # the stream held at most about the bound (plus what one chunk brings)
    stream = MissionStream(max_pending_points=5_000)
    peak = 0
    for chunk in history_mod.iter_history_file(src, chunk_lines=2_000):
        stream.add(chunk)
        peak = max(peak, stream._n_pending)
    whole_hist, stats = history_mod.read_history_file(src)
    assert len(whole_hist) == stats.positions == len(hist)
    assert [m.to_dict() for m in stream.finish()] == [m.to_dict() for m in detect_missions(whole_hist)]
    assert stream.late_points == 0 and peak < len(hist) / 2


def test_chunks_out_of_time_order_are_exact_within_the_bound(wide):
    hist, _, _ = wide
    parts = [PointHistory(hist.ident[k:k + 3000], hist.time[k:k + 3000], hist.lat[k:k + 3000],
                          hist.lon[k:k + 3000], hist.alt[k:k + 3000], hist.callsigns, hist.types)
             for k in range(0, len(hist), 3000)]
    stream = MissionStream(max_pending_points=None)
    for p in reversed(parts):
        stream.add(p)
    assert [m.to_dict() for m in stream.finish()] == [m.to_dict() for m in detect_missions(hist)]


def test_missions_command_on_the_real_capture(app, tmp_path):
    """rs1090's real Atlanta capture, no receiver position: every position kept (none rejected
    against a far-away default), and no surveillance pattern in these airliner tracks."""
    r = CliRunner().invoke(app, ["missions", str(REAL), "--format", "raw"])
    assert r.exit_code == 0, r.output
    assert "0 missions from 163 positions of 7 aircraft (486 lines, 0 rejected)" in r.output


def test_report_from_a_wide_area_history(app, tmp_path):
    """``lookout report --history``: missions of a month-long aggregate over Texas against the
    baseline, no store needed."""
    # the window holds 4 Texas missions, the baseline fortnight 2, and France has its own
    win, w_truth, w_reg = synth_wide_area(8, seed=3, start_time=T0 + 14 * DAY, days=13,
                                          regions=WIDE_AREA[:2], mix={"orbit": 1.0}, dt=5.0)
    base, b_truth, b_reg = synth_wide_area(4, seed=4, start_time=T0, days=13, regions=WIDE_AREA[:2],
                                           mix={"orbit": 1.0}, dt=5.0)
    src = tmp_path / "month.jsonl"
    src.write_text("\n".join(list(jsonl_lines(base)) + list(jsonl_lines(win))) + "\n")
    out = tmp_path / "report"
    r = CliRunner().invoke(app, ["report", "--from", "2026-01-15", "--to", "2026-01-29", "--history", str(src),
                                 "--bbox", "-107,25,-93,37", "--out", str(out), "--no-pdf"])
    assert r.exit_code == 0, r.output
    data = json.loads((out / "report.json").read_text())
    texas_win = {t.ident for t in w_truth if w_reg[t.ident] == "texas"}
    assert {m["icao24"] for m in data["missions"]["items"]} == texas_win and len(texas_win) == 4
    assert data["missions"]["baseline"]["baseline_count"] == 2
    assert data["missions"]["baseline"]["ratio"] == 2.0
    assert data["window"]["region"] == "-107,25,-93,37"
    assert (out / "report.html").is_file() and "history:" in r.output
    r = CliRunner().invoke(app, ["report", "--from", "2026-01-15", "--to", "2026-01-29", "--history",
                                 str(tmp_path / "nope.sbs"), "--out", str(out)])
    assert r.exit_code == 2 and "no such file" in r.output


def test_report_from_a_store_with_tracks_over_two_continents(tmp_path):
    """The store's track histories (read a day at a time) over Texas and France: the region picks
    one; nothing is rejected for being far from the sector."""
    hist, truths, region_of = synth_wide_area(10, seed=5, start_time=T0 + DAY, days=4, regions=WIDE_AREA[:2],
                                              mix={"orbit": 0.6, "transit": 0.4}, dt=5.0)
    st = SQLiteStore(tmp_path / "l.db")
    st.write_tracks([Track(id=f"t-{hist.ident[i]}", time=float(hist.time[i]),
                           position=GeoPoint(float(hist.lat[i]), float(hist.lon[i]), float(hist.alt[i])),
                           cls=ObjectClass.FIXED_WING, identities={"icao24": str(hist.ident[i])})
                     for i in range(0, len(hist), 2)])
    q = AnalyticsQuery(start=T0, end=T0 + 7 * DAY, region="bbox:-5,42,8,51")
    res = analyse(st, q)
    assert {m.icao24 for m in res.missions} == _scripted(truths, region_of, "france") and res.missions
    everywhere = analyse(st, AnalyticsQuery(start=T0, end=T0 + 7 * DAY))
    assert {m.icao24 for m in everywhere.missions} == _scripted(truths, region_of)
    st.close()


def test_region_parsing():
    geom, name = parse_region("bbox:170,-20,-170,-10")
    assert name == "170,-20,-170,-10" and geom.covers(parse_bbox("175,-15,179,-12"))
    assert geom.contains(__import__("shapely").Point(-175.0, -15.0)) and not geom.contains(
        __import__("shapely").Point(0.0, -15.0))
    gulf = {"type": "Polygon", "coordinates": [[[-98, 18], [-80, 18], [-80, 31], [-98, 18]]]}
    feature = json.dumps({"type": "Feature", "properties": {"name": "Gulf"}, "geometry": gulf})
    assert parse_region(feature)[1] == "Gulf"
    for bad in ("bbox:1,2,3", "bbox:0,50,10,40", "bbox:0,0,0,1", "bbox:-200,0,10,10", "bbox:a,b,c,d"):
        with pytest.raises(ValueError, match="bad bbox"):
            parse_region(bad)
