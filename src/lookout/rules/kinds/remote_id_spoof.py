"""Spoofed or inconsistent Remote ID (rule type ``remote_id_spoof``): a broadcast position
that the radar/camera picture contradicts (see :class:`RemoteIdSpoofImpl` for the three checks).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lookout.model import Track
from lookout.rules.alerts import Hit
from lookout.rules.config import RemoteIdSpoofRule
from lookout.rules.rule import Rule, Step, describe, geo_in, geo_out
from lookout.rules.table import finite

_PAIR = {"first", "last", "off", "matches", "confirmed"}


class RemoteIdSpoofImpl(Rule):
    """Independent checks, any one of which is evidence of a spoofed Remote ID:

    1. *offset*: the tracker fused the Remote ID with a radar/camera track and reports how far
       apart they were (``attrs["remote_id_offset_m"]``, or ``attrs["remote_id_position"]`` which
       is compared here); beyond ``sigma_factor`` combined sigmas (and ``min_offset_m``) it is
       inconsistent; and when the tracker flags ``attrs["identity_inconsistent"]`` (its gate
       refused a Remote ID report for the radar/camera track holding that serial);
    2. *jump*: consecutive Remote ID positions of one serial (across tracks, in case the tracker
       split it) imply a speed above ``max_speed_mps`` over at least ``min_jump_m``;
    3. *pair*: a Remote ID-only track and a dark radar/camera drone track that move alike (same
       velocity within ``pair_velocity_tol_mps``) for ``pair_persist_s`` but sit further apart than
       their uncertainty allows: the same object reporting a false position.
    """

    cfg: RemoteIdSpoofRule

    def __init__(self, cfg: RemoteIdSpoofRule, engine: Any) -> None:
        super().__init__(cfg, engine)
        self.last_rid: dict[str, tuple[float, float, float]] = {}  # serial -> (t, x, y)
        self.evidence: dict[str, tuple[float, dict, list[int]]] = {}  # this step: key -> (time, evidence, slots)
        self.inconsistent_since: dict[str, float] = {}  # track id -> offset/gate evidence since
        self.pairs: dict[tuple[str, str], dict] = {}  # (rid track, dark track) -> first, last, offset, confirmed

    def _threshold(self, s1: np.ndarray, s2: np.ndarray) -> np.ndarray:
        cfg = self.cfg
        return np.maximum(cfg.min_offset_m, cfg.sigma_factor * np.hypot(s1, s2))

    def evaluate(self, step: Step) -> list[Hit]:
        cfg, tb, t = self.cfg, self.table, step.time
        sel = self.select(step.slots)
        if len(sel) == 0:
            return self._hits(t, sel)
        # Remote ID heard lately (per-source times from the tracker lag the track time a little)
        rid_fresh = tb.rid_last[sel] >= tb.t[sel] - 3.0
        nc = np.isfinite(tb.noncoop_last[sel])
        rsig = np.where(np.isfinite(tb.rid_sigma[sel]), tb.rid_sigma[sel], cfg.remote_id_sigma_m)
        # 1. offset reported by (or measured from) the tracker's fusion, and 1b. the tracker's own
        # gate (a Remote ID report it refused for the radar/camera track holding that serial);
        # either must hold for persist_s, so one stray report is not a spoof
        off = tb.rid_off[sel]
        thr = self._threshold(tb.sigma[sel], rsig)
        bad = np.isfinite(off) & (off > thr)
        # the gate flag counts only with a real distance behind it (a tracker's covariance can
        # refuse an honest report a few metres off)
        gate = (tb.rid_incons[sel] > 0) & ~bad & np.isfinite(off) & (off > cfg.min_offset_m)
        for k, s in enumerate(sel.tolist()):
            if not (bad[k] or gate[k]):
                if self.inconsistent_since:
                    self.inconsistent_since.pop(tb.track(s).id, None)
                continue
            tr = tb.track(s)
            since = self.inconsistent_since.setdefault(tr.id, float(tb.t[s]))
            if t - since < cfg.persist_s - 1e-9:
                continue
            if bad[k]:
                ev = {"method": "offset", "offset_m": float(off[k]), "threshold_m": float(thr[k])}
                if np.isfinite(tb.rid_x[s]):
                    la, lo = self.ctx.to_geodetic(tb.rid_x[s], tb.rid_y[s])
                    ev["reported_position"] = {"lat": float(la), "lon": float(lo)}
                msg = (f"Remote ID of {describe(tr)} reports a position {off[k]:.0f} m from where radar/camera see "
                       f"it (more than the {thr[k]:.0f} m its uncertainty allows)")
            else:
                ev = {"method": "gate", "offset_m": float(off[k])}
                msg = (f"Remote ID of {describe(tr)} disagrees with the radar/camera track beyond its uncertainty "
                       f"({off[k]:.0f} m apart)")
            ev["inconsistent_since"] = since
            self._note(tr, t, ev, [s], msg, start=since)
        # 2. jumps per serial
        for k, s in enumerate(sel.tolist()):
            if not rid_fresh[k]:
                continue
            tr = tb.track(s)
            serial = tr.identities.get("remote_id")
            if not serial:
                continue
            if np.isfinite(tb.rid_x[s]):
                px, py = float(tb.rid_x[s]), float(tb.rid_y[s])
            elif not nc[k]:
                px, py = float(tb.x[s]), float(tb.y[s])
            else:
                continue
            prev = self.last_rid.get(serial)
            self.last_rid[serial] = (float(tb.t[s]), px, py)
            if prev is None:
                continue
            dt = float(tb.t[s]) - prev[0]
            d = math.hypot(px - prev[1], py - prev[2])
            if d >= cfg.min_jump_m and d > cfg.max_speed_mps * max(dt, 1e-3):
                la, lo = self.ctx.to_geodetic(px, py)
                pla, plo = self.ctx.to_geodetic(prev[1], prev[2])
                ev = {"method": "jump", "jump_m": d, "dt_s": dt, "implied_speed_mps": d / max(dt, 1e-3),
                      "from": {"lat": float(pla), "lon": float(plo), "time": prev[0]},
                      "to": {"lat": float(la), "lon": float(lo), "time": float(tb.t[s])}}
                msg = (f"Remote ID {serial} ({describe(tr)}) jumped {d:.0f} m in {dt:.1f} s "
                       f"({d / max(dt, 1e-3):.0f} m/s, physically impossible)")
                self._note(tr, t, ev, [s], msg)
        # 3. pairing a Remote ID-only track with a dark radar/camera track moving alike
        if cfg.pair:
            self._pair(sel, rid_fresh, nc, t)
        if len(self.last_rid) > 4 * max(len(tb.slot), 256):  # serials long gone
            for serial in [k for k, v in self.last_rid.items() if t - v[0] > 600.0]:
                del self.last_rid[serial]
        return self._hits(t, sel)

    def _pair(self, sel: np.ndarray, rid_fresh: np.ndarray, nc: np.ndarray, t: float) -> None:
        """Pair Remote ID-only tracks with dark radar/camera tracks of the same object.

        A candidate pair: further apart than their uncertainty allows (within ``pair_radius_m``),
        both moving (3-D speed >= ``pair_min_speed_mps``) with 3-D velocities within
        ``pair_velocity_tol_mps``. It is kept while its offset vector stays within
        ``pair_offset_tol_m`` of the first one (noisy velocity steps neither count nor break it)
        and confirmed once it has held ``pair_persist_s`` with three matching updates; a
        confirmed pair holds while the offset does, moving or hovering."""
        cfg, tb = self.cfg, self.table
        rid_only = sel[rid_fresh & ~nc]
        all_live = np.fromiter(tb.slot.values(), dtype=np.intp, count=len(tb.slot))
        live_t = tb.t[all_live]
        dark = all_live[np.isfinite(tb.noncoop_last[all_live]) & ~(tb.rid_last[all_live] >= live_t - 5.0)
                        & self.class_mask[tb.cls[all_live]] & (t - live_t <= 2.0)]
        if len(rid_only) and len(dark):
            dx = tb.x[rid_only, None] - tb.x[None, dark]
            dy = tb.y[rid_only, None] - tb.y[None, dark]
            dist = np.hypot(dx, dy)
            dv = np.sqrt((tb.vx[rid_only, None] - tb.vx[None, dark]) ** 2
                         + (tb.vy[rid_only, None] - tb.vy[None, dark]) ** 2
                         + (tb.vz[rid_only, None] - tb.vz[None, dark]) ** 2)
            sp1 = np.sqrt(tb.vx[rid_only] ** 2 + tb.vy[rid_only] ** 2 + tb.vz[rid_only] ** 2)[:, None]
            sp2 = np.sqrt(tb.vx[dark] ** 2 + tb.vy[dark] ** 2 + tb.vz[dark] ** 2)[None, :]
            rs = np.where(np.isfinite(tb.rid_sigma[rid_only]), tb.rid_sigma[rid_only], cfg.remote_id_sigma_m)
            thr = self._threshold(np.hypot(rs, tb.sigma[rid_only])[:, None], tb.sigma[dark][None, :])
            apart = (dist <= cfg.pair_radius_m) & (dist > thr)
            cand = apart & (dv <= cfg.pair_velocity_tol_mps) & (sp1 >= cfg.pair_min_speed_mps) & (
                sp2 >= cfg.pair_min_speed_mps)
            row = {int(a): i for i, a in enumerate(rid_only.tolist())}
            col = {int(b): j for j, b in enumerate(dark.tolist())}
            for key, p in list(self.pairs.items()):
                a, b = tb.slot.get(key[0]), tb.slot.get(key[1])
                if a not in row or b not in col:
                    continue  # not both updated now
                i, j = row[a], col[b]
                moved = math.hypot(dx[i, j] - p["off"][0], dy[i, j] - p["off"][1])
                if not apart[i, j] or moved > cfg.pair_offset_tol_m:
                    del self.pairs[key]  # the offset moved: not one object after all
                    continue
                p["last"] = t
                p["matches"] += int(cand[i, j])
                if not p["confirmed"] and t - p["first"] >= cfg.pair_persist_s - 1e-9 and p["matches"] >= 3:
                    p["confirmed"] = True
                if p["confirmed"]:
                    ta, tbk = tb.track(a), tb.track(b)
                    ev = {"method": "pair", "offset_m": float(dist[i, j]), "threshold_m": float(thr[i, j]),
                          "velocity_difference_mps": float(dv[i, j]), "paired_track_id": tbk.id,
                          "paired_for_s": t - p["first"]}
                    msg = (f"Remote ID of {describe(ta)} reports a position {dist[i, j]:.0f} m from {describe(tbk)}, "
                           f"which moves the same way, keeping that offset, with no Remote ID: likely the same drone "
                           f"broadcasting a false position")
                    self._note(ta, t, ev, [a, b], msg, start=p["first"])
            for i, j in zip(*np.nonzero(cand)):
                key = (tb.track(int(rid_only[i])).id, tb.track(int(dark[j])).id)
                if key not in self.pairs:
                    self.pairs[key] = {"first": t, "last": t, "off": (float(dx[i, j]), float(dy[i, j])),
                                       "matches": 1, "confirmed": False}
        for k in [k for k, v in self.pairs.items() if t - v["last"] > cfg.pair_gap_s]:
            del self.pairs[k]

    def _note(self, tr: Track, t: float, ev: dict, slots: list[int], msg: str, start: float | None = None) -> None:
        """Record this step's evidence for the track's serial; several checks merge into one."""
        key = tr.identities.get("remote_id") or tr.id
        cur = self.evidence.get(key)
        if cur is None:
            ev["methods"] = [ev["method"]]
            ev["message"] = msg
            self.evidence[key] = (t if start is None else start, ev, list(slots))
            return
        _, old, old_slots = cur
        old["methods"].append(ev["method"])
        old["message"] += "; " + msg
        for k, v in ev.items():
            old.setdefault(k, v)
        old_slots.extend(s for s in slots if s not in old_slots)

    def _hits(self, t: float, sel: np.ndarray) -> list[Hit]:
        """This step's evidence as hits (one per serial); an episode stays open through the
        manager's ``clear_after_s`` after its last evidence."""
        hits = []
        for key, (start, ev, slots) in self.evidence.items():
            e = dict(ev)
            msg = e.pop("message")
            hits.append(self.hit((key,), slots, self.cfg.severity, msg, e, start=start))
        self.evidence.clear()
        return hits

    def forget(self, slots: list[int], ids: list[str]) -> None:
        gone = set(ids)
        for i in ids:
            self.inconsistent_since.pop(i, None)
        for k in [k for k in self.pairs if k[0] in gone or k[1] in gone]:
            del self.pairs[k]

    def export(self, s: int, tid: str) -> dict | None:
        out: dict[str, Any] = {}
        if tid in self.inconsistent_since:
            out["inconsistent_since"] = self.inconsistent_since[tid]
        pairs = [[a, b, dict(p, off=list(p["off"]))] for (a, b), p in self.pairs.items() if tid in (a, b)]
        if pairs:
            out["pairs"] = pairs
        serial = self.table.track(s).identities.get("remote_id")
        last = self.last_rid.get(serial) if serial else None
        if last is not None:
            (pos,) = geo_out(self.ctx, [last[1]], [last[2]])
            out["last_rid"] = [serial, last[0], pos]
        return out or None

    def adopt(self, s: int, tid: str, state: dict) -> None:
        if finite(state.get("inconsistent_since")):
            self.inconsistent_since[tid] = float(state["inconsistent_since"])
        for item in state.get("pairs") or []:
            if (isinstance(item, list) and len(item) == 3 and isinstance(item[2], dict)
                    and _PAIR <= set(item[2])):
                p = dict(item[2])
                p["off"] = (float(p["off"][0]), float(p["off"][1]))
                self.pairs.setdefault((str(item[0]), str(item[1])), p)
        last = state.get("last_rid")
        if isinstance(last, list) and len(last) == 3 and finite(last[1]):
            x, y = geo_in(self.ctx, [last[2]], 1)
            prev = self.last_rid.get(str(last[0]))
            if np.isfinite(x[0]) and (prev is None or prev[0] < last[1]):
                self.last_rid[str(last[0])] = (float(last[1]), float(x[0]), float(y[0]))

    def state(self) -> dict[str, Any] | None:
        return {"last_rid": [[serial, *v] for serial, v in self.last_rid.items()],
                "inconsistent_since": [[tid, t] for tid, t in self.inconsistent_since.items()],
                "pairs": [[a, b, dict(p, off=list(p["off"]))] for (a, b), p in self.pairs.items()]}

    def load_state(self, state: dict[str, Any]) -> None:
        self.last_rid = {str(s): (float(t), float(x), float(y)) for s, t, x, y in state["last_rid"]}
        self.inconsistent_since = {str(tid): float(t) for tid, t in state["inconsistent_since"]}
        self.pairs = {}
        for a, b, p in state["pairs"]:
            if not (isinstance(p, dict) and _PAIR <= set(p)):
                raise ValueError(f"rule {self.name}: bad pair {p!r}")
            self.pairs[(str(a), str(b))] = dict(p, off=(float(p["off"][0]), float(p["off"][1])))
