"""Drones closing on agents, loitering/orbiting, Remote ID missing and spoofed, operator location."""

from __future__ import annotations

import math

import pytest
from rules_helpers import T0, World, straight

from lookout.model import GeoPoint, Severity

AGENT = (2000.0, 3000.0)


def test_drone_closing_on_agent_one_episode_at_cpa_criterion(world: World):
    ae, an = AGENT
    world.agent("agent-7", T0, ae, an)
    # straight at the agent at 10 m/s from 2 km east; passes over and flies on west
    world.run(240.0, {"D": straight(ae + 2000.0, an, -10.0, 0.0, cls="uas", sources=["radar"])})
    new = world.new("drone_approach_agents")
    assert len(new) == 1
    a = new[0]
    # inside the 500 m watch radius (t = 150 s) with the closest approach (0 m) predicted 50 s ahead
    assert abs(a.start - (T0 + 150.0)) <= world.dt
    assert a.evidence["agent_id"] == "agent-7"
    assert "closing on agent agent-7" in a.message
    assert a.severity == Severity.HIGH
    # escalated once the closest approach was under 15 s away (an episode only escalates)
    assert world.engine.alerts.get(a.id).severity == Severity.CRITICAL
    assert a.evidence["cpa_m"] < 1.0
    ends = world.ended("drone_approach_agents")
    assert len(ends) == 1  # after it passed and opened past the (hysteresis-grown) danger radius


def test_drone_passing_wide_or_hovering_off_does_not_alert(world: World):
    ae, an = AGENT
    world.agent("agent-7", T0, ae, an)
    world.run(200.0, {
        # passes 800 m north of the agent at 15 m/s: closing for a while, but never within 300 m
        "PASS": straight(ae - 2500.0, an + 800.0, 15.0, 0.0, cls="uas", sources=["radar"]),
        # hovers 250 m from the agent (inside the 300 m radius but not closing, outside 100 m)
        "HOVER": lambda t: dict(e=ae + 250.0, n=an, cls="uas", sources=["radar"]),
        # a fixed-wing aircraft heading straight at the agent: not in the rule's classes
        "PLANE": straight(ae - 3000.0, an, 40.0, 0.0, cls="fixed_wing", sources=["adsb"]),
    })
    assert world.new("drone_approach_agents") == []


def test_heights_count_a_drone_high_above_is_not_closing(make_world):
    ae, an = AGENT
    for h, alerts in ((60.0, 1), (550.0, 0)):  # flying right over an agent on the ground
        w = make_world()
        w.agent("agent-9", T0, ae, an, with_height=True)
        w.run(130.0, {"D": lambda t, h=h: dict(e=ae - 1000.0 + 10 * t, n=an, ve=10.0, h=h, cls="uas",
                                               sources=["radar"])})
        assert len(w.new("drone_approach_agents")) == alerts, h


def test_drone_within_danger_radius_alerts_even_when_not_closing(world: World):
    ae, an = AGENT
    world.agent("agent-7", T0, ae, an)
    world.run(30.0, {"H": lambda t: dict(e=ae + 60.0, n=an, cls="uas", sources=["radar"])})
    new = world.new("drone_approach_agents")
    assert len(new) == 1 and abs(new[0].start - T0) <= world.dt and "60 m from agent agent-7" in new[0].message


def test_no_agents_no_approach_alert(world: World):
    world.run(60.0, {"D": straight(3000.0, 3000.0, -10.0, 0.0, cls="uas", sources=["radar"])})
    assert world.new("drone_approach_agents") == []


def _orbit(ce, cn, r, v, cls="surveillance_aircraft", **kw):
    w = v / r

    def f(t):
        a = w * t
        return dict(e=ce + r * math.cos(a), n=cn + r * math.sin(a), ve=-v * math.sin(a), vn=v * math.cos(a), cls=cls,
                    sources=["adsb"], **kw)

    return f


