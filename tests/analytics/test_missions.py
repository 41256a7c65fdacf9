"""Surveillance-flight detection on simulated histories with known ground truth."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime

import numpy as np
import pytest
from shapely.geometry import box

from lookout.analytics.missions import (
    Mission,
    MissionConfig,
    PointHistory,
    baseline_comparison,
    count_missions,
    detect_missions,
    period_start,
)
from lookout.analytics.synth import synth_flights
from lookout.model import GeoPoint, GeoPosition, ObjectClass, Observation, SourceKind, Track, TrackPoint
from lookout.sector import load_sector


@pytest.fixture(scope="module")
def mixed():
    hist, truths = synth_flights(160, seed=11, days=3, dt=5.0, noise_m=20.0)
    return hist, truths, detect_missions(hist)


def _match(truths, missions):
    by = defaultdict(list)
    for m in missions:
        by[m.icao24].append(m)
    return by


def test_every_scripted_orbit_found_and_precision_on_mixed_set(mixed):
    hist, truths, missions = mixed
    kinds = {t.kind for t in truths}
    assert {"orbit", "transit", "approach"} <= kinds
    by = _match(truths, missions)
    orbits = [t for t in truths if t.kind == "orbit"]
    assert len(orbits) >= 8
    for t in orbits:
        hits = [m for m in by.get(t.ident, []) if m.start < t.mission_end and m.end > t.mission_start]
        assert hits, f"scripted orbit of {t.ident} not found"
        assert hits[0].pattern == "orbit"
    # recall over every surveillance pattern, precision over all detections
    surveil = [t for t in truths if t.is_mission]
    found = [t for t in surveil
             if any(m.start < t.mission_end and m.end > t.mission_start for m in by.get(t.ident, []))]
    assert len(found) == len(surveil)
    truth_of = {t.ident: t for t in truths}
    true_pos = [m for m in missions if truth_of[m.icao24].is_mission]
    assert len(true_pos) / len(missions) >= 0.95
    # no straight transit or airliner approach is called a mission
    traffic = {t.ident for t in truths if t.kind in ("transit", "approach")}
    assert not [m for m in missions if m.icao24 in traffic]


def test_patterns_classified(mixed):
    _, truths, missions = mixed
    truth_of = {t.ident: t for t in truths}
    right = [m for m in missions if m.pattern == truth_of[m.icao24].kind]
    assert len(right) / len(missions) >= 0.9
    for kind in ("orbit", "racetrack", "survey"):
        ms = [m for m in missions if truth_of[m.icao24].kind == kind]
        assert ms and all(m.pattern == kind for m in ms), kind


def test_mission_record_describes_the_station(mixed):
    _, truths, missions = mixed
    frame = load_sector().frame
    truth_of = {t.ident: t for t in truths}
    for m in missions:
        t = truth_of[m.icao24]
        d = json.loads(m.to_json())
        for key in ("icao24", "callsign", "start", "end", "center_lat", "center_lon", "radius_m", "pattern", "score"):
            assert key in d
        assert m.callsign == t.callsign and m.aircraft_type == t.aircraft_type
        assert 0.0 < m.score <= 1.0
        # start/end within a few minutes of the scripted time on station
        assert abs(m.start - t.mission_start) < 600 and abs(m.end - t.mission_end) < 600
        if t.kind == "orbit":
            e, n, _ = frame.to_enu(m.center_lat, m.center_lon, 0.0)
            assert np.hypot(e - t.center_e, n - t.center_n) < 0.5 * m.radius_m + 1000
            assert abs(m.laps) >= 2


def test_straight_and_parked_flights_are_not_missions():
    frame = load_sector().frame
    t = np.arange(0, 7200, 2.0)
    rng = np.random.default_rng(3)
    # a straight transit at 200 m/s, a slow straight helicopter and a parked aircraft (noise only)
    rows = []
    for ident, e, n in (("aaaaaa", -60_000 + 200 * t, 0 * t), ("bbbbbb", 40 * t, 40 * t),
                        ("cccccc", rng.normal(0, 15, t.size), rng.normal(0, 15, t.size))):
        lat, lon, alt = frame.to_geodetic(e, n, 0 * t)
        rows += [(ident, 1.7e9 + ti, la, lo, al) for ti, la, lo, al in zip(t, lat, lon, alt)]
    assert detect_missions(PointHistory.from_records(rows)) == []


def test_detection_with_region_and_identity_from_observations():
    hist, truths = synth_flights(2, seed=5, mix={"orbit": 1.0}, dt=5.0)
    obs = [Observation(time=float(hist.time[i]), source=SourceKind.ADSB, sensor="rx", ident=str(hist.ident[i]),
                       callsign=hist.callsigns[str(hist.ident[i])], attrs={"aircraft_type": "C208"},
                       position=GeoPosition(float(hist.lat[i]), float(hist.lon[i]), float(hist.alt[i])))
           for i in range(len(hist))]
    ms = detect_missions(PointHistory.from_observations(obs))
    assert sorted(m.icao24 for m in ms) == sorted(t.ident for t in truths)
    assert all(m.aircraft_type == "C208" for m in ms)
    # a region around the first mission only
    m0 = ms[0]
    region = box(m0.center_lon - 0.01, m0.center_lat - 0.01, m0.center_lon + 0.01, m0.center_lat + 0.01)
    assert [m.icao24 for m in detect_missions(PointHistory.from_observations(obs), region=region)] == [m0.icao24]


def test_from_track_points_uses_icao24_and_skips_drones():
    hist, truths = synth_flights(1, seed=8, mix={"racetrack": 1.0}, dt=5.0)
    ident = truths[0].ident
    tracks = {
        "t-1": Track(id="t-1", time=float(hist.time[-1]), position=GeoPoint(float(hist.lat[-1]), float(hist.lon[-1])),
                     cls=ObjectClass.SURVEILLANCE_AIRCRAFT, identities={"icao24": ident, "callsign": "SRV01"}),
        "t-2": Track(id="t-2", time=float(hist.time[-1]), position=GeoPoint(float(hist.lat[-1]), float(hist.lon[-1])),
                     cls=ObjectClass.UAS),
    }
    pts = [(tid, TrackPoint(float(hist.time[i]), float(hist.lat[i]), float(hist.lon[i]), float(hist.alt[i])))
           for i in range(len(hist)) for tid in ("t-1", "t-2")]
    ph = PointHistory.from_track_points(pts, tracks)
    assert set(ph.ident) == {ident}
    ms = detect_missions(ph)
    assert [(m.icao24, m.callsign, m.pattern) for m in ms] == [(ident, "SRV01", "racetrack")]


def _m(t: float, ident: str = "abc123", lat: float = 31.3, lon: float = -110.9) -> Mission:
    return Mission(icao24=ident, callsign=None, start=t, end=t + 3600, center_lat=lat, center_lon=lon,
                   radius_m=3000, pattern="orbit", score=0.9)


def test_counts_per_period_and_baseline():
    day = 86400.0
    t0 = datetime(2026, 3, 2, tzinfo=UTC).timestamp()  # a Monday
    # historical norm: one a month over the 90 days before; then 18 in two weeks
    hist = [_m(t0 - 90 * day + 30 * day * k + 3600) for k in range(3)]
    recent = [_m(t0 + k * (14 * day / 18), ident=f"a{k:05d}") for k in range(18)]
    ms = hist + recent
    weeks = count_missions(ms, "week", start=t0, end=t0 + 14 * day)
    assert [w.count for w in weeks] == [9, 9]
    assert weeks[0].period_start == t0 and weeks[1].period_start == t0 + 7 * day
    days = count_missions(ms, "day", start=t0, end=t0 + 14 * day)
    assert len(days) == 14 and sum(d.count for d in days) == 18
    months = count_missions(ms, "month")
    assert sum(mo.count for mo in months) == 21
    assert months[0].period_start == datetime(2025, 12, 1, tzinfo=UTC).timestamp()
    cmp = baseline_comparison(ms, t0, t0 + 14 * day, baseline_start=t0 - 90 * day, baseline_end=t0)
    assert cmp["count"] == 18 and cmp["baseline_count"] == 3
    assert cmp["ratio"] == pytest.approx((18 / 14) / (3 / 90), rel=1e-3)
    assert "18 missions in 14 days" in cmp["text"]
    prev = baseline_comparison(ms, t0, t0 + 14 * day)  # previous two weeks: none
    assert prev["baseline_count"] == 0 and prev["ratio"] is None
    # regions: none of them lies in a box far away
    assert count_missions(ms, "week", start=t0, end=t0 + 14 * day, region=box(0, 0, 1, 1))[0].count == 0


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="period"):
        period_start(0.0, "fortnight")
    with pytest.raises(ValueError, match="window_s"):
        MissionConfig(window_s=5.0)
    with pytest.raises(ValueError, match="step_s"):
        MissionConfig(step_s=-1)
    with pytest.raises(ValueError, match="lat"):
        PointHistory(ident=["a"], time=[1.0], lat=[1.0, 2.0], lon=[1.0])
    with pytest.raises(ValueError, match="end"):
        baseline_comparison([], 10.0, 5.0)


def test_simulator_surveillance_orbits_found_and_nothing_else():
    """The scenario generator's scripted surveillance orbits, against its airliners and GA."""
    from lookout.sim.records import ScenarioConfig
    from lookout.sim.scenario import Scenario

    sc = Scenario(ScenarioConfig(seed=7, duration_s=3 * 3600))
    rows = []
    for o in sc.truth:
        if o.cls == ObjectClass.UAS or not o.ident or o.cls not in (
                ObjectClass.FIXED_WING, ObjectClass.ROTORCRAFT, ObjectClass.SURVEILLANCE_AIRCRAFT):
            continue
        ts = np.arange(o.start, o.end, 5.0)
        p, _, _ = o.sample(ts)
        lat, lon, alt = sc.sector.frame.to_geodetic(p[:, 0], p[:, 1], p[:, 2])
        rows += list(zip([o.ident] * ts.size, ts, lat, lon, alt))
    orbits = [e.details for e in sc.events if e.kind == "surveillance_orbit"]
    assert orbits
    ms = detect_missions(PointHistory.from_records(rows))
    assert sorted(m.icao24 for m in ms) == sorted(d["icao24"] for d in orbits)
    for d in orbits:
        m = next(m for m in ms if m.icao24 == d["icao24"])
        assert m.start < d["end"] and m.end > d["start"]
        assert m.pattern == d["pattern"]
