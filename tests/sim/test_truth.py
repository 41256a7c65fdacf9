"""Ground truth physics and scripted events of the default scenario."""

from __future__ import annotations

import numpy as np
import pytest

from lookout.geo import distance_m
from lookout.model import ObjectClass
from lookout.sim import Scenario, ScenarioConfig
from lookout.sim.motion import Plan, racetrack

# (min, max) horizontal speed while cruising, m/s, by class / role
SPEED = {
    "airliner": (200.0, 250.0),
    "general_aviation": (50.0, 70.0),
    "surveillance": (65.0, 80.0),
    ObjectClass.UAS: (5.0, 20.0),
    ObjectClass.GROUND_VEHICLE: (10.0, 30.0),
    ObjectClass.PERSON: (1.0, 1.5),
}


@pytest.fixture(scope="module")
def long_truth() -> Scenario:
    """A 3-hour scenario, truth only (observations are never generated here)."""
    return Scenario(ScenarioConfig(seed=11, duration_s=3 * 3600.0))


def _speed_range(o):
    return SPEED.get(o.attrs.get("role"), SPEED.get(o.cls))


def test_speeds_of_every_class_within_their_ranges(long_truth):
    seen = set()
    for o in long_truth.truth:
        lo, hi = _speed_range(o)
        seen.add(o.cls)
        sp = np.hypot(o.vel[:, 0], o.vel[:, 1])
        fd = np.hypot(*(np.diff(o.enu[:, :2], axis=0) / np.diff(o.times)[:, None]).T)
        assert sp.max() <= hi * 1.01, (o.id, sp.max())
        assert fd.max() <= hi * 1.01, (o.id, fd.max())
        moving = sp[sp > 0.5]
        assert moving.size, o.id
        # accelerations/decelerations are short: most of the moving time is at cruise speed
        assert np.mean(moving >= lo * 0.99) > 0.85, (o.id, np.mean(moving >= lo * 0.99))
        # velocities are the derivative of positions
        mid = 0.5 * (o.vel[1:, :2] + o.vel[:-1, :2])
        fdv = np.diff(o.enu[:, :2], axis=0) / np.diff(o.times)[:, None]
        assert np.median(np.linalg.norm(mid - fdv, axis=1)) < 0.05 * hi
    assert {ObjectClass.UAS, ObjectClass.FIXED_WING, ObjectClass.SURVEILLANCE_AIRCRAFT,
            ObjectClass.GROUND_VEHICLE, ObjectClass.PERSON} <= seen


