"""Crossing corridors recovered from noisy crossings, and launch-point hotspots."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import Point

from lookout.analytics.corridors import (
    Crossings,
    crossings_from_alerts,
    crossings_from_track_points,
    crossings_from_tracks,
    find_corridors,
    launch_hotspots,
    launch_points,
)
from lookout.analytics.synth import CorridorTruth, synth_crossing_tracks
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
    TrackPoint,
)
from lookout.sector import load_sector

DAY = 86400.0
T0 = 1_767_225_600.0


@pytest.fixture(scope="module")
def sector():
    return load_sector()


@pytest.fixture(scope="module")
def scripted(sector):
    cors = [CorridorTruth(8000, 150, 400, north_share=0.8, start=T0, end=T0 + 30 * DAY),
            CorridorTruth(20000, 250, 250, north_share=0.3, start=T0, end=T0 + 30 * DAY),
            CorridorTruth(31000, 100, 120, north_share=0.9, start=T0 + 25 * DAY, end=T0 + 30 * DAY)]
    data = synth_crossing_tracks(sector, cors, noise_count=300, seed=1)
    return cors, data


def _along(sector, lat, lon):
    e, n, _ = sector.frame.to_enu(lat, lon, 0.0)
    return sector.border_enu.project(Point(e, n))


def test_crossings_from_tracks_match_scripted_points(sector, scripted):
    cors, (ids, t, lat, lon, labels, cpts) = scripted
    cr = crossings_from_tracks(ids, t, lat, lon, sector)
    assert len(cr) == len(labels)  # one crossing per scripted track, none invented
    e, n, _ = sector.frame.to_enu(cr.lat, cr.lon, 0.0)
    order = np.argsort([int(s.split("-")[-1]) for s in cr.track_id])
    err = np.hypot(e[order] - cpts[:, 0], n[order] - cpts[:, 1])
    assert np.percentile(err, 95) < 30.0
    # directions: the side of the border after the crossing
    for i in range(0, len(cr), 97):
        k = order[i]
        side = sector.side_of_border(float(lat[ids == cr.track_id[k]][-1]), float(lon[ids == cr.track_id[k]][-1]))
        assert (cr.direction[k] == "north") == (side == sector.north_country)


def test_corridors_recovered_from_noisy_crossings(sector, scripted):
    cors, (ids, t, lat, lon, labels, _) = scripted
    cr = crossings_from_tracks(ids, t, lat, lon, sector)
    found = find_corridors(cr, rank_by="count", frame=sector.frame)
    assert len(found) == len(cors)
    for c, truth in zip(found, cors):  # ranked by count: the scripted order
        assert abs(_along(sector, c.center_lat, c.center_lon) - truth.along_m) < 300
        assert abs(c.count - truth.count) <= 0.2 * truth.count
        assert c.north / c.count == pytest.approx(truth.north_share, abs=0.1)
        assert c.width_m < 6 * truth.spread_m + 1000
        assert c.first_seen < c.last_seen <= truth.end + 600
        assert c.cells and len(c.boundary) >= 7
    # recency weighting lifts the newest corridor above the older, busier one
    by_score = find_corridors(cr, frame=sector.frame)
    assert [round(_along(sector, c.center_lat, c.center_lon), -3) for c in by_score] == [8000, 31000, 20000]
    assert find_corridors(cr, rank_by="recent")[0].last_seen == max(c.last_seen for c in found)
    # northbound courses point north-ish, southbound south-ish
    assert min(found[0].course_north_deg, 360 - found[0].course_north_deg) < 30
    assert abs(found[0].course_south_deg - 180) < 30


def test_corridors_from_alerts_and_store_points(sector, scripted):
    cors, (ids, t, lat, lon, labels, _) = scripted
    cr = crossings_from_tracks(ids, t, lat, lon, sector)
    alerts = [Alert(rule="border_crossing", severity=Severity.HIGH, message="crossing", start=float(cr.time[i]),
                    track_ids=[str(cr.track_id[i])], position=GeoPoint(float(cr.lat[i]), float(cr.lon[i])),
                    evidence={"direction": str(cr.direction[i]), "course_deg": float(cr.course[i])})
              for i in range(len(cr))]
    alerts.append(Alert(rule="zone", severity=Severity.LOW, message="other", start=T0, position=GeoPoint(31.3, -110.9)))
    ca = crossings_from_alerts(alerts)
    assert len(ca) == len(cr)
    a = [(c.count, c.north, c.south) for c in find_corridors(ca)]
    b = [(c.count, c.north, c.south) for c in find_corridors(cr)]
    assert a == b
    pts = [(str(i), TrackPoint(float(tt), float(la), float(lo))) for i, tt, la, lo in zip(ids, t, lat, lon)]
    cs = crossings_from_track_points(pts, sector)
    assert len(cs) == len(cr)
    assert len(crossings_from_track_points(pts, sector, track_ids={str(ids[0])})) == 1


def test_corridor_edge_cases(sector):
    assert find_corridors(Crossings.empty()) == []
    with pytest.raises(ValueError, match="rank_by"):
        find_corridors(Crossings.empty(), rank_by="size")
    with pytest.raises(ValueError, match="direction"):
        Crossings([1.0], [31.0], [-110.0], [], [0.0], ["x"])
    # a few scattered crossings make no corridor
    rng = np.random.default_rng(0)
    sparse = Crossings(T0 + rng.uniform(0, DAY, 20), 31.33 + rng.uniform(-0.001, 0.001, 20),
                       rng.uniform(-111.1, -110.8, 20), ["north"] * 20, np.zeros(20), [f"x{i}" for i in range(20)])
    assert find_corridors(sparse) == []


def _rid(t, ident, op_lat, op_lon, loc_type=OperatorLocationType.TAKE_OFF):
    return Observation(time=t, source=SourceKind.REMOTE_ID, sensor="rid-1", ident=ident,
                       position=GeoPosition(op_lat + 0.01, op_lon + 0.01, 1300.0),
                       operator=GeoPoint(op_lat, op_lon), operator_location_type=loc_type)


def test_launch_points_one_per_flight_and_hotspots():
    site_a, site_b = (31.30, -110.95), (31.25, -110.85)
    obs = []
    for k in range(6):  # six flights from site A by two drones, each flight with 30 messages
        for j in range(30):
            obs.append(_rid(T0 + k * 3600 + j, f"drone-{k % 2}", *site_a))
    for j in range(30):  # one flight from site B: live GNSS positions wandering, take-off first
        obs.append(_rid(T0 + 50_000 + j, "drone-9", site_b[0] + j * 1e-4, site_b[1],
                        OperatorLocationType.TAKE_OFF if j == 0 else OperatorLocationType.LIVE_GNSS))
    lp = launch_points(obs)
    assert len(lp) == 7
    tr = Track(id="t-9", time=T0, position=GeoPoint(31.2, -110.8), cls=ObjectClass.UAS,
               operator=GeoPoint(*site_b), identities={"remote_id": "drone-77"})
    lp2 = launch_points(obs, tracks=[tr])
    assert len(lp2) == 8
    # a track of a drone already seen in the observations (serial in another case) is not counted twice
    dup = Track(id="t-0", time=T0, position=GeoPoint(31.2, -110.8), cls=ObjectClass.UAS,
                operator=GeoPoint(*site_a), identities={"remote_id": "DRONE-0"})
    assert len(launch_points(obs, tracks=[tr, dup])) == 8
    hs = launch_hotspots(lp2)
    assert [(h.count, h.drones) for h in hs] == [(6, 2), (2, 2)]
    assert hs[0].center_lat == pytest.approx(site_a[0], abs=0.003)
    assert hs[1].center_lon == pytest.approx(site_b[1], abs=0.003)
    assert launch_hotspots(launch_points([])) == []
