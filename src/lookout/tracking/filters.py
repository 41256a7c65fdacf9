"""Batched Kalman filtering over structure-of-arrays track states.

A state vector is ``[position (k), velocity (k)]`` with ``k`` = 2 (east, north) or 3 (east,
north, up). Arrays carry any leading batch shape: ``x (..., 2k)``, ``P (..., 2k, 2k)``. An
interacting-multiple-model (IMM) filter keeps one such state per model on an extra axis:
``x (N, r, 2k)``, ``P (N, r, 2k, 2k)``, mode probabilities ``mu (N, r)``.

Measurement models (extended Kalman filter where nonlinear):

* :class:`PositionModel` -- a linear selection of state components (ENU position, optionally
  velocity): ADS-B, Remote ID, agent reports, fast 2-D position path;
* :class:`PolarModel` -- range / azimuth / elevation (any subset containing azimuth) from a
  sensor site, in the site's own ENU frame: radar (range, az, el) and cameras (az, el).

Every update accepts a per-pair ``lag`` >= 0: the measurement was taken ``lag`` seconds before
the state's time (an out-of-sequence measurement). It is then a measurement of the retrodicted
state ``F(-lag) x`` with the process noise of the gap added (a first-order OOSM update).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOG_2PI = float(np.log(2.0 * np.pi))


def cv_predict(x: np.ndarray, P: np.ndarray, dt, q) -> tuple[np.ndarray, np.ndarray]:
    """Nearly-constant-velocity prediction by ``dt`` seconds (may be negative: retrodiction).

    ``dt`` broadcasts against ``x[..., 0]``; ``q`` (per-axis noise density, shape ``(k,)`` or
    broadcasting against ``x[..., :k]``). Returns new arrays.
    """
    k = x.shape[-1] // 2
    dt = np.asarray(dt, dtype=float)[..., None]
    xn = x.copy()
    xn[..., :k] += dt * x[..., k:]
    d2 = dt[..., None]
    A, B, C = P[..., :k, :k], P[..., :k, k:], P[..., k:, k:]
    Bt = np.swapaxes(B, -1, -2)
    Pn = np.empty(np.broadcast_shapes(P.shape, d2.shape), dtype=float)
    BdC = B + d2 * C
    Pn[..., :k, :k] = A + d2 * (B + Bt) + (d2 * d2) * C
    Pn[..., :k, k:] = BdC
    Pn[..., k:, :k] = np.swapaxes(BdC, -1, -2)
    Pn[..., k:, k:] = C
    Pn += cv_noise(dt[..., 0], q, k)
    return xn, Pn


def cv_predict_rows(x: np.ndarray, P: np.ndarray, dt, q) -> tuple[np.ndarray, np.ndarray]:
    """:func:`cv_predict` computed as ``F P F^T`` by row then column shifts (fewer array operations,
    same values up to rounding); for the multi-sensor tracker's small per-batch predictions."""
    k = x.shape[-1] // 2
    dt = np.asarray(dt, dtype=float)[..., None]
    xn = x.copy()
    xn[..., :k] += dt * x[..., k:]
    d2 = dt[..., None]
    T = P.copy()
    T[..., :k, :] += d2 * P[..., k:, :]
    Pn = T.copy()
    Pn[..., :, :k] += d2 * T[..., :, k:]
    # process noise, added on its four diagonal blocks only (the rest of Q is zero)
    t = dt[..., 0]
    a = np.abs(t)
    q = np.asarray(q, dtype=float)
    pi, vi = _DIAG_POS[k], _DIAG_VEL[k]
    c2 = (t * a / 2.0)[..., None] * q
    Pn[..., pi, pi] += (a ** 3 / 3.0)[..., None] * q
    Pn[..., pi, vi] += c2
    Pn[..., vi, pi] += c2
    Pn[..., vi, vi] += a[..., None] * q
    return xn, Pn


_DIAG_POS = {k: np.arange(k) for k in (1, 2, 3)}
_DIAG_VEL = {k: np.arange(k, 2 * k) for k in (1, 2, 3)}


