"""The fast array path: 2-D position measurements in local metres, one scan at a time.

No :class:`~lookout.model.Observation` objects: a scan is an ``(M, 2)`` array of ``x, y``
measurements (clutter included) at one time. Used by ``lookout track`` (CSV) and the
benchmark. All tracks live in structure-of-arrays form; every step is a fixed number of numpy
operations over all tracks and candidate pairs.
"""

from __future__ import annotations

import math

import numpy as np

from lookout.tracking.association import conflict_free, gnn_two_stage, jpda_weights
from lookout.tracking.config import TrackerConfig
from lookout.tracking.existence import ESTABLISHED_HITS, Existence
from lookout.tracking.filters import LOG_2PI, combine, cv_predict_rows, imm_mix, inv_sym
from lookout.tracking.gating import position_gate
from lookout.tracking.lifecycle import m_of_n
from lookout.tracking.stats import TrackerStats

#: columns of the position tracker's per-track integer bookkeeping (one array to select or extend):
#: track number, M-of-N hit bits, scans since birth, consecutive misses, updates, confirmed (0/1),
#: counts for the birth-probability estimate (0/1)
ID, HIST, AGE, MISSES, NHITS, CONFIRMED, COUNTED = range(7)


class PositionTracker:
    """Multi-target tracker for 2-D position scans (nearly-constant velocity, GNN or JPDA, M-of-N
    or existence-based confirmation).

    >>> tr = PositionTracker(TrackerConfig(sigma=10.0, pd=0.9))
    >>> tr.step(0.0, np.array([[0.0, 0.0]]))  # doctest: +SKIP
    """

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.cfg = cfg = config or TrackerConfig()
        self.r = 2 if cfg.imm else 1
        self.q = np.array([[cfg.q_h, cfg.q_h]] + ([[cfg.q_h * cfg.imm_q_factor] * 2] if cfg.imm else []))
        self.mu0 = np.array([0.9, 0.1]) if cfg.imm else np.array([1.0])
        self.R = np.eye(2) * cfg.sigma ** 2
        self.gate = cfg.gate(2)
        self.time: float | None = None
        self.next_id = 1
        self.stats = TrackerStats()
        self.x = np.zeros((0, self.r, 4))
        self.P = np.zeros((0, self.r, 4, 4))
        self.mu = np.zeros((0, self.r))
        self.trk = np.zeros((0, 7), dtype=np.int64)
        self.ex = np.zeros(0)  # existence probability of each track (1 with M-of-N confirmation)
        self.existence = Existence(cfg) if cfg.confirmation == "existence" else None
        self.reported = np.zeros(0, dtype=bool)  # confirmed tracks reported after the last step
        self.deleted_ids = np.zeros(0, dtype=np.int64)  # confirmed tracks deleted in the last step
        self.new_confirmed_ids = np.zeros(0, dtype=np.int64)
        p0 = np.zeros((4, 4))
        p0[0, 0] = p0[1, 1] = cfg.sigma ** 2
        p0[2, 2] = p0[3, 3] = cfg.init_speed_sigma ** 2
        self._P0 = p0
        self._q_dt, self._Q = None, None
        self._P0_block, self._mu0_block = np.zeros((0, self.r, 4, 4)), np.zeros((0, self.r))

    # ------------------------------------------------------------------ state access
    def __len__(self) -> int:
        return len(self.trk)

    @property
    def ids(self) -> np.ndarray:
        """Track numbers of all live tracks."""
        return self.trk[:, ID]

    @property
    def confirmed(self) -> np.ndarray:
        """Which live tracks are confirmed."""
        return self.trk[:, CONFIRMED] == 1

    def estimates(self) -> tuple[np.ndarray, np.ndarray]:
        """Combined state ``(N, 4)`` [x, y, vx, vy] and covariance ``(N, 4, 4)`` of all live tracks."""
        return combine(self.x, self.P, self.mu)

    def confirmed_tracks(self) -> tuple[np.ndarray, np.ndarray]:
        """``(ids (K,), state (K, 4))`` of the confirmed tracks reported after the last step."""
        xc, _ = self.estimates()
        return self.trk[self.reported, ID], xc[self.reported]

    # ------------------------------------------------------------------ one scan
    def step(self, time: float, z: np.ndarray) -> None:
        """Process one scan: all measurements ``z (M, 2)`` taken at ``time`` (seconds)."""
        cfg = self.cfg
        time = float(time)
        if not math.isfinite(time):
            raise ValueError(f"scan time must be finite, got {time!r}")
        if self.time is not None and time < self.time:
            raise ValueError(f"scan time {time} is before the previous scan time {self.time}")
        z = np.asarray(z, dtype=float).reshape(-1, 2)
        if not np.isfinite(z).all():
            raise ValueError(f"scan at time {time}: measurements must be finite numbers")
        self.stats.observations += len(z)
        self.stats.scans += 1
        dt = 0.0 if self.time is None else time - self.time
        self.time = time
        n, nz = len(self.trk), len(z)
        trk, ex = self.trk, self.existence

        # predict
        if n and dt > 0:
            if self.r > 1:
                p_sw = np.full(n, 1.0 - math.exp(-cfg.imm_switch_rate * dt))
                x0, P0, self.mu = imm_mix(self.x, self.P, self.mu, p_sw)
            else:
                x0, P0 = self.x, self.P
            self.x, self.P = self._predict(x0, P0, dt)
            if ex is not None:
                self.ex = ex.predict(self.ex, dt)

        # gate and associate
        hit = np.zeros(n, dtype=bool)
        used = np.zeros(nz, dtype=bool)
        ll_t, ll = np.zeros(0, dtype=np.int64), np.zeros(0)  # (track, log-likelihood) of the updates
        if n and nz:
            xc, Pc = combine(self.x, self.P, self.mu)
            ti, mi, y, d2, Sinv, logdet = position_gate(xc[:, :2], Pc[:, :2, :2], z, self.R, self.gate)
            if cfg.association == "gnn":
                if conflict_free(ti, mi):  # every gated pair is cheaper than a miss: GNN keeps them all
                    sel = slice(None)
                else:
                    sel = gnn_two_stage(ti, mi, d2 + logdet[ti], self.gate + logdet, trk[:, CONFIRMED] == 1, n, nz)
                    ti, mi = ti[sel], mi[sel]
                if ex is not None:
                    ll_t, ll = ti, -0.5 * (d2[sel] + logdet[ti]) - LOG_2PI
                if self.r == 1:  # the gating innovations are the update's
                    self._update_single(ti, y[sel], Sinv[ti])
                else:
                    self._update_gnn(ti, z[mi])
            else:
                loglik = -0.5 * (d2 + logdet[ti]) - LOG_2PI
                beta, beta0 = jpda_weights(ti, mi, loglik, n, nz, cfg.pd, cfg.clutter_density)
                ll_t, ll = ti, loglik
                self._update_jpda(ti, z[mi], beta, beta0)
            hit[ti] = True
            used[mi] = True
        self.stats.gated_out += nz - int(used.sum())

        # track management
        established = confirmed_live = 0
        self.deleted_ids = self.new_confirmed_ids = np.zeros(0, dtype=np.int64)
        if n:
            trk[:, AGE] += 1
            trk[:, MISSES] = np.where(hit, 0, trk[:, MISSES] + 1)
            trk[:, NHITS] += hit
            conf = trk[:, CONFIRMED] == 1
            if ex is None:
                trk[:, HIST], newly, drop_tent = m_of_n(trk[:, HIST], trk[:, AGE], hit, conf, cfg)
            else:
                self.ex = p = ex.update(self.ex, ll_t, ll, unique=cfg.association == "gnn")
                newly = ~conf & (p >= ex.threshold)
                drop_tent = ~conf & ~newly & (ex.drop_tentative(p) | (trk[:, AGE] >= cfg.confirm_n))
                established = int((hit & (trk[:, NHITS] == ESTABLISHED_HITS)).dot(trk[:, COUNTED]))
            conf |= newly
            if newly.any():
                trk[:, CONFIRMED] = conf
                self.new_confirmed_ids = trk[newly, ID]
                self.stats.tracks_confirmed += len(self.new_confirmed_ids)
            P = self.P[:, 0] if self.r == 1 else combine(self.x, self.P, self.mu)[1]
            drop_conf = conf & ((trk[:, MISSES] >= cfg.delete_misses)
                                | (P[:, 0, 0] + P[:, 1, 1] > 2.0 * cfg.max_sigma_m ** 2))
            drop = drop_tent | drop_conf
            confirmed_live = int(conf.sum())
            if drop.any():
                self.deleted_ids = trk[drop_conf, ID]
                self.stats.tentative_dropped += int(drop_tent.sum())
                self.stats.tracks_deleted += len(self.deleted_ids)
                self._keep(~drop)

        # births from measurements no track used
        born = z[~used] if n else z
        if len(born):
            self._birth(born)
        if ex is not None:
            ex.learn(len(born) if self.stats.scans > 1 else 0, established, len(self.deleted_ids), confirmed_live, dt)
            self.reported = (self.trk[:, CONFIRMED] == 1) & (self.ex >= ex.threshold)
        else:
            self.reported = self.trk[:, CONFIRMED] == 1

    def _predict(self, x: np.ndarray, P: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """NCV prediction by ``dt``: ``F x``, ``F P F^T + Q`` (``F``, ``Q`` kept for the last ``dt``)."""
        if dt != self._q_dt:
            self._q_dt = dt
            self._F = np.eye(4)
            self._F[0, 2] = self._F[1, 3] = dt
            self._Ft = self._F.T.copy()
            self._Q = cv_predict_rows(np.zeros((1, self.r, 4)), np.zeros((1, self.r, 4, 4)), dt, self.q)[1][0]
        F = self._F
        return x @ self._Ft, F @ P @ self._Ft + self._Q

    def _keep(self, keep: np.ndarray) -> None:
        self.x, self.P, self.mu = self.x[keep], self.P[keep], self.mu[keep]
        self.trk, self.ex = self.trk[keep], self.ex[keep]

    def _birth(self, z: np.ndarray) -> None:
        m = len(z)
        x = np.zeros((m, self.r, 4))
        x[:, :, :2] = z[:, None, :]
        if self.existence is None:
            p0, confirm = 1.0, self.cfg.confirm_m <= 1
        else:
            p0 = self.existence.p0
            confirm = p0 >= self.existence.threshold
        rec = np.empty((m, 7), dtype=np.int64)
        rec[:] = (0, 1, 1, 0, 1, int(confirm), int(self.stats.scans > 1))  # ID .. COUNTED
        rec[:, ID] = np.arange(self.next_id, self.next_id + m)
        self.next_id += m
        self.x = np.concatenate([self.x, x])
        if len(self._P0_block) < m:
            self._P0_block = np.repeat(self._P0[None, None], 2 * m, 0).repeat(self.r, 1)
            self._mu0_block = np.repeat(self.mu0[None], 2 * m, 0)
        self.P = np.concatenate([self.P, self._P0_block[:m]])
        self.mu = np.concatenate([self.mu, self._mu0_block[:m]])
        self.trk = np.concatenate([self.trk, rec])
        self.ex = np.concatenate([self.ex, np.full(m, p0)])
        self.stats.tracks_created += m
        if confirm:
            self.stats.tracks_confirmed += m
            self.new_confirmed_ids = np.concatenate([self.new_confirmed_ids, rec[:, ID]])

    def _update_single(self, t: np.ndarray, y: np.ndarray, Sinv: np.ndarray) -> None:
        """Kalman update of single-model tracks ``t`` with their gating innovations ``y`` and ``S^-1``."""
        if not len(t):
            return
        P = self.P[t, 0]
        K = P[:, :, :2] @ Sinv  # (n, 4, 2)
        self.x[t, 0] += (K @ y[:, :, None])[:, :, 0]
        Pn = P - K @ P[:, :2, :]
        self.P[t, 0] = 0.5 * (Pn + np.swapaxes(Pn, -1, -2))

    def _model_update(self, t: np.ndarray, z: np.ndarray):
        """Per-model Kalman update of tracks ``t`` with measurements ``z``: new x, P and log-likelihoods."""
        x, P = self.x[t], self.P[t]  # (n, r, 4), (n, r, 4, 4)
        S = P[..., :2, :2] + self.R
        Sinv, logdet = inv_sym(S)
        K = P[..., :, :2] @ Sinv  # (n, r, 4, 2)
        y = z[:, None, :] - x[..., :2]
        xn = x + np.einsum("nrij,nrj->nri", K, y)
        Pn = P - K @ P[..., :2, :]
        Pn = 0.5 * (Pn + np.swapaxes(Pn, -1, -2))
        if self.r == 1 and self.cfg.association == "gnn":
            return xn, Pn, None  # mode likelihoods only matter to the IMM
        d2 = np.einsum("nri,nrij,nrj->nr", y, Sinv, y)
        return xn, Pn, -0.5 * (d2 + logdet + 2 * LOG_2PI)

    def _update_gnn(self, t: np.ndarray, z: np.ndarray) -> None:
        if not len(t):
            return
        xn, Pn, ll = self._model_update(t, z)
        self.x[t], self.P[t] = xn, Pn
        if self.r > 1:
            w = self.mu[t] * np.exp(ll - ll.max(axis=1, keepdims=True))
            self.mu[t] = w / w.sum(axis=1, keepdims=True)

    def _update_jpda(self, t: np.ndarray, z: np.ndarray, beta: np.ndarray, beta0: np.ndarray) -> None:
        """Moment-matched mixture of 'missed' (weight beta0) and each gated measurement (beta)."""
        if not len(t):
            return
        cfg = self.cfg
        xn, Pn, ll = self._model_update(t, z)
        tracks = np.unique(t)
        # mixture mean per track and model
        x_old, P_old = self.x[tracks], self.P[tracks]
        pos = np.searchsorted(tracks, t)
        b0 = beta0[tracks][:, None, None]
        xm = b0 * x_old
        np.add.at(xm, pos, beta[:, None, None] * xn)
        dx_old = x_old - xm
        Pm = b0[..., None] * (P_old + dx_old[..., :, None] * dx_old[..., None, :])
        dxn = xn - xm[pos]
        np.add.at(Pm, pos, beta[:, None, None, None] * (Pn + dxn[..., :, None] * dxn[..., None, :]))
        self.x[tracks], self.P[tracks] = xm, Pm
        if self.r > 1:
            # IMM-PDA mode likelihoods: (1 - pd) * lambda + pd * sum_j N_r(y_j)
            lam = max(cfg.clutter_density, 1e-300)
            L = np.zeros((len(tracks), self.r))
            np.add.at(L, pos, cfg.pd * np.exp(ll))
            L += (1.0 - cfg.pd) * lam
            w = self.mu[tracks] * L
            self.mu[tracks] = w / w.sum(axis=1, keepdims=True)

    # ------------------------------------------------------------------ whole data sets
    def run(self, times: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Track a whole time-sorted measurement set; rows with equal time form one scan.

        Returns ``(time (K,), track number (K,), xy (K, 2))``: every confirmed track at every
        scan time.
        """
        times = np.asarray(times, dtype=float)
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        if len(times) != len(xy):
            raise ValueError("times and xy must have the same number of rows")
        if len(times) and np.any(np.diff(times) < 0):
            row = int(np.flatnonzero(np.diff(times) < 0)[0]) + 1
            raise ValueError(f"times must be sorted: row {row} has time {times[row]} < {times[row - 1]}")
        scan_times, starts = np.unique(times, return_index=True)
        bounds = list(starts[1:]) + [len(times)]
        out_t, out_id, out_xy = [], [], []
        for t, a, b in zip(scan_times, starts, bounds):
            self.step(t, xy[a:b])
            ids, st = self.confirmed_tracks()
            out_t.append(np.full(len(ids), t))
            out_id.append(ids)
            out_xy.append(st[:, :2])
        if not out_t:
            return np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros((0, 2))
        return np.concatenate(out_t), np.concatenate(out_id), np.concatenate(out_xy)
