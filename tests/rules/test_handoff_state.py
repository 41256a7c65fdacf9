"""A track's rule state and open alert episodes move with it from one engine to another (a sector
handoff): alerts continue under their ids instead of ending and starting afresh, and findings
half-built in the first engine (a border crossing inside the hysteresis margin, a loiter
history, a dark-drone timer) complete in the second."""

from __future__ import annotations

import json
import math

from rules_helpers import T0, World, border_north, make_engine, straight


def _hover(t: float) -> dict:
    """A drone without Remote ID circling 30 m around a point, seen by radar."""
    return dict(e=800.0 + 30 * math.sin(t / 10), n=5000.0, ve=3 * math.cos(t / 10), vn=0.0, cls="uas",
                sources=["radar"])


def _hand_over(a: World, tid: str) -> dict:
    state = a.engine.export_track(tid)
    assert json.loads(json.dumps(state, allow_nan=False)) == state  # travels as plain JSON
    a.engine.release_track(tid)
    return state


def test_open_episodes_and_loiter_history_continue_in_the_next_engine():
    a = World(make_engine(), dt=1.0)
    a.run(250.0, {"H": _hover})
    (loiter,) = a.new("drone_loiter")
    (dark,) = a.new("dark_drone")
    state = _hand_over(a, "H")
    assert {tuple(e["key"])[0] for e in state["episodes"]} == {"drone_loiter", "dark_drone"}
    assert {"drone_loiter", "dark_drone"} <= set(state["rules"])
    # the engine it left ends nothing: the episodes live on elsewhere
    a.run(20.0, {}, start=T0 + 251.0)
    assert a.ended() == [] and a.engine.alerts.active() == [] and "H" not in a.engine.table.slot

    b = World(make_engine(), dt=1.0)
    taken = b.engine.adopt_track("H", state)
    assert {x.id for x in taken} == {loiter.id, dark.id}
    b.run(100.0, {"H": lambda t: _hover(t + 251.0)}, start=T0 + 251.0)
    assert b.new() == []  # no fresh alert: the same episodes go on
    updates = [e.alert for e in b.events if e.kind == "update"]
    assert {x.id for x in updates} == {loiter.id, dark.id}
    last = [x for x in updates if x.id == loiter.id][-1]
    assert last.start == loiter.start and last.evidence["since"] == loiter.evidence["since"]
    assert last.evidence["duration_s"] >= 340.0  # measured from where the first engine started it
    raised = {x.id: x.evidence["raised_at"] for x in b.engine.alerts.active()}
    assert raised == {loiter.id: loiter.evidence["raised_at"], dark.id: dark.evidence["raised_at"]}

    # without the state, the next engine starts from nothing: a second dark-drone alert after
    # its timer, and no loiter finding for a full window
    c = World(make_engine(), dt=1.0)
    c.run(100.0, {"H": lambda t: _hover(t + 251.0)}, start=T0 + 251.0)
    assert [x.rule for x in c.new()] == ["dark_drone"]


def test_a_border_crossing_begun_in_one_engine_is_completed_in_the_next():
    e, vn = 3000.0, 12.0
    n0 = border_north(e) - 300.0
    path = straight(e, n0, 0.0, vn, cls="uas", sources=["radar"])
    a = World(make_engine(), dt=0.5)
    a.run(25.5, {"D": path})  # ends 6 m north of the line, inside the 20 m hysteresis margin
    assert a.new("border_crossing") == []
    state = _hand_over(a, "D")
    assert state["rules"]["border_crossing"]["side"] == -1

    def rest(world: World):
        world.run(60.0, {"D": lambda t: path(t + 26.0)}, start=T0 + 26.0)
        return world.new("border_crossing")

    b = World(make_engine(), dt=0.5)
    b.engine.adopt_track("D", state)
    (crossing,) = rest(b)
    truth = T0 + 300.0 / vn
    assert abs(crossing.start - truth) <= 0.5 and crossing.evidence["direction"] == "north"
    # an engine that first sees the track already on the line never learns it came from the south
    assert rest(World(make_engine(), dt=0.5)) == []


def test_bad_or_foreign_state_is_logged_and_the_track_still_runs(caplog):
    b = World(make_engine(), dt=1.0)
    assert b.engine.adopt_track("X", {"version": 99}) == []
    assert "not a version-1 state" in caplog.text
    bad = {"version": 1, "episodes": [{"key": "x"}, 5],
           "table": {"updates": "many"},
           "rules": {"drone_loiter": {"n": 3, "t": [1, 2]}, "border_crossing": {"side": 7, "last": "north"},
                     "no_such_rule": {}}}
    assert b.engine.adopt_track("X", bad) == []
    b.run(30.0, {"X": _hover})
    assert b.engine.table.slot.get("X") is not None and b.engine.rule_errors == {}
    assert b.new("dark_drone")  # the rules run on it from scratch
