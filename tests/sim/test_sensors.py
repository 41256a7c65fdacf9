"""Sensor models: noise statistics, detection probability, clutter, outages, Remote ID spoofing."""

from __future__ import annotations

import numpy as np
import pytest

from lookout.geo import LocalFrame, enu_to_polar
from lookout.model import GeoPoint, ObjectClass, SourceKind
from lookout.sim import SensorSpec, TruthObject
from lookout.sim.sensors import radar_pd, simulate_radar


def _by_sensor(observations, kind):
    return [o for o in observations if o.source == kind]


def _truth_polar(scenario, obs):
    """Range/azimuth/elevation of the true object from the observation's sensor site."""
    o = scenario.truth_object(scenario.truth_of(obs))
    g = o.geodetic_at(obs.time)
    s = obs.measurement.site
    e, n, u = LocalFrame(s.lat, s.lon, s.alt_m).to_enu(g.lat, g.lon, g.alt_m)
    return enu_to_polar(e, n, u)


def _truth_polar_many(scenario, obs):
    """Vectorised :func:`_truth_polar` for observations of one sensor site: arrays (range, az, el)."""
    frame = scenario.sector.frame
    ids = np.array([scenario.truth_of(o) for o in obs], dtype=object)
    times = np.array([o.time for o in obs])
    enu = np.empty((len(obs), 3))
    for oid in set(ids.tolist()):
        m = ids == oid
        enu[m] = scenario.truth_object(oid).sample(times[m])[0]
    lat, lon, alt = frame.to_geodetic(enu[:, 0], enu[:, 1], enu[:, 2])
    s = obs[0].measurement.site
    return enu_to_polar(*LocalFrame(s.lat, s.lon, s.alt_m).to_enu(lat, lon, alt))


def _wrap(d):
    return (np.asarray(d) + 180.0) % 360.0 - 180.0


def test_radar_residuals_have_the_configured_sigmas(scenario, observations):
    spec = next(s for s in scenario.sensors if s.kind == SourceKind.RADAR)
    radar = [o for o in _by_sensor(observations, SourceKind.RADAR) if scenario.truth_of(o) is not None]
    assert len(radar) > 2000
    r, az, el = _truth_polar_many(scenario, radar)
    res = np.column_stack([[o.measurement.range_m for o in radar] - r,
                           _wrap(np.array([o.measurement.azimuth_deg for o in radar]) - az),
                           [o.measurement.elevation_deg for o in radar] - el])
    # the sector-frame helper agrees with an independent per-observation conversion
    assert np.allclose(_truth_polar(scenario, radar[7]), (r[7], az[7], el[7]), atol=1e-6)
    sig = np.array([spec.params["sigma_range_m"], spec.params["sigma_az_deg"], spec.params["sigma_el_deg"]])
    assert np.all(np.abs(res.mean(axis=0)) < 0.1 * sig)
    assert np.allclose(res.std(axis=0), sig, rtol=0.08)
    o = radar[0]
    assert o.measurement.sigma_range_m == sig[0] and o.measurement.sigma_az_deg == sig[1]
    assert o.measurement.range_m <= spec.max_range_m + 50 and o.measurement.radial_velocity_mps is not None


def test_radar_radial_velocity_matches_truth(scenario, observations):
    spec = next(s for s in scenario.sensors if s.kind == SourceKind.RADAR)
    radar = [o for o in _by_sensor(observations, SourceKind.RADAR) if scenario.truth_of(o) is not None]
    life = {t.id: (t.start + 1.0, t.end - 1.0) for t in scenario.truth}
    radar = [o for o in radar if life[scenario.truth_of(o)][0] < o.time < life[scenario.truth_of(o)][1]]
    # range rate by central differences of the true range
    ahead = [type(o)(time=o.time + 0.5, source=o.source, sensor=o.sensor, measurement=o.measurement, id=o.id)
             for o in radar]
    behind = [type(o)(time=o.time - 0.5, source=o.source, sensor=o.sensor, measurement=o.measurement, id=o.id)
              for o in radar]
    rate = _truth_polar_many(scenario, ahead)[0] - _truth_polar_many(scenario, behind)[0]
    res = np.array([o.measurement.radial_velocity_mps for o in radar]) - rate
    assert abs(np.median(res)) < 0.1
    assert np.std(res) < 1.2 * spec.params["sigma_vr_mps"] + 0.1