def test_surveillance_orbit_one_episode(make_world):
    w = make_world(dt=1.0)
    # 3 km radius orbit at 60 m/s: one turn every 314 s; the rule needs 600 s in an 8 km area
    # and >= 300 deg of turn
    w.run(750.0, {"S": _orbit(-5000.0, 8000.0, 3000.0, 60.0, identities={"icao24": "a1b2c3"}),
                   "LINE": straight(-15000.0, -10000.0, 60.0, 0.0, cls="fixed_wing", sources=["adsb"])})
    new = w.new("surveillance_orbit")
    assert len(new) == 1 and new[0].track_ids == ["S"]
    a = new[0]
    # raised once a full 600 s window is seen (5 s samples); the episode starts where the window does
    assert abs(a.evidence["raised_at"] - (T0 + 600.0)) <= 5.0 + w.dt
    assert abs(a.start - T0) <= 5.0 + w.dt
    assert a.evidence["turn_deg"] >= 300.0
    assert "orbiting" in a.message and "ICAO a1b2c3" in a.message
    assert w.ended("surveillance_orbit") == []


def test_drone_loiter(make_world):
    w = make_world(dt=1.0)
    w.run(250.0, {"H": lambda t: dict(e=800.0 + 30 * math.sin(t / 10), n=5000.0, ve=3 * math.cos(t / 10), vn=0.0,
                                      cls="uas", sources=["remote_id"], identities={"remote_id": "X"}),
                  "M": straight(-5000.0, 6000.0, 8.0, 0.0, cls="uas", sources=["remote_id"],
                                identities={"remote_id": "Y"})})
    new = w.new("drone_loiter")
    assert len(new) == 1 and new[0].track_ids == ["H"]
    assert abs(new[0].evidence["raised_at"] - (T0 + 180.0)) <= 2.0 + w.dt and abs(new[0].start - T0) <= 2.0


def test_dark_drone_after_n_seconds(world: World):
    world.run(60.0, {"DARK": straight(0.0, 5000.0, 5.0, 0.0, cls="uas", sources=["radar", "camera"]),
                     "LIT": straight(0.0, 6000.0, 5.0, 0.0, cls="uas", sources=["radar", "remote_id"],
                                     identities={"remote_id": "OK-1"}),
                     "BIRD": straight(0.0, 7000.0, 5.0, 0.0, cls="unknown", sources=["radar"])})
    new = world.new("dark_drone")
    assert len(new) == 1 and new[0].track_ids == ["DARK"]
    assert abs(new[0].start - (T0 + 20.0)) <= world.dt
    assert "no Remote ID" in new[0].message


def test_remote_id_that_stops_broadcasting(world: World):
    # per-source last-seen times from the tracker: Remote ID last heard at t=30 s
    def path(t):
        st = {"radar": T0 + t, "remote_id": T0 + min(t, 30.0)}
        return dict(e=0.0, n=5000.0, cls="uas", sources=["radar", "remote_id"], identities={"remote_id": "Q"},
                    attrs={"source_times": st})

    world.run(80.0, {"Q": path})
    new = world.new("dark_drone")
    # dark once Remote ID is older than the 5 s grace (t=35), alert 20 s later
    assert len(new) == 1 and abs(new[0].start - (T0 + 55.0)) <= 2 * world.dt


def test_spoof_from_tracker_offset(world: World):
    def path(t):
        off = 20.0 if t < 30 else 400.0  # the Remote ID position drifts away from the radar track at 30 s
        return dict(e=1000.0 + 5 * t, n=6000.0, ve=5.0, cls="uas", sources=["radar", "remote_id"],
                    identities={"remote_id": "SP-1"}, attrs={"remote_id_offset_m": off})

    world.run(60.0, {"F": path})
    new = world.new("remote_id_spoof")
    assert len(new) == 1 and abs(new[0].start - (T0 + 30.0)) <= world.dt
    assert abs(new[0].evidence["raised_at"] - (T0 + 33.0)) <= world.dt  # held for persist_s (3 s)
    assert new[0].evidence["method"] == "offset" and new[0].evidence["offset_m"] == 400.0


