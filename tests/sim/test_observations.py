"""The observation stream: validity, order, labels, determinism, steps."""

from __future__ import annotations

import re

import numpy as np

from lookout.model import LABELS, Observation, SourceKind
from lookout.sim import Scenario, ScenarioConfig, SimStep

EXPECTED_LABELS = {
    SourceKind.ADSB: {"PUBLIC"},
    SourceKind.REMOTE_ID: {"PUBLIC"},
    SourceKind.RADAR: {"US-ONLY"},
    SourceKind.CAMERA: {"US-ONLY"},
    SourceKind.BLUE_FORCE: {"US-ONLY"},
    SourceKind.REPORT: {"REL-MX", "US-ONLY"},
}


def test_every_observation_validates_and_round_trips(observations):
    assert len(observations) > 10_000
    for o in observations[::4]:  # every one validated on construction; a quarter re-parsed
        d = o.to_dict()
        back = Observation.from_dict(d)
        assert back.to_dict() == d
        assert (o.position is None) != (o.measurement is None)
        if o.source == SourceKind.RADAR:
            assert o.measurement.range_m is not None and o.measurement.sigma_range_m
        if o.source == SourceKind.CAMERA:
            assert o.measurement.range_m is None and o.measurement.elevation_deg is not None


def test_observations_time_ordered_within_the_run(scenario, observations):
    t = np.array([o.time for o in observations])
    assert np.all(np.diff(t) >= 0)
    assert t[0] >= scenario.config.start_time and t[-1] < scenario.config.end_time


def test_ids_unique_deterministic_and_named_after_the_sensor(scenario, observations):
    ids = [o.id for o in observations]
    assert len(set(ids)) == len(ids)
    sensors = {s.id for s in scenario.sensors}
    for o in observations[:2000]:
        m = re.fullmatch(r"(.+)-(\d+)", o.id)
        assert m and m.group(1) == o.sensor and o.sensor in sensors


def test_labels_as_specified(scenario, observations):
    seen: dict[SourceKind, set[str]] = {}
    for o in observations:
        assert o.label in LABELS
        seen.setdefault(o.source, set()).add(o.label)
    for src, labels in seen.items():
        assert labels <= EXPECTED_LABELS[src], src
    assert set(seen) == set(EXPECTED_LABELS)
    for s in scenario.sensors:
        assert s.label in LABELS


def test_same_seed_same_observations_different_seed_different():
    cfg = dict(duration_s=300.0, start_time=1793628000.0)
    a = list(Scenario(ScenarioConfig(seed=3, **cfg)).observations())
    b = list(Scenario(ScenarioConfig(seed=3, **cfg)).observations())
    c = list(Scenario(ScenarioConfig(seed=4, **cfg)).observations())
    assert len(a) > 1000
    assert [(o.id, o.time) for o in a] == [(o.id, o.time) for o in b]
    assert [o.to_dict() for o in a[::7]] == [o.to_dict() for o in b[::7]]
    assert [(o.id, o.time) for o in a] != [(o.id, o.time) for o in c]


def test_steps_partition_the_stream_and_carry_the_truth(scenario, observations):
    dt = 5.0
    steps = list(scenario.steps(dt=dt))
    assert all(isinstance(s, SimStep) for s in steps)
    assert len(steps) == int(np.ceil(scenario.config.duration_s / dt))
    flat = [o.id for s in steps for o in s.observations]
    assert flat == [o.id for o in observations]
    for s in steps[::17]:
        assert all(s.time <= o.time < s.time + dt for o in s.observations)
        ids = {oid for oid, _, _ in s.truth}
        assert ids == {o.id for o in scenario.truth if o.active(s.time)}
        for oid, p, v in s.truth:
            assert p.shape == (3,) and v.shape == (3,)
            assert np.allclose(p, scenario.truth_object(oid).state_at(s.time)[0])


def test_truth_of_links_observations_to_objects(scenario, observations):
    radar = [o for o in observations if o.source == SourceKind.RADAR]
    links = [scenario.truth_of(o) for o in radar]
    clutter = sum(x is None for x in links)
    assert 0 < clutter < len(radar)
    for o in observations:
        if o.source in (SourceKind.ADSB, SourceKind.REMOTE_ID):
            t = scenario.truth_object(scenario.truth_of(o))
            assert t.ident == o.ident


def test_scenario_content(scenario):
    kinds = {s.kind for s in scenario.sensors}
    assert kinds == {SourceKind.ADSB, SourceKind.REMOTE_ID, SourceKind.RADAR, SourceKind.CAMERA, SourceKind.REPORT,
                     SourceKind.BLUE_FORCE}
    assert sum(s.kind == SourceKind.REMOTE_ID for s in scenario.sensors) == 2
    for s in scenario.sensors:
        assert s.period_s > 0 and s.max_range_m > 0
    # agents near the border, on the U.S. side
    for a in scenario.agents:
        assert scenario.sector.side_of_border(a.position.lat, a.position.lon) == "US"
    kinds = {e.kind for e in scenario.events}
    assert {"border_crossing", "approach_agents", "remote_id_spoof", "surveillance_orbit", "dark_drone"} <= kinds
    times = [e.time for e in scenario.events]
    assert times == sorted(times)


def test_bad_arguments_get_clear_errors(scenario):
    import pytest

    with pytest.raises(ValueError, match="dt"):
        next(scenario.steps(dt=0.0))
    with pytest.raises(KeyError, match="no observation"):
        scenario.truth_of("radar-hill-999999999")
    with pytest.raises(KeyError):
        scenario.truth_object("no-such-object")
