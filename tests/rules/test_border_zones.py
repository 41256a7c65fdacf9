"""Border crossings and zone entry/exit/dwell with scripted ground truth."""

from __future__ import annotations

import math

import pytest
from rules_helpers import SECTOR, T0, World, border_north, make_engine, straight

from lookout.model import Zone, ZoneKind
from lookout.rules import border_zones


def _crossing_time(e: float, n0: float, vn: float) -> float:
    return (border_north(e) - n0) / vn


def test_northbound_crossing_one_episode_at_the_right_time(world: World):
    e, n0, vn = 3000.0, -1500.0, 12.0
    world.run(200.0, {"D1": straight(e, n0, 0.0, vn, cls="uas", sources=["radar", "remote_id"],
                                      identities={"remote_id": "SN-1"})})
    new = world.new("border_crossing")
    assert len(new) == 1
    a = new[0]
    truth = T0 + _crossing_time(e, n0, vn)
    assert abs(a.start - truth) <= world.dt
    assert a.evidence["direction"] == "north" and a.evidence["from"] == "MX" and a.evidence["to"] == "US"
    lat, lon = world.geo(e, border_north(e))
    cp = a.evidence["crossing_point"]
    assert abs(cp["lat"] - lat) < 1e-4 and abs(cp["lon"] - lon) < 1e-4
    assert a.track_ids == ["D1"]
    assert "northbound" in a.message and "D1" in a.message
    # raised within the time needed to pass the 20 m hysteresis margin (+ one update)
    assert a.evidence["raised_at"] - truth <= 20.0 / vn + world.dt + 1e-6
    # the episode ends after its hold time (60 s) plus clear_after_s (3 s)
    ends = world.ended("border_crossing")
    assert len(ends) == 1 and ends[0].id == a.id


def test_southbound_crossing_and_direction_filter(make_world):
    w = make_world()
    e, n0, vn = -5000.0, 1500.0, -20.0
    w.run(150.0, {"V1": straight(e, n0, 0.0, vn, cls="ground_vehicle", sources=["radar"])})
    new = w.new("border_crossing")
    assert len(new) == 1 and new[0].evidence["direction"] == "south"
    assert abs(new[0].start - (T0 + _crossing_time(e, n0, vn))) <= w.dt

    rules = """
rules:
  - name: northbound_only
    type: border_crossing
    directions: [north]
"""
    w2 = make_world(rules_text=rules)
    w2.run(150.0, {"V1": straight(e, n0, 0.0, vn, cls="ground_vehicle")})
    assert w2.new() == []


def test_no_crossing_no_alert(world: World):
    # parallel to the border, 300 m north of it, and a drone turning back before the line
    e0 = -8000.0
    world.run(120.0, {
        "P1": lambda t: dict(e=e0 + 15 * t, n=border_north(e0 + 15 * t) + 300.0, ve=15.0, vn=0.0, cls="uas",
                             sources=["remote_id"], identities={"remote_id": "A"}),
        "P2": lambda t: dict(e=2000.0, n=border_north(2000.0) - 400 + 250 * math.sin(t / 20), ve=0.0,
                             vn=12.5 * math.cos(t / 20), cls="uas", sources=["remote_id"],
                             identities={"remote_id": "B"}),
    })
    assert world.new("border_crossing") == []


def test_wiggle_at_border_hysteresis_no_flapping(world: World):
    """A track wandering +-15 m around the line (inside the 20 m margin) never alerts; when it then
    crosses for real with the same wiggle, exactly one episode is raised."""
    e = 1000.0
    b = border_north(e)

    def wiggle(t):
        n = b - 60 + 2.0 * t + 15.0 * math.sin(t * 2.0) if t > 60 else b + 15.0 * math.sin(t * 2.0)
        return dict(e=e, n=n, ve=0.0, vn=0.0, cls="person", sources=["camera"])

    world.run(59.0, {"W": wiggle})
    assert world.new("border_crossing") == []

    def real(t):  # from 100 m south to 200 m north, wiggling
        n = b - 100 + 2.0 * t + 15.0 * math.sin(t * 2.0)
        return dict(e=e, n=n, ve=0.0, vn=2.0, cls="person", sources=["camera"])

    world.run(150.0, {"X": real})
    new = world.new("border_crossing")
    assert len(new) == 1 and new[0].track_ids == ["X"]