def test_spoof_measured_from_remote_id_position(world: World):
    def path(t):
        e, n = 1000.0 + 5 * t, 6000.0
        lat, lon = world.geo(e + (15.0 if t < 20 else 600.0), n)
        return dict(e=e, n=n, ve=5.0, cls="uas", sources=["radar", "remote_id"], identities={"remote_id": "SP-2"},
                    attrs={"remote_id_position": {"lat": lat, "lon": lon}})

    world.run(40.0, {"F": path})
    new = world.new("remote_id_spoof")
    # the 585 m step is reported at once as a jump; the offset, once it has held 3 s, joins the episode
    assert len(new) == 1 and abs(new[0].start - (T0 + 20.0)) <= world.dt and new[0].evidence["method"] == "jump"
    final = world.engine.alerts.get(new[0].id)
    assert final.evidence["method"] == "offset" and abs(final.evidence["offset_m"] - 600.0) < 2.0


def test_spoof_jump_across_tracks_of_one_serial(world: World):
    # a Remote ID-only drone whose reports jump 2 km at t=30 s; the tracker starts a new track
    world.run(90.0, {
        "J1": lambda t: dict(e=0.0 + 5 * t, n=9000.0, ve=5.0, cls="uas", sources=["remote_id"],
                             identities={"remote_id": "JUMPY"}) if t < 30 else ("deleted" if t >= 32 else None),
        "J2": lambda t: dict(e=2000.0 + 5 * t, n=9000.0, ve=5.0, cls="uas", sources=["remote_id"],
                             identities={"remote_id": "JUMPY"}) if t >= 30 else None,
    })
    new = world.new("remote_id_spoof")
    assert len(new) == 1 and abs(new[0].start - (T0 + 30.0)) <= world.dt
    assert new[0].evidence["method"] == "jump" and new[0].evidence["implied_speed_mps"] > 70.0


def test_spoof_pair_remote_id_only_track_with_dark_radar_track(world: World):
    # the same drone: radar sees it at the truth, its Remote ID claims 800 m further north
    world.run(60.0, {
        "RADAR": straight(-3000.0, 7000.0, 8.0, 3.0, cls="uas", sources=["radar"]),
        "RID": straight(-3000.0, 7800.0, 8.0, 3.0, cls="uas", sources=["remote_id"], identities={"remote_id": "FAKE"},
                        operator=GeoPoint(31.42, -110.97)),
        # an honest drone nearby moving differently
        "OTHER": straight(-2000.0, 7500.0, -6.0, 0.0, cls="uas", sources=["remote_id"], identities={"remote_id": "H"}),
    })
    new = world.new("remote_id_spoof")
    assert len(new) == 1
    a = new[0]
    assert a.evidence["method"] == "pair" and set(a.track_ids) == {"RID", "RADAR"}
    # raised once the pair has held 5 s; the episode starts when the pair was first seen
    assert abs(a.evidence["raised_at"] - (T0 + 5.0)) <= world.dt and abs(a.start - T0) <= world.dt
    assert abs(a.evidence["offset_m"] - 800.0) < 1.0
    # operator located: the Remote ID operator position comes with the alert
    assert a.operator is not None and abs(a.operator.lat - 31.42) < 1e-9
    assert a.evidence["operator"]["country_side"] == "US" and "operator located at" in a.message


def test_honest_fused_drone_no_spoof(world: World):
    world.run(60.0, {"H": straight(0.0, 5000.0, 5.0, 0.0, cls="uas", sources=["radar", "remote_id"],
                                   identities={"remote_id": "HONEST"}, attrs={"remote_id_offset_m": 12.0})})
    assert world.new("remote_id_spoof") == []