def test_adsb_position_errors_have_the_reported_sigma(scenario, observations):
    adsb = _by_sensor(observations, SourceKind.ADSB)
    assert len(adsb) > 1000
    frame = scenario.sector.frame
    p = np.array([scenario.truth_object(scenario.truth_of(o)).state_at(o.time)[0] for o in adsb])
    e, n, _ = frame.to_enu([o.position.lat for o in adsb], [o.position.lon for o in adsb],
                           [o.position.alt_m for o in adsb])
    sig = np.array([o.position.sigma_h_m for o in adsb])
    z = np.column_stack([(e - p[:, 0]) / sig, (n - p[:, 1]) / sig])
    assert np.all(np.abs(z.mean(axis=0)) < 0.1)
    assert np.allclose(z.std(axis=0), 1.0, rtol=0.08)
    assert all(10.0 <= o.position.sigma_h_m <= 30.0 for o in adsb)
    assert all(len(o.ident) == 6 and int(o.ident, 16) >= 0 and o.ident == o.ident.lower() for o in adsb)
    assert all(o.callsign and o.velocity is not None and o.position.alt_m is not None for o in adsb)


def test_adsb_rate_about_1hz_with_drops(scenario, observations):
    adsb = _by_sensor(observations, SourceKind.ADSB)
    by = {}
    for o in adsb:
        by.setdefault(o.ident, []).append(o.time)
    for ident, ts in by.items():
        ts = np.array(ts)
        if ts.size < 200:
            continue
        gaps = np.diff(ts)
        assert 0.95 < gaps.mean() < 1.2, ident  # 1 s mean interval, ~5 % dropped
        assert gaps.min() >= 0.6 - 1e-9 and np.std(gaps) > 0.1  # irregular


def _stationary(times, enu, rcs=0.02, cls=ObjectClass.UAS):
    enu = np.repeat(np.asarray(enu, dtype=float)[None, :], len(times), axis=0)
    return TruthObject("target", cls, None, None, False, False, "US-ONLY", np.asarray(times, dtype=float), enu,
                       np.zeros_like(enu), attrs={"rcs_m2": rcs})


def _radar_spec(frame, clutter=0.0, outages=()):
    lat, lon, alt = frame.to_geodetic(0.0, 0.0, 100.0)
    return SensorSpec("radar-test", SourceKind.RADAR, GeoPoint(float(lat), float(lon), float(alt)), "US-ONLY", 2.0,
                      20_000.0, dict(sigma_range_m=10.0, sigma_az_deg=0.3, sigma_el_deg=0.5, sigma_vr_mps=0.5,
                                     min_range_m=150.0, el_min_deg=-10.0, el_max_deg=45.0, pd_max=0.95,
                                     r50_1m2_m=14_000.0, pd_slope=6.0, clutter_per_scan=clutter,
                                     clutter_sigma_vr_mps=1.0, outages=list(outages), scan_phase_s=0.3))


@pytest.mark.parametrize("range_m,rcs", [(3000.0, 0.02), (5300.0, 0.02), (12000.0, 1.0)])
def test_radar_detection_probability_over_many_scans(range_m, rcs):
    frame = LocalFrame(31.33, -110.95, 1200.0)
    t0, n_scans = 1.0e9, 3000
    obj = _stationary([t0, t0 + 2.0 * n_scans + 10], [range_m * 0.6, range_m * 0.8, 0.0], rcs)
    spec = _radar_spec(frame)
    tab = simulate_radar(spec, 0, [obj], frame, np.random.default_rng(5), t0, t0 + 2.0 * n_scans + 1.0)
    r = np.linalg.norm(spec_site_offset(frame, spec, obj.enu[0]))
    P = spec.params
    p = float(radar_pd(r, rcs, P["pd_max"], P["r50_1m2_m"], P["pd_slope"]))
    n = len(tab)
    assert abs(n / n_scans - p) < 4.0 * np.sqrt(p * (1 - p) / n_scans) + 1e-3, (n / n_scans, p)
    # one detection at most per scan
    scans = [a["scan"] for a in tab["attrs"]]
    assert len(set(scans)) == len(scans)