def test_back_and_forth_is_two_episodes(world: World):
    e = 4000.0
    b = border_north(e)

    def path(t):  # north across, then back south across
        n = b - 300 + 10 * t if t < 60 else b + 300 - 10 * (t - 60)
        return dict(e=e, n=n, ve=0.0, vn=10.0 if t < 60 else -10.0, cls="uas", sources=["radar"])

    world.run(120.0, {"Z": path})
    new = world.new("border_crossing")
    assert [a.evidence["direction"] for a in new] == ["north", "south"]
    assert abs(new[0].start - (T0 + 30.0)) <= world.dt and abs(new[1].start - (T0 + 90.0)) <= world.dt


# -- zones ---------------------------------------------------------------------------------------------

def _square_zone(world_or_engine, zid="Z1", kind=ZoneKind.NO_DRONE, e0=5000.0, n0=5000.0, half=500.0) -> Zone:
    frame = SECTOR.frame
    ring = []
    for de, dn in ((-half, -half), (half, -half), (half, half), (-half, half), (-half, -half)):
        lat, lon, _ = frame.to_geodetic(e0 + de, n0 + dn, SECTOR.ground_alt_m)
        ring.append([float(lon), float(lat)])
    return Zone(id=zid, name="Square", kind=kind, geometry={"type": "Polygon", "coordinates": [ring]})


ZONE_RULES = """
rules:
  - name: no_drone_entry
    type: zone
    classes: [uas]
    zone_kinds: [no_drone]
    trigger: entry
    hysteresis_m: 25
    clear_after_s: 2
  - name: no_drone_dwell
    type: zone
    classes: [uas]
    zones: [Z1]
    trigger: dwell
    dwell_s: 30
  - name: no_drone_exit
    type: zone
    classes: [uas]
    zones: [Z1]
    trigger: exit
    hold_s: 10
"""


def test_zone_entry_dwell_exit(make_world):
    w = make_world(zones=[_square_zone(None)], rules_text=ZONE_RULES)
    # enters the square's west edge (e=4500) at t=50 s, leaves its east edge (e=5500) at t=150 s
    w.run(200.0, {"D": straight(4000.0, 5000.0, 10.0, 0.0, cls="uas", sources=["radar"]),
                  "C": straight(4000.0, 5100.0, 10.0, 0.0, cls="fixed_wing", sources=["adsb"])})
    entry = w.new("no_drone_entry")
    assert len(entry) == 1 and entry[0].track_ids == ["D"]
    assert abs(entry[0].start - (T0 + 50.0)) <= w.dt
    assert entry[0].evidence["zone_id"] == "Z1"
    end = w.ended("no_drone_entry")
    assert len(end) == 1
    # inside until 25 m past the edge (hysteresis), the condition then has to stay clear 2 s
    assert abs(end[0].end - (T0 + 152.5)) <= 2 * w.dt
    dwell = w.new("no_drone_dwell")
    assert len(dwell) == 1 and abs(dwell[0].start - (T0 + 80.0)) <= w.dt
    ex = w.new("no_drone_exit")
    assert len(ex) == 1 and abs(ex[0].start - (T0 + 152.5)) <= 2 * w.dt


def test_zone_edge_wiggle_one_episode(make_world):
    w = make_world(zones=[_square_zone(None)], rules_text=ZONE_RULES)
    # hovering on the west edge, +-20 m in and out for 3 minutes: one entry episode only
    w.run(180.0, {"D": lambda t: dict(e=4500.0 + 20.0 * math.sin(t), n=5000.0, cls="uas", sources=["radar"])})
    assert len(w.new("no_drone_entry")) == 1
    assert len(w.new("no_drone_exit")) == 0


def test_zone_rule_with_unknown_zone_id_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown zone ids \\['nope'\\]"):
        make_engine(zones=[], rules_text="rules:\n  - {name: r, type: zone, zones: [nope]}\n")


def test_border_buffer_zone_and_default_protected_site(world: World):
    # the default rules: a drone flying into the DeConcini port of entry (500 m disc)
    poe = SECTOR.place("poe-deconcini")["geometry"]["coordinates"]
    pe, pn, _ = SECTOR.frame.to_enu(poe[1], poe[0], SECTOR.ground_alt_m)
    world.run(100.0, {"D": straight(pe - 1000.0, pn, 10.0, 0.0, cls="uas", sources=["remote_id"],
                                    identities={"remote_id": "R"})})
    new = world.new("protected_site_drone")
    assert len(new) == 1 and abs(new[0].start - (T0 + 50.0)) <= 2 * world.dt
    zs = border_zones(SECTOR, 1000.0)
    assert zs[0].kind == ZoneKind.BORDER_BUFFER and zs[0].properties["buffer_m"] == 1000.0
