"""Tracking performance metrics: GOSPA, identity switches, NEES."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lookout.tracking.association import gnn_assign, grid_pairs


@dataclass
class GospaResult:
    gospa: float
    localisation: float  # sum of d^p over assigned pairs
    missed: int
    false: int
    assigned_truth: np.ndarray  # indices into the truth array
    assigned_est: np.ndarray  # indices into the estimate array


def gospa(truth_xy: np.ndarray, est_xy: np.ndarray, c: float = 100.0, p: float = 2.0) -> GospaResult:
    """Generalised OSPA (Rahmathullah et al. 2017) with alpha = 2, cut-off ``c``, order ``p``.

    Solved exactly as an assignment: a pair costs ``d^p`` (only pairs with ``d < c`` can be
    worth assigning) and an unassigned truth or estimate costs ``c^p / 2``.
    """
    truth_xy = np.asarray(truth_xy, dtype=float).reshape(-1, 2)
    est_xy = np.asarray(est_xy, dtype=float).reshape(-1, 2)
    n, m = len(truth_xy), len(est_xy)
    ti, ei = grid_pairs(truth_xy, est_xy, c)
    d = np.hypot(*(truth_xy[ti] - est_xy[ei]).T) if len(ti) else np.zeros(0)
    ok = d < c
    ti, ei, d = ti[ok], ei[ok], d[ok]
    cost = d ** p
    sel = gnn_assign(ti, ei, cost, np.full(n, c ** p), n, m)
    loc = float(cost[sel].sum())
    missed, false = n - len(sel), m - len(sel)
    total = (loc + c ** p / 2.0 * (missed + false)) ** (1.0 / p)
    return GospaResult(total, loc, missed, false, ti[sel], ei[sel])


def id_switches(assign_truth: list[np.ndarray], assign_track: list[np.ndarray]) -> int:
    """Number of times a truth's assigned track id changes between the scans where it is assigned.

    ``assign_truth[k]`` / ``assign_track[k]``: truth ids and track ids paired at scan ``k``.
    """
    last: dict[int, int] = {}
    switches = 0
    for tr, tk in zip(assign_truth, assign_track):
        for a, b in zip(tr.tolist(), tk.tolist()):
            prev = last.get(a)
            if prev is not None and prev != b:
                switches += 1
            last[a] = b
    return switches


def nees(err: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Normalised estimation error squared ``e^T P^-1 e`` of errors ``(n, d)`` with covariances ``(n, d, d)``."""
    return np.einsum("ni,ni->n", err, np.linalg.solve(P, err[..., None])[..., 0])
