"""The store contract, run against SQLite and PostgreSQL alike (the ``store`` fixture)."""

from __future__ import annotations

import dataclasses

import pytest

from lookout.geo import LocalFrame
from lookout.model import (
    Alert,
    AlertState,
    GeoPoint,
    GeoPosition,
    ObjectClass,
    Observation,
    OperatorLocationType,
    PolarMeasurement,
    Severity,
    SourceKind,
    Track,
    TrackPoint,
    TrackStatus,
    Velocity,
    Zone,
    ZoneKind,
)
from lookout.sector import load_sector
from lookout.store.base import BBox
from lookout.store.migrate import load_migrations

SECTOR = load_sector()
T0 = 1_790_000_000.0
# a box around the sector's ENU origin, and one far away in the south-west corner of the sector
FRAME: LocalFrame = SECTOR.frame


def _geo(e: float, n: float, u: float = 1300.0) -> tuple[float, float, float]:
    lat, lon, alt = FRAME.to_geodetic(e, n, u)
    return float(lat), float(lon), float(alt)


def adsb(t: float, e: float, n: float, ident: str = "a1b2c3", sensor: str = "adsb-nogales", **kw) -> Observation:
    lat, lon, alt = _geo(e, n, 2500.0)
    return Observation(time=t, source=SourceKind.ADSB, sensor=sensor, ident=ident, callsign="N123AB",
                       position=GeoPosition(lat, lon, alt, sigma_h_m=15.0, sigma_v_m=20.0),
                       velocity=Velocity(60.0, -5.0, 1.5), cls=ObjectClass.FIXED_WING, cls_confidence=0.9,
                       attrs={"squawk": "1200", "nic": 8}, **kw)


def remote_id(t: float, e: float, n: float) -> Observation:
    lat, lon, alt = _geo(e, n, 1400.0)
    olat, olon, oalt = _geo(e - 300.0, n - 400.0, 1250.0)
    return Observation(time=t, source="remote_id", sensor="rid-rx-1", ident="1581F5FJD239C00DW22E",
                       position=GeoPosition(lat, lon, alt, sigma_h_m=5.0), velocity=Velocity(4.0, 9.0),
                       cls="uas", operator=GeoPoint(olat, olon, oalt),
                       operator_location_type=OperatorLocationType.LIVE_GNSS, label="REL-MX")


def radar(t: float, site_e: float = 0.0, site_n: float = 0.0, sensor: str = "radar-1") -> Observation:
    slat, slon, salt = _geo(site_e, site_n, 1250.0)
    m = PolarMeasurement(site=GeoPoint(slat, slon, salt), azimuth_deg=37.5, elevation_deg=1.2, range_m=8200.0,
                         sigma_az_deg=0.4, sigma_el_deg=0.5, sigma_range_m=25.0, radial_velocity_mps=-12.5)
    return Observation(time=t, source=SourceKind.RADAR, sensor=sensor, measurement=m, label="US-ONLY")


def camera_bearing(t: float) -> Observation:
    slat, slon, salt = _geo(1000.0, 2000.0, 1260.0)
    m = PolarMeasurement(site=GeoPoint(slat, slon, salt), azimuth_deg=212.0, elevation_deg=3.0, sigma_az_deg=0.2)
    return Observation(time=t, source=SourceKind.CAMERA, sensor="eoir-2", measurement=m, cls=ObjectClass.UAS)


def track(tid: str, t: float, e: float, n: float, **kw) -> Track:
    lat, lon, alt = _geo(e, n, 1500.0)
    base = dict(id=tid, time=t, position=GeoPoint(lat, lon, alt), velocity=Velocity(30.0, 40.0, 0.5),
                sigma_h_m=22.5, cls=ObjectClass.FIXED_WING, identities={"icao24": "a1b2c3"},
                sources=["adsb", "radar"], sensors=["adsb-nogales", "radar-1"], first_time=T0, updates=3)
    base.update(kw)
    return Track(**base)