def cv_noise(dt, q, k: int) -> np.ndarray:
    """Process noise covariance ``(..., 2k, 2k)`` of a ``dt``-second step (``|dt|`` for retrodiction,
    with the position-velocity terms changing sign)."""
    dt = np.asarray(dt, dtype=float)[..., None, None]
    ad = np.abs(dt)
    blk = np.concatenate([np.concatenate([ad ** 3 / 3.0, dt * ad / 2.0], axis=-1),
                          np.concatenate([dt * ad / 2.0, ad], axis=-1)], axis=-2)  # (..., 2, 2)
    qd = np.asarray(q, dtype=float)[..., :, None] * np.eye(k)  # (..., k, k)
    Q = blk[..., :, None, :, None] * qd[..., None, :, None, :]
    return Q.reshape(Q.shape[:-4] + (2 * k, 2 * k))


def imm_mix(x: np.ndarray, P: np.ndarray, mu: np.ndarray, p_switch: np.ndarray):
    """IMM mixing step. ``p_switch (N,)``: probability of leaving the current model over the step.

    Returns mixed ``x0 (N,r,d)``, ``P0 (N,r,d,d)`` and predicted mode probabilities ``c (N,r)``.
    """
    r = mu.shape[1]
    eye = np.eye(r)
    p = np.asarray(p_switch, dtype=float)[:, None, None]
    Pi = (1.0 - p) * eye + (p / max(r - 1, 1)) * (1.0 - eye)  # Pi[n, i, j]: i -> j
    c = np.einsum("ni,nij->nj", mu, Pi)
    w = mu[:, :, None] * Pi / np.maximum(c[:, None, :], 1e-300)  # mu_{i|j}
    x0 = np.einsum("nij,nid->njd", w, x)
    dx = x[:, :, None, :] - x0[:, None, :, :]
    P0 = np.einsum("nij,nide->njde", w, P) + np.einsum("nij,nijd,nije->njde", w, dx, dx)
    return x0, P0, c


