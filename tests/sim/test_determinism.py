"""A scenario is a function of (seed, duration): the start time only shifts every timestamp."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pytest

from lookout.sim import Scenario, ScenarioConfig

#: record fields that hold absolute times (compared after removing the start time)
TIME_KEYS = {"time", "times", "start", "end", "time_closest", "outages"}
DURATION = 600.0
STARTS = (1793628000.0, 1000000123.5)  # 2026-11-02 14:00 UTC; 2001-09-09 01:48:43.5 UTC


def _same(a, b, shift: tuple[float, float], path: str = "", is_time: bool = False) -> None:
    """Assert two records are equal, times after the shift, other floats to rounding error."""
    where = path or "record"
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], shift, f"{path}.{k}", is_time or k in TIME_KEYS)
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, shift, f"{path}[{i}]", is_time)
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.shape == b.shape, where
        if is_time:
            np.testing.assert_allclose(a - shift[0], b - shift[1], rtol=0, atol=1e-5, err_msg=where)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-4, err_msg=where)
    elif isinstance(a, float) and not isinstance(a, bool):
        assert isinstance(b, float), where
        if is_time:
            assert a - shift[0] == pytest.approx(b - shift[1], abs=1e-5), where
        elif path.endswith(("lat", "lon")):
            assert a == pytest.approx(b, abs=1e-8), where  # about a millimetre
        else:
            assert a == pytest.approx(b, rel=1e-6, abs=1e-4), where
    else:
        assert a == b, where


@pytest.fixture(scope="module")
def shifted():
    runs = [Scenario(ScenarioConfig(seed=11, duration_s=DURATION, start_time=s)) for s in STARTS]
    for r in runs:
        _ = r.table
    return runs


def test_the_start_time_only_shifts_the_objects_and_their_paths(shifted):
    a, b = shifted
    shift = STARTS
    assert [o.id for o in a.truth] == [o.id for o in b.truth] and len(a.truth) >= 6
    for oa, ob in zip(a.truth, b.truth):
        da = {k: v for k, v in vars(oa).items() if k != "frame"}
        db = {k: v for k, v in vars(ob).items() if k != "frame"}
        _same(da, db, shift, oa.id)  # class, identities, flags, attrs, path times, positions, velocities
    _same([asdict(s) for s in a.sensors], [asdict(s) for s in b.sensors], shift, "sensors")
    _same([asdict(g) for g in a.agents], [asdict(g) for g in b.agents], shift, "agents")
    _same([asdict(e) for e in a.events], [asdict(e) for e in b.events], shift, "events")


def test_the_start_time_only_shifts_every_observation(shifted):
    a, b = shifted
    obs_a, obs_b = list(a.observations()), list(b.observations())
    assert len(obs_a) == len(obs_b) > 5000
    assert [o.id for o in obs_a] == [o.id for o in obs_b]
    for oa, ob in zip(obs_a, obs_b):
        _same(oa.to_dict(), ob.to_dict(), STARTS, oa.id)
    # which true object each observation comes from, clutter included
    np.testing.assert_array_equal(a.table["truth"], b.table["truth"])
    # and every step carries the same observations and truth
    for sa, sb in zip(a.steps(dt=30.0), b.steps(dt=30.0)):
        assert sa.time - STARTS[0] == pytest.approx(sb.time - STARTS[1], abs=1e-6)
        assert [o.id for o in sa.observations] == [o.id for o in sb.observations]
        assert [s[0] for s in sa.truth] == [s[0] for s in sb.truth]


def test_another_seed_gives_another_scenario(shifted):
    a = shifted[0]
    c = Scenario(ScenarioConfig(seed=12, duration_s=DURATION, start_time=STARTS[0]))
    ids_a = {o.id: (o.ident, o.callsign) for o in a.truth}
    ids_c = {o.id: (o.ident, o.callsign) for o in c.truth}
    assert ids_a != ids_c  # other drone serials, ICAO addresses, callsigns
    surv_a, surv_c = a.truth_object("surv-1"), c.truth_object("surv-1")
    assert np.abs(surv_a.enu[0] - surv_c.enu[0]).max() > 10.0  # the same script, elsewhere
    assert [(o.id, o.time) for o in a.observations()][:500] != [(o.id, o.time) for o in c.observations()][:500]