def alert(aid: str, start: float, **kw) -> Alert:
    lat, lon, alt = _geo(500.0, -200.0, 1300.0)
    base = dict(id=aid, rule="border_crossing", severity=Severity.HIGH,
                message="track t-1 crossed the border northbound", start=start, track_ids=["t-1"],
                position=GeoPoint(lat, lon, alt), evidence={"side": "US", "speed": 12.5})
    base.update(kw)
    return Alert(**base)


def polygon_zone(zid: str = "z-site", name: str = "Agent station", scale: float = 1.0) -> Zone:
    ring = [_geo(e * scale, n * scale)[1::-1] for e, n in ((0, 0), (800, 0), (800, 600), (0, 600), (0, 0))]
    return Zone(id=zid, name=name, kind=ZoneKind.PROTECTED_SITE,
                geometry={"type": "Polygon", "coordinates": [[list(p) for p in ring]]},
                label="US-ONLY", properties={"buffer_m": 500, "owner": "station"})


# -- observations ---------------------------------------------------------------------------
def test_observation_round_trip_every_kind(store):
    obs = [adsb(T0, 100.0, 200.0), remote_id(T0 + 1, -500.0, 900.0), radar(T0 + 2), camera_bearing(T0 + 3)]
    assert store.write_observations(obs) == 4
    got = store.observations()
    assert got == obs  # dataclass equality: every field, nested records included
    assert [type(o.measurement) for o in got[2:]] == [PolarMeasurement, PolarMeasurement]
    assert got[1].operator_location_type is OperatorLocationType.LIVE_GNSS
    assert got[0].source is SourceKind.ADSB and got[0].attrs == {"squawk": "1200", "nic": 8}
    assert store.observation(obs[2].id) == obs[2]
    assert store.observation("o-unknown") is None


def test_observation_time_window_filters_and_limit(store):
    obs = [adsb(T0 + i, 100.0 * i, 0.0, sensor="adsb-a" if i % 2 else "adsb-b") for i in range(10)]
    obs += [radar(T0 + i + 0.5) for i in range(5)]
    store.write_observations(reversed(obs))  # any order in, time order out
    got = store.observations(start=T0 + 2, end=T0 + 5)
    assert [o.time for o in got] == [T0 + 2, T0 + 2.5, T0 + 3, T0 + 3.5, T0 + 4, T0 + 4.5, T0 + 5]
    assert all(o.source is SourceKind.ADSB for o in store.observations(source="adsb"))
    assert len(store.observations(source=SourceKind.RADAR)) == 5
    assert [o.time for o in store.observations(sensor="adsb-a")] == [T0 + i for i in (1, 3, 5, 7, 9)]
    assert [o.time for o in store.observations(source="adsb", start=T0 + 6, limit=2)] == [T0 + 6, T0 + 7]
    assert store.observations(limit=0) == []
    assert store.observations(start=T0 + 100) == []


def test_observation_bbox_uses_position_or_sensor_site(store):
    near = adsb(T0, 1000.0, 1000.0)            # ~1.4 km from the origin
    far = adsb(T0 + 1, -15000.0, -15000.0)      # south-west corner
    radar_here = radar(T0 + 2, 0.0, 0.0)        # site at the origin; the target is 8 km away
    radar_far = radar(T0 + 3, 15000.0, 15000.0, sensor="radar-2")
    store.write_observations([near, far, radar_here, radar_far])
    lat_s, lon_w, _ = _geo(-2000.0, -2000.0)
    lat_n, lon_e, _ = _geo(2000.0, 2000.0)
    box = BBox(lat_s, lon_w, lat_n, lon_e)
    assert [o.id for o in store.observations(bbox=box)] == [near.id, radar_here.id]
    assert [o.id for o in store.observations(bbox=box, source="radar")] == [radar_here.id]
    assert store.observations(bbox=box, start=T0 + 2.5) == []