def combine(x: np.ndarray, P: np.ndarray, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Moment-matched single Gaussian of a mixture over the model axis (axis 1)."""
    if x.shape[1] == 1:
        return x[:, 0], P[:, 0]
    xc = np.einsum("nr,nrd->nd", mu, x)
    dx = x - xc[:, None, :]
    Pc = np.einsum("nr,nrde->nde", mu, P + dx[..., :, None] * dx[..., None, :])
    return xc, Pc


def inv_sym(S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse and log-determinant of a stack of small symmetric positive-definite matrices."""
    m = S.shape[-1]
    if m == 2:
        a, b, d = S[..., 0, 0], S[..., 0, 1], S[..., 1, 1]
        det = a * d - b * b
        inv = np.empty_like(S)
        inv[..., 0, 0] = d / det
        inv[..., 1, 1] = a / det
        inv[..., 0, 1] = inv[..., 1, 0] = -b / det
        return inv, np.log(det)
    if m == 3:  # closed form (adjugate / determinant): cheaper than LAPACK on small stacks
        a, b, c = S[..., 0, 0], S[..., 0, 1], S[..., 0, 2]
        d, e, f = S[..., 1, 0], S[..., 1, 1], S[..., 1, 2]
        g, h, i = S[..., 2, 0], S[..., 2, 1], S[..., 2, 2]
        A, B, C = e * i - f * h, f * g - d * i, d * h - e * g
        det = a * A + b * B + c * C
        if np.all(det > 0):
            adj = np.stack([A, c * h - b * i, b * f - c * e,
                            B, a * i - c * g, c * d - a * f,
                            C, b * g - a * h, a * e - b * d], axis=-1).reshape(S.shape)
            return adj / det[..., None, None], np.log(det)
    _, logdet = np.linalg.slogdet(S)
    return np.linalg.inv(S), logdet


@dataclass
class Innovation:
    """Innovation of a batch of (state, measurement) pairs, ready for gating and update."""

    y: np.ndarray  # (n, m) innovation
    S: np.ndarray  # (n, m, m)
    Sinv: np.ndarray
    logdet: np.ndarray  # (n,)
    d2: np.ndarray  # (n,) squared Mahalanobis distance
    K: np.ndarray  # (n, d, m) gain

    @property
    def loglik(self) -> np.ndarray:
        m = self.y.shape[-1]
        return -0.5 * (self.d2 + self.logdet + m * LOG_2PI)


class MeasurementModel:
    """A measurement function ``h(x) -> (zhat, H)`` over a batch, plus innovation wrapping."""

    dim: int
    angle_rows: tuple[int, ...] = ()

    def h(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - interface
        raise NotImplementedError

    def innovation(self, x, P, z, R, q, lag=None) -> Innovation:
        """Innovation of states ``x (n,d)``, ``P (n,d,d)`` against ``z (n,m)``, ``R (n,m,m)``."""
        if lag is not None and np.any(lag > 0):
            lag = np.asarray(lag, dtype=float)
            xb, Pb = cv_predict(x, P, -lag, q)
            k = x.shape[-1] // 2
            C = P.copy()  # P F(-lag)^T
            C[..., :, :k] -= lag[:, None, None] * P[..., :, k:]
        else:
            xb, Pb, C = x, P, P
        zhat, H = self.h(xb)
        y = z - zhat
        for r in self.angle_rows:
            y[:, r] = (y[:, r] + np.pi) % (2.0 * np.pi) - np.pi
        Ht = np.swapaxes(H, -1, -2)
        S = H @ Pb @ Ht + R
        Sinv, logdet = inv_sym(S)
        K = C @ Ht @ Sinv
        d2 = np.einsum("ni,nij,nj->n", y, Sinv, y)
        return Innovation(y=y, S=S, Sinv=Sinv, logdet=logdet, d2=d2, K=K)


def kalman_update(x, P, inn: Innovation) -> tuple[np.ndarray, np.ndarray]:
    """Apply the update of an :class:`Innovation` (symmetric form ``P - K S K^T``)."""
    xn = x + np.einsum("ndm,nm->nd", inn.K, inn.y)
    Pn = P - inn.K @ inn.S @ np.swapaxes(inn.K, -1, -2)
    Pn = 0.5 * (Pn + np.swapaxes(Pn, -1, -2))
    return xn, Pn


class PositionModel(MeasurementModel):
    """Linear measurement of selected state components (``idx``), e.g. (0, 1) = east, north."""

    def __init__(self, idx: tuple[int, ...], state_dim: int) -> None:
        self.idx = tuple(idx)
        self.dim = len(self.idx)
        self.H = np.zeros((self.dim, state_dim))
        self.H[np.arange(self.dim), list(self.idx)] = 1.0

    def h(self, x):
        return x[:, list(self.idx)], np.broadcast_to(self.H, (x.shape[0],) + self.H.shape)

    def innovation(self, x, P, z, R, q, lag=None) -> Innovation:
        """As :meth:`MeasurementModel.innovation`, with ``H`` applied by index selection (same values)."""
        idx = list(self.idx)
        if lag is not None and np.any(lag > 0):
            lag = np.asarray(lag, dtype=float)
            xb, Pb = cv_predict(x, P, -lag, q)
            k = x.shape[-1] // 2
            C = P.copy()
            C[..., :, :k] -= lag[:, None, None] * P[..., :, k:]
        else:
            xb, Pb, C = x, P, P
        y = z - xb[:, idx]
        S = Pb[:, idx][:, :, idx] + R
        Sinv, logdet = inv_sym(S)
        K = C[:, :, idx] @ Sinv
        d2 = np.einsum("ni,nij,nj->n", y, Sinv, y)
        return Innovation(y=y, S=S, Sinv=Sinv, logdet=logdet, d2=d2, K=K)


class PolarModel(MeasurementModel):
    """Range / azimuth / elevation (angles in radians) of the target seen from sensor sites.

    ``site (n,3)``: each pair's sensor position in the track frame (ENU metres); ``rot (n,3,3)``:
    rotation of track-frame vectors into the site's own ENU frame. ``comps`` names the measured
    components in order, a subset of ``("range", "az", "el")`` containing ``"az"``.
    """

    def __init__(self, comps: tuple[str, ...], site: np.ndarray, rot: np.ndarray) -> None:
        if "az" not in comps or not set(comps) <= {"range", "az", "el"}:
            raise ValueError(f"unsupported polar components {comps!r}")
        self.comps = tuple(comps)
        self.dim = len(comps)
        self.site = site
        self.rot = rot
        self.angle_rows = (self.comps.index("az"),)

    def h(self, x):
        n = x.shape[0]
        p = x[:, :3] - self.site
        d = np.einsum("nij,nj->ni", self.rot, p)
        e, nn, u = d[:, 0], d[:, 1], d[:, 2]
        rh2 = np.maximum(e * e + nn * nn, 1e-6)
        rh = np.sqrt(rh2)
        r2 = rh2 + u * u
        r = np.sqrt(r2)
        rows, jac = [], []
        for c in self.comps:
            if c == "range":
                rows.append(r)
                jac.append(d / r[:, None])
            elif c == "az":
                rows.append(np.arctan2(e, nn))
                jac.append(np.stack([nn / rh2, -e / rh2, np.zeros(n)], axis=1))
            else:
                rows.append(np.arctan2(u, rh))
                jac.append(np.stack([-e * u / (r2 * rh), -nn * u / (r2 * rh), rh / r2], axis=1))
        zhat = np.stack(rows, axis=1)
        Jd = np.stack(jac, axis=1) @ self.rot  # (n, m, 3) w.r.t. track-frame position
        H = np.zeros((n, self.dim, x.shape[1]))
        H[:, :, :3] = Jd
        return zhat, H


def polar_to_local(comps, z, sigmas, fallback_el=0.0):
    """Position (site ENU, metres) and its covariance from a range/azimuth(/elevation) measurement.

    ``z``/``sigmas`` are ordered like ``comps`` (angles in radians). Without elevation the
    target is placed at ``fallback_el`` with a wide elevation uncertainty.
    """
    vals = dict(zip(comps, z))
    sig = dict(zip(comps, sigmas))
    r, az = vals["range"], vals["az"]
    el = vals.get("el", fallback_el)
    s_el = sig.get("el", np.radians(10.0))
    ce, se, ca, sa = np.cos(el), np.sin(el), np.cos(az), np.sin(az)
    pos = np.array([r * ce * sa, r * ce * ca, r * se])
    J = np.array([[ce * sa, r * ce * ca, -r * se * sa],
                  [ce * ca, -r * ce * sa, -r * se * ca],
                  [se, 0.0, r * ce]])
    cov = J @ np.diag([sig["range"] ** 2, sig["az"] ** 2, s_el ** 2]) @ J.T
    return pos, cov


def polar_to_local_many(r, az, el, s_r, s_az, s_el) -> tuple[np.ndarray, np.ndarray]:
    """:func:`polar_to_local` over arrays of measurements (range, azimuth, elevation in radians and
    their sigmas, shape ``(n,)``; pass ``el = 0`` and ``s_el = radians(10)`` where no elevation was
    measured). Returns positions ``(n, 3)`` and covariances ``(n, 3, 3)`` in each site's ENU frame."""
    ce, se, ca, sa = np.cos(el), np.sin(el), np.cos(az), np.sin(az)
    pos = np.stack([r * ce * sa, r * ce * ca, r * se], axis=1)
    J = np.empty((len(r), 3, 3))
    J[:, 0, 0], J[:, 0, 1], J[:, 0, 2] = ce * sa, r * ce * ca, -r * se * sa
    J[:, 1, 0], J[:, 1, 1], J[:, 1, 2] = ce * ca, -r * ce * sa, -r * se * ca
    J[:, 2, 0], J[:, 2, 1], J[:, 2, 2] = se, 0.0, r * ce
    var = np.stack([s_r * s_r, s_az * s_az, s_el * s_el], axis=1)
    cov = (J * var[:, None, :]) @ np.swapaxes(J, 1, 2)
    return pos, cov
