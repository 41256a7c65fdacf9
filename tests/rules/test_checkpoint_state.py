"""The rule engine's checkpoint: its whole state as versioned JSON; an engine restored from it
continues exactly as the saved one does (every event, message and time), and a foreign,
old or malformed state is a clear error."""

from __future__ import annotations

import json

import pytest
from rules_helpers import World, make_engine, straight
from sim_feed import agent_observations, truth_updates

from lookout.rules import build_default_engine
from lookout.rules.checkpoint import EngineStateError

pytest.importorskip("lookout.sim.scenario")
from lookout.sim import Scenario, ScenarioConfig  # noqa: E402


def _key(ev):
    a = ev.alert
    return (ev.kind, a.rule, str(a.severity), a.start, a.end, a.message, tuple(a.track_ids),
            json.dumps(a.evidence, sort_keys=True, default=str), a.operator)


def test_restored_engine_continues_step_for_step():
    sc = Scenario(ScenarioConfig(seed=7, duration_s=900.0))
    steps = list(truth_updates(sc, dt=1.0))
    cuts = {300, 520, 700}

    def run(engine, start: int, saved: dict | None = None):
        events, last_fix = [], -1e9
        for k in range(start, len(steps)):
            u = steps[k]
            if u.time - last_fix >= 30.0 or k == start:
                engine.observe(agent_observations(sc, u.time))
                last_fix = u.time
            events.append([_key(e) for e in engine.evaluate(u)])
            if saved is not None and k in cuts:
                saved[k] = json.dumps(engine.checkpoint(), allow_nan=False)  # plain JSON
        return events

    saved: dict[int, str] = {}
    ref = run(build_default_engine(sc.sector), 0, saved)
    assert sum(e[0] == "new" for step in ref for e in step) >= 15
    for cut, blob in saved.items():
        state = json.loads(blob)
        assert state["format"] == "lookout.rules-state" and state["version"] == 1
        engine = build_default_engine(sc.sector)
        engine.load_checkpoint(state)
        assert engine.checkpoint() == state  # nothing lost on the way in
        # the blue-force fixes of the reference run are every 30 s from its start: replay the same
        got = []
        last_fix = steps[0].time + 30.0 * ((steps[cut].time - steps[0].time) // 30.0)
        for k in range(cut + 1, len(steps)):
            u = steps[k]
            if u.time - last_fix >= 30.0:
                engine.observe(agent_observations(sc, u.time))
                last_fix = u.time
            got.append([_key(e) for e in engine.evaluate(u)])
        assert got == ref[cut + 1:], cut
        assert any(step for step in got)


def test_foreign_old_or_malformed_state_is_a_clear_error(world: World):
    world.run(5.0, {"D": straight(0.0, 5000.0, 5.0, 0.0, cls="uas", sources=["radar"])})
    good = world.engine.checkpoint()
    fresh = make_engine()
    with pytest.raises(EngineStateError, match="not a rule engine state"):
        fresh.load_checkpoint({"version": 1})
    with pytest.raises(EngineStateError, match="version 0; this engine reads version 1"):
        fresh.load_checkpoint(dict(good, version=0))
    with pytest.raises(EngineStateError, match="frame"):
        fresh.load_checkpoint(dict(good, frame=[0.0, 0.0, 0.0]))
    bad_table = json.loads(json.dumps(good))
    bad_table["table"]["slots"] = bad_table["table"]["slots"][:-1]
    with pytest.raises(EngineStateError, match="track table malformed"):
        make_engine().load_checkpoint(bad_table)
    bad_rule = json.loads(json.dumps(good))
    bad_rule["rules"]["drone_loiter"]["state"]["arrays"]["hx"] = "north"
    with pytest.raises(EngineStateError, match="rule drone_loiter malformed"):
        make_engine().load_checkpoint(bad_rule)