def test_observation_writes_are_idempotent(store):
    obs = [adsb(T0 + i, 10.0 * i, 0.0) for i in range(50)]
    assert store.write_observations(obs) == 50
    counts = store.count_observations()
    # a redelivered batch, overlapping a new one: only the new records count
    more = [adsb(T0 + 50 + i, 0.0, 10.0 * i) for i in range(20)]
    assert store.write_observations(obs[25:] + more) == 20
    assert store.write_observations(obs) == 0
    assert store.count_observations() == {"adsb": counts["adsb"] + 20}
    assert len(store.observations()) == 70
    # the same id with other content does not overwrite the first write
    clash = dataclasses.replace(obs[0], sensor="elsewhere")
    assert store.write_observations([clash]) == 0
    assert store.observation(obs[0].id).sensor == "adsb-nogales"


def test_count_observations_by_source_and_sensor(store):
    assert store.count_observations() == {}
    store.write_observations([adsb(T0, 0, 0), adsb(T0 + 1, 0, 0, sensor="adsb-2"), radar(T0 + 2),
                              radar(T0 + 3), radar(T0 + 4, sensor="radar-9"), camera_bearing(T0 + 5)])
    assert store.count_observations() == {"adsb": 2, "radar": 3, "camera": 1}
    assert store.count_observations(by="sensor") == {"adsb-nogales": 1, "adsb-2": 1, "radar-1": 2,
                                                     "radar-9": 1, "eoir-2": 1}
    with pytest.raises(ValueError, match="by must be"):
        store.count_observations(by="time; DROP TABLE observations")


def test_large_batch_round_trips(store):
    # large enough for the bulk (COPY) path on PostgreSQL
    obs = [adsb(T0 + i * 0.1, float(i), float(-i), ident=f"{i % 97:06x}") for i in range(3000)]
    assert store.write_observations(obs) == 3000
    assert store.write_observations(obs[:1500] + [adsb(T0 + 999, 0, 0)]) == 1
    got = store.observations(start=T0 + 100, end=T0 + 100.95)
    assert got == obs[1000:1010]
    assert store.count_observations() == {"adsb": 3001}
    # duplicates inside one large batch count once
    more = [adsb(T0 + 2000 + i, 0.0, 0.0) for i in range(200)]
    assert store.write_observations(more + more[:100] + more) == 200
    assert store.count_observations() == {"adsb": 3201}
    steps = [track(f"t-{k}", T0 + s, 10.0 * s, 5.0 * k) for s in range(3) for k in range(100)]
    store.write_tracks(steps + steps[:150])  # a large batch, states repeated
    assert store.count_track_points() == 300
    assert {t.time for t in store.tracks()} == {T0 + 2}


# -- tracks ---------------------------------------------------------------------------------
def test_track_latest_state_and_history(store):
    states = [track("t-1", T0 + i, 100.0 * i, 50.0 * i, updates=i + 1) for i in range(5)]
    for s in states:
        store.write_tracks([s])
    assert store.track("t-1") == states[-1]
    hist = store.track_history("t-1")
    assert [p.time for p in hist] == [T0 + i for i in range(5)]
    assert hist[2] == states[2].point()
    assert hist[2].speed_mps == pytest.approx(50.0) and hist[2].course_deg == pytest.approx(36.8698976, abs=1e-6)
    assert [p.time for p in store.track_history("t-1", start=T0 + 1, end=T0 + 3)] == [T0 + 1, T0 + 2, T0 + 3]
    assert store.track_history("t-unknown") == []
    assert store.track("t-unknown") is None


def test_track_writes_are_idempotent_and_never_regress(store):
    a = [track("t-a", T0 + i, 10.0 * i, 0.0, updates=i) for i in range(3)]
    store.write_tracks(a)
    store.write_tracks(a)  # redelivered
    assert len(store.track_history("t-a")) == 3
    store.write_tracks([a[0]])  # an old state arriving late does not replace the latest
    assert store.track("t-a") == a[2]
    deleted = dataclasses.replace(a[2], status=TrackStatus.DELETED)  # deletion at the same time
    store.write_tracks([deleted])
    assert store.track("t-a").status is TrackStatus.DELETED
    assert len(store.track_history("t-a")) == 3
    # several states of one track in one batch: the latest wins, every point is kept
    b = [track("t-b", T0 + i, 0.0, 10.0 * i) for i in (3, 1, 2)]
    store.write_tracks(b)
    assert store.track("t-b").time == T0 + 3
    assert [p.time for p in store.track_history("t-b")] == [T0 + 1, T0 + 2, T0 + 3]


