"""The default rules against the simulator's scripted events (truth turned into tracks, 1 Hz)."""

from __future__ import annotations

import pytest
from sim_feed import agent_observations, truth_updates

from lookout.rules import build_default_engine

pytest.importorskip("lookout.sim.scenario")
from lookout.sim import Scenario, ScenarioConfig  # noqa: E402

DT = 1.0
SCRIPTED = {"border_crossing", "approach_agents", "remote_id_spoof", "dark_drone", "surveillance_orbit"}


def _run(scenario, **feed):
    engine = build_default_engine(scenario.sector)
    events = []
    last_fix = -1e9
    for u in truth_updates(scenario, dt=DT, **feed):
        if u.time - last_fix >= 30.0:  # blue-force fixes every 30 s
            engine.observe(agent_observations(scenario, u.time))
            last_fix = u.time
        events += engine.evaluate(u)
    return engine, [e.alert for e in events if e.kind == "new"]


@pytest.fixture(scope="module")
def default_run():
    sc = Scenario(ScenarioConfig(seed=7, duration_s=900.0))
    engine, new = _run(sc)
    return sc, engine, new


def _of(new, rule, track_id):
    return [a for a in new if a.rule == rule and track_id in a.track_ids]


def test_every_scripted_crossing_one_episode_at_the_right_time(default_run):
    sc, _, new = default_run
    crossings = [e for e in sc.events if e.kind == "border_crossing"]
    assert len(crossings) >= 10
    alerts = [a for a in new if a.rule in ("border_crossing", "aircraft_border_crossing")
              and not a.track_ids[0].endswith("-rid")]
    for ev in crossings:
        got = [a for a in alerts if a.track_ids == [ev.object_id] and abs(a.start - ev.time) <= DT]
        assert len(got) == 1, (ev, [(a.track_ids, a.start) for a in alerts if a.track_ids == [ev.object_id]])
        assert got[0].evidence["direction"] == ev.details["direction"]
        assert abs(got[0].evidence["crossing_point"]["lat"] - ev.position.lat) < 1e-4
    # and nothing else crossed: one alert per scripted crossing, no more
    assert len(alerts) == len(crossings)


def test_every_scripted_approach_spoof_dark_drone_and_orbit(default_run):
    sc, engine, new = default_run
    cfg = engine.config
    kinds = {e.kind for e in sc.events}
    assert {"approach_agents", "remote_id_spoof", "dark_drone", "surveillance_orbit"} <= kinds
    for ev in sc.events:
        if ev.kind == "approach_agents":
            got = _of(new, "drone_approach_agents", ev.object_id)
            assert len(got) == 1
            # raised when the drone, closing, enters the 500 m watch radius: the scripted instant
            assert abs(got[0].start - ev.time) <= DT and got[0].evidence["agent_id"] == ev.details["agent_id"]
        elif ev.kind == "remote_id_spoof":
            got = [a for a in new if a.rule == "remote_id_spoof"]
            assert len(got) == 1 and ev.object_id in got[0].track_ids
            assert 0 <= got[0].start - ev.time <= cfg.rule("remote_id_spoof").pair_persist_s + 2 * DT
            assert abs(got[0].evidence["offset_m"] - ev.details["offset_m"]) < 30.0
            assert got[0].operator is not None  # operator located, from the Remote ID
        elif ev.kind == "dark_drone":
            got = _of(new, "dark_drone", ev.object_id)
            assert len(got) == 1
            assert abs(got[0].start - (ev.time + cfg.rule("dark_drone").after_s)) <= DT
        elif ev.kind == "surveillance_orbit":
            got = _of(new, "surveillance_orbit", ev.object_id)
            assert len(got) == 1
            rule = cfg.rule("surveillance_orbit")
            begin = max(ev.time, sc.config.start_time)
            assert 0 <= got[0].evidence["raised_at"] - begin <= rule.window_s + rule.sample_s + DT


def test_demo_acceptance_set(default_run):
    """A border crossing by a dark drone, a Remote ID spoof, a drone approaching agents and a
    loitering surveillance aircraft."""
    sc, _, new = default_run
    dark = {e.object_id for e in sc.events if e.kind == "dark_drone"}
    assert any(a.rule == "border_crossing" and a.track_ids[0] in dark for a in new)
    assert any(a.rule == "remote_id_spoof" for a in new)
    assert any(a.rule == "drone_approach_agents" for a in new)
    assert any(a.rule == "surveillance_orbit" and "surveillance aircraft" in a.message for a in new)


def test_scenario_without_scripted_events_raises_none(default_run):
    sc, _, _ = default_run
    scripted = {e.object_id for e in sc.events if e.kind in SCRIPTED}
    quiet = {o.id for o in sc.truth if o.id not in scripted}
    # a Remote ID drone before it reaches the border is quiet too
    rid = next(e for e in sc.events if e.kind == "border_crossing" and e.object_id.startswith("uas-rid"))
    quiet.add(rid.object_id)
    assert len(quiet) >= 3
    _, new = _run(sc, only=quiet, until={rid.object_id: rid.time - 30.0})
    assert new == []