def spec_site_offset(frame, spec, p):
    e, n, u = frame.to_enu(spec.site.lat, spec.site.lon, spec.site.alt_m)
    return np.asarray(p) - np.array([e, n, u])


def test_radar_pd_falls_with_range_and_is_lower_for_drones():
    r = np.array([1000.0, 5000.0, 10000.0, 20000.0])
    drone, car = radar_pd(r, 0.02), radar_pd(r, 10.0)
    assert np.all(np.diff(drone) < 0) and np.all(drone <= car)
    assert drone[0] > 0.9 and drone[-1] < 0.05 and car[-1] > 0.5


def test_radar_clutter_is_poisson_and_uniform_over_coverage():
    frame = LocalFrame(31.33, -110.95, 1200.0)
    spec = _radar_spec(frame, clutter=10.0)
    t0, n_scans = 1.0e9, 4000
    tab = simulate_radar(spec, 0, [], frame, np.random.default_rng(9), t0, t0 + 2.0 * n_scans + 1.0)
    scans = np.array([a["scan"] for a in tab["attrs"]])
    counts = np.bincount(scans, minlength=n_scans)[:n_scans]
    assert abs(counts.mean() - 10.0) < 4 * np.sqrt(10.0 / n_scans)
    assert 0.9 < counts.var() / counts.mean() < 1.1  # Poisson: variance = mean
    # uniform over the area: horizontal range squared uniform on [min^2, max^2]
    horiz = tab["rng"] * np.cos(np.radians(tab["el"]))
    frac_inner = np.mean(horiz < 20_000.0 / np.sqrt(2))
    assert abs(frac_inner - 0.5) < 0.02
    assert abs(np.mean(tab["az"] < 180.0) - 0.5) < 0.02


def test_radar_outage_leaves_a_gap(scenario, observations):
    spec = next(s for s in scenario.sensors if s.kind == SourceKind.RADAR)
    (a, b), = spec.params["outages"]
    assert b - a == pytest.approx(60.0)
    t = np.array([o.time for o in _by_sensor(observations, SourceKind.RADAR)])
    assert not np.any((t >= a) & (t < b))
    assert np.any((t >= a - 10) & (t < a)) and np.any((t >= b) & (t < b + 10))


def test_camera_bearings_elevation_and_classes(scenario, observations):
    spec = next(s for s in scenario.sensors if s.kind == SourceKind.CAMERA)
    cam = _by_sensor(observations, SourceKind.CAMERA)
    assert len(cam) > 1000
    assert all(o.measurement.range_m is None and o.cls is not None and 0 < o.cls_confidence <= 1 for o in cam)
    real = [o for o in cam if scenario.truth_of(o) is not None]
    r, az, el = _truth_polar_many(scenario, real)
    res = np.column_stack([_wrap(np.array([o.measurement.azimuth_deg for o in real]) - az),
                           [o.measurement.elevation_deg for o in real] - el, r])
    assert np.allclose(res[:, :2].std(axis=0), [spec.params["sigma_az_deg"], spec.params["sigma_el_deg"]], rtol=0.1)
    assert res[:, 2].max() <= spec.max_range_m
    classes = {o.cls for o in real}
    assert ObjectClass.UAS in classes and ObjectClass.UNKNOWN in classes
    right = [o for o in real if o.cls == scenario.truth_object(scenario.truth_of(o)).cls]
    assert len(right) / len(real) > 0.6
    assert np.mean([o.cls_confidence for o in right]) > 0.6
    # about 2 frames a second: detections of one object are 0.5 s apart
    one = [o.time for o in real if scenario.truth_of(o) == "uas-dark-1"]
    assert np.median(np.diff(one)) == pytest.approx(0.5, abs=1e-6)