def test_tracks_window_bbox_status(store):
    store.write_tracks([
        track("t-near", T0 + 10, 500.0, 500.0, cls=ObjectClass.UAS, identities={"remote_id": "RID1"}, label="REL-MX"),
        track("t-far", T0 + 20, -15000.0, -15000.0),
        track("t-tent", T0 + 30, 600.0, 400.0, status=TrackStatus.TENTATIVE, operator=GeoPoint(31.3, -110.9)),
    ])
    assert [t.id for t in store.tracks()] == ["t-tent", "t-far", "t-near"]  # most recent first
    assert [t.id for t in store.tracks(limit=1)] == ["t-tent"]
    assert [t.id for t in store.tracks(start=T0 + 15, end=T0 + 25)] == ["t-far"]
    lat_s, lon_w, _ = _geo(-2000.0, -2000.0)
    lat_n, lon_e, _ = _geo(2000.0, 2000.0)
    box = BBox(lat_s, lon_w, lat_n, lon_e)
    assert [t.id for t in store.tracks(bbox=box)] == ["t-tent", "t-near"]
    assert [t.id for t in store.tracks(status="tentative")] == ["t-tent"]
    assert [t.id for t in store.tracks(status=TrackStatus.CONFIRMED, bbox=box)] == ["t-near"]
    near = store.track("t-near")
    assert near.cls is ObjectClass.UAS and near.identities == {"remote_id": "RID1"} and near.label == "REL-MX"
    assert store.track("t-tent").operator == GeoPoint(31.3, -110.9)


def test_track_points_for_replay(store):
    store.write_tracks([track("t-1", T0 + i, 100.0 * i, 0.0) for i in range(4)])
    store.write_tracks([track("t-2", T0 + i + 0.5, -14000.0, -14000.0 + 10 * i) for i in range(4)])
    pts = store.track_points(start=T0 + 1, end=T0 + 3)
    assert [(tid, p.time) for tid, p in pts] == [("t-1", T0 + 1), ("t-2", T0 + 1.5), ("t-1", T0 + 2),
                                                 ("t-2", T0 + 2.5), ("t-1", T0 + 3)]
    assert all(isinstance(p, TrackPoint) for _, p in pts)
    lat_s, lon_w, _ = _geo(-1000.0, -1000.0)
    lat_n, lon_e, _ = _geo(1000.0, 1000.0)
    assert {tid for tid, _ in store.track_points(bbox=BBox(lat_s, lon_w, lat_n, lon_e))} == {"t-1"}
    assert store.count_track_points() == 8


# -- alerts ---------------------------------------------------------------------------------
def test_alert_round_trip_and_updates(store):
    a = alert("a-1", T0, operator=GeoPoint(31.31, -110.95, 1200.0), label="US-ONLY")
    store.write_alerts([a])
    assert store.alert("a-1") == a
    assert store.alert("a-unknown") is None
    upd = dataclasses.replace(a, updated=T0 + 30, message="still crossing", evidence={"side": "US", "n": 2})
    store.write_alerts([upd])
    got = store.alert("a-1")
    assert got == upd and got.updated == T0 + 30
    assert len(store.alerts()) == 1  # upsert, not a second row


