"""The multi-sensor Observation tracker: EKF consistency, identities, fusion, spoofing evidence, time handling."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2

from lookout.geo import LocalFrame, distance_m, enu_to_polar
from lookout.model import (
    GeoPoint,
    GeoPosition,
    ObjectClass,
    Observation,
    PolarMeasurement,
    SourceKind,
    Velocity,
)
from lookout.tracking import Tracker, TrackerConfig
from lookout.tracking.metrics import nees

FRAME = LocalFrame(31.33, -110.95, 1200.0)
RADAR_SITE = GeoPoint(31.30, -110.98, 1250.0)
T0 = 1_700_000_000.0


def _geo(e, n, u):
    lat, lon, alt = FRAME.to_geodetic(e, n, u)
    return float(lat), float(lon), float(alt)


def radar_obs(t, enu, rng, sensor="radar-1", sig_r=15.0, sig_a=0.3, sig_e=0.3):
    """A radar plot of the ENU point ``enu`` (frame) from RADAR_SITE, with noise."""
    site_frame = LocalFrame(RADAR_SITE.lat, RADAR_SITE.lon, RADAR_SITE.alt_m)
    lat, lon, alt = _geo(*enu)
    e, n, u = site_frame.to_enu(lat, lon, alt)
    r, az, el = enu_to_polar(e, n, u)
    return Observation(time=t, source=SourceKind.RADAR, sensor=sensor, measurement=PolarMeasurement(
        site=RADAR_SITE, range_m=r + rng.normal(0, sig_r), azimuth_deg=az + rng.normal(0, sig_a),
        elevation_deg=el + rng.normal(0, sig_e), sigma_range_m=sig_r, sigma_az_deg=sig_a, sigma_el_deg=sig_e))


def pos_obs(t, enu, rng, source, ident=None, sigma=8.0, sensor=None, vel=None, **kw):
    e, n, u = enu
    lat, lon, alt = _geo(e + rng.normal(0, sigma), n + rng.normal(0, sigma), u + rng.normal(0, sigma))
    return Observation(time=t, source=source, sensor=sensor or str(source), ident=ident,
                       position=GeoPosition(lat, lon, alt, sigma_h_m=sigma, sigma_v_m=sigma),
                       velocity=Velocity(*vel) if vel is not None else None, **kw)


def test_radar_ekf_nees_consistent():
    """50 targets seen by one radar (range/az/el, EKF): average NEES inside the 99% chi-square interval."""
    rng = np.random.default_rng(3)
    n, steps = 50, 40
    starts = np.array([[(i % 10) * 2000.0 - 9000.0, (i // 10) * 3000.0 + 8000.0, 300.0 + 20 * i] for i in range(n)])
    vel = rng.normal(0, 8.0, (n, 3)) * [1, 1, 0.1]
    q = np.array([0.5, 0.5, 0.05])
    cfg = TrackerConfig(q_h=q[0], q_v=q[2], confirm_m=1, confirm_n=1, gate_prob=1 - 1e-9, init_speed_sigma=10.0,
                        init_vspeed_sigma=1.0)
    tr = Tracker(cfg, frame=FRAME)
    lo, hi = chi2.ppf([0.005, 0.995], df=6 * n) / n
    inside = 0
    pos, L = starts.copy(), np.linalg.cholesky(np.array([[1 / 3, 1 / 2], [1 / 2, 1.0]]))
    for k in range(steps):
        t = T0 + k
        if k:  # exact discretisation of the nearly-constant-velocity model
            w = rng.standard_normal((2, n, 3)) * np.sqrt(q)
            pos = pos + vel + L[0, 0] * w[0]
            vel = vel + L[1, 0] * w[0] + L[1, 1] * w[1]
        truth = pos
        tr.update(t, [radar_obs(t, p, rng) for p in truth])
        assert len(tr) == n
        x, P = tr.x[:, 0], tr.P[:, 0]
        order = np.argmin(np.linalg.norm(x[:, None, :3] - truth[None], axis=2), axis=1)
        assert len(set(order.tolist())) == n
        err = x - np.column_stack([truth, vel])[order]
        if k >= 8:
            inside += lo <= nees(err, P).mean() <= hi
    assert inside >= 0.85 * (steps - 8)


def test_radar_adsb_and_remote_id_of_one_object_give_one_track():
    rng = np.random.default_rng(4)
    tr = Tracker(TrackerConfig(), frame=FRAME)
    v = np.array([12.0, -5.0, 0.0])
    p0 = np.array([2000.0, 6000.0, 400.0])
    for k in range(30):
        t = T0 + k
        p = p0 + v * k
        obs = [radar_obs(t + 0.2, p + v * 0.2, rng)]
        if k % 2 == 0:
            obs.append(pos_obs(t, p, rng, SourceKind.ADSB, ident="a1b2c3", vel=v, callsign="N123AB"))
        if k >= 5:
            obs.append(pos_obs(t + 0.5, p + v * 0.5, rng, SourceKind.REMOTE_ID, ident="1581F5FJD23A00BX",
                               operator=GeoPoint(31.301, -110.96, 1210.0), label="REL-MX"))
        up = tr.update(t + 0.9, obs)
    tracks = tr.tracks()
    assert len(tracks) == 1, [t.identities for t in tracks]
    trk = tracks[0]
    assert trk.identities["icao24"] == "a1b2c3" and trk.identities["remote_id"] == "1581F5FJD23A00BX"
    assert trk.identities["callsign"] == "N123AB"
    assert set(trk.sources) == {"radar", "adsb", "remote_id"}
    assert trk.label == "REL-MX"
    assert trk.operator is not None and trk.operator.lat == pytest.approx(31.301)
    lat, lon, _ = _geo(*(p0 + v * 29.9))
    assert distance_m(trk.position.lat, trk.position.lon, lat, lon) < 30.0
    assert trk.velocity.speed == pytest.approx(13.0, abs=2.0)
    assert "remote_id_offset_m" in trk.attrs and trk.attrs["remote_id_offset_m"] < 60.0
    assert up.updated and up.updated[0].id == trk.id
    assert tr.stats.tracks_confirmed == 1


def test_spoofed_remote_id_is_fused_with_its_offset_and_does_not_drag_the_track():
    """A drone on radar whose Remote ID reports a position 200 m away: one fused track, offset ~200 m."""
    rng = np.random.default_rng(5)
    tr = Tracker(TrackerConfig(), frame=FRAME)
    v = np.array([0.0, 8.0, 0.0])
    p0 = np.array([-3000.0, 4000.0, 120.0])
    lie = np.array([200.0, 0.0, 0.0])
    for k in range(40):
        t = T0 + k
        p = p0 + v * k
        obs = [radar_obs(t, p, rng, sig_r=10.0, sig_a=0.1, sig_e=0.2)]
        if k >= 10:
            obs.append(pos_obs(t + 0.3, p + lie + v * 0.3, rng, SourceKind.REMOTE_ID, ident="SPOOF1", sigma=5.0))
        tr.update(t + 0.5, obs)
    tracks = tr.tracks()
    assert len(tracks) == 1
    trk = tracks[0]
    assert trk.identities.get("remote_id") == "SPOOF1"
    assert trk.cls == ObjectClass.UAS
    assert trk.attrs["remote_id_offset_m"] == pytest.approx(200.0, abs=40.0)
    assert trk.attrs["identity_inconsistent"] is True
    lat, lon, _ = _geo(*(p0 + v * 39))
    assert distance_m(trk.position.lat, trk.position.lon, lat, lon) < 40.0  # stays on the radar truth
    assert tr.stats.identity_fusions == 1


def test_remote_id_first_then_radar_is_merged_into_one_track():
    rng = np.random.default_rng(6)
    tr = Tracker(TrackerConfig(), frame=FRAME)
    v = np.array([5.0, 5.0, 0.0])
    p0 = np.array([1000.0, -2000.0, 80.0])
    deleted = []
    for k in range(30):
        t = T0 + k
        p = p0 + v * k
        obs = [pos_obs(t, p + [60.0, 0, 0], rng, SourceKind.REMOTE_ID, ident="RID-42", sigma=5.0)]
        if k >= 8:
            obs.append(radar_obs(t + 0.1, p, rng))
        deleted += tr.update(t + 0.5, obs).deleted
    tracks = tr.tracks()
    assert len(tracks) == 1
    trk = tracks[0]
    assert trk.identities["remote_id"] == "RID-42" and "radar" in trk.sources
    assert trk.attrs["remote_id_offset_m"] == pytest.approx(60.0, abs=30.0)
    assert any(d.attrs.get("merged_into") == trk.id for d in deleted)


def test_identity_observations_go_to_their_own_tracks_even_when_crossing():
    rng = np.random.default_rng(7)
    tr = Tracker(TrackerConfig(), frame=FRAME)
    for k in range(40):
        t = T0 + k
        a = np.array([-4000.0 + 200 * k, 0.0, 3000.0])  # east-bound, crossing b at k = 20
        b = np.array([0.0, -4000.0 + 200 * k, 3000.0])
        tr.update(t, [pos_obs(t, a, rng, SourceKind.ADSB, ident="aaaaaa", sigma=30.0, vel=(200, 0, 0)),
                      pos_obs(t, b, rng, SourceKind.ADSB, ident="bbbbbb", sigma=30.0, vel=(0, 200, 0))])
    tracks = {t.identities["icao24"]: t for t in tr.tracks()}
    assert set(tracks) == {"aaaaaa", "bbbbbb"}
    assert tracks["aaaaaa"].velocity.course_deg == pytest.approx(90.0, abs=3.0)
    assert tracks["bbbbbb"].velocity.course_deg == pytest.approx(0.0, abs=3.0) or \
        tracks["bbbbbb"].velocity.course_deg == pytest.approx(360.0, abs=3.0)
    assert all(t.cls == ObjectClass.FIXED_WING and t.updates == 40 for t in tracks.values())


def test_confirmation_deletion_blue_force_and_reports():
    rng = np.random.default_rng(8)
    cfg = TrackerConfig(confirm_m=3, confirm_n=4, max_coast_s=10.0)
    tr = Tracker(cfg, frame=FRAME)
    p = np.array([500.0, 500.0, 0.0])
    agent = pos_obs(T0, [0, 0, 0], rng, SourceKind.BLUE_FORCE, ident="agent-7")
    up = tr.update(T0, [radar_obs(T0, p, rng), agent])
    assert not up.confirmed and len(tr) == 1 and tr.stats.skipped_blue_force == 1
    up = tr.update(T0 + 1, [radar_obs(T0 + 1, p, rng)])
    assert not up.confirmed
    up = tr.update(T0 + 2, [radar_obs(T0 + 2, p, rng)])
    assert [t.status for t in up.confirmed] == ["confirmed"] and up.updated == up.confirmed
    tid = up.confirmed[0].id
    assert tid.startswith("T") and len(tid) == 7
    # a low-precision agent sighting report of the same object updates the same track
    rep = pos_obs(T0 + 3, p, rng, SourceKind.REPORT, sigma=40.0, sensor="agent-7", cls=ObjectClass.PERSON,
                  cls_confidence=0.8)
    rep.position.alt_m = None
    up = tr.update(T0 + 3, [rep])
    assert [t.id for t in up.updated] == [tid] and up.updated[0].cls == ObjectClass.PERSON
    assert "report" in up.updated[0].sources
    # nothing for 10 s: still alive; past max_coast_s: deleted and reported once
    assert tr.update(T0 + 13, []).deleted == []
    up = tr.update(T0 + 13.5, [])
    assert [t.id for t in up.deleted] == [tid] and up.deleted[0].status == "deleted"
    assert len(tr) == 0 and tr.stats.tracks_deleted == 1


def test_out_of_order_within_tolerance_is_used_beyond_is_counted_and_dropped():
    rng = np.random.default_rng(9)
    tr = Tracker(TrackerConfig(late_tolerance_s=2.0), frame=FRAME)
    v = np.array([10.0, 0.0, 0.0])
    p0 = np.array([0.0, 3000.0, 200.0])
    for k in range(10):
        tr.update(T0 + k, [radar_obs(T0 + k, p0 + v * k, rng)])
    (trk,) = tr.tracks()
    n0 = trk.updates
    # a plot from 1.5 s ago (late, inside tolerance) updates the track without moving it backwards
    up = tr.update(T0 + 10, [radar_obs(T0 + 7.5, p0 + v * 7.5, rng), radar_obs(T0 + 10, p0 + v * 10, rng)])
    assert up.updated[0].updates == n0 + 2
    assert tr.stats.dropped_late == 0
    lat, lon, _ = _geo(*(p0 + v * 10))
    assert distance_m(up.updated[0].position.lat, up.updated[0].position.lon, lat, lon) < 25.0
    # 5 s old: beyond tolerance, counted and dropped
    tr.update(T0 + 11, [radar_obs(T0 + 6, p0 + v * 6, rng)])
    assert tr.stats.dropped_late == 1
    assert tr.tracks()[0].updates == n0 + 2


def test_camera_bearings_update_tracks_but_cannot_start_them():
    rng = np.random.default_rng(10)
    cam = GeoPoint(31.32, -110.94, 1220.0)
    cam_frame = LocalFrame(cam.lat, cam.lon, cam.alt_m)
    tr = Tracker(TrackerConfig(), frame=FRAME)
    p = np.array([3000.0, 5000.0, 150.0])

    def bearing(t, target):
        e, n, u = cam_frame.to_enu(*_geo(*target))
        _, az, el = enu_to_polar(e, n, u)
        return Observation(time=t, source=SourceKind.CAMERA, sensor="eo-1", measurement=PolarMeasurement(
            site=cam, azimuth_deg=az + rng.normal(0, 0.05), elevation_deg=el + rng.normal(0, 0.05),
            sigma_az_deg=0.05, sigma_el_deg=0.05), cls=ObjectClass.UAS, cls_confidence=0.9)

    tr.update(T0, [bearing(T0, p)])
    assert len(tr) == 0 and tr.stats.unassociated_bearings == 1
    for k in range(1, 20):
        tr.update(T0 + k, [radar_obs(T0 + k, p, rng, sig_r=30.0, sig_a=1.0, sig_e=1.0), bearing(T0 + k + 0.5, p)])
    (trk,) = tr.tracks()
    assert set(trk.sources) == {"radar", "camera"} and trk.cls == ObjectClass.UAS
    lat, lon, _ = _geo(*p)
    assert distance_m(trk.position.lat, trk.position.lon, lat, lon) < 40.0


@pytest.mark.parametrize("association, imm", [("gnn", False), ("jpda", False), ("gnn", True)])
def test_options_track_two_radar_targets(association, imm):
    rng = np.random.default_rng(12)
    tr = Tracker(TrackerConfig(association=association, imm=imm, clutter_density=1e-7), frame=FRAME)
    a0, b0 = np.array([0.0, 5000.0, 500.0]), np.array([600.0, 5000.0, 500.0])
    va, vb = np.array([15.0, 0.0, 0.0]), np.array([-15.0, 2.0, 0.0])
    for k in range(30):
        t = T0 + k
        obs = [radar_obs(t, a0 + va * k, rng), radar_obs(t, b0 + vb * k, rng)]
        obs += [radar_obs(t, np.array([rng.uniform(-5000, 5000), rng.uniform(0, 10000), 300.0]), rng)]
        tr.update(t, obs)
    tracks = tr.tracks()
    assert len(tracks) == 2
    for truth in (a0 + va * 29, b0 + vb * 29):
        lat, lon, _ = _geo(*truth)
        assert min(distance_m(t.position.lat, t.position.lon, lat, lon) for t in tracks) < 40.0


def test_fused_track_reports_remote_id_evidence_and_source_times():
    rng = np.random.default_rng(13)
    tr = Tracker(TrackerConfig(), frame=FRAME)
    p0, v = np.array([-1000.0, 2000.0, 100.0]), np.array([3.0, 4.0, 0.0])
    for k in range(15):
        t = T0 + k
        p = p0 + v * k
        obs = [radar_obs(t, p, rng)]
        if k >= 5:
            obs.append(pos_obs(t + 0.4, p + v * 0.4, rng, SourceKind.REMOTE_ID, ident="RIDX", sigma=3.0))
        tr.update(t + 0.5, obs)
    (trk,) = tr.tracks()
    assert trk.attrs["source_times"]["radar"] == pytest.approx(T0 + 14)
    assert trk.attrs["source_times"]["remote_id"] == pytest.approx(T0 + 14.4)
    rp = trk.attrs["remote_id_position"]
    lat, lon, _ = _geo(*(p0 + v * 14.4))
    assert distance_m(rp["lat"], rp["lon"], lat, lon) < 20.0
    assert trk.attrs["remote_id_sigma_m"] == 3.0
    assert trk.to_dict()["attrs"]["source_times"] is not tr.meta[0].attrs["source_times"]


def test_simulated_border_scenario_tracks_every_object():
    """The multi-sensor simulator (radar with clutter, camera, ADS-B, Remote ID, reports, blue force)."""
    sim = pytest.importorskip("lookout.sim")
    sc = sim.Scenario(sim.ScenarioConfig(seed=7, duration_s=300.0))
    tr = Tracker(TrackerConfig(), frame=sc.sector.frame)
    for step in sc.steps(1.0):
        tr.update(step.time + 1.0, step.observations)
    assert tr.stats.skipped_blue_force > 0 and tr.stats.dropped_late == 0
    tracks = tr.tracks()
    frame = sc.sector.frame
    enu = np.array([frame.to_enu(t.position.lat, t.position.lon, 0.0)[:2] for t in tracks]).reshape(-1, 2)
    end = sc.config.end_time
    for o in sc.truth:
        if not o.active(end - 1.0) or o.start > end - 60.0:
            continue
        p, vel = o.state_at(end - 1.0)
        d = np.hypot(*(enu - p[:2]).T)
        # tracks are at their last update (up to a radar revisit ago): allow for the motion
        assert d.min() < 60.0 + 3.0 * np.hypot(*vel[:2]), f"{o.id} ({o.cls}) is not tracked"
        k = int(np.argmin(d))
        if o.ident and not o.spoofs_remote_id:
            kind = "icao24" if o.cls != ObjectClass.UAS else "remote_id"
            assert tracks[k].identities.get(kind) == (o.ident.lower() if kind == "icao24" else o.ident)
    # every confirmed track is explained by an object (or by the false position a spoofer broadcasts)
    unexplained = 0
    for trk, xy in zip(tracks, enu):
        best = np.inf
        for o in sc.truth:
            if o.start <= trk.time <= o.end + 15.0:  # deletion follows the object's end
                p, _ = o.state_at(min(trk.time, o.end))
                best = min(best, np.hypot(*(p[:2] - xy)))
                if o.spoofs_remote_id:
                    best = min(best, np.hypot(*(p[:2] + np.asarray(o.attrs["rid_offset_enu"])[:2] - xy)))
        unexplained += best > 100.0
    assert unexplained <= 1


def test_export_adopt_between_trackers_keeps_id_state_and_identity():
    """The handoff methods: an id prefix, the exported state adopted by an IMM tracker (combined
    moment), an identity track merged into by identity, release without a deletion report."""
    rng = np.random.default_rng(11)
    a = Tracker(TrackerConfig(), frame=FRAME, id_prefix="s0-ab12-")
    for s in range(6):
        a.update(T0 + s, [pos_obs(T0 + s, (100.0 * s, 2000.0, 500.0), rng, SourceKind.ADSB, ident="abc123",
                                  vel=(100.0, 0.0, 0.0))])
    (trk,) = a.tracks()
    assert trk.id == "s0-ab12-T000001" and a.track_ids() == [trk.id]
    ids, lat, lon = a.positions_at(T0 + 15.0)
    assert ids == [trk.id] and distance_m(trk.position.lat, trk.position.lon, lat[0], lon[0]) == \
        pytest.approx(1000.0, rel=0.05)  # 10 s at 100 m/s
    state = a.export_track(trk.id)
    assert a.release_tracks([trk.id, "nope"]) == 1 and a.update(T0 + 6, []).deleted == []
    b = Tracker(TrackerConfig(imm=True), frame=FRAME, id_prefix="s1-cd34-")
    # b already follows the aircraft by its ICAO24 under its own id: merged into the adopted id
    b.update(T0 + 6, [pos_obs(T0 + 6, (600.0, 2000.0, 500.0), rng, SourceKind.ADSB, ident="abc123")])
    b.update(T0 + 7, [pos_obs(T0 + 7, (700.0, 2000.0, 500.0), rng, SourceKind.ADSB, ident="abc123")])
    assert [t.id for t in b.tracks()] == ["s1-cd34-T000001"]
    tid, replaced = b.adopt_track(state)
    assert tid == trk.id and [t.attrs["merged_into"] for t in replaced] == [trk.id]
    (got,) = b.tracks()
    assert got.id == trk.id and got.identities["icao24"] == "abc123" and got.updates == trk.updates + 2
    up = b.update(T0 + 8, [pos_obs(T0 + 8, (800.0, 2000.0, 500.0), rng, SourceKind.ADSB, ident="ABC123")])
    assert [t.id for t in up.updated] == [trk.id]
    with pytest.raises(ValueError, match="malformed handoff"):
        b.adopt_track({"id": "x", "t": 1.0})
    with pytest.raises(TypeError, match="id_prefix"):
        Tracker(TrackerConfig(), frame=FRAME, id_prefix=3)


def test_an_aircraft_keeps_its_track_id_through_radar_loss_and_reacquisition():
    """Radar and ADS-B heights disagree (barometric vs radar): ADS-B keeps the track alive while
    radar loses the aircraft, and the radar tracks that start beside it are merged into it, so the
    aircraft keeps the id it had from the start."""
    from lookout.geo import LocalFrame, enu_to_polar
    from lookout.model import GeoPoint, GeoPosition, Observation, PolarMeasurement, SourceKind, Velocity
    from lookout.tracking import Tracker, TrackerConfig

    frame = LocalFrame(31.33, -110.95, 1200.0)
    site = GeoPoint(*frame.to_geodetic(0.0, 0.0, 50.0))
    tr = Tracker(TrackerConfig(), frame=frame)
    rng = np.random.default_rng(2)
    ids = set()
    for k in range(400):
        t = 1.79e9 + k
        e, n, u = -8000.0 + 60.0 * k, 5000.0, 3000.0
        lat, lon, alt = frame.to_geodetic(e, n, u)
        obs = [Observation(time=t + 0.1, source=SourceKind.ADSB, sensor="adsb", ident="abc123", callsign="TEST1",
                           position=GeoPosition(lat, lon, alt, sigma_h_m=15.0), velocity=Velocity(60.0, 0.0, 0.0))]
        if k < 60 or k > 200:  # radar loses the aircraft for 140 s
            r, az, el = enu_to_polar(e, n, u - 50.0 - 400.0)  # ADS-B (barometric) and radar heights disagree
            obs.append(Observation(time=t + 0.5, source=SourceKind.RADAR, sensor="radar", measurement=PolarMeasurement(
                site=site, range_m=r + rng.normal(0, 10), sigma_range_m=10.0, azimuth_deg=az + rng.normal(0, 0.2),
                sigma_az_deg=0.2, elevation_deg=el + rng.normal(0, 0.3), sigma_el_deg=0.3)))
        upd = tr.update(t + 1.0, obs)
        ids |= {x.id for x in upd.updated if "icao24" in x.identities}
    live = [x for x in tr.tracks() if x.identities.get("icao24") == "abc123"]
    assert len(live) == 1
    assert live[0].id == min(ids), (live[0].id, sorted(ids))
    assert {"adsb", "radar"} <= set(live[0].sources)


def test_restored_bookkeeping_is_what_the_stages_use():
    """A checkpoint restore sets the counters, the next track number and the revisit periods:
    the tracker's stages carry on from them."""
    from lookout.tracking import TrackerStats

    rng = np.random.default_rng(6)
    tr = Tracker(TrackerConfig(), frame=FRAME)
    state = {"time": None, "next_id": 42, "periods": {"radar-1": 1.0},
             "stats": TrackerStats(observations=100, tracks_created=41).as_dict()}
    tr.restore_bookkeeping(state)
    assert tr.bookkeeping() == state
    for k in range(4):
        tr.update(T0 + k + 0.5, [radar_obs(T0 + k, (1000.0 + 20 * k, 5000.0, 300.0), rng)])
    assert tr.stats.observations == 104 and tr.stats.tracks_created == 42
    assert [t.id for t in tr.tracks()] == ["T000042"]
    book = tr.bookkeeping()
    assert set(book["periods"]) == {"radar-1"} and book["next_id"] == 43 and book["time"] == T0 + 3.5
    # a malformed state changes nothing
    for bad in ({**state, "next_id": 0}, {**state, "periods": {"radar-1": -1.0}}, {**state, "time": float("nan")},
                {**state, "stats": {"no_such_counter": 1}}):
        with pytest.raises((ValueError, TypeError)):
            tr.restore_bookkeeping(bad)
    assert tr.bookkeeping() == book
    # a track exported without its Track view is adopted alike
    lean = tr.export_track("T000042", with_track=False)
    assert "track" not in lean and {k: v for k, v in tr.export_track("T000042").items() if k != "track"} == lean
    other = Tracker(TrackerConfig(), frame=FRAME, id_prefix="b-")
    assert other.adopt_track(lean) == ("T000042", [])
    assert other.tracks()[0].position == tr.tracks()[0].position
