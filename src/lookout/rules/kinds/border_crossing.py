"""Border crossings (rule type ``border_crossing``): direction, time and crossing point.

A crossing counts once the track is ``hysteresis_m`` (and ``sigma_factor`` times its position
sigma) beyond the line on the other side; its time and point are interpolated where the track's
signed offset from the line changed sign.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lookout.rules.alerts import Hit
from lookout.rules.config import BorderCrossingRule
from lookout.rules.rule import SlotRule, Step, describe, float_in, float_out, geo_in, geo_out, hhmmss, latlon

_CROSSING = {"n", "direction", "time", "lat", "lon", "detected"}


class BorderCrossingImpl(SlotRule):
    cfg: BorderCrossingRule
    _arrays = {"side": (0, np.int8), "n_cross": (0, np.int64),
               **{name: (np.nan, float) for name in ("last_off", "last_t", "last_x", "last_y", "zero_t", "zero_x",
                                                       "zero_y")}}

    def __init__(self, cfg: BorderCrossingRule, engine: Any) -> None:
        super().__init__(cfg, engine)
        self.crossings: dict[int, dict] = {}  # slot -> last crossing

    def evaluate(self, step: Step) -> list[Hit]:
        self._ensure()
        tb, t = self.table, step.time
        sel = self.select(step.slots)
        if len(sel) == 0:
            return []
        for s in self._fresh(sel).tolist():
            self.crossings.pop(s, None)
        x, y, tt = tb.x[sel], tb.y[sel], tb.t[sel]
        off = self.ctx.border_offset(x, y)
        lo = self.last_off[sel]
        flip = np.isfinite(lo) & (np.sign(off) != np.sign(lo)) & (lo != 0)
        if flip.any():
            fs = sel[flip]
            frac = lo[flip] / (lo[flip] - off[flip])
            self.zero_t[fs] = self.last_t[fs] + frac * (tt[flip] - self.last_t[fs])
            self.zero_x[fs] = self.last_x[fs] + frac * (x[flip] - self.last_x[fs])
            self.zero_y[fs] = self.last_y[fs] + frac * (y[flip] - self.last_y[fs])
        self.last_off[sel], self.last_t[sel], self.last_x[sel], self.last_y[sel] = off, tt, x, y
        margin = np.maximum(self.cfg.hysteresis_m, self.cfg.sigma_factor * np.nan_to_num(tb.sigma[sel]))
        new_side = np.where(off > margin, 1, np.where(off < -margin, -1, 0)).astype(np.int8)
        old_side = self.side[sel]
        crossed = (old_side != 0) & (new_side != 0) & (new_side != old_side)
        upd = new_side != 0
        self.side[sel[upd]] = new_side[upd]
        if crossed.any():
            cs = sel[crossed]
            zt = np.where(np.isfinite(self.zero_t[cs]), self.zero_t[cs], tb.t[cs])
            zx = np.where(np.isfinite(self.zero_x[cs]), self.zero_x[cs], tb.x[cs])
            zy = np.where(np.isfinite(self.zero_y[cs]), self.zero_y[cs], tb.y[cs])
            zlat, zlon = self.ctx.to_geodetic(zx, zy)
            for k, s in enumerate(cs.tolist()):
                direction = "north" if self.side[s] > 0 else "south"
                self.n_cross[s] += 1
                if direction not in self.cfg.directions:
                    self.crossings.pop(s, None)
                    continue
                self.crossings[s] = {"n": int(self.n_cross[s]), "direction": direction, "time": float(zt[k]),
                                     "lat": float(zlat[k]), "lon": float(zlon[k]), "detected": t}
        hits = []
        sc = self.ctx.sector
        for s in sel.tolist():
            c = self.crossings.get(s)
            if c is None:
                continue
            if t - c["detected"] > self.cfg.hold_s:
                del self.crossings[s]
                continue
            tr = tb.track(s)
            if self.kept((tr.id, c["n"]), t):
                continue
            frm, to = ((sc.south_country, sc.north_country) if c["direction"] == "north"
                       else (sc.north_country, sc.south_country))
            msg = (f"{describe(tr)} crossed the border {c['direction']}bound ({frm} to {to}) at "
                   f"{hhmmss(c['time'])} near {latlon(c['lat'], c['lon'])}")
            hits.append(self.hit((tr.id, c["n"]), [s], self.cfg.severity, msg,
                                 {"direction": c["direction"], "from": frm, "to": to, "crossing_time": c["time"],
                                  "crossing_point": {"lat": c["lat"], "lon": c["lon"]},
                                  "detected_at": c["detected"]},
                                 start=c["time"]))
        return hits

    def forget(self, slots: list[int], ids: list[str]) -> None:
        for s in slots:
            self.crossings.pop(s, None)

    def export(self, s: int, tid: str) -> dict | None:
        if not self._mine(s):
            return None  # never evaluated here
        last, zero = geo_out(self.ctx, [self.last_x[s], self.zero_x[s]], [self.last_y[s], self.zero_y[s]])
        return {"side": int(self.side[s]), "n": int(self.n_cross[s]), "last_off": float_out(self.last_off[s]),
                "last_t": float_out(self.last_t[s]), "last": last, "zero_t": float_out(self.zero_t[s]), "zero": zero,
                "crossing": self.crossings.get(s)}

    def adopt(self, s: int, tid: str, state: dict) -> None:
        self._ensure()
        self._gen[s] = self.table.generation[s]
        side = state.get("side")
        self.side[s] = side if side in (-1, 0, 1) else 0
        self.n_cross[s] = state["n"] if isinstance(state.get("n"), int) and state["n"] >= 0 else 0
        self.last_off[s], self.last_t[s], self.zero_t[s] = (float_in(state.get(k))
                                                            for k in ("last_off", "last_t", "zero_t"))
        x, y = geo_in(self.ctx, [state.get("last"), state.get("zero")], 2)
        self.last_x[s], self.zero_x[s], self.last_y[s], self.zero_y[s] = x[0], x[1], y[0], y[1]
        c = state.get("crossing")
        if isinstance(c, dict) and _CROSSING <= set(c):
            self.crossings[s] = dict(c)
        else:
            self.crossings.pop(s, None)

    def state(self) -> dict[str, Any] | None:
        return {**self._slot_state(), "crossings": [[s, c] for s, c in self.crossings.items()]}

    def load_state(self, state: dict[str, Any]) -> None:
        self._load_slot_state(state)
        self.crossings = {}
        for s, c in state["crossings"]:
            if not (isinstance(c, dict) and _CROSSING <= set(c)):
                raise ValueError(f"rule {self.name}: bad crossing {c!r}")
            self.crossings[int(s)] = dict(c)