def test_alert_lifecycle_never_goes_backwards(store):
    a = alert("a-2", T0)
    store.write_alerts([a])
    # an operator acknowledges through the API, stamping wall-clock time
    acked = dataclasses.replace(a, state=AlertState.ACKNOWLEDGED, acknowledged_by="agent-7",
                                acknowledged_at=T0 + 5000, updated=T0 + 5000)
    store.write_alerts([acked])
    # the rule engine's next update (event time) does not know about the acknowledgement
    rule_update = dataclasses.replace(a, updated=T0 + 10, message="drone closer", severity=Severity.CRITICAL)
    store.write_alerts([rule_update])
    got = store.alert("a-2")
    assert got.state is AlertState.ACKNOWLEDGED and got.acknowledged_by == "agent-7"
    assert got.acknowledged_at == T0 + 5000 and got.updated == T0 + 5000
    assert got.message == "drone closer" and got.severity is Severity.CRITICAL  # the rule's update applies
    ended = dataclasses.replace(rule_update, end=T0 + 55, updated=T0 + 55)
    store.write_alerts([ended])
    assert store.alert("a-2").end == T0 + 55 and store.alert("a-2").state is AlertState.ACKNOWLEDGED
    resolved = dataclasses.replace(store.alert("a-2"), state="resolved", resolved_by="sup-1", resolved_at=T0 + 6000,
                                   updated=T0 + 6000)
    store.write_alerts([resolved])
    store.write_alerts([ended, acked])  # redelivered updates do not reopen it or forget who acted
    got = store.alert("a-2")
    assert got.state is AlertState.RESOLVED and got.resolved_by == "sup-1" and got.acknowledged_by == "agent-7"
    assert got.end == T0 + 55 and got.updated == T0 + 6000
    # several updates of one alert in one batch merge the same way
    b = alert("a-3", T0)
    store.write_alerts([b, dataclasses.replace(b, state="acknowledged", acknowledged_by="x", acknowledged_at=T0 + 1),
                        dataclasses.replace(b, message="later", updated=T0 + 2)])
    got = store.alert("a-3")
    assert (got.state, got.acknowledged_by, got.message) == (AlertState.ACKNOWLEDGED, "x", "later")


def test_alert_queries_overlap_state_rule_bbox(store):
    lat, lon, _ = _geo(-15000.0, -15000.0)
    store.write_alerts([
        alert("a-old", T0, end=T0 + 100),                                # closed episode [0, 100]
        alert("a-open", T0 + 50, rule="loitering", severity="medium"),   # still open
        alert("a-far", T0 + 200, position=GeoPoint(lat, lon), state="acknowledged"),
        alert("a-nopos", T0 + 300, position=None, rule="rid_missing"),
        alert("a-res", T0 + 10, state="resolved", resolved_at=T0 + 20, resolved_by="x"),
    ])
    assert [a.id for a in store.alerts()] == ["a-nopos", "a-far", "a-open", "a-res", "a-old"]  # newest first
    assert [a.id for a in store.alerts(start=T0 + 150)] == ["a-nopos", "a-far", "a-open"]
    assert [a.id for a in store.alerts(start=T0 + 90, end=T0 + 120)] == ["a-open", "a-old"]
    assert [a.id for a in store.alerts(end=T0 + 15)] == ["a-res", "a-old"]
    assert [a.id for a in store.alerts(state="acknowledged")] == ["a-far"]
    assert [a.id for a in store.alerts(state=AlertState.NEW, rule="border_crossing")] == ["a-old"]
    assert [a.id for a in store.alerts(rule="loitering")] == ["a-open"]
    lat_s, lon_w, _ = _geo(-2000.0, -2000.0)
    lat_n, lon_e, _ = _geo(2000.0, 2000.0)
    assert [a.id for a in store.alerts(bbox=BBox(lat_s, lon_w, lat_n, lon_e))] == ["a-open", "a-res", "a-old"]
    assert [a.id for a in store.alerts(limit=2)] == ["a-nopos", "a-far"]


# -- zones ----------------------------------------------------------------------------------
def test_zone_versions_and_deletion(store):
    z1 = store.put_zone(polygon_zone())
    assert z1.version == 1 and z1 == polygon_zone()
    assert store.zone("z-site") == z1
    bigger = polygon_zone(scale=2.0)
    z2 = store.put_zone(bigger)
    assert z2.version == 2 and z2.geometry == bigger.geometry
    assert bigger.version == 1  # the caller's record is not modified
    assert store.put_zone(polygon_zone(scale=2.0)) == z2  # same content again: no new version
    assert store.zone("z-site") == z2
    assert store.zone("z-site", version=1) == z1
    assert store.zone("z-site", version=7) is None
    store.put_zone(Zone(id="z-line", name="Patrol road", kind="custom",
                        geometry={"type": "LineString", "coordinates": [[-110.95, 31.33], [-110.90, 31.34]]}))
    assert [z.id for z in store.zones()] == ["z-line", "z-site"]
    assert [z.id for z in store.zones(kind="protected_site")] == ["z-site"]
    assert store.delete_zone("z-site") is True
    assert store.delete_zone("z-site") is False  # already deleted
    assert store.zone("z-site") is None
    assert store.zone("z-site", version=3) is None  # the deletion marker
    assert store.zone("z-site", version=2) == z2   # history stays readable
    assert [z.id for z in store.zones()] == ["z-line"]
    assert [(v, d) for v, d, _ in store.zone_versions("z-site")] == [(1, False), (2, False), (3, True)]
    z4 = store.put_zone(polygon_zone())  # re-created after deletion
    assert z4.version == 4 and store.zone("z-site") == z4