def test_spoof_from_tracker_gate_flag(world: World):
    def path(t):
        # a loose radar track (sigma 40 m): 130 m is within 4 sigma, but the tracker's gate refuses it
        return dict(e=1000.0 + 5 * t, n=6000.0, ve=5.0, cls="uas", sources=["radar", "remote_id"], sigma_h_m=40.0,
                    identities={"remote_id": "G-1"}, attrs={"identity_inconsistent": t >= 12.0,
                                                             "remote_id_offset_m": 130.0 if t >= 12.0 else 10.0})

    world.run(40.0, {"G": path})
    new = world.new("remote_id_spoof")
    assert len(new) == 1 and abs(new[0].start - (T0 + 12.0)) <= world.dt and new[0].evidence["method"] == "gate"


def test_gate_flag_without_distance_or_one_stray_offset_is_not_a_spoof(world: World):
    def path(t):
        return dict(e=1000.0 + 5 * t, n=6000.0, ve=5.0, cls="uas", sources=["radar", "remote_id"],
                    identities={"remote_id": "OK-2"}, attrs={"identity_inconsistent": 12.0 <= t < 30.0,
                                                             "remote_id_offset_m": 900.0 if t == 35.0 else 20.0})

    world.run(40.0, {"G": path})
    assert world.new("remote_id_spoof") == []


def test_spoof_pair_with_tracker_source_times(world: World):
    """Trackers that report per-source last-seen times: Remote ID heard a little before the
    track time, the radar track with noisy velocity steps."""
    def rid(t):
        return dict(e=-3000.0 + 8 * t, n=7800.0 + 3 * t, ve=8.0, vn=3.0, cls="uas", sources=["remote_id"],
                    identities={"remote_id": "LAG"}, attrs={"source_times": {"remote_id": T0 + t - 0.6}})

    def radar(t):
        wobble = 5.0 if int(t) % 4 == 0 else 0.0  # every fourth second a bad velocity estimate
        return dict(e=-3000.0 + 8 * t, n=7000.0 + 3 * t, ve=8.0 + wobble, vn=3.0, cls="uas",
                    sources=["radar", "camera"], attrs={"source_times": {"radar": T0 + t - 0.2, "camera": T0 + t}})

    world.run(40.0, {"RID": rid, "RADAR": radar})
    new = world.new("remote_id_spoof")
    assert len(new) == 1 and set(new[0].track_ids) == {"RID", "RADAR"} and new[0].evidence["method"] == "pair"
    # first matching velocities at t = 1 s (the first second has a bad estimate)
    assert abs(new[0].start - (T0 + 1.0)) <= world.dt and new[0].evidence["raised_at"] - T0 <= 6.0 + world.dt


@pytest.mark.parametrize("shift", [1.3, 3.7, 86400.0 + 2.9])
def test_loiter_and_orbit_judging_does_not_depend_on_the_clock(make_world, shift):
    # the same tracks from another start time raise the same episodes at the same relative times:
    # sampling counts track time from each track's first sample, not from the clock's epoch
    def events(start):
        w = make_world(dt=1.0)
        w.run(700.0, {"S": _orbit(-5000.0, 8000.0, 3000.0, 60.0, identities={"icao24": "a1b2c3"}),
                      "H": lambda t: dict(e=800.0 + 30 * math.sin(t / 10), n=5000.0, ve=3 * math.cos(t / 10),
                                          vn=0.0, cls="uas", sources=["remote_id"], identities={"remote_id": "X"})},
              start=start)
        return [(e.kind, e.alert.rule, tuple(e.alert.track_ids), round(e.alert.start - start, 6),
                 round(e.alert.evidence["raised_at"] - start, 6), round(e.alert.evidence.get("duration_s", 0.0), 6))
                for e in w.events if e.alert.rule in ("surveillance_orbit", "drone_loiter")]

    base = events(T0)
    assert {r for _, r, *_ in base} == {"surveillance_orbit", "drone_loiter"}
    assert events(T0 + shift) == base
