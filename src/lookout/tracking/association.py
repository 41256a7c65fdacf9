"""Gating and data association over arrays of (track, measurement) pairs.

* :func:`grid_pairs` -- coarse spatial pre-gate: measurements hashed into square cells twice
  the largest gate radius; each track looks at the 2 x 2 cells around it only, so the work
  grows with the number of nearby pairs, not tracks x measurements.
* :func:`gnn_assign` -- global nearest neighbour: the gated pairs form a sparse bipartite
  graph; isolated pairs and star-shaped components (one track, or one measurement, at the
  centre) are solved at once in vectorised form and all other pairs are solved together by
  one linear assignment with a private "missed" option per track
  (:func:`scipy.optimize.linear_sum_assignment` when small, else the sparse LAPJVsp
  :func:`scipy.sparse.csgraph.min_weight_full_bipartite_matching`); :func:`gnn_two_stage`
  serves confirmed tracks before tentative ones.
* :func:`jpda_weights` -- joint probabilistic data association weights by Fitzgerald's
  "cheap JPDA" approximation of the marginal association probabilities (exact PDA for an
  isolated track), vectorised over the pairs.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

_OFF2 = np.array([(0, 0), (0, 1), (1, 0), (1, 1)], dtype=np.int64)
_KEY = np.int64(1 << 31)


def grid_pairs(track_xy: np.ndarray, meas_xy: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Candidate (track, measurement) index pairs whose horizontal distance may be <= ``radius``.

    Every pair closer than ``radius`` is returned (plus some farther ones from the same cells).
    Cells are ``2 * radius`` wide, so a disc of ``radius`` around a track lies in the 2 x 2
    block of cells nearest to it: four look-ups per track.
    """
    n, m = len(track_xy), len(meas_xy)
    empty = np.empty(0, dtype=np.int64)
    if n == 0 or m == 0:
        return empty, empty
    cell = 2.0 * max(float(radius), 1e-3)
    lo_xy = np.minimum(track_xy.min(axis=0), meas_xy.min(axis=0)) - cell
    hi_xy = np.maximum(track_xy.max(axis=0), meas_xy.max(axis=0))
    dims = np.floor((hi_xy - lo_xy) / cell).astype(np.int64) + 2
    f = (track_xy - lo_xy) / cell
    tc = np.floor(f).astype(np.int64)
    step = np.where(f - tc >= 0.5, 1, -1)  # the neighbour cell on the near side, per axis
    tcx = tc[:, 0, None] + _OFF2[:, 0] * step[:, 0, None]
    tcy = tc[:, 1, None] + _OFF2[:, 1] * step[:, 1, None]
    mc = np.floor((meas_xy - lo_xy) / cell).astype(np.int64)
    if dims[0] * dims[1] <= max(65_536, 16 * (n + m)):
        # dense grid: counting sort of the measurements by cell, direct look-up per cell
        mk = mc[:, 0] * dims[1] + mc[:, 1]
        order = np.argsort(mk, kind="stable")
        counts = np.bincount(mk, minlength=int(dims[0] * dims[1]))
        first = np.cumsum(counts) - counts
        tk = (tcx * dims[1] + tcy).ravel()
        lo = first[tk]
        cnt = counts[tk]
    else:  # sparse grid: sorted cell keys and binary search
        mk = mc[:, 0] * _KEY + mc[:, 1]
        order = np.argsort(mk, kind="stable")
        sk = mk[order]
        tk = (tcx * _KEY + tcy).ravel()
        lo = np.searchsorted(sk, tk, "left")
        cnt = np.searchsorted(sk, tk, "right") - lo
    total = int(cnt.sum())
    if total == 0:
        return empty, empty
    ti = np.repeat(np.arange(n * 4, dtype=np.int64) // 4, cnt)
    starts = np.repeat(lo - np.cumsum(cnt) + cnt, cnt)
    mi = order[starts + np.arange(total)]
    return ti, mi


def gnn_assign(ti: np.ndarray, mi: np.ndarray, cost: np.ndarray, miss_cost: np.ndarray,
               n_tracks: int, n_meas: int) -> np.ndarray:
    """Global-nearest-neighbour assignment over gated pairs; returns indices into the pair arrays.

    ``cost`` is the pair cost (e.g. squared Mahalanobis distance + log det S); ``miss_cost
    (n_tracks,)`` is the cost of leaving a track unassigned. Each track and each measurement
    is used at most once and the total cost (assigned pairs + missed tracks) is minimal.
    """
    npairs = len(ti)
    if npairs == 0:
        return np.empty(0, dtype=np.int64)
    tdeg = np.bincount(ti, minlength=n_tracks)
    mdeg = np.bincount(mi, minlength=n_meas)
    tmulti, mmulti = tdeg[ti] > 1, mdeg[mi] > 1
    single = ~tmulti & ~mmulti  # an isolated track-measurement pair
    chosen = [np.flatnonzero(single & (cost < miss_cost[ti]))]
    # stars: a track whose measurements no other track gates (pick its cheapest), or a
    # measurement whose tracks gate nothing else (give it to the track gaining most)
    tstar = tmulti & (np.bincount(ti, weights=mmulti, minlength=n_tracks) == 0)[ti]
    mstar = mmulti & (np.bincount(mi, weights=tmulti, minlength=n_meas) == 0)[mi]
    gain = miss_cost[ti] - cost
    for star, key in ((tstar, ti), (mstar, mi)):
        idx = np.flatnonzero(star)
        if len(idx):
            idx = idx[np.lexsort((-gain[idx], key[idx]))]
            k = key[idx]
            first = idx[np.r_[True, k[1:] != k[:-1]]]
            chosen.append(first[gain[first] > 0])
    rest = np.flatnonzero(~(single | tstar | mstar))
    if len(rest):
        # one sparse assignment (LAPJVsp) over every non-trivial component: rows are the tracks
        # involved, columns their measurements plus one private "missed" column per track
        rt, rm = ti[rest], mi[rest]
        ut, tinv = np.unique(rt, return_inverse=True)
        um, minv = np.unique(rm, return_inverse=True)
        nt, nm = len(ut), len(um)
        c = cost[rest]
        mc = miss_cost[ut]
        if nt <= 64:  # small: one dense assignment, non-edges priced above any private miss
            big = float(np.abs(c).max() + np.abs(mc).max() + 1.0) * 10.0
            dense = np.full((nt, nm + nt), big)
            dense[tinv, minv] = c
            dense[np.arange(nt), nm + np.arange(nt)] = mc
            rows, match = linear_sum_assignment(dense)
        else:
            offset = 1.0 - min(float(c.min()), float(mc.min()))  # strictly positive weights (0 = no edge)
            rows = np.concatenate([tinv, np.arange(nt)])
            cols = np.concatenate([minv, nm + np.arange(nt)])
            w = np.concatenate([c + offset, mc + offset])
            g = csr_matrix((w, (rows, cols)), shape=(nt, nm + nt))
            rows, match = min_weight_full_bipartite_matching(g)
        real = match < nm
        if real.any():
            lut = np.full((nt, nm), -1, dtype=np.int64)
            lut[tinv, minv] = rest
            sel = lut[rows[real], match[real]]
            chosen.append(sel[sel >= 0])
    return np.concatenate(chosen)


def gnn_two_stage(ti: np.ndarray, mi: np.ndarray, cost: np.ndarray, miss_cost: np.ndarray,
                  confirmed: np.ndarray, n_tracks: int, n_meas: int) -> np.ndarray:
    """GNN in two passes: confirmed tracks first, then tentative tracks on the measurements left.

    A tentative track's wide gate must not take a confirmed track's measurement (that would
    coast the confirmed track and grow a duplicate). Returns indices into the pair arrays.
    """
    conf = confirmed[ti]
    first = np.flatnonzero(conf)
    sel1 = first[gnn_assign(ti[first], mi[first], cost[first], miss_cost, n_tracks, n_meas)]
    used = np.zeros(n_meas, dtype=bool)
    used[mi[sel1]] = True
    second = np.flatnonzero(~conf & ~used[mi])
    sel2 = second[gnn_assign(ti[second], mi[second], cost[second], miss_cost, n_tracks, n_meas)]
    return np.concatenate([sel1, sel2])


def jpda_weights(ti: np.ndarray, mi: np.ndarray, loglik: np.ndarray, n_tracks: int, n_meas: int,
                 pd: float, clutter_density: float) -> tuple[np.ndarray, np.ndarray]:
    """Association probabilities of gated pairs: ``beta (pairs,)`` and ``beta0 (n_tracks,)`` (missed).

    Cheap JPDA (Fitzgerald): ``beta_ij = G_ij / (St_i + Sr_j - G_ij + B)`` with
    ``G_ij = pd * N(y_ij; 0, S_ij)``, ``St_i``/``Sr_j`` the row/column sums and
    ``B = clutter_density * (1 - pd)``; an isolated track gets the exact PDA weights.
    """
    G = pd * np.exp(loglik)
    st = np.bincount(ti, weights=G, minlength=n_tracks)
    sr = np.bincount(mi, weights=G, minlength=n_meas)
    B = max(clutter_density, 1e-300) * (1.0 - pd) if pd < 1.0 else max(clutter_density, 1e-300)
    beta = G / (st[ti] + sr[mi] - G + B)
    beta0 = 1.0 - np.bincount(ti, weights=beta, minlength=n_tracks)
    return beta, np.clip(beta0, 0.0, 1.0)


def conflict_free(ti: np.ndarray, mi: np.ndarray) -> bool:
    """No track and no measurement in two pairs (then GNN keeps every pair cheaper than a miss)."""
    return len(ti) <= 1 or (np.bincount(ti).max() == 1 and np.bincount(mi).max() == 1)


def gnn_select(ti: np.ndarray, mi: np.ndarray, cost: np.ndarray, miss_cost: np.ndarray, confirmed: np.ndarray,
               n_tracks: int, n_meas: int) -> np.ndarray:
    """:func:`gnn_two_stage`, with the common conflict-free case answered at once: every pair
    cheaper than a miss, confirmed tracks' pairs first (what :func:`gnn_two_stage` returns for
    that case)."""
    if conflict_free(ti, mi):
        c = confirmed[ti]
        sel = np.concatenate([np.flatnonzero(c), np.flatnonzero(~c)])
        return sel[cost[sel] < miss_cost[ti[sel]]]
    return gnn_two_stage(ti, mi, cost, miss_cost, confirmed, n_tracks, n_meas)
