"""The fast 2-D position tracker: filter consistency, association, track management, metrics."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2

from lookout.tracking import PositionTracker, TrackerConfig
from lookout.tracking.association import gnn_assign, grid_pairs
from lookout.tracking.metrics import gospa, nees
from lookout.tracking.scenarios import make_scenario


def _ncv_truth(rng, n, steps, q, dt=1.0, spacing=3000.0):
    """``n`` independent NCV targets on a grid far apart: states (steps, n, 4)."""
    F = np.array([[1, 0, dt, 0], [0, 1, 0, dt], [0, 0, 1, 0], [0, 0, 0, 1]], float)
    q1 = q * np.array([[dt ** 3 / 3, dt ** 2 / 2], [dt ** 2 / 2, dt]])
    Q = np.zeros((4, 4))
    Q[np.ix_([0, 2], [0, 2])] = q1
    Q[np.ix_([1, 3], [1, 3])] = q1
    L = np.linalg.cholesky(Q)
    side = int(np.ceil(np.sqrt(n)))
    g = np.array([(i % side, i // side) for i in range(n)], float) * spacing
    x = np.column_stack([g, rng.normal(0, 10.0, (n, 2))])
    out = []
    for _ in range(steps):
        out.append(x.copy())
        x = x @ F.T + rng.standard_normal(x.shape) @ L.T
    return np.array(out)


@pytest.mark.parametrize("imm", [False, True])
def test_nees_within_chi_square_bounds(imm):
    """Average NEES over 100 independent targets lies inside the 99% chi-square interval at most steps."""
    rng = np.random.default_rng(11)
    q, sigma, n, steps = 0.5, 10.0, 100, 80
    truth = _ncv_truth(rng, n, steps, q)
    # IMM with two identical-noise models must stay exactly as consistent as the single filter
    cfg = TrackerConfig(sigma=sigma, pd=1.0, q_h=q, confirm_m=1, confirm_n=1, init_speed_sigma=10.0,
                        imm=imm, imm_q_factor=1.0 if imm else 50.0, gate_prob=1 - 1e-9)
    tr = PositionTracker(cfg)
    lo, hi = chi2.ppf([0.005, 0.995], df=4 * n) / n
    inside = 0
    for k in range(steps):
        z = truth[k, :, :2] + rng.normal(0, sigma, (n, 2))
        tr.step(float(k), z)
        x, P = tr.estimates()
        assert len(x) == n  # one track per target, no clutter, pd = 1
        order = np.argmin(np.hypot(*(x[:, None, :2] - truth[k, None, :, :2]).transpose(2, 0, 1)), axis=1)
        assert len(set(order.tolist())) == n
        e = x - truth[k, order]
        if k >= 5:
            inside += lo <= nees(e, P).mean() <= hi
    assert inside >= 0.9 * (steps - 5)


def test_crossing_targets_keep_their_ids():
    """Two targets crossing at right angles (and two at 30 degrees) keep their track ids through the crossing."""
    rng = np.random.default_rng(5)
    cfg = TrackerConfig(sigma=10.0, pd=0.9, q_h=0.5, clutter_density=2e-7)
    tr = PositionTracker(cfg)
    t = np.arange(0.0, 101.0)
    # pair 1: east-bound and north-bound, crossing at (5000, 5000) at t = 50
    a = np.column_stack([4000 + 20 * t, np.full_like(t, 5000)])
    b = np.column_stack([np.full_like(t, 5000), 4000 + 20 * t])
    # pair 2: 30 degrees apart, crossing at (10000, 5000) at t = 50
    ang = np.radians([75.0, 105.0])
    c = np.column_stack([10000 + 15 * np.sin(ang[0]) * (t - 50), 5000 + 15 * np.cos(ang[0]) * (t - 50)])
    d = np.column_stack([10000 + 15 * np.sin(ang[1]) * (t - 50), 5000 + 15 * np.cos(ang[1]) * (t - 50)])
    truths = [a, b, c, d]
    owner: dict[int, int] = {}
    for k, tk in enumerate(t):
        det = [tr_[k] + rng.normal(0, 10, 2) for tr_ in truths if rng.random() < 0.9]
        clutter = rng.uniform([3000, 3000], [12000, 7000], (rng.poisson(5), 2))
        z = np.array(det + list(clutter)).reshape(-1, 2)
        tr.step(tk, z[rng.permutation(len(z))])
        ids, st = tr.confirmed_tracks()
        if k in (30, 100):
            for j, tru in enumerate(truths):
                dist = np.hypot(*(st[:, :2] - tru[k]).T)
                assert dist.min() < 50, f"target {j} not tracked at t={tk}"
                i = int(ids[np.argmin(dist)])
                if k == 30:
                    owner[j] = i
                else:
                    assert owner[j] == i, f"target {j} changed track id across the crossing"
    assert len(set(owner.values())) == 4


def test_m_of_n_confirmation_and_deletion():
    cfg = TrackerConfig(sigma=5.0, pd=0.9, confirm_m=3, confirm_n=4, delete_misses=4, q_h=0.5)
    tr = PositionTracker(cfg)
    pos = lambda k: np.array([[1000.0 + 10 * k, 2000.0]])  # noqa: E731
    none = np.zeros((0, 2))
    tr.step(0, pos(0))
    assert len(tr) == 1 and not tr.confirmed.any()  # tentative
    tr.step(1, pos(1))
    assert not tr.confirmed.any()
    tr.step(2, none)  # a miss: 2 hits of 3 scans, can still reach 3 of 4
    assert len(tr) == 1 and not tr.confirmed.any()
    tr.step(3, pos(3))  # 3 hits in 4 scans -> confirmed
    assert tr.confirmed.all() and list(tr.new_confirmed_ids) == [1]
    for k in range(4, 7):  # three misses: still alive (coasting)
        tr.step(k, none)
        assert len(tr) == 1
    tr.step(7, none)  # fourth consecutive miss -> deleted
    assert len(tr) == 0 and list(tr.deleted_ids) == [1]
    assert tr.stats.tracks_confirmed == 1 and tr.stats.tracks_deleted == 1


def test_tentative_track_that_cannot_reach_m_is_dropped_and_clutter_never_confirms():
    cfg = TrackerConfig(confirm_m=3, confirm_n=4)
    tr = PositionTracker(cfg)
    tr.step(0, np.array([[0.0, 0.0]]))
    tr.step(1, np.zeros((0, 2)))
    assert len(tr) == 1
    tr.step(2, np.zeros((0, 2)))  # 1 hit, 2 scans left: cannot make 3 of 4
    assert len(tr) == 0 and tr.stats.tentative_dropped == 1
    rng = np.random.default_rng(2)
    tr = PositionTracker(cfg)
    for k in range(50):  # pure sparse clutter: 10 points per scan over 20 x 20 km
        tr.step(k, rng.uniform(0, 20_000, (10, 2)))
    assert tr.stats.tracks_confirmed == 0


def test_scan_validation_errors():
    tr = PositionTracker()
    tr.step(5.0, np.zeros((0, 2)))
    with pytest.raises(ValueError, match="before the previous scan"):
        tr.step(4.0, np.zeros((0, 2)))
    with pytest.raises(ValueError, match="finite"):
        tr.step(6.0, np.array([[np.nan, 1.0]]))


def test_grid_pregate_finds_every_close_pair():
    rng = np.random.default_rng(0)
    tp = rng.uniform(-5000, 5000, (300, 2))
    mp = rng.uniform(-5000, 5000, (400, 2))
    ti, mi = grid_pairs(tp, mp, 250.0)
    d = np.hypot(*(tp[:, None] - mp[None]).transpose(2, 0, 1))
    want = set(zip(*np.nonzero(d <= 250.0)))
    got = set(zip(ti.tolist(), mi.tolist()))
    assert want <= got
    assert len(got) == len(ti)  # no duplicates


def test_gnn_assignment_is_optimal_against_brute_force():
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(4)
    for _ in range(20):
        n, m = 6, 7
        mask = rng.random((n, m)) < 0.4
        ti, mi = np.nonzero(mask)
        cost = rng.uniform(0, 10, len(ti))
        miss = np.full(n, 8.0)
        sel = gnn_assign(ti, mi, cost, miss, n, m)
        assert len(set(ti[sel])) == len(sel) and len(set(mi[sel])) == len(sel)
        total = cost[sel].sum() + miss[np.setdiff1d(np.arange(n), ti[sel])].sum()
        big = 1e6
        c = np.full((n, m + n), big)
        c[ti, mi] = cost
        c[np.arange(n), m + np.arange(n)] = miss
        r, col = linear_sum_assignment(c)
        assert total == pytest.approx(c[r, col].sum())


def test_gospa_components():
    truth = np.array([[0.0, 0.0], [1000.0, 0.0], [5000.0, 5000.0]])
    est = np.array([[3.0, 4.0], [1000.0, 0.0], [9000.0, 9000.0], [9100.0, 9000.0]])
    g = gospa(truth, est, c=100.0, p=2)
    assert g.missed == 1 and g.false == 2
    assert g.localisation == pytest.approx(25.0)
    assert g.gospa == pytest.approx(np.sqrt(25.0 + 100.0 ** 2 / 2 * 3))


def test_scenario_tracking_quality():
    """A seeded 100-target scenario: tracks close to the truth count, small GOSPA, few id switches."""
    sc = make_scenario(100, 60, seed=3)
    tr = PositionTracker(TrackerConfig(q_h=0.5, clutter_density=sc.clutter_density))
    g, counts = [], []
    for k, (t, z) in enumerate(sc.scans()):
        tr.step(t, z)
        ids, st = tr.confirmed_tracks()
        if k >= 10:
            _, txy = sc.truth_at(k)
            res = gospa(txy, st[:, :2])
            g.append(res.gospa)
            counts.append((len(ids), len(txy), res.missed, res.false))
    # per target: about 10 m error and a handful of births/deaths per scan
    assert np.mean(g) < 200.0
    n_tr, n_true, missed, false = np.mean(counts, axis=0)
    assert abs(n_tr - n_true) < 5
    # missed targets are the newly born (3 scans to confirm); false tracks the dead (4 scans to delete)
    assert missed < 0.03 * n_true and false < 0.04 * n_true


def test_jpda_holds_target_in_dense_clutter():
    rng = np.random.default_rng(8)
    dens = 100 / 1000.0 ** 2  # 100 false alarms per km^2 per scan
    errs = {}
    for assoc in ("jpda", "gnn"):
        rng = np.random.default_rng(8)
        tr = PositionTracker(TrackerConfig(association=assoc, clutter_density=dens, pd=0.9, q_h=0.5,
                                           sigma=10.0))
        err = []
        for k in range(60):
            truth = np.array([500.0 + 8 * k, 500.0 + 3 * k])
            z = rng.uniform(0, 1500, (rng.poisson(dens * 1500 ** 2), 2))
            if rng.random() < 0.9:
                z = np.vstack([z, truth + rng.normal(0, 10, 2)])
            tr.step(float(k), z)
            ids, st = tr.confirmed_tracks()
            if k >= 15:
                err.append(np.hypot(*(st[:, :2] - truth).T).min() if len(ids) else np.inf)
        errs[assoc] = np.array(err)
    assert np.all(errs["jpda"] < 60.0)
    assert np.median(errs["jpda"]) < 25.0


def test_imm_follows_a_manoeuvre_better_than_cv():
    """A target flying straight, turning hard (3 deg/s), then straight: IMM error < single low-noise CV."""
    rng = np.random.default_rng(9)
    pos, vel, truth = np.array([0.0, 0.0]), np.array([0.0, 30.0]), []
    for k in range(120):
        truth.append(pos.copy())
        if 40 <= k < 70:
            a = np.radians(3.0)
            vel = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]]) @ vel
        pos = pos + vel
    truth = np.array(truth)
    z = truth + rng.normal(0, 10.0, truth.shape)
    rms = {}
    for imm in (False, True):
        tr = PositionTracker(TrackerConfig(q_h=0.05, imm=imm, imm_q_factor=400.0, pd=1.0))
        e = []
        for k in range(len(z)):
            tr.step(float(k), z[k:k + 1])
            _, st = tr.confirmed_tracks()
            if k >= 40:
                e.append(np.hypot(*(st[:, :2] - truth[k]).T).min() if len(st) else 1e4)
        rms[imm] = float(np.sqrt(np.mean(np.square(e))))
    assert rms[True] < 0.7 * rms[False]
