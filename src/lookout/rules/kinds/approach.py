"""Drones closing on personnel (rule type ``approach``): closest point of approach, not distance alone.

Every selected track against every agent seen within ``agent_timeout_s``, in 3-D where both
heights are known: an alert when the closest approach is within ``radius_m`` within
``horizon_s`` while closing at ``min_closing_mps``, or when the track is within
``danger_radius_m``; critical when the closest approach is ``critical_tca_s`` away or less.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lookout.model import Severity
from lookout.rules.alerts import Hit
from lookout.rules.config import ApproachRule
from lookout.rules.rule import Rule, Step, describe


class ApproachImpl(Rule):
    cfg: ApproachRule

    def __init__(self, cfg: ApproachRule, engine: Any) -> None:
        super().__init__(cfg, engine)
        self.active: set[str] = set()

    def evaluate(self, step: Step) -> list[Hit]:
        cfg, tb, t = self.cfg, self.table, step.time
        sel = self.select(step.slots)
        ids, ax, ay, az, avx, avy = self.ctx.agent_arrays(t, cfg.agent_timeout_s)
        if len(sel) == 0:
            return []
        if not ids:
            self.active.difference_update(tb.track(s).id for s in sel.tolist())
            return []
        rx = tb.x[sel, None] - ax[None, :]
        ry = tb.y[sel, None] - ay[None, :]
        vx = tb.vx[sel, None] - avx[None, :]
        vy = tb.vy[sel, None] - avy[None, :]
        # heights: above the agent when both are known (a drone 400 m up is not one at 40 m)
        rz = tb.z[sel, None] - az[None, :]
        rz = np.where(np.isfinite(rz), rz, 0.0)
        vz = np.broadcast_to(tb.vz[sel, None], rz.shape)
        dist = np.sqrt(rx * rx + ry * ry + rz * rz)
        rv = rx * vx + ry * vy + rz * vz
        v2 = vx * vx + vy * vy + vz * vz
        closing = -rv / np.maximum(dist, 1e-6)
        tca = np.clip(-rv / np.maximum(v2, 1e-9), 0.0, None)
        cpa = np.sqrt((rx + vx * tca) ** 2 + (ry + vy * tca) ** 2 + (rz + vz * tca) ** 2)
        was = (np.array([tb.track(s).id in self.active for s in sel.tolist()]) if self.active
               else np.zeros(len(sel), bool))
        f = np.where(was, cfg.hysteresis_factor, 1.0)[:, None]
        near = dist <= cfg.max_range_m * f
        danger = dist <= cfg.danger_radius_m * f
        closing_in = (closing >= cfg.min_closing_mps / f) & (cpa <= cfg.radius_m * f) & (tca <= cfg.horizon_s * f)
        cond = near & (danger | closing_in)
        rows = np.flatnonzero(cond.any(axis=1))
        hits = []
        for s in sel[~cond.any(axis=1)].tolist():
            self.active.discard(tb.track(s).id)
        for r in rows.tolist():
            s = int(sel[r])
            tr = tb.track(s)
            self.active.add(tr.id)
            js = np.flatnonzero(cond[r])
            urgency = np.where(danger[r, js], 0.0, tca[r, js])
            j = int(js[np.argmin(urgency)])
            crit = danger[r, j] or tca[r, j] <= cfg.critical_tca_s
            sev = Severity.CRITICAL if crit else cfg.severity
            if self.kept((tr.id,), t, sev):
                continue
            a = self.ctx._agents[ids[j]]
            if danger[r, j] and closing[r, j] < cfg.min_closing_mps:
                what = f"is {dist[r, j]:.0f} m from agent {ids[j]}"
            else:
                what = (f"is closing on agent {ids[j]} at {closing[r, j]:.1f} m/s: {dist[r, j]:.0f} m away, "
                        f"closest approach {cpa[r, j]:.0f} m in {tca[r, j]:.0f} s")
            others = [ids[k] for k in js.tolist() if k != j]
            msg = f"{describe(tr)} {what}" + (f" (also near {', '.join(others)})" if others else "")
            hits.append(self.hit((tr.id,), [s], sev, msg, {
                "agent_id": ids[j], "agent_ids": [ids[k] for k in js.tolist()],
                "agent_position": {"lat": a.lat, "lon": a.lon, "time": a.time},
                "distance_m": float(dist[r, j]), "closing_mps": float(closing[r, j]),
                "tca_s": float(tca[r, j]), "cpa_m": float(cpa[r, j])}))
        return hits

    def forget(self, slots: list[int], ids: list[str]) -> None:
        self.active.difference_update(ids)

    def export(self, s: int, tid: str) -> dict | None:
        return {"active": True} if tid in self.active else None

    def adopt(self, s: int, tid: str, state: dict) -> None:
        if state.get("active") is True:
            self.active.add(tid)

    def state(self) -> dict[str, Any] | None:
        return {"active": sorted(self.active)}

    def load_state(self, state: dict[str, Any]) -> None:
        self.active = {str(t) for t in state["active"]}
