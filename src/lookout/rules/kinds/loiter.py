"""Loitering and orbiting (rule type ``loiter``): a track staying within ``radius_m`` for
``window_s``, optionally turning ``min_turn_deg`` (an orbit).

Each slot keeps a ring buffer of samples taken every ``sample_s`` of track time, counted from the
slot's first sample (so a scenario shifted in time samples, and judges, exactly alike), on a
per-slot phase so that many tracks spread their judging over the steps of a period.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lookout.model import GeoPoint
from lookout.rules.alerts import Hit
from lookout.rules.config import LoiterRule
from lookout.rules.rule import SlotRule, Step, describe, float_in, float_out, geo_in, geo_out, latlon

_ACTIVE = {"centre", "radius_m", "turn_deg", "since", "duration_s"}


class LoiterImpl(SlotRule):
    cfg: LoiterRule
    _arrays = {"hx": (np.nan, float), "hy": (np.nan, float), "ht": (np.nan, float), "hc": (np.nan, float),
               "head": (0, np.int64), "last_sample": (-np.inf, float), "anchor": (np.nan, float)}

    def __init__(self, cfg: LoiterRule, engine: Any) -> None:
        self.n = int(math.ceil(cfg.window_s / cfg.sample_s)) + 1
        super().__init__(cfg, engine)
        self.active: dict[int, dict] = {}  # slot -> last finding

    def _row_shape(self, name: str) -> tuple[int, ...]:
        return (self.n,) if name in ("hx", "hy", "ht", "hc") else ()

    def evaluate(self, step: Step) -> list[Hit]:
        self._ensure()
        cfg, tb, t = self.cfg, self.table, step.time
        sel = self.select(step.slots)
        if len(sel) == 0:
            return []
        for s in self._fresh(sel).tolist():
            self.active.pop(s, None)
        # sample every sample_s of track time since the slot's first sample, on a per-slot phase
        # (golden-ratio spread), so a few tracks are judged together and many tracks spread over
        # the steps of a period; relative times (not absolute ones) keep a time-shifted run alike
        new = sel[np.isnan(self.anchor[sel])]
        self.anchor[new] = tb.t[new]
        phase = ((sel * 0.6180339887) % 1.0) * cfg.sample_s
        base = self.anchor[sel]
        tick = np.floor((tb.t[sel] - base + phase) / cfg.sample_s + 1e-6)
        due = sel[tick > np.floor((self.last_sample[sel] - base + phase) / cfg.sample_s + 1e-6)]
        if len(due):
            h = self.head[due]
            self.hx[due, h], self.hy[due, h], self.ht[due, h] = tb.x[due], tb.y[due], tb.t[due]
            spd = np.hypot(tb.vx[due], tb.vy[due])
            crs = np.degrees(np.arctan2(tb.vx[due], tb.vy[due]))
            self.hc[due, h] = np.where(spd >= max(cfg.min_speed_mps, 1e-3), crs, np.nan)
            self.head[due] = (h + 1) % self.n
            self.last_sample[due] = tb.t[due]
            self._judge(due, t)
        hits = []
        for s in sel.tolist():
            a = self.active.get(s)
            if a is None:
                continue
            tr = tb.track(s)
            if self.kept((tr.id,), t):
                continue
            lat, lon = a["centre"]
            what = "orbiting" if cfg.min_turn_deg > 0 else "loitering"
            msg = (f"{describe(tr)} {what} for {a['duration_s']:.0f} s within {a['radius_m']:.0f} m of "
                   f"{latlon(lat, lon)}" + (f", turned {a['turn_deg']:.0f} deg" if cfg.min_turn_deg > 0 else ""))
            hits.append(self.hit((tr.id,), [s], cfg.severity, msg, {
                "centre": {"lat": lat, "lon": lon}, "radius_m": a["radius_m"], "turn_deg": a["turn_deg"],
                "duration_s": a["duration_s"], "since": a["since"]},
                position=GeoPoint(lat, lon), start=a["since"]))
        return hits

    def _judge(self, slots: np.ndarray, t: float) -> None:
        cfg = self.cfg
        # the ring buffers in place: only the heading differences need the time order, and in the
        # ring every neighbour pair is in order except the seam between the newest and the oldest
        X, Y, T, C = self.hx[slots], self.hy[slots], self.ht[slots], self.hc[slots]
        valid = np.isfinite(T) & (T >= t - cfg.window_s - 1e-6)
        cnt = valid.sum(axis=1)
        t0 = np.where(valid, T, np.inf).min(axis=1)
        span = t - t0
        with np.errstate(invalid="ignore", divide="ignore"):
            cx = np.where(valid, X, 0.0).sum(axis=1) / np.maximum(cnt, 1)
            cy = np.where(valid, Y, 0.0).sum(axis=1) / np.maximum(cnt, 1)
            r = np.where(valid, np.hypot(X - cx[:, None], Y - cy[:, None]), 0.0).max(axis=1)
        Cv = np.where(valid, C, np.nan)
        d = (np.diff(Cv, axis=1) + 180.0) % 360.0 - 180.0
        seam = self.head[slots] - 1  # diff index between the newest (head-1) and the oldest (head)
        has = seam >= 0
        d[np.flatnonzero(has), seam[has]] = np.nan
        turn = np.abs(np.nansum(d, axis=1))
        was = np.array([s in self.active for s in slots.tolist()])
        f = np.where(was, cfg.hysteresis_factor, 1.0)
        enough = span >= cfg.window_s - cfg.sample_s - 1e-6
        ok = (cnt >= 3) & (r <= cfg.radius_m * f) & (enough | was)
        if cfg.min_turn_deg > 0:
            ok &= was | (turn >= cfg.min_turn_deg)
        if not ok.any():
            for s in slots[was].tolist():
                self.active.pop(s, None)
            return
        lat, lon = self.ctx.to_geodetic(cx, cy)
        for k, s in enumerate(slots.tolist()):
            if ok[k]:
                prev = self.active.get(s)
                self.active[s] = {"centre": (float(lat[k]), float(lon[k])), "radius_m": float(r[k]),
                                  "turn_deg": float(turn[k]), "since": prev["since"] if prev else float(t0[k]),
                                  "duration_s": t - (prev["since"] if prev else float(t0[k]))}
            else:
                self.active.pop(s, None)

    def forget(self, slots: list[int], ids: list[str]) -> None:
        for s in slots:
            self.active.pop(s, None)

    def export(self, s: int, tid: str) -> dict | None:
        if not self._mine(s):
            return None
        a = self.active.get(s)
        return {"n": self.n, "head": int(self.head[s]), "last_sample": float_out(self.last_sample[s]),
                "anchor": float_out(self.anchor[s]),
                "points": geo_out(self.ctx, self.hx[s], self.hy[s]),
                "t": [float_out(v) for v in self.ht[s].tolist()], "course": [float_out(v) for v in self.hc[s].tolist()],
                "active": None if a is None else dict(a, centre=list(a["centre"]))}

    def adopt(self, s: int, tid: str, state: dict) -> None:
        self._ensure()
        self._gen[s] = self.table.generation[s]
        n = self.n
        t, course = state.get("t"), state.get("course")
        if state.get("n") != n or not (isinstance(t, list) and isinstance(course, list) and len(t) == len(course) == n):
            return  # another window or sampling: the history starts afresh
        self.hx[s], self.hy[s] = geo_in(self.ctx, state.get("points"), n)
        self.ht[s] = [float_in(v) for v in t]
        self.hc[s] = [float_in(v) for v in course]
        head = state.get("head")
        self.head[s] = head if isinstance(head, int) and 0 <= head < n else 0
        self.last_sample[s] = float_in(state.get("last_sample"), -np.inf)
        self.anchor[s] = float_in(state.get("anchor"), np.nan)
        a = state.get("active")
        if isinstance(a, dict) and isinstance(a.get("centre"), list) and len(a["centre"]) == 2:
            self.active[s] = dict(a, centre=(float(a["centre"][0]), float(a["centre"][1])))


    def state(self) -> dict[str, Any] | None:
        active = [[s, dict(a, centre=list(a["centre"]))] for s, a in self.active.items()]
        return {**self._slot_state(), "n": self.n, "active": active}

    def load_state(self, state: dict[str, Any]) -> None:
        if state["n"] != self.n:
            raise ValueError(f"rule {self.name}: history of {state['n']} samples, this rule keeps {self.n}")
        self._load_slot_state(state)
        self.active = {}
        for s, a in state["active"]:
            if not (isinstance(a, dict) and _ACTIVE <= set(a) and len(a["centre"]) == 2):
                raise ValueError(f"rule {self.name}: bad finding {a!r}")
            self.active[int(s)] = dict(a, centre=(float(a["centre"][0]), float(a["centre"][1])))
