"""Seeded 2-D multi-target scenarios shared by the tests and the benchmark.

Targets move with nearly-constant velocity (discrete white-noise acceleration) in a square
area; they are born (Poisson, uniformly over the area) and die (exponential lifetime, or on
leaving the area); each scan detects every live target with probability ``pd`` and adds Poisson
clutter uniform over the area. Births replace the deaths by lifetime only, so over long runs the
targets that leave the area make the population drift below ``n_targets`` (at 21 m/s mean speed
in 20 x 20 km the mean over a 300-s run is about 85 %). Everything is a function of the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Scenario2D:
    """Measurements and truth of one scenario (all arrays sorted by time)."""

    scan_times: np.ndarray  # (T,)
    meas_time: np.ndarray  # (K,)
    meas_xy: np.ndarray  # (K, 2)
    meas_target: np.ndarray  # (K,) true target index, -1 for clutter
    truth_time: np.ndarray  # (L,)
    truth_id: np.ndarray  # (L,)
    truth_xy: np.ndarray  # (L, 2)
    truth_v: np.ndarray  # (L, 2)
    area_m: float
    sigma: float
    pd: float
    clutter_per_scan: float

    @property
    def clutter_density(self) -> float:
        return self.clutter_per_scan / self.area_m ** 2

    def scans(self):
        """Yield ``(time, meas_xy (M, 2))`` per scan."""
        starts = np.searchsorted(self.meas_time, self.scan_times, "left")
        ends = np.searchsorted(self.meas_time, self.scan_times, "right")
        for t, a, b in zip(self.scan_times, starts, ends):
            yield float(t), self.meas_xy[a:b]

    def truth_at(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, xy)`` of the targets alive at scan ``i``."""
        t = self.scan_times[i]
        a, b = np.searchsorted(self.truth_time, [t, t], side="left")[0], np.searchsorted(self.truth_time, t, "right")
        return self.truth_id[a:b], self.truth_xy[a:b]


def make_scenario(n_targets: int, n_scans: int, seed: int = 0, *, area_m: float = 20_000.0, dt: float = 1.0,
                  sigma: float = 10.0, pd: float = 0.9, clutter_per_scan: float = 10.0, q: float = 0.5,
                  speed_range: tuple[float, float] = (2.0, 40.0), mean_life_s: float = 300.0,
                  t0: float = 0.0) -> Scenario2D:
    """Generate a scenario of ``n_scans`` scans starting with ``n_targets`` live targets."""
    rng = np.random.default_rng(seed)

    def spawn(m: int) -> np.ndarray:
        s = rng.uniform(*speed_range, m)
        h = rng.uniform(0, 2 * np.pi, m)
        return np.column_stack([rng.uniform(0, area_m, m), rng.uniform(0, area_m, m), s * np.sin(h), s * np.cos(h)])

    F = np.array([[1, 0, dt, 0], [0, 1, 0, dt], [0, 0, 1, 0], [0, 0, 0, 1]], dtype=float)
    q1 = q * np.array([[dt ** 3 / 3, dt ** 2 / 2], [dt ** 2 / 2, dt]])
    Q = np.zeros((4, 4))
    Q[np.ix_([0, 2], [0, 2])] = q1
    Q[np.ix_([1, 3], [1, 3])] = q1
    Lq = np.linalg.cholesky(Q)

    states = spawn(n_targets)
    ids = np.arange(n_targets)
    next_id = n_targets
    p_die = 1.0 - np.exp(-dt / mean_life_s)
    birth_rate = n_targets * p_die
    scan_times = t0 + dt * np.arange(n_scans)
    mt, mxy, mtg, tt, tid, txy, tv = [], [], [], [], [], [], []
    for k, t in enumerate(scan_times):
        if k:
            states = states @ F.T + rng.standard_normal(states.shape) @ Lq.T
            inside = (states[:, :2] >= 0).all(axis=1) & (states[:, :2] <= area_m).all(axis=1)
            alive = inside & (rng.random(len(states)) >= p_die)
            states, ids = states[alive], ids[alive]
            nb = rng.poisson(birth_rate)
            if nb:
                states = np.concatenate([states, spawn(nb)])
                ids = np.concatenate([ids, np.arange(next_id, next_id + nb)])
                next_id += nb
        tt.append(np.full(len(ids), t))
        tid.append(ids.copy())
        txy.append(states[:, :2].copy())
        tv.append(states[:, 2:].copy())
        det = rng.random(len(ids)) < pd
        z = states[det, :2] + rng.normal(0.0, sigma, (int(det.sum()), 2))
        nc = rng.poisson(clutter_per_scan)
        zc = rng.uniform(0, area_m, (nc, 2))
        allz = np.concatenate([z, zc])
        tg = np.concatenate([ids[det], np.full(nc, -1)])
        perm = rng.permutation(len(allz))
        mt.append(np.full(len(allz), t))
        mxy.append(allz[perm])
        mtg.append(tg[perm])
    return Scenario2D(scan_times=scan_times, meas_time=np.concatenate(mt), meas_xy=np.concatenate(mxy),
                      meas_target=np.concatenate(mtg), truth_time=np.concatenate(tt), truth_id=np.concatenate(tid),
                      truth_xy=np.concatenate(txy), truth_v=np.concatenate(tv), area_m=area_m, sigma=sigma, pd=pd,
                      clutter_per_scan=clutter_per_scan)