def test_remote_id_reports_truth_except_the_spoofer(scenario, observations):
    rid = _by_sensor(observations, SourceKind.REMOTE_ID)
    assert rid
    frame = scenario.sector.frame
    spoof_ev = next(e for e in scenario.events if e.kind == "remote_id_spoof")
    by_obj: dict[str, list[float]] = {}
    for o in rid:
        t = scenario.truth_object(scenario.truth_of(o))
        p, _ = t.state_at(o.time)
        e, n, _ = frame.to_enu(o.position.lat, o.position.lon, o.position.alt_m)
        by_obj.setdefault(t.id, []).append(float(np.hypot(e - p[0], n - p[1])))
        assert o.ident == t.ident and o.operator is not None and o.operator_location_type == "take_off"
        assert o.cls == ObjectClass.UAS
    for oid, errs in by_obj.items():
        if oid == spoof_ev.object_id:
            assert abs(np.median(errs) - spoof_ev.details["offset_m"]) < 15.0
        else:
            assert np.percentile(errs, 99) < 15.0
    assert spoof_ev.object_id in by_obj
    # the radar sees the spoofer where it really is
    radar = [o for o in _by_sensor(observations, SourceKind.RADAR) if scenario.truth_of(o) == spoof_ev.object_id]
    assert radar
    rr = np.array([o.measurement.range_m for o in radar]) - _truth_polar_many(scenario, radar)[0]
    assert np.all(np.abs(rr) < 6 * 10.0)
    # operator position: the take-off point of honest drones
    honest = next(o for o in rid if scenario.truth_of(o) != spoof_ev.object_id)
    t = scenario.truth_object(scenario.truth_of(honest))
    start = t.geodetic_at(t.start)
    assert abs(honest.operator.lat - start.lat) < 1e-6 and abs(honest.operator.lon - start.lon) < 1e-6


def test_remote_id_reception_range_and_rate(scenario, observations):
    for spec in (s for s in scenario.sensors if s.kind == SourceKind.REMOTE_ID):
        rid = [o for o in observations if o.sensor == spec.id]
        assert rid
        frame = scenario.sector.frame
        se, sn, _ = frame.to_enu(spec.site.lat, spec.site.lon, spec.site.alt_m)
        for o in rid[::10]:
            p, _ = scenario.truth_object(scenario.truth_of(o)).state_at(o.time)
            assert np.hypot(p[0] - se, p[1] - sn) <= spec.max_range_m


def test_blue_force_and_reports(scenario, observations):
    bf = _by_sensor(observations, SourceKind.BLUE_FORCE)
    agents = {a.id: a for a in scenario.agents}
    assert {o.ident for o in bf} == set(agents)
    assert 3 <= len(agents) <= 6
    for aid in agents:
        ts = np.array([o.time for o in bf if o.ident == aid])
        assert abs(np.median(np.diff(ts)) - 30.0) < 3.0
    reports = _by_sensor(observations, SourceKind.REPORT)
    assert reports
    frame = scenario.sector.frame
    for o in reports:
        assert o.attrs["agent_id"] in agents and o.attrs["count"] >= 1 and o.attrs["text"]
        assert o.attrs["direction"] in ("north", "northeast", "east", "southeast", "south", "southwest", "west",
                                        "northwest", "stationary")
        assert 100.0 <= o.position.sigma_h_m <= 300.0
        assert o.label in ("REL-MX", "US-ONLY")
        t = scenario.truth_object(scenario.truth_of(o))
        assert o.cls == t.cls and t.cls in (ObjectClass.UAS, ObjectClass.PERSON, ObjectClass.GROUND_VEHICLE)
        p, _ = t.state_at(o.time)
        e, n, _ = frame.to_enu(o.position.lat, o.position.lon, 0.0)
        assert np.hypot(e - p[0], n - p[1]) < 5 * o.position.sigma_h_m