def test_altitudes_by_class(long_truth):
    g = long_truth.sector.ground_alt_m
    for o in long_truth.truth:
        alts = np.array([o.geodetic_at(t).alt_m for t in o.times[:: max(1, len(o.times) // 50)]]) - g
        role = o.attrs.get("role")
        if o.cls == ObjectClass.UAS:
            assert alts.min() > -1.0 and alts.max() <= 151.0, (o.id, alts.min(), alts.max())
            assert alts.max() >= 30.0
        elif role == "airliner":
            assert 9000 - 1 <= (alts + g).min() and (alts + g).max() <= 12000 + 1
        elif role == "general_aviation":
            assert 999 <= alts.min() and alts.max() <= 3001
        elif role == "surveillance":
            assert 3700 <= (alts + g).min() and (alts + g).max() <= 6000
        else:  # on the ground
            assert np.all(np.abs(alts - alts[0]) < 0.5) and alts.max() < 3.0


def test_drones_launch_and_land(long_truth):
    g = long_truth.sector.ground_alt_m
    drones = [o for o in long_truth.truth if o.cls == ObjectClass.UAS]
    assert len(drones) >= 6
    landed = 0
    for o in drones:
        t_end = o.end < long_truth.config.end_time - 2.0  # not cut off by the end of the run
        assert o.geodetic_at(o.start).alt_m - g < 1.0  # starts on the ground
        if t_end:
            assert o.geodetic_at(o.end).alt_m - g < 1.0
            landed += 1
        # finite lifetime of a small battery
        assert o.end - o.start < 2400.0
    assert landed >= 4


def test_border_crossings_are_exact_sign_changes(scenario, long_truth):
    for sc in (scenario, long_truth):
        crossings = [e for e in sc.events if e.kind == "border_crossing"]
        assert crossings
        for ev in crossings:
            o = sc.truth_object(ev.object_id)
            before, _ = o.state_at(max(o.start, ev.time - 1.0))
            after, _ = o.state_at(min(o.end, ev.time + 1.0))
            at, _ = o.state_at(ev.time)
            b = sc.sector.border_north_offset(before[0], before[1])
            a = sc.sector.border_north_offset(after[0], after[1])
            assert b * a < 0, ev
            assert abs(sc.sector.border_north_offset(at[0], at[1])) < 0.5 * max(abs(b), abs(a)) + 1e-6
            assert ev.details["direction"] == ("north" if b < 0 else "south")
            assert sc.sector.side_of_border(ev.position.lat, ev.position.lon) in ("US", "MX")
        if sc is long_truth:
            continue
        # every sign change of a drone or group on foot is an event
        for o in sc.truth:
            if o.cls not in (ObjectClass.PERSON, ObjectClass.UAS):
                continue
            off = np.array([sc.sector.border_north_offset(p[0], p[1]) for p in o.enu])
            changes = int(np.sum(np.sign(off[:-1]) * np.sign(off[1:]) < 0))
            assert changes == sum(1 for e in crossings if e.object_id == o.id), o.id


def test_dark_drone_crosses_northbound(scenario):
    dark = {e.object_id for e in scenario.events if e.kind == "dark_drone"}
    north = [e for e in scenario.events if e.kind == "border_crossing" and e.object_id in dark
             and e.details["direction"] == "north"]
    assert north
    o = scenario.truth_object(north[0].object_id)
    assert o.cls == ObjectClass.UAS and not o.broadcasts_remote_id and o.ident is None
    assert scenario.sector.side_of_border(o.geodetic_at(o.start).lat, o.geodetic_at(o.start).lon) == "MX"


def test_approach_to_agents_from_truth(scenario):
    ev = [e for e in scenario.events if e.kind == "approach_agents" and e.object_id == "uas-approach-1"]
    assert len(ev) == 1
    ev = ev[0]
    agent = next(a for a in scenario.agents if a.id == ev.details["agent_id"])
    o = scenario.truth_object(ev.object_id)
    assert ev.details["closest_m"] < 200.0
    # independent check with geodesic distances
    p = o.geodetic_at(ev.details["time_closest"])
    h = distance_m(p.lat, p.lon, agent.position.lat, agent.position.lon)
    d3 = float(np.hypot(h, p.alt_m - agent.position.alt_m))
    assert abs(d3 - ev.details["closest_m"]) < 2.0
    assert abs(h - ev.details["horizontal_closest_m"]) < 2.0
    # it closes in, then turns away: far before and after
    for t in (o.start, o.end):
        q = o.geodetic_at(t)
        assert distance_m(q.lat, q.lon, agent.position.lat, agent.position.lon) > 1000.0
    assert ev.time < ev.details["time_closest"]


def test_remote_id_spoof_event(scenario):
    ev = [e for e in scenario.events if e.kind == "remote_id_spoof"]
    assert len(ev) == 1
    o = scenario.truth_object(ev[0].object_id)
    assert o.spoofs_remote_id and o.broadcasts_remote_id and o.ident
    assert 1000.0 <= ev[0].details["offset_m"] <= 2000.0


def test_surveillance_orbit_lasts_over_an_hour_in_three_hours(long_truth):
    orbits = [e for e in long_truth.events if e.kind == "surveillance_orbit"]
    assert len(orbits) == 2
    long = [e for e in orbits if e.details["end"] - e.details["start"] >= 3600.0]
    assert long
    for ev in orbits:
        o = long_truth.truth_object(ev.object_id)
        assert o.cls == ObjectClass.SURVEILLANCE_AIRCRAFT and o.ident and o.callsign
        c = ev.details["center"]
        ts = np.arange(ev.details["start"], ev.details["end"], 10.0)
        pts = [o.geodetic_at(t) for t in ts]
        d = np.array([distance_m(p.lat, p.lon, c.lat, c.lon) for p in pts])
        assert d.max() <= ev.details["length_m"] / 2 + ev.details["radius_m"] + 50.0
        # it turns round and round: the heading sweeps 360 degrees once per lap
        vel = np.array([o.state_at(t)[1] for t in ts])
        hdg = np.unwrap(np.arctan2(vel[:, 0], vel[:, 1]))
        lap_m = 2 * ev.details["length_m"] + 2 * np.pi * ev.details["radius_m"]
        laps = (ts[-1] - ts[0]) * np.hypot(vel[0, 0], vel[0, 1]) / lap_m
        assert abs(hdg[-1] - hdg[0]) / (2 * np.pi) > laps - 1.0
        assert ev.details["pattern"] == "racetrack"


def test_truth_interpolation_and_activity(scenario):
    o = scenario.truth_object("uas-dark-1")
    t = 0.5 * (o.times[10] + o.times[11])
    p, v = o.state_at(t)
    assert np.allclose(p, 0.5 * (o.enu[10] + o.enu[11]))
    assert o.active(t) and not o.active(o.start - 1.0)
    with pytest.raises(ValueError, match="not active"):
        o.state_at(o.end + 10.0)
    g = o.geodetic_at(t)
    e, n, u = scenario.sector.frame.to_enu(g.lat, g.lon, g.alt_m)
    assert np.allclose([e, n, u], p, atol=1e-3)


def test_plan_move_covers_the_path_and_racetrack_closes():
    plan = Plan(0.0, 0.0, 0.0, 0.0).move([[1000.0, 0.0], [1000.0, 1000.0]], [10.0, 5.0], ramp_s=3.0, smooth=0)
    t, xyh = plan.samples()
    assert np.allclose(xyh[-1, :2], [1000.0, 1000.0])
    # 1000 m at 10 m/s then 1000 m at 5 m/s, plus the ramp from and to rest
    assert 300.0 <= t[-1] <= 306.0
    lap = racetrack(np.array([0.0, 0.0]), 90.0, 10_000.0, 2000.0)
    assert np.allclose(lap[0], lap[-1])
    length = np.sum(np.hypot(*np.diff(lap, axis=0).T))
    assert abs(length - (20_000.0 + 2 * np.pi * 2000.0)) < 20.0


def test_config_errors_are_clear():
    with pytest.raises(ValueError, match="seed"):
        ScenarioConfig(seed=-1)
    with pytest.raises(ValueError, match="duration_s"):
        ScenarioConfig(duration_s=0.0)
    with pytest.raises(ValueError, match="sector"):
        Scenario(ScenarioConfig(duration_s=60.0, sector=42))


def test_a_sector_file_without_road_or_port_of_entry(tmp_path):
    import json
    from importlib import resources

    gj = json.loads(resources.files("lookout.data").joinpath("nogales_sector.geojson").read_text())
    gj["features"] = [f for f in gj["features"] if f["properties"].get("kind") in ("sector", "border")]
    path = tmp_path / "bare.geojson"
    path.write_text(json.dumps(gj))
    sc = Scenario(ScenarioConfig(seed=2, duration_s=900.0, sector=str(path)))
    assert sc.sector.places == []
    vehicles = [o for o in sc.truth if o.cls == ObjectClass.GROUND_VEHICLE]
    assert vehicles and any(e.kind == "border_crossing" for e in sc.events)
    assert len(list(sc.observations())) > 1000
    # a Sector object works too, and gives the same scenario as its file
    sc2 = Scenario(ScenarioConfig(seed=2, duration_s=900.0, sector=sc.sector))
    assert [o.id for o in sc2.truth] == [o.id for o in sc.truth]
    assert np.array_equal(sc2.truth[3].enu, sc.truth[3].enu)