def test_zone_agency_is_kept(store):
    """The agency that made a zone travels in its record; a record without one (written before
    zones had an owner) reads as a zone no agency made."""
    made = store.put_zone(dataclasses.replace(polygon_zone(), agency="GN-MX"))
    assert store.zone("z-site").agency == "GN-MX" and store.zones()[0] == made
    assert store.put_zone(dataclasses.replace(polygon_zone(), agency="GN-MX")) == made  # no new version
    assert store.put_zone(polygon_zone()).version == 2  # another owner is another version
    assert store.zone("z-site", version=1).agency == "GN-MX" and store.zone("z-site").agency is None
    old = {k: v for k, v in made.to_dict().items() if k != "agency"}
    assert Zone.from_dict(old).agency is None


def test_unknown_zone(store):
    assert store.zone("z-nope") is None
    assert store.zone("z-nope", version=1) is None
    assert store.delete_zone("z-nope") is False
    assert store.zones() == []


# -- metadata and bad input ------------------------------------------------------------------
def test_meta(store):
    assert store.get_meta("scenario") is None
    store.set_meta("scenario", "default seed=7")
    store.set_meta("scenario", "default seed=8")
    assert store.get_meta("scenario") == "default seed=8"
    assert store.schema_version() == load_migrations(store.dialect)[-1].version


def test_bad_input_gets_a_clear_error(store):
    with pytest.raises(ValueError, match="invalid bounding box"):
        store.observations(bbox=BBox(31.5, -110.9, 31.4, -111.0))
    with pytest.raises(ValueError, match="bbox must be"):
        store.tracks(bbox=(31.0, -111.0, 31.5, -110.5))
    with pytest.raises(ValueError, match="start .* is after its end"):
        store.observations(start=T0 + 10, end=T0)
    with pytest.raises(ValueError, match="limit"):
        store.alerts(limit=-1)
    with pytest.raises(ValueError, match="SourceKind"):
        store.observations(source="sonar")
    with pytest.raises(ValueError, match="AlertState"):
        store.alerts(state="closed")
    with pytest.raises(ValueError, match="TrackStatus"):
        store.tracks(status="lost")
    with pytest.raises(ValueError, match="ZoneKind"):
        store.zones(kind="moat")
    good = adsb(T0, 0.0, 0.0)
    with pytest.raises(TypeError, match="item 1 is a dict, not an Observation"):
        store.write_observations([good, good.to_dict()])
    assert store.observations() == []  # the batch was rejected whole
    with pytest.raises(TypeError, match="not a Track"):
        store.write_tracks([good])
    with pytest.raises(TypeError, match="not an Alert"):
        store.write_alerts(["a-1"])
    with pytest.raises(ValueError, match="meta value"):
        store.set_meta("k", 5)
    # the store is still usable after every rejection
    assert store.write_observations([good]) == 1


