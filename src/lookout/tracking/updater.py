"""Update stage of the multi-sensor tracker: innovations and (E)KF / JPDA updates of tracks.

Every method works on pairs ``(track index tix[k], measurement meas[k])`` of one measurement
model signature; a measurement older than its track's state is an out-of-sequence update
(:mod:`lookout.tracking.filters`).
"""

from __future__ import annotations

import numpy as np

from lookout.tracking.association import jpda_weights
from lookout.tracking.config import TrackerConfig
from lookout.tracking.filters import Innovation, combine, kalman_update
from lookout.tracking.gating import GatedPairs
from lookout.tracking.measurements import Meas, measurement_model
from lookout.tracking.state import D, TrackStates


def horizontal_d2(inn: Innovation) -> float:
    """Mahalanobis distance of the east/north part of a position innovation (first pair)."""
    y2, S2 = inn.y[0, :2], inn.S[0, :2, :2]
    return float(y2 @ np.linalg.solve(S2, y2))


class Updater:
    """Innovations and updates of the tracks in ``states``."""

    def __init__(self, cfg: TrackerConfig, states: TrackStates) -> None:
        self.cfg = cfg
        self.states = states

    def innovation(self, key: tuple, meas: list[Meas], tix: np.ndarray, T: float, combined: bool = True):
        """Innovations of tracks ``tix`` against ``meas`` (pairwise, same length): of the combined
        state, or per model (``combined=False``: returns ``(innovation, x, P)`` over pairs x models)."""
        st = self.states
        lag = np.maximum(st.t[tix] - T, 0.0)
        z = np.array([m.z for m in meas])
        R = np.array([m.R for m in meas])
        if combined:
            xc, Pc = combine(st.x[tix], st.P[tix], st.mu[tix])
            return measurement_model(key, meas).innovation(xc, Pc, z, R, st.q[0], lag)
        # per model: flatten pairs x models
        r = st.r
        x = st.x[tix].reshape(-1, D)
        P = st.P[tix].reshape(-1, D, D)
        rep = [m for m in meas for _ in range(r)]
        q = np.tile(st.q, (len(tix), 1))
        inn = measurement_model(key, rep).innovation(x, P, np.repeat(z, r, 0), np.repeat(R, r, 0), q,
                                                     np.repeat(lag, r))
        return inn, x, P

    def updated(self, key: tuple, meas: list[Meas], tix: np.ndarray, T: float):
        """Per-model updated ``x (n, r, 6)``, ``P (n, r, 6, 6)`` and log-likelihoods ``(n, r)``."""
        inn, x, P = self.innovation(key, meas, tix, T, combined=False)
        xn, Pn = kalman_update(x, P, inn)
        r = self.states.r
        return xn.reshape(-1, r, D), Pn.reshape(-1, r, D, D), inn.loglik.reshape(-1, r)

    def apply(self, key: tuple, meas: list[Meas], tix: np.ndarray, T: float) -> None:
        """Kalman/EKF update of tracks ``tix`` (unique) with ``meas`` (one each)."""
        if not len(tix):
            return
        st = self.states
        xn, Pn, ll = self.updated(key, meas, tix, T)
        st.x[tix], st.P[tix] = xn, Pn
        if st.r > 1:
            w = st.mu[tix] * np.exp(ll - ll.max(axis=1, keepdims=True))
            st.mu[tix] = w / w.sum(axis=1, keepdims=True)

    def apply_innovation(self, tix: np.ndarray, inn: Innovation, pick: np.ndarray) -> None:
        """Kalman update of single-model tracks ``tix`` with the rows ``pick`` of a gating innovation."""
        st = self.states
        sub = Innovation(y=inn.y[pick], S=inn.S[pick], Sinv=inn.Sinv[pick], logdet=inn.logdet[pick],
                         d2=inn.d2[pick], K=inn.K[pick])
        xn, Pn = kalman_update(st.x[tix, 0], st.P[tix, 0], sub)
        st.x[tix, 0], st.P[tix, 0] = xn, Pn

    def jpda(self, meas: list[Meas], ti: np.ndarray, mi: np.ndarray, d2: np.ndarray, logdet: np.ndarray,
             T: float) -> list[tuple[int, int]]:
        """JPDA update: moment-matched mixture of 'missed' and every gated measurement. Returns
        ``(track, measurement)`` of each updated track's most probable measurement."""
        cfg, st = self.cfg, self.states
        n, nm = len(st), len(meas)
        dims = np.array([len(meas[j].z) for j in mi])
        loglik = -0.5 * (d2 + logdet + dims * np.log(2 * np.pi))
        beta, beta0 = jpda_weights(ti, mi, loglik, n, nm, cfg.pd, cfg.clutter_density)
        xn = np.empty((len(ti), st.r, D))
        Pn = np.empty((len(ti), st.r, D, D))
        for key in {meas[j].key for j in mi.tolist()}:
            s = np.flatnonzero([meas[j].key == key for j in mi.tolist()])
            xn[s], Pn[s], _ = self.updated(key, [meas[j] for j in mi[s]], ti[s], T)
        best = []
        for k in np.unique(ti).tolist():
            s = np.flatnonzero(ti == k)
            w = np.concatenate([[beta0[k]], beta[s]])[:, None, None]
            xs = np.concatenate([st.x[k][None], xn[s]])  # (h, r, D)
            Ps = np.concatenate([st.P[k][None], Pn[s]])
            xm = (w * xs).sum(0)
            dx = xs - xm
            st.x[k] = xm
            st.P[k] = (w[..., None] * (Ps + dx[..., :, None] * dx[..., None, :])).sum(0)
            best.append((k, int(mi[s][np.argmax(beta[s])])))
        return best

    def apply_gated(self, gated: GatedPairs, sel: np.ndarray) -> None:
        """Single-model update of the chosen pairs ``sel`` of a :class:`~lookout.tracking.gating.GatedPairs`
        with the innovations they were gated on (they are the update's)."""
        off = 0
        for _key, inn, ok in gated.cache:
            cnt = int(ok.sum())
            mine = sel[(sel >= off) & (sel < off + cnt)] - off
            off += cnt
            if len(mine):
                self.apply_innovation(gated.ti[off - cnt + mine], inn, np.flatnonzero(ok)[mine])
