"""Trajectory building: waypoint paths, holds, climbs and racetrack orbits on a fixed time grid.

A :class:`Plan` appends phases to one trajectory. Each phase is computed over whole arrays:
a horizontal path is a polyline (corners rounded by Chaikin corner cutting), traversed with a
speed profile integrated on a fine time grid (ramps from/to rest by a moving average, which keeps
the travelled distance exact), and positions are interpolated along the path's arc length.
Heights are metres above the sector's ground; the scenario converts them to the local frame.
"""

from __future__ import annotations

import numpy as np


def chaikin(points: np.ndarray, iterations: int = 3) -> np.ndarray:
    """Round a polyline's corners (Chaikin corner cutting), keeping both end points."""
    p = np.asarray(points, dtype=float)
    for _ in range(iterations):
        if len(p) < 3:
            return p
        q = 0.75 * p[:-1] + 0.25 * p[1:]
        r = 0.25 * p[:-1] + 0.75 * p[1:]
        mid = np.empty((2 * (len(p) - 1), p.shape[1]))
        mid[0::2], mid[1::2] = q, r
        p = np.vstack([p[:1], mid[1:-1], p[-1:]])
    return p


def racetrack(center: np.ndarray, heading_deg: float, length_m: float, radius_m: float,
              n_arc: int = 48) -> np.ndarray:
    """One lap of a racetrack (closed; first point = last point), flown clockwise.

    The lap starts at the beginning of the first straight, flown along ``heading_deg``."""
    h = np.radians(heading_deg)
    u = np.array([np.sin(h), np.cos(h)])  # along the straights
    w = np.array([u[1], -u[0]])  # to the right of u: clockwise turns
    c = np.asarray(center, dtype=float)[:2]
    half = length_m / 2
    a = c - u * half  # start of the first straight (left leg), turn centres on the axis
    start = a - w * radius_m
    end1 = c + u * half - w * radius_m
    ang = np.linspace(0, np.pi, n_arc + 1)[1:]
    # turn 1 around c + u*half: from -w (left) over +u to +w (right side)
    arc1 = (c + u * half) + np.outer(-np.cos(ang), w) * radius_m + np.outer(np.sin(ang), u) * radius_m
    arc2 = (c - u * half) + np.outer(np.cos(ang), w) * radius_m - np.outer(np.sin(ang), u) * radius_m
    return np.vstack([start, end1, arc1, arc2])


def _arc_length(path: np.ndarray) -> np.ndarray:
    seg = np.hypot(*np.diff(path, axis=0).T)
    return np.concatenate([[0.0], np.cumsum(seg)])


class Plan:
    """One trajectory under construction: samples (t, east, north, height) every ``dt`` seconds."""

    def __init__(self, t0: float, east: float, north: float, height: float, dt: float = 1.0) -> None:
        self.dt = float(dt)
        self.t0 = float(t0)
        self._xyh: list[np.ndarray] = [np.array([[east, north, height]], dtype=float)]
        self.marks: dict[str, float] = {}

    # -- state ------------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return sum(len(a) for a in self._xyh)

    @property
    def t(self) -> float:
        """Time of the last sample."""
        return self.t0 + (self.n - 1) * self.dt

    @property
    def pos(self) -> np.ndarray:
        return self._xyh[-1][-1].copy()

    def mark(self, name: str) -> Plan:
        self.marks[name] = self.t
        return self

    # -- phases -----------------------------------------------------------------------------
    def hold(self, duration_s: float) -> Plan:
        k = int(round(duration_s / self.dt))
        if k > 0:
            self._xyh.append(np.repeat(self.pos[None, :], k, axis=0))
        return self

    def vertical(self, to_height: float, rate_mps: float) -> Plan:
        p = self.pos
        dur = abs(to_height - p[2]) / rate_mps
        k = max(1, int(np.ceil(dur / self.dt)))
        frac = np.minimum(np.arange(1, k + 1) * self.dt / max(dur, 1e-9), 1.0)
        out = np.repeat(p[None, :], k, axis=0)
        out[:, 2] = p[2] + (to_height - p[2]) * frac
        self._xyh.append(out)
        return self

    def move(self, via, speeds, *, from_rest: bool = True, to_rest: bool = True, ramp_s: float = 3.0,
             to_height: float | None = None, smooth: int = 3) -> Plan:
        """Fly/drive from the current position through ``via`` (K,2) points.

        ``speeds``: one speed, or several flown over equal shares of the path's length (speed
        changes); the profile ramps over ``ramp_s`` seconds from/to rest where asked.
        ``to_height``: climb/descend linearly along the path. ``smooth``: Chaikin iterations."""
        p = self.pos
        path = np.vstack([p[None, :2], np.asarray(via, dtype=float).reshape(-1, 2)])
        if smooth:
            path = chaikin(path, smooth)
        s_path = _arc_length(path)
        length = s_path[-1]
        if length < 1e-6:
            return self
        v = np.atleast_1d(np.asarray(speeds, dtype=float))
        if np.any(v <= 0):
            raise ValueError(f"speeds must be > 0, got {v}")
        share = length / len(v)
        durs = share / v
        fine = self.dt / 8.0
        counts = np.maximum(1, np.round(durs / fine).astype(int))
        prof = np.repeat(v, counts)
        w = max(1, int(round(ramp_s / fine)))
        if w > 1:
            pad_l = np.zeros(w) if from_rest else np.full(w, prof[0])
            pad_r = np.zeros(w) if to_rest else np.full(w, prof[-1])
            padded = np.concatenate([pad_l, prof, pad_r])
            sm = np.convolve(padded, np.ones(w) / w, mode="same")
            # keep the ramps: drop only the leading/trailing samples that stay at rest
            lo = w // 2 if from_rest else w
            hi = len(padded) - (w // 2 if to_rest else w)
            prof = sm[lo:hi]
        s = np.concatenate([[0.0], np.cumsum(prof) * fine])
        s *= length / s[-1]
        tf = np.arange(len(s)) * fine
        k = max(1, int(np.ceil(tf[-1] / self.dt)))
        tq = np.arange(1, k + 1) * self.dt
        sq = np.interp(tq, tf, s)
        out = np.empty((k, 3))
        out[:, 0] = np.interp(sq, s_path, path[:, 0])
        out[:, 1] = np.interp(sq, s_path, path[:, 1])
        h_end = p[2] if to_height is None else to_height
        out[:, 2] = p[2] + (h_end - p[2]) * (sq / length)
        self._xyh.append(out)
        return self

    def orbit(self, center, heading_deg: float, length_m: float, radius_m: float, speed: float,
              duration_s: float) -> Plan:
        """Fly a clockwise racetrack for ``duration_s`` (whole laps, rounded up), constant speed.

        The plan must be at the lap's start point (see :func:`racetrack`); the times the orbit
        starts and ends are recorded in ``marks['orbit_start'/'orbit_end']``."""
        lap = racetrack(np.asarray(center), heading_deg, length_m, radius_m)
        lap_len = _arc_length(lap)[-1]
        laps = max(1, int(np.ceil(duration_s * speed / lap_len)))
        path = np.vstack([lap] + [lap[1:]] * (laps - 1))
        self.mark("orbit_start")
        self.move(path[1:], speed, from_rest=False, to_rest=False, ramp_s=0.0, smooth=0)
        self.mark("orbit_end")
        return self

    # -- result -----------------------------------------------------------------------------
    def samples(self) -> tuple[np.ndarray, np.ndarray]:
        """Times (N,) and (east, north, height) (N,3)."""
        xyh = np.vstack(self._xyh)
        return self.t0 + np.arange(len(xyh)) * self.dt, xyh