def test_numpy_values_and_unencodable_records(store, caplog):
    import numpy as np

    ok = adsb(T0, 0.0, 0.0)
    ok.attrs = {"snr_db": np.float32(12.5), "hits": np.int64(3), "beam": np.array([1, 2]), "nan": float("nan")}
    bad = adsb(T0 + 1, 0.0, 0.0)
    bad.attrs = {"raw": object()}
    later = adsb(T0 + 2, 0.0, 0.0)
    assert store.write_observations([ok, bad, later]) == 2  # the bad record is left out, the rest stored
    assert store.rejected["observation"] == 1
    assert f"observation {bad.id!r} not stored" in caplog.text and "cannot store a value of type object" in caplog.text
    got = store.observation(ok.id)
    assert got.attrs["snr_db"] == 12.5 and got.attrs["hits"] == 3 and got.attrs["beam"] == [1, 2]
    assert got.attrs["nan"] != got.attrs["nan"]  # NaN survives
    assert [o.id for o in store.observations()] == [ok.id, later.id]
    t_bad = track("t-x", T0, 0.0, 0.0, attrs={"raw": object()})
    store.write_tracks([t_bad, track("t-y", T0, 0.0, 0.0)])
    assert store.track("t-x") is None and store.track_history("t-x") == []
    assert store.track("t-y") is not None and store.rejected["track"] == 1
    # a gathered write of one track's states whose newest cannot be encoded: that state and its
    # point are left out, the next newest becomes the record, every other point is kept
    states = [track("t-z", T0 + i, 10.0 * i, 0.0) for i in range(4)]
    states[3] = track("t-z", T0 + 3, 30.0, 0.0, attrs={"raw": object()})
    store.write_tracks(states)
    assert store.track("t-z").time == T0 + 2 and store.rejected["track"] == 2
    assert [p.time for p in store.track_history("t-z")] == [T0, T0 + 1, T0 + 2]
    store.write_alerts([alert("a-bad", T0, evidence={"raw": object()}), alert("a-ok", T0)])
    assert store.alert("a-bad") is None and store.alert("a-ok") is not None
    assert store.rejected["alert"] == 1


def test_prune_deletes_what_is_older(store):
    store.write_observations([adsb(T0 + i * 10, 0.0, 0.0) for i in range(10)])  # T0 .. T0+90
    store.write_tracks([track("t-old", T0 + i, 0.0, 0.0) for i in range(5)])
    store.write_tracks([track("t-live", T0 + 40 + i * 10, 0.0, 0.0) for i in range(5)])  # T0+40 .. T0+80
    store.write_alerts([
        alert("a-done", T0, state="resolved", resolved_at=T0 + 20, end=T0 + 15),
        alert("a-open", T0),
        alert("a-recent", T0, state="resolved", resolved_at=T0 + 70, end=T0 + 65),
    ])
    z = store.put_zone(polygon_zone())
    store.set_meta("k", "v")
    assert store.prune(T0 + 50) == {"observations": 5, "track_points": 6, "tracks": 1, "alerts": 1}
    assert [o.time for o in store.observations()] == [T0 + 50 + i * 10 for i in range(5)]
    assert store.track("t-old") is None and store.track_history("t-old") == []
    assert [p.time for p in store.track_history("t-live")] == [T0 + 50, T0 + 60, T0 + 70, T0 + 80]
    assert {a.id for a in store.alerts()} == {"a-open", "a-recent"}
    assert store.zone(z.id) == z and store.get_meta("k") == "v"
    assert store.prune(T0 + 50) == {"observations": 0, "track_points": 0, "tracks": 0, "alerts": 0}
    with pytest.raises(ValueError, match="before must be a number"):
        store.prune("yesterday")


def test_random_queries_match_a_brute_force_filter(store):
    """Window, area and source queries over scattered records agree with filtering in Python."""
    import numpy as np

    rng = np.random.default_rng(11)
    n = 400
    e, nn = rng.uniform(-20000, 20000, n), rng.uniform(-20000, 20000, n)
    times = T0 + np.round(rng.uniform(0, 600, n), 1)  # repeated times included
    obs = []
    for i in range(n):
        if i % 4 == 0:
            obs.append(radar(float(times[i]), float(e[i]), float(nn[i]), sensor=f"radar-{i % 3}"))
        else:
            obs.append(adsb(float(times[i]), float(e[i]), float(nn[i]), sensor=f"adsb-{i % 3}"))
    store.write_observations(obs)

    def where(o):
        return (o.position.lat, o.position.lon) if o.position else (o.measurement.site.lat, o.measurement.site.lon)

    for _ in range(40):
        t1, t2 = sorted(T0 + rng.uniform(-50, 650, 2))
        (e1, e2), (n1, n2) = np.sort(rng.uniform(-22000, 22000, 2)), np.sort(rng.uniform(-22000, 22000, 2))
        lat1, lon1, _ = _geo(e1, n1)
        lat2, lon2, _ = _geo(e2, n2)
        box = BBox(min(lat1, lat2), min(lon1, lon2), max(lat1, lat2), max(lon1, lon2))
        source = [None, "adsb", "radar"][int(rng.integers(3))]
        want = sorted((o for o in obs if t1 <= o.time <= t2 and box.contains(*where(o))
                       and (source is None or o.source == source)), key=lambda o: (o.time, o.id))
        got = store.observations(start=t1, end=t2, bbox=box, source=source)
        assert [o.id for o in got] == [o.id for o in want]


