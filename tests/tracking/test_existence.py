"""Existence-based track confirmation (``confirmation="existence"``, the ``lookout track`` default)."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from lookout.commands.track import tracker_config
from lookout.tracking import PositionTracker, TrackerConfig
from lookout.tracking.existence import Existence
from lookout.tracking.metrics import gospa
from lookout.tracking.scenarios import make_scenario

AREA = 20_000.0


def _straight(k, start=(5000.0, 5000.0), v=(12.0, -7.0)):
    return np.array([start[0] + v[0] * k, start[1] + v[1] * k])


def test_likelihood_ratio_update_matches_the_formula():
    cfg = TrackerConfig(confirmation="existence", pd=0.8, clutter_density=1e-6, gate_prob=0.99)
    ex = Existence(cfg)
    p = np.array([0.2, 0.2, 0.6])
    ll = np.array([-9.0, -11.0])  # track 0: one measurement; track 2: two (JPDA); track 1: missed
    got = ex.update(p, np.array([0, 2, 2])[[0, 1, 2]], np.array([ll[0], ll[0], ll[1]]))
    odds = p / (1 - p)
    lr = 0.8 * np.exp(ll) / 1e-6
    miss = 1 - 0.8 * 0.99
    want_odds = odds * np.array([miss + lr[0], miss, miss + lr[0] + lr[1]])
    assert got == pytest.approx(want_odds / (1 + want_odds), rel=1e-12)
    # survival between scans
    cfg = cfg.with_(death_rate=0.01)
    assert Existence(cfg).predict(np.array([0.5]), 3.0)[0] == pytest.approx(0.5 * math.exp(-0.03))


def test_clutter_only_reports_almost_nothing_and_never_for_long():
    """10 false alarms per scan over 20 x 20 km for 300 scans: a clutter track is rarely reported,
    and once reported it drops out at its first miss."""
    rng = np.random.default_rng(4)
    tr = PositionTracker(TrackerConfig(confirmation="existence"))
    reported = Counter()
    for k in range(300):
        tr.step(k, rng.uniform(0, AREA, (rng.poisson(10), 2)))
        reported.update(tr.confirmed_tracks()[0].tolist())
    assert sum(reported.values()) / 300 < 0.03  # well under one false track per 30 scans
    assert max(reported.values(), default=0) <= 2
    assert tr.existence.p0 < 0.01  # learnt: almost no started track becomes established


def test_straight_target_confirms_on_its_second_scan_and_m_of_n_needs_three():
    for conf, scans_needed in (("existence", 2), ("m_of_n", 3)):
        rng = np.random.default_rng(1)
        tr = PositionTracker(TrackerConfig(confirmation=conf, q_h=0.5))
        first = None
        for k in range(6):
            z = np.vstack([_straight(k) + rng.normal(0, 10.0, 2), rng.uniform(0, AREA, (10, 2))])
            tr.step(float(k), z)
            ids, st = tr.confirmed_tracks()
            if first is None and len(ids):
                first = k
                assert np.hypot(*(st[0, :2] - _straight(k))) < 30
        assert first == scans_needed - 1, conf


def test_dense_clutter_asks_for_more_evidence():
    """Where the gate holds many false alarms a second measurement proves little: no confirmation
    on two scans, but the target is confirmed later."""
    dens = 2e-5  # 20 false alarms per km^2 per scan
    rng = np.random.default_rng(3)
    tr = PositionTracker(TrackerConfig(confirmation="existence", clutter_density=dens, q_h=0.5, pd=0.95))
    first = None
    for k in range(25):
        truth = _straight(k, start=(1000.0, 1000.0), v=(8.0, 5.0))
        z = rng.uniform(0, 3000, (rng.poisson(dens * 3000 ** 2), 2))
        if rng.random() < 0.95:
            z = np.vstack([z, truth + rng.normal(0, 10.0, 2)])
        tr.step(float(k), z)
        _, st = tr.confirmed_tracks()
        if first is None and len(st) and np.hypot(*(st[:, :2] - truth).T).min() < 30:
            first = k
    assert first is not None and first >= 2


def test_a_target_that_vanishes_stops_being_reported_before_deletion_and_comes_back_under_its_id():
    cfg = TrackerConfig(confirmation="existence", death_rate=0.01, q_h=0.5, delete_misses=4)
    rng = np.random.default_rng(2)
    tr = PositionTracker(cfg)
    none = np.zeros((0, 2))
    for k in range(20):
        tr.step(float(k), _straight(k)[None] + rng.normal(0, 10.0, 2))
    (tid,), _ = tr.confirmed_tracks()
    shown = []
    for k in range(20, 23):  # three misses
        tr.step(float(k), none)
        shown.append(len(tr.confirmed_tracks()[0]))
    # odds after a run of hits ~ exp(-0.01) / (1 - exp(-0.01)) ~ 99.5; each miss * 0.1009 and survival:
    # 1 miss -> p ~ 0.91 (shown), 2 misses -> ~ 0.49 (not shown), 3 -> ~0.09
    assert shown == [1, 0, 0]
    assert len(tr) == 1 and list(tr.deleted_ids) == []  # kept, coasting
    tr.step(23.0, _straight(23)[None] + rng.normal(0, 10.0, 2))  # re-acquired
    ids, _ = tr.confirmed_tracks()
    assert list(ids) == [tid]


def test_learnt_birth_and_death_rates_follow_the_scene():
    """Slow targets (few leave the area), mean life 100 s, 10 false alarms per scan."""
    sc = make_scenario(60, 400, seed=12, speed_range=(1.0, 4.0), mean_life_s=100.0)
    tr = PositionTracker(tracker_config(clutter_density=sc.clutter_density))
    for t, z in sc.scans():
        tr.step(t, z)
    assert 0.5 / 100.0 < tr.existence.death_rate < 2.0 / 100.0
    births_per_scan = 60 * (1 - math.exp(-1 / 100.0))  # the scenario's birth rate
    share = births_per_scan / (births_per_scan + 10.0)
    assert 0.5 * share < tr.existence.p0 < 2.0 * share


def _mean_gospa(sc, cfg):
    tr = PositionTracker(cfg)
    g = []
    for k, (t, z) in enumerate(sc.scans()):
        tr.step(t, z)
        _, st = tr.confirmed_tracks()
        g.append(gospa(sc.truth_at(k)[1], st[:, :2]).gospa)
    return float(np.mean(g))


@pytest.mark.parametrize("clutter", [10.0, 300.0])
def test_gospa_below_m_of_n_on_seeded_scenarios(clutter):
    """Same filter and association: existence-based confirmation beats 3-of-5 confirmation with
    4-miss deletion (the previous default) on mean GOSPA, in sparse and in dense clutter."""
    for seed in (31, 32):
        sc = make_scenario(40, 80, seed=seed, clutter_per_scan=clutter)
        base = tracker_config(clutter_density=sc.clutter_density)
        g_ex = _mean_gospa(sc, base)
        g_mn = _mean_gospa(sc, base.with_(confirmation="m_of_n"))
        assert base.confirmation == "existence"
        assert g_ex < 0.95 * g_mn, (seed, g_ex, g_mn)
