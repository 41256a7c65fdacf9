"""Zone entry, exit and dwell (rule type ``zone``).

One point-in-zone query for all updated tracks per step (:meth:`Step.inside`); a track inside a
zone stays inside while it is within ``hysteresis_m`` of it, so tracks on an edge do not flap.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lookout.rules.alerts import Hit
from lookout.rules.config import ZoneRule
from lookout.rules.rule import Rule, Step, describe, hhmmss
from lookout.rules.table import finite


class ZoneRuleImpl(Rule):
    cfg: ZoneRule

    def __init__(self, cfg: ZoneRule, engine: Any) -> None:
        super().__init__(cfg, engine)
        self.inside_since: dict[str, dict[int, float]] = {}  # track id -> zone index -> entered at
        self.exits: dict[tuple[str, int], float] = {}  # (track id, zone index) -> exited at
        self.rebuild_zones()

    def rebuild_zones(self) -> None:
        zs = self.ctx.zones
        known = {z.id for z in zs.zones}
        missing = [z for z in self.cfg.zones if z not in known]
        if missing:
            raise ValueError(f"rule {self.name!r} names unknown zone ids {missing}; known: {sorted(known)}")
        self.zone_mask = np.zeros(len(zs), dtype=bool)
        self.zone_mask[zs.select(self.cfg.zones, self.cfg.zone_kinds)] = True
        self.inside_since.clear()
        self.exits.clear()

    def evaluate(self, step: Step) -> list[Hit]:
        sel = self.select(step.slots)
        if len(sel) == 0 or not self.zone_mask.any():
            return []
        tb, t, zs = self.table, step.time, self.ctx.zones
        ps, zi = step.inside()
        keep = self.zone_mask[zi] & self.class_mask[tb.cls[ps]]
        if self.cfg.min_track_updates:
            keep &= tb.updates[ps] >= self.cfg.min_track_updates
        ps, zi = ps[keep], zi[keep]
        now_in: dict[int, set[int]] = {}
        for s, z in zip(ps.tolist(), zi.tolist()):
            now_in.setdefault(s, set()).add(z)
        # only tracks inside a zone now or before need looking at
        upd = np.zeros(tb.cap, dtype=bool)
        upd[sel] = True
        before = {}
        for tid, st in self.inside_since.items():
            s = tb.slot.get(tid)
            if s is not None and upd[s]:
                before[s] = st
        # tracks inside before but not now: still inside while within the hysteresis margin
        cand_s, cand_z = [], []
        for s, st in before.items():
            cur = now_in.get(s, ())
            for z in st:
                if z not in cur:
                    cand_s.append(s)
                    cand_z.append(z)
        if cand_s:
            cs, cz = np.array(cand_s), np.array(cand_z)
            d = zs.distance(cz, tb.x[cs], tb.y[cs])
            for s, z, dd in zip(cand_s, cand_z, d.tolist()):
                if dd <= self.cfg.hysteresis_m:
                    now_in.setdefault(s, set()).add(z)
        hits: list[Hit] = []
        trig = self.cfg.trigger
        for s in set(now_in) | set(before):
            tr = tb.track(s)
            tid = tr.id
            st = self.inside_since.get(tid, {})
            cur = now_in.get(s, set())
            for z in list(st):
                if z not in cur:
                    del st[z]
                    self.exits[(tid, z)] = t
            for z in cur:
                if z not in st:
                    st[z] = t
                    self.exits.pop((tid, z), None)
            if st:
                self.inside_since[tid] = st
            else:
                self.inside_since.pop(tid, None)
            if trig == "entry" or trig == "dwell":
                for z, since in st.items():
                    if trig == "dwell" and t - since < self.cfg.dwell_s:
                        continue
                    zone = zs.zones[z]
                    if self.kept((tid, zone.id), t):
                        continue
                    kind = zone.kind.replace("_", " ")
                    if trig == "entry":
                        msg = f"{describe(tr)} entered {kind} zone '{zone.name}' at {hhmmss(since)}"
                    else:
                        msg = (f"{describe(tr)} has stayed in {kind} zone '{zone.name}' for {t - since:.0f} s "
                               f"(since {hhmmss(since)})")
                    hits.append(self.hit((tid, zone.id), [s], self.cfg.severity, msg,
                                         {"zone_id": zone.id, "zone_kind": str(zone.kind), "zone_version": zone.version,
                                          "entered_at": since, "dwell_s": t - since},
                                         start=since if trig == "entry" else since + self.cfg.dwell_s))
        if trig == "exit":
            for (xid, z), at in list(self.exits.items()):
                s = tb.slot.get(xid)
                if s is None or not upd[s]:
                    continue
                if t - at > self.cfg.hold_s:
                    del self.exits[(xid, z)]
                    continue
                zone = zs.zones[z]
                if self.kept((xid, zone.id, at), t):
                    continue
                msg = f"{describe(tb.track(s))} left {zone.kind.replace('_', ' ')} zone '{zone.name}' at {hhmmss(at)}"
                hits.append(self.hit((xid, zone.id, at), [s], self.cfg.severity, msg,
                                     {"zone_id": zone.id, "zone_kind": str(zone.kind), "exited_at": at}, start=at))
        elif self.exits:
            self.exits.clear()
        return hits

    def forget(self, slots: list[int], ids: list[str]) -> None:
        gone = set(ids)
        for tid in ids:
            self.inside_since.pop(tid, None)
        for k in [k for k in self.exits if k[0] in gone]:
            del self.exits[k]

    def export(self, s: int, tid: str) -> dict | None:
        zs = self.ctx.zones.zones
        inside = {zs[z].id: t for z, t in self.inside_since.get(tid, {}).items()}
        exits = {zs[z].id: at for (x, z), at in self.exits.items() if x == tid}
        return {"inside": inside, "exits": exits} if inside or exits else None

    def adopt(self, s: int, tid: str, state: dict) -> None:
        index = {z.id: i for i, z in enumerate(self.ctx.zones.zones)}  # zones are matched by id
        inside = {index[z]: float(t) for z, t in dict(state.get("inside") or {}).items()
                  if z in index and self.zone_mask[index[z]] and finite(t)}
        if inside:
            self.inside_since[tid] = inside
        for z, at in dict(state.get("exits") or {}).items():
            if z in index and finite(at):
                self.exits[(tid, index[z])] = float(at)


    def state(self) -> dict[str, Any] | None:
        zs = self.ctx.zones.zones
        return {"inside": [[tid, [[zs[z].id, t] for z, t in st.items()]] for tid, st in self.inside_since.items()],
                "exits": [[tid, zs[z].id, at] for (tid, z), at in self.exits.items()]}

    def load_state(self, state: dict[str, Any]) -> None:
        index = {z.id: i for i, z in enumerate(self.ctx.zones.zones)}  # zones are matched by id
        inside = ((str(tid), {index[z]: float(t) for z, t in st if z in index}) for tid, st in state["inside"])
        self.inside_since = {tid: st for tid, st in inside if st}
        self.exits = {(str(tid), index[z]): float(at) for tid, z, at in state["exits"] if z in index}
