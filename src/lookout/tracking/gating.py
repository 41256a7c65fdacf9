"""Gating stage: which (track, measurement) pairs may be associated.

Two steps: a coarse pre-gate on horizontal distance (every pair directly when there are few,
else the grid of :func:`lookout.tracking.association.grid_pairs`), then the chi-square
Mahalanobis gate at ``gate_prob`` on each pair's innovation. :func:`position_gate` does both for
the fast 2-D position path; :func:`pregate` and :func:`mahalanobis_gate` for the multi-sensor
tracker (any measurement model, bearings without range).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lookout.tracking.association import grid_pairs
from lookout.tracking.config import TrackerConfig
from lookout.tracking.filters import Innovation, inv_sym
from lookout.tracking.measurements import Meas

BRUTE_PAIRS = 4096  # pre-gate by direct distances up to this many track-measurement pairs
_EMPTY = np.zeros(0, dtype=np.int64)


def largest_eigenvalue(S: np.ndarray) -> np.ndarray:
    """Largest eigenvalue of each symmetric 2 x 2 matrix of a stack ``(n, 2, 2)``."""
    a, b, d = S[:, 0, 0], S[:, 0, 1], S[:, 1, 1]
    return 0.5 * (a + d) + np.sqrt(0.25 * (a - d) ** 2 + b * b)


def near_pairs(track_xy: np.ndarray, meas_xy: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs within ``radius`` (directly when few; the grid may add farther pairs from its cells)."""
    if len(track_xy) * len(meas_xy) <= BRUTE_PAIRS:
        dd = track_xy[:, None, :2] - meas_xy[None]
        return np.nonzero(np.einsum("tmi,tmi->tm", dd, dd) <= radius * radius)
    return grid_pairs(track_xy[:, :2], meas_xy, radius)


def position_gate(xy: np.ndarray, P2: np.ndarray, z: np.ndarray, R: np.ndarray, gate: float):
    """Gated pairs of 2-D position tracks ``xy (n, 2)``, ``P2 (n, 2, 2)`` and measurements
    ``z (m, 2)`` with covariance ``R``: ``ti, mi``, innovations ``y``, squared Mahalanobis
    distances ``d2``, and per track the inverse innovation covariance and its log-determinant."""
    S = P2 + R
    Sinv, logdet = inv_sym(S)
    n, m = len(xy), len(z)
    if n * m <= BRUTE_PAIRS:  # few pairs: every pair, directly
        y = z[None, :, :] - xy[:, None, :]
        y0, y1 = y[..., 0], y[..., 1]
        d2 = Sinv[:, None, 0, 0] * y0 * y0 + 2.0 * Sinv[:, None, 0, 1] * y0 * y1 + Sinv[:, None, 1, 1] * y1 * y1
        ti, mi = np.nonzero(d2 < gate)
        return ti, mi, y[ti, mi], d2[ti, mi], Sinv, logdet
    ti, mi = grid_pairs(xy, z, float(np.sqrt(gate * largest_eigenvalue(S).max())))
    y = z[mi] - xy[ti]
    si = Sinv[ti]
    d2 = si[:, 0, 0] * y[:, 0] ** 2 + 2.0 * si[:, 0, 1] * y[:, 0] * y[:, 1] + si[:, 1, 1] * y[:, 1] ** 2
    g = d2 < gate
    return ti[g], mi[g], y[g], d2[g], Sinv, logdet


def pregate(cfg: TrackerConfig, xc: np.ndarray, Pc: np.ndarray, confirmed: np.ndarray | None,
            meas: list[Meas]) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs of tracks (horizontal positions ``xc[:, :2]``, covariances ``Pc[:, :2, :2]``)
    and measurements: measurements with a point estimate within a radius of 1.5 times the largest
    3-D gate of a track plus a measurement; bearings (no range) with every ``confirmed`` track
    only (along a line of sight they would also fit any tentative track at another range and
    could confirm clutter; ``confirmed`` may be None when there are no bearings)."""
    n = len(xc)
    ti_l, mi_l = [], []
    if n:
        with_pt = [j for j, m in enumerate(meas) if m.point is not None]
        if with_pt:
            pts = np.array([meas[j].point[:2] for j in with_pt])
            lmax_t = float(largest_eigenvalue(Pc).max())
            lmax_m = float(largest_eigenvalue(np.array([meas[j].point_cov[:2, :2] for j in with_pt])).max())
            radius = math.sqrt(cfg.gate(3) * (lmax_t + lmax_m)) * 1.5
            ti, mj = near_pairs(xc, pts, radius)
            ti_l.append(ti)
            mi_l.append(np.array(with_pt, dtype=np.int64)[mj])
        bearings = [j for j, m in enumerate(meas) if m.point is None]
        if bearings:
            cix = np.flatnonzero(confirmed)
            for j in bearings:
                ti_l.append(cix)
                mi_l.append(np.full(len(cix), j))
    ti = np.concatenate(ti_l) if len(ti_l) > 1 else (ti_l[0] if ti_l else _EMPTY)
    mi = np.concatenate(mi_l) if len(mi_l) > 1 else (mi_l[0] if mi_l else _EMPTY)
    return ti, mi


@dataclass
class GatedPairs:
    """Pairs inside the Mahalanobis gate, and the innovations they were gated on.

    ``cache``: per measurement model ``(key, innovation of its candidate pairs, inside mask)``, in
    the order of the pairs (the single-model update reuses these innovations)."""

    ti: np.ndarray
    mi: np.ndarray
    d2: np.ndarray
    logdet: np.ndarray
    gate: np.ndarray  # each pair's threshold (it depends on the measurement's dimension)
    cache: list[tuple[tuple, Innovation, np.ndarray]]


#: innovations of the combined states of tracks ``tix`` against ``meas`` at time ``T``
InnovationFn = Callable[[tuple, list[Meas], np.ndarray, float], Innovation]


def mahalanobis_gate(cfg: TrackerConfig, innovation: InnovationFn, meas: list[Meas], ti: np.ndarray,
                     mi: np.ndarray, T: float) -> GatedPairs:
    """Chi-square gate of candidate pairs, per measurement model; ``innovation(key, meas, tix, T)``
    gives the innovations of the combined track states (:meth:`~lookout.tracking.updater.Updater.innovation`)."""
    keep_t, keep_m, d2s, lds, gts = [], [], [], [], []
    cache = []
    mkeys = [m.key for m in meas]
    mil = mi.tolist()
    keys = {mkeys[j] for j in mil}
    for key in keys:
        if len(keys) == 1:
            tsel, msel = ti, mi
        else:
            sel = np.flatnonzero(np.array([mkeys[j] == key for j in mil]))
            tsel, msel = ti[sel], mi[sel]
        inn = innovation(key, [meas[j] for j in msel.tolist()], tsel, T)
        g = cfg.gate(len(meas[int(msel[0])].z))
        ok = inn.d2 < g
        keep_t.append(tsel[ok]), keep_m.append(msel[ok]), d2s.append(inn.d2[ok]), lds.append(inn.logdet[ok])
        gts.append(np.full(int(ok.sum()), g))
        cache.append((key, inn, ok))
    if len(keep_t) == 1:
        return GatedPairs(keep_t[0], keep_m[0], d2s[0], lds[0], gts[0], cache)
    if keep_t:
        return GatedPairs(np.concatenate(keep_t), np.concatenate(keep_m), np.concatenate(d2s),
                          np.concatenate(lds), np.concatenate(gts), cache)
    return GatedPairs(_EMPTY, _EMPTY, np.zeros(0), np.zeros(0), np.zeros(0), cache)
