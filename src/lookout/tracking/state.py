"""Track state stage of the multi-sensor tracker: the state arrays over all tracks, their
per-track bookkeeping, and (lazy) nearly-constant-velocity prediction.

State: 3-D nearly-constant velocity in the sector's local ENU frame (``[e, n, u, ve, vn, vu]``),
one Gaussian per track (or one per model with ``imm=True``): ``x (N, r, 6)``, ``P (N, r, 6, 6)``,
mode probabilities ``mu (N, r)``, state times ``t (N,)``; the bookkeeping (identities, sources,
labels, class votes, confirmation counters) of track ``k`` is ``meta[k]``.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from lookout.model import GeoPoint
from lookout.tracking.config import TrackerConfig
from lookout.tracking.filters import combine, cv_predict_rows, imm_mix

D = 6  # state dimension


@dataclass
class TrackMeta:
    """Per-track bookkeeping beside the state arrays."""

    id: str
    first_time: float
    scan_sensor: str
    identities: dict[str, str] = field(default_factory=dict)
    sources: set[str] = field(default_factory=set)
    sensors: set[str] = field(default_factory=set)
    labels: set[str] = field(default_factory=set)
    cls_votes: Counter = field(default_factory=Counter)
    operator: GeoPoint | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    confirmed: bool = False
    hist: int = 1
    age: int = 1
    flag: bool = False  # updated since its last M-of-N clock
    last_clock: float = 0.0
    last_by_sensor: dict[str, float] = field(default_factory=dict)
    updates: int = 1
    last_update: float = 0.0
    last_noncoop: float = -math.inf
    touched: bool = False  # updated in the current update() call
    born: int = 0  # batch number of its birth


SET_FIELDS = ("sources", "sensors", "labels")
META_FIELDS = tuple(f.name for f in fields(TrackMeta))


class TrackStates:
    """The tracks of one tracker: state arrays, bookkeeping and the identity index."""

    def __init__(self, cfg: TrackerConfig) -> None:
        self.cfg = cfg
        self.r = 2 if cfg.imm else 1
        qh = [cfg.q_h, cfg.q_h, cfg.q_v]
        self.q = np.array([qh] + ([[v * cfg.imm_q_factor for v in qh]] if cfg.imm else []))
        self.mu0 = np.array([0.9, 0.1]) if cfg.imm else np.array([1.0])
        self.x = np.zeros((0, self.r, D))
        self.P = np.zeros((0, self.r, D, D))
        self.mu = np.zeros((0, self.r))
        self.t = np.zeros(0)
        self.meta: list[TrackMeta] = []
        self.by_ident: dict[tuple[str, str], int] = {}

    def __len__(self) -> int:
        return len(self.meta)

    def index(self, track_id: str) -> int | None:
        for k, m in enumerate(self.meta):
            if m.id == track_id:
                return k
        return None

    def combined(self, ix=None) -> tuple[np.ndarray, np.ndarray]:
        """Moment-matched state and covariance of the tracks ``ix`` (all by default)."""
        if ix is None:
            return combine(self.x, self.P, self.mu)
        return combine(self.x[ix], self.P[ix], self.mu[ix])

    def confirmed_mask(self) -> np.ndarray:
        return np.array([m.confirmed for m in self.meta], dtype=bool)

    def rebuild_idents(self) -> None:
        self.by_ident = {}
        for k, m in enumerate(self.meta):
            for kind, val in m.identities.items():
                if kind != "callsign":
                    self.by_ident[(kind, val)] = k

    # ------------------------------------------------------------------ prediction
    def predict_to(self, T: float, tix=None) -> None:
        """Predict tracks (all, or those of ``tix``) whose state is older than ``T`` to ``T``.

        A single-model filter predicts lazily: only the tracks a batch gates on are predicted to
        its time (NCV predictions compose, so one prediction over several batches equals the
        chain); the tracker brings every track to the step's last batch time at the end of the
        step. The IMM mixes at every prediction, so it predicts every track per batch."""
        if tix is None:
            sel = np.flatnonzero(self.t < T)
        else:
            tix = np.unique(np.asarray(tix, dtype=np.int64))
            sel = tix[self.t[tix] < T]
        if not len(sel):
            return
        dt = T - self.t[sel]
        x, P = self.x[sel], self.P[sel]
        if self.r > 1:
            x, P, self.mu[sel] = imm_mix(x, P, self.mu[sel], 1.0 - np.exp(-self.cfg.imm_switch_rate * dt))
        self.x[sel], self.P[sel] = cv_predict_rows(x, P, dt[:, None], self.q)
        self.t[sel] = T

    def horizontal_at(self, T: float) -> tuple[np.ndarray, np.ndarray]:
        """Horizontal positions ``(N, 2)`` and covariances ``(N, 2, 2)`` of every track at ``T``
        (single model: predicted without changing the state; IMM: the states as they are)."""
        if self.r > 1:
            xc, Pc = self.combined()
            return xc, Pc
        dt = np.maximum(T - self.t, 0.0)
        x0, P0 = self.x[:, 0], self.P[:, 0]
        xc = x0[:, :2] + dt[:, None] * x0[:, 3:5]
        d1, d2_ = dt[:, None, None], (dt * dt)[:, None, None]
        Pc = P0[:, :2, :2] + d1 * (P0[:, :2, 3:5] + P0[:, 3:5, :2]) + d2_ * P0[:, 3:5, 3:5]
        Pc[:, 0, 0] += self.q[0, 0] * dt ** 3 / 3.0
        Pc[:, 1, 1] += self.q[0, 1] * dt ** 3 / 3.0
        return xc, Pc

    # ------------------------------------------------------------------ adding and removing tracks
    def append(self, x: np.ndarray, P: np.ndarray, mu: np.ndarray, t: np.ndarray, metas: list[TrackMeta]) -> None:
        """Add tracks: ``x (n, r, 6)``, ``P (n, r, 6, 6)``, ``mu (n, r)``, ``t (n,)`` and their bookkeeping."""
        self.x = np.concatenate([self.x, x])
        self.P = np.concatenate([self.P, P])
        self.mu = np.concatenate([self.mu, mu])
        self.t = np.concatenate([self.t, t])
        self.meta.extend(metas)

    def keep(self, keep: np.ndarray) -> None:
        """Keep only the tracks where ``keep`` is true (and re-index the identities)."""
        self.x, self.P, self.mu, self.t = self.x[keep], self.P[keep], self.mu[keep], self.t[keep]
        self.meta = [m for k, m in enumerate(self.meta) if keep[k]]
        self.rebuild_idents()