def test_nul_characters_and_odd_ids(store):
    """Binary junk in text fields (a NUL-padded Remote ID serial) never breaks a batch."""
    padded = dataclasses.replace(remote_id(T0, 0.0, 0.0), ident="1581F5FJD239\x00\x00\x00", sensor="rid\x00rx")
    bad_id = dataclasses.replace(adsb(T0 + 1, 0.0, 0.0), id="o-\x00")
    fine = adsb(T0 + 2, 0.0, 0.0)
    assert store.write_observations([padded, bad_id, fine]) == 2
    assert store.rejected["observation"] == 1
    assert store.observation(padded.id) == padded  # the record keeps its exact text
    assert [o.id for o in store.observations(sensor="ridrx")] == [padded.id]  # the indexed column is cleaned
    assert store.observations(sensor="rid\x00rx")[0].id == padded.id
    for lookup in (store.observation, store.track, store.alert, store.zone, store.get_meta):
        assert lookup("x\x00y") is None
        assert lookup(42) is None
    assert store.track_history("x\x00") == [] and store.zone_versions("x\x00") == []
    assert store.delete_zone("x\x00") is False
    with pytest.raises(ValueError, match="zone id must be a non-empty string without NUL"):
        store.put_zone(polygon_zone(zid="z\x00"))
    with pytest.raises(ValueError, match="meta value .* without NUL"):
        store.set_meta("k", "a\x00b")
    store.write_alerts([alert("a-nul", T0, rule="loiter\x00ing", message="m\x00")])
    assert store.alert("a-nul").message == "m\x00" and [a.id for a in store.alerts(rule="loitering")] == ["a-nul"]


def test_any_unicode_text_round_trips(store):
    odd = dataclasses.replace(adsb(T0, 0.0, 0.0, sensor="cámara-norte-\udcff"), callsign="ÑANDÚ 1")
    odd.attrs = {"raw": b"\xff\xfeok".decode("utf-8", "surrogateescape"), "emoji": "\U0001f681", "zh": "边境"}
    assert store.write_observations([odd]) == 1
    assert store.observation(odd.id) == odd
    assert store.count_observations(by="sensor") == {"cámara-norte-?": 1}
    bad = dataclasses.replace(adsb(T0, 0.0, 0.0), id="o-\udcff")
    assert store.write_observations([bad, adsb(T0 + 1, 0.0, 0.0)]) == 1 and store.rejected["observation"] == 1
    assert store.observation("o-\udcff") is None and store.track("\udcff") is None
    # a record without a releasability label is never stored as if it had one
    unlabelled = dataclasses.replace(adsb(T0 + 2, 0.0, 0.0), label=None)
    assert store.write_observations([unlabelled]) == 0 and store.rejected["observation"] == 2
    store.write_tracks([track("t-nolabel", T0, 0.0, 0.0, label=None)])
    store.write_alerts([alert("a-norule", T0, rule=None), alert("a-nolabel", T0, label="")])
    assert store.track("t-nolabel") is None and store.alerts() == []
    assert (store.rejected["track"], store.rejected["alert"]) == (1, 2)
    with pytest.raises(ValueError, match="zone label must be a non-empty string"):
        store.put_zone(dataclasses.replace(polygon_zone(), label=None))
