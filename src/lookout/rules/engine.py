"""The rule engine: track updates in, alert events out.

:class:`RuleEngine` keeps the latest state of every live track in flat numpy arrays (one slot per
track, positions in the sector's ENU frame), so that each rule runs over all the tracks of a step
at once: one vectorised point-in-zone query (shapely ``STRtree``) for all zone rules, array maths
for border offsets, closest-point-of-approach against every agent, loiter windows and Remote ID
checks. Rules return :class:`~lookout.rules.alerts.Hit` records; the
:class:`~lookout.rules.alerts.AlertManager` turns them into deduplicated alert episodes.
"""

from __future__ import annotations

import logging
import math
import time as _time
from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np

from lookout.model import Alert, GeoPoint, ObjectClass, Observation, Severity, Track, TrackUpdates, Zone
from lookout.rules.alerts import AlertEvent, AlertManager, Hit
from lookout.rules.config import (
    ApproachRule,
    BorderCrossingRule,
    LoiterRule,
    OperatorLocatedRule,
    RemoteIdMissingRule,
    RemoteIdSpoofRule,
    RulesConfig,
    ZoneRule,
)
from lookout.rules.context import RuleContext

log = logging.getLogger(__name__)

CLASSES = list(ObjectClass)
CLASS_CODE = {c: i for i, c in enumerate(CLASSES)}
NONCOOP = frozenset({"radar", "camera"})
#: version of :meth:`RuleEngine.export_track` state
HANDOFF_VERSION = 1

_NOUN = {
    ObjectClass.UAS: "drone", ObjectClass.FIXED_WING: "aircraft", ObjectClass.ROTORCRAFT: "helicopter",
    ObjectClass.SURVEILLANCE_AIRCRAFT: "surveillance aircraft", ObjectClass.GROUND_VEHICLE: "vehicle",
    ObjectClass.PERSON: "person", ObjectClass.VESSEL: "vessel", ObjectClass.AGENT: "agent",
    ObjectClass.UNKNOWN: "unknown object",
}


def describe(track: Track) -> str:
    """``drone T-12 (Remote ID 1581F...)``: the class noun, track id and best identity."""
    ids = track.identities or {}
    ident = next(((k, ids[k]) for k in ("callsign", "remote_id", "icao24", "mmsi") if ids.get(k)), None)
    name = {"callsign": "callsign", "remote_id": "Remote ID", "icao24": "ICAO", "mmsi": "MMSI"}
    out = f"{_NOUN.get(track.cls, str(track.cls))} {track.id}"
    return out + (f" ({name[ident[0]]} {ident[1]})" if ident else "")


def hhmmss(t: float) -> str:
    return _time.strftime("%H:%M:%SZ", _time.gmtime(t))


def latlon(lat: float, lon: float) -> str:
    return f"{lat:.5f}, {lon:.5f}"


class TrackTable:
    """Latest state of every live track in flat arrays indexed by slot."""

    def __init__(self, context: RuleContext, capacity: int = 128) -> None:
        self.ctx = context
        self.cap = 0
        self.slot: dict[str, int] = {}
        self.tracks: list[Track | None] = []
        self._free: list[int] = []
        self.generation = np.zeros(0, dtype=np.int64)  # bumps when a slot gets a new track
        self._grow(capacity)

    _FLOAT = ("x", "y", "z", "vx", "vy", "vz", "t", "sigma", "rid_last", "noncoop_last", "rid_off", "rid_x", "rid_y",
              "rid_sigma", "rid_incons")

    def _grow(self, cap: int) -> None:
        old = self.cap
        for name in self._FLOAT:
            a = np.full(cap, np.nan)
            if old:
                a[:old] = getattr(self, name)
            setattr(self, name, a)
        for name, dt in (("cls", np.int16), ("updates", np.int64), ("generation", np.int64)):
            a = np.zeros(cap, dtype=dt)
            if old:
                a[:old] = getattr(self, name)
            setattr(self, name, a)
        self.tracks.extend([None] * (cap - old))
        self._free.extend(range(cap - 1, old - 1, -1))
        self.cap = cap

    def upsert(self, tracks: list[Track]) -> np.ndarray:
        """Store the tracks' latest state; returns their slots (in order)."""
        nan = math.nan
        slot_of, store, free = self.slot, self.tracks, self._free
        fresh: list[int] = []
        # one pass collecting plain Python rows (cheaper than writing numpy scalars one by one)
        rows: list[tuple] = []
        extra: list[tuple[int, Any]] = []  # (row, attrs) of tracks with attrs
        for i, tr in enumerate(tracks):
            s = slot_of.get(tr.id)
            if s is None:
                if not free:
                    self._grow(self.cap * 2)
                    free = self._free
                s = free.pop()
                slot_of[tr.id] = s
                fresh.append(s)
            store[s] = tr
            p, v = tr.position, tr.velocity
            srcs = tr.sources
            rows.append((s, p.lat, p.lon, nan if p.alt_m is None else p.alt_m,
                         v.east if v is not None else 0.0, v.north if v is not None else 0.0,
                         v.up if v is not None else 0.0, tr.time, tr.sigma_h_m, CLASS_CODE[tr.cls],
                         tr.time if "remote_id" in srcs else nan,
                         tr.time if ("radar" in srcs or "camera" in srcs) else nan))
            if tr.attrs:
                extra.append((i, tr.attrs))
        arr = np.array(rows, dtype=float).reshape(len(rows), 12)
        slots = arr[:, 0].astype(np.intp)
        lat, lon, alt, vx, vy, vz, t, sig = (arr[:, k] for k in range(1, 9))
        cls = arr[:, 9].astype(np.int16)
        rid_now, nc_now = arr[:, 10].copy(), arr[:, 11].copy()
        if fresh:
            f = np.array(fresh, dtype=np.intp)
            self.generation[f] += 1
            self.rid_last[f] = self.noncoop_last[f] = np.nan
            self.updates[f] = 0
        n = len(rows)
        rid_off, rid_sig, incons = np.full(n, np.nan), np.full(n, np.nan), np.zeros(n)
        rid_pos_i, rid_lat, rid_lon = [], [], []
        for i, attrs in extra:
            st = attrs.get("source_times")
            if isinstance(st, dict):  # per-source last-seen times beat the cumulative source list
                r = st.get("remote_id")
                rid_now[i] = r if _num(r) else np.nan
                ncs = [st[k] for k in NONCOOP if _num(st.get(k))]
                nc_now[i] = max(ncs) if ncs else np.nan
            off = attrs.get("remote_id_offset_m")
            if _num(off):
                rid_off[i] = off
            if attrs.get("identity_inconsistent") is True:
                incons[i] = 1.0
            rs = attrs.get("remote_id_sigma_m")
            if _num(rs) and rs > 0:
                rid_sig[i] = rs
            rp = attrs.get("remote_id_position")
            if isinstance(rp, dict) and _num(rp.get("lat")) and _num(rp.get("lon")):
                rid_pos_i.append(i)
                rid_lat.append(float(rp["lat"]))
                rid_lon.append(float(rp["lon"]))
        e, nn = self.ctx.to_enu(lat, lon)
        self.x[slots], self.y[slots] = e, nn
        self.vx[slots], self.vy[slots], self.t[slots], self.sigma[slots], self.cls[slots] = vx, vy, t, sig, cls
        self.z[slots], self.vz[slots] = alt, vz  # z: height above the ellipsoid (m), NaN when unknown
        self.updates[slots] += 1
        have = ~np.isnan(rid_now)
        self.rid_last[slots[have]] = np.fmax(self.rid_last[slots[have]], rid_now[have])
        have = ~np.isnan(nc_now)
        self.noncoop_last[slots[have]] = np.fmax(self.noncoop_last[slots[have]], nc_now[have])
        self.rid_off[slots] = rid_off
        self.rid_sigma[slots] = rid_sig
        self.rid_incons[slots] = incons  # 1: the tracker's gate rejected the identity report
        self.rid_x[slots] = np.nan
        self.rid_y[slots] = np.nan
        if rid_pos_i:
            rx, ry = self.ctx.to_enu(np.array(rid_lat), np.array(rid_lon))
            idx = slots[np.array(rid_pos_i)]
            self.rid_x[idx], self.rid_y[idx] = rx, ry
            # the tracker gave the Remote ID position but not the offset: measure it here
            miss = idx[np.isnan(self.rid_off[idx])]
            self.rid_off[miss] = np.hypot(self.rid_x[miss] - self.x[miss], self.rid_y[miss] - self.y[miss])
        return slots

    def remove(self, ids: Iterable[str]) -> list[int]:
        freed = []
        for tid in ids:
            s = self.slot.pop(tid, None)
            if s is not None:
                self.tracks[s] = None
                self._free.append(s)
                freed.append(s)
        return freed

    def track(self, s: int) -> Track:
        tr = self.tracks[s]
        assert tr is not None
        return tr

    def geo(self, s: int) -> GeoPoint:
        p = self.track(s).position
        return GeoPoint(p.lat, p.lon, p.alt_m)


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _out(v: Any) -> float | None:
    """A float for exported rule state: None for NaN/infinity (state travels as JSON)."""
    v = float(v)
    return v if math.isfinite(v) else None


def _in(v: Any, default: float = math.nan) -> float:
    """An exported float back: ``default`` for None or anything not a finite number."""
    return float(v) if _num(v) else default


def _geo_out(ctx: "RuleContext", x: np.ndarray, y: np.ndarray) -> list[list[float] | None]:
    """ENU points as ``[lat, lon]`` (None where not finite): frame-free, for exported state."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    out: list[list[float] | None] = [None] * len(x)
    if ok.any():
        lat, lon = ctx.to_geodetic(x[ok], y[ok])
        for k, a, b in zip(np.flatnonzero(ok).tolist(), np.atleast_1d(lat).tolist(), np.atleast_1d(lon).tolist()):
            out[k] = [a, b]
    return out


def _geo_in(ctx: "RuleContext", pts: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``[lat, lon]`` points (None allowed) back to ENU arrays of length ``n`` (NaN where none)."""
    x, y = np.full(n, np.nan), np.full(n, np.nan)
    if not isinstance(pts, list) or len(pts) != n:
        return x, y
    idx = [k for k, p in enumerate(pts) if isinstance(p, list) and len(p) == 2 and _num(p[0]) and _num(p[1])]
    if idx:
        e, nn = ctx.to_enu(np.array([pts[k][0] for k in idx], dtype=float), np.array([pts[k][1] for k in idx], dtype=float))
        x[idx], y[idx] = e, nn
    return x, y


class Step:
    """Per-step shared work (computed once, used by every rule)."""

    def __init__(self, engine: "RuleEngine", time: float, slots: np.ndarray) -> None:
        self.engine, self.time, self.slots = engine, time, slots
        self._inside: tuple[np.ndarray, np.ndarray] | None = None

    def inside(self) -> tuple[np.ndarray, np.ndarray]:
        """(slot, zone index) pairs of every updated track inside a zone: one STRtree query."""
        if self._inside is None:
            tb = self.engine.table
            pi, zi = self.engine.context.zones.inside_pairs(tb.x[self.slots], tb.y[self.slots])
            self._inside = (self.slots[pi], zi)
        return self._inside


class Rule:
    """Base of the rule implementations: class filter and per-slot state hooks."""

    def __init__(self, cfg: Any, engine: "RuleEngine") -> None:
        self.cfg, self.engine, self.name = cfg, engine, cfg.name
        mask = np.zeros(len(CLASSES), dtype=bool)
        for c in (cfg.classes if cfg.classes is not None else CLASSES):
            mask[CLASS_CODE[ObjectClass(c)]] = True
        self.class_mask = mask

    @property
    def table(self) -> TrackTable:
        return self.engine.table

    @property
    def ctx(self) -> RuleContext:
        return self.engine.context

    def select(self, slots: np.ndarray) -> np.ndarray:
        tb = self.table
        keep = self.class_mask[tb.cls[slots]]
        if self.cfg.min_track_updates:
            keep &= tb.updates[slots] >= self.cfg.min_track_updates
        return slots[keep]

    def evaluate(self, step: Step) -> list[Hit]:  # pragma: no cover - abstract
        raise NotImplementedError

    def forget(self, slots: list[int], ids: list[str]) -> None:
        """Tracks deleted: drop their state."""

    def export(self, s: int, tid: str) -> dict | None:
        """This rule's state of track ``tid`` (slot ``s``) as JSON-able data, positions as
        latitude/longitude; None when the rule holds none (see :meth:`RuleEngine.export_track`)."""
        return None

    def adopt(self, s: int, tid: str, state: dict) -> None:
        """Take over what :meth:`export` gave for ``tid``, now in slot ``s`` of this engine."""

    def kept(self, key_extra: tuple, t: float, severity: Severity | None = None) -> bool:
        """True when the open episode ``key_extra`` was just kept alive (no update due): the rule
        then needs no hit. False: send a full hit."""
        return self.engine.alerts.keep_alive((self.name, *key_extra), t, self.cfg.update_interval_s, severity)

    def hit(self, key_extra: tuple, slots: list[int], severity: Severity, message: str, evidence: dict,
            position: GeoPoint | None = None, start: float | None = None) -> Hit:
        tb = self.table
        trs = [tb.track(s) for s in slots]
        ev = {"track_ids": [t.id for t in trs],
              "positions": [{"track_id": t.id, "time": t.time, "lat": t.position.lat, "lon": t.position.lon,
                             "alt_m": t.position.alt_m} for t in trs]}
        ev.update(evidence)
        return Hit(key=(self.name, *key_extra), track_ids=[t.id for t in trs], severity=severity, message=message,
                   position=position or tb.geo(slots[0]), evidence=ev, labels=[t.label for t in trs], start=start)


# -- zone entry / exit / dwell -----------------------------------------------------------------

class ZoneRuleImpl(Rule):
    cfg: ZoneRule

    def __init__(self, cfg: ZoneRule, engine: "RuleEngine") -> None:
        super().__init__(cfg, engine)
        self.state: dict[str, dict[int, float]] = {}  # track id -> zone index -> entered at
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
        self.state.clear()
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
        for tid, st in self.state.items():
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
            st = self.state.get(tid, {})
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
                self.state[tid] = st
            else:
                self.state.pop(tid, None)
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
            self.state.pop(tid, None)
        for k in [k for k in self.exits if k[0] in gone]:
            del self.exits[k]

    def export(self, s: int, tid: str) -> dict | None:
        zs = self.ctx.zones.zones
        inside = {zs[z].id: t for z, t in self.state.get(tid, {}).items()}
        exits = {zs[z].id: at for (x, z), at in self.exits.items() if x == tid}
        return {"inside": inside, "exits": exits} if inside or exits else None

    def adopt(self, s: int, tid: str, state: dict) -> None:
        index = {z.id: i for i, z in enumerate(self.ctx.zones.zones)}  # zones are matched by id
        inside = {index[z]: float(t) for z, t in dict(state.get("inside") or {}).items()
                  if z in index and self.zone_mask[index[z]] and _num(t)}
        if inside:
            self.state[tid] = inside
        for z, at in dict(state.get("exits") or {}).items():
            if z in index and _num(at):
                self.exits[(tid, index[z])] = float(at)


# -- border crossing -------------------------------------------------------------------------------

class BorderCrossingImpl(Rule):
    cfg: BorderCrossingRule

    def __init__(self, cfg: BorderCrossingRule, engine: "RuleEngine") -> None:
        super().__init__(cfg, engine)
        self._gen = np.zeros(0, dtype=np.int64)
        self._cap = 0
        self.crossings: dict[int, dict] = {}  # slot -> last crossing

    def _ensure(self) -> None:
        cap = self.table.cap
        if cap == self._cap:
            return
        def grow(a, fill, dt=float):
            b = np.full(cap, fill, dtype=dt)
            b[: len(a)] = a
            return b
        self.side = grow(getattr(self, "side", np.zeros(0, np.int8)), 0, np.int8)
        self.n_cross = grow(getattr(self, "n_cross", np.zeros(0, np.int64)), 0, np.int64)
        for name in ("last_off", "last_t", "last_x", "last_y", "zero_t", "zero_x", "zero_y"):
            setattr(self, name, grow(getattr(self, name, np.zeros(0)), np.nan))
        self._gen = grow(self._gen, 0, np.int64)
        self._cap = cap

    def evaluate(self, step: Step) -> list[Hit]:
        self._ensure()
        tb, t = self.table, step.time
        sel = self.select(step.slots)
        if len(sel) == 0:
            return []
        fresh = self._gen[sel] != tb.generation[sel]
        if fresh.any():
            f = sel[fresh]
            self._gen[f] = tb.generation[f]
            self.side[f] = 0
            self.n_cross[f] = 0
            for name in ("last_off", "last_t", "last_x", "last_y", "zero_t", "zero_x", "zero_y"):
                getattr(self, name)[f] = np.nan
            for s in f.tolist():
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
        self._ensure()
        if self._gen[s] != self.table.generation[s]:
            return None  # never evaluated here
        last, zero = _geo_out(self.ctx, [self.last_x[s], self.zero_x[s]], [self.last_y[s], self.zero_y[s]])
        return {"side": int(self.side[s]), "n": int(self.n_cross[s]), "last_off": _out(self.last_off[s]),
                "last_t": _out(self.last_t[s]), "last": last, "zero_t": _out(self.zero_t[s]), "zero": zero,
                "crossing": self.crossings.get(s)}

    def adopt(self, s: int, tid: str, state: dict) -> None:
        self._ensure()
        self._gen[s] = self.table.generation[s]
        side = state.get("side")
        self.side[s] = side if side in (-1, 0, 1) else 0
        self.n_cross[s] = state["n"] if isinstance(state.get("n"), int) and state["n"] >= 0 else 0
        self.last_off[s], self.last_t[s], self.zero_t[s] = (_in(state.get(k)) for k in ("last_off", "last_t", "zero_t"))
        x, y = _geo_in(self.ctx, [state.get("last"), state.get("zero")], 2)
        self.last_x[s], self.zero_x[s], self.last_y[s], self.zero_y[s] = x[0], x[1], y[0], y[1]
        c = state.get("crossing")
        if isinstance(c, dict) and {"n", "direction", "time", "lat", "lon", "detected"} <= set(c):
            self.crossings[s] = dict(c)
        else:
            self.crossings.pop(s, None)


# -- drones closing on personnel -------------------------------------------------------------------

class ApproachImpl(Rule):
    cfg: ApproachRule

    def __init__(self, cfg: ApproachRule, engine: "RuleEngine") -> None:
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
        was = np.array([tb.track(s).id in self.active for s in sel.tolist()]) if self.active else np.zeros(len(sel), bool)
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


# -- loitering / orbiting ---------------------------------------------------------------------------

class LoiterImpl(Rule):
    cfg: LoiterRule

    def __init__(self, cfg: LoiterRule, engine: "RuleEngine") -> None:
        super().__init__(cfg, engine)
        self.n = int(math.ceil(cfg.window_s / cfg.sample_s)) + 1
        self._cap = 0
        self.active: dict[int, dict] = {}  # slot -> last finding

    def _ensure(self) -> None:
        cap = self.table.cap
        if cap == self._cap:
            return
        def grow(a, fill, shape, dt=float):
            b = np.full(shape, fill, dtype=dt)
            b[: len(a)] = a
            return b
        n = self.n
        self.hx = grow(getattr(self, "hx", np.zeros((0, n))), np.nan, (cap, n))
        self.hy = grow(getattr(self, "hy", np.zeros((0, n))), np.nan, (cap, n))
        self.ht = grow(getattr(self, "ht", np.zeros((0, n))), np.nan, (cap, n))
        self.hc = grow(getattr(self, "hc", np.zeros((0, n))), np.nan, (cap, n))
        self.head = grow(getattr(self, "head", np.zeros(0, np.int64)), 0, (cap,), np.int64)
        self.last_sample = grow(getattr(self, "last_sample", np.zeros(0)), -np.inf, (cap,))
        self._gen = grow(getattr(self, "_gen", np.zeros(0, np.int64)), 0, (cap,), np.int64)
        self._cap = cap

    def evaluate(self, step: Step) -> list[Hit]:
        self._ensure()
        cfg, tb, t = self.cfg, self.table, step.time
        sel = self.select(step.slots)
        if len(sel) == 0:
            return []
        fresh = self._gen[sel] != tb.generation[sel]
        if fresh.any():
            f = sel[fresh]
            self._gen[f] = tb.generation[f]
            for a in (self.hx, self.hy, self.ht, self.hc):
                a[f] = np.nan
            self.head[f] = 0
            self.last_sample[f] = -np.inf
            for s in f.tolist():
                self.active.pop(s, None)
        # sample every sample_s of track time on a per-slot phase (golden-ratio spread), so a few
        # tracks are judged together and many tracks spread over the steps of a period
        phase = ((sel * 0.6180339887) % 1.0) * cfg.sample_s
        tick = np.floor((tb.t[sel] + phase) / cfg.sample_s + 1e-9)
        due = sel[tick > np.floor((self.last_sample[sel] + phase) / cfg.sample_s + 1e-9)]
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
        self._ensure()
        if self._gen[s] != self.table.generation[s]:
            return None
        a = self.active.get(s)
        return {"n": self.n, "head": int(self.head[s]), "last_sample": _out(self.last_sample[s]),
                "points": _geo_out(self.ctx, self.hx[s], self.hy[s]),
                "t": [_out(v) for v in self.ht[s].tolist()], "course": [_out(v) for v in self.hc[s].tolist()],
                "active": None if a is None else dict(a, centre=list(a["centre"]))}

    def adopt(self, s: int, tid: str, state: dict) -> None:
        self._ensure()
        self._gen[s] = self.table.generation[s]
        n = self.n
        t, course = state.get("t"), state.get("course")
        if state.get("n") != n or not (isinstance(t, list) and isinstance(course, list) and len(t) == len(course) == n):
            return  # another window or sampling: the history starts afresh
        self.hx[s], self.hy[s] = _geo_in(self.ctx, state.get("points"), n)
        self.ht[s] = [_in(v) for v in t]
        self.hc[s] = [_in(v) for v in course]
        head = state.get("head")
        self.head[s] = head if isinstance(head, int) and 0 <= head < n else 0
        self.last_sample[s] = _in(state.get("last_sample"), -np.inf)
        a = state.get("active")
        if isinstance(a, dict) and isinstance(a.get("centre"), list) and len(a["centre"]) == 2:
            self.active[s] = dict(a, centre=(float(a["centre"][0]), float(a["centre"][1])))


# -- Remote ID compliance ----------------------------------------------------------------------------

class RemoteIdMissingImpl(Rule):
    cfg: RemoteIdMissingRule

    def __init__(self, cfg: RemoteIdMissingRule, engine: "RuleEngine") -> None:
        super().__init__(cfg, engine)
        self.dark_since: dict[str, float] = {}
        self.noncoop = {str(s) for s in cfg.noncoop_sources}

    def evaluate(self, step: Step) -> list[Hit]:
        cfg, tb, t = self.cfg, self.table, step.time
        sel = self.select(step.slots)
        if len(sel) == 0:
            return []
        tt = tb.t[sel]
        rid_ok = np.isfinite(tb.rid_last[sel]) & (tt - tb.rid_last[sel] <= cfg.grace_s)
        seen = np.isfinite(tb.noncoop_last[sel])
        if self.noncoop != NONCOOP:  # a custom set of non-cooperative sources: check membership
            seen = np.array([bool(self.noncoop.intersection(tb.track(s).sources)) for s in sel.tolist()])
        dark = seen & ~rid_ok
        hits = []
        for s, is_dark in zip(sel.tolist(), dark.tolist()):
            tr = tb.track(s)
            if not is_dark:
                self.dark_since.pop(tr.id, None)
                continue
            since = self.dark_since.setdefault(tr.id, float(tb.t[s]))
            if t - since < cfg.after_s:
                continue
            if self.kept((tr.id,), t):
                continue
            srcs = sorted(set(tr.sources) & self.noncoop) or sorted(self.noncoop)
            msg = (f"{describe(tr)} seen by {' and '.join(srcs)} with no Remote ID for {t - since:.0f} s "
                   f"(at {latlon(tr.position.lat, tr.position.lon)})")
            hits.append(self.hit((tr.id,), [s], cfg.severity, msg,
                                 {"dark_since": since, "dark_for_s": t - since, "sources": sorted(set(tr.sources))}))
        return hits

    def forget(self, slots: list[int], ids: list[str]) -> None:
        for i in ids:
            self.dark_since.pop(i, None)

    def export(self, s: int, tid: str) -> dict | None:
        since = self.dark_since.get(tid)
        return None if since is None else {"dark_since": since}

    def adopt(self, s: int, tid: str, state: dict) -> None:
        if _num(state.get("dark_since")):
            self.dark_since[tid] = float(state["dark_since"])


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

    def __init__(self, cfg: RemoteIdSpoofRule, engine: "RuleEngine") -> None:
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
                if not apart[i, j] or math.hypot(dx[i, j] - p["off"][0], dy[i, j] - p["off"][1]) > cfg.pair_offset_tol_m:
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
            (pos,) = _geo_out(self.ctx, [last[1]], [last[2]])
            out["last_rid"] = [serial, last[0], pos]
        return out or None

    def adopt(self, s: int, tid: str, state: dict) -> None:
        if _num(state.get("inconsistent_since")):
            self.inconsistent_since[tid] = float(state["inconsistent_since"])
        for item in state.get("pairs") or []:
            if (isinstance(item, list) and len(item) == 3 and isinstance(item[2], dict)
                    and {"first", "last", "off", "matches", "confirmed"} <= set(item[2])):
                p = dict(item[2])
                p["off"] = (float(p["off"][0]), float(p["off"][1]))
                self.pairs.setdefault((str(item[0]), str(item[1])), p)
        last = state.get("last_rid")
        if isinstance(last, list) and len(last) == 3 and _num(last[1]):
            x, y = _geo_in(self.ctx, [last[2]], 1)
            prev = self.last_rid.get(str(last[0]))
            if np.isfinite(x[0]) and (prev is None or prev[0] < last[1]):
                self.last_rid[str(last[0])] = (float(last[1]), float(x[0]), float(y[0]))


_IMPLS = {
    "zone": ZoneRuleImpl, "border_crossing": BorderCrossingImpl, "approach": ApproachImpl, "loiter": LoiterImpl,
    "remote_id_missing": RemoteIdMissingImpl, "remote_id_spoof": RemoteIdSpoofImpl,
}


class RuleEngine:
    """Evaluate configured rules over track updates; episodes and lifecycle in :attr:`alerts`."""

    def __init__(self, rules_config: RulesConfig, context: RuleContext, alerts: AlertManager | None = None) -> None:
        self.config = rules_config
        self.context = context
        self.alerts = alerts or AlertManager()
        self.table = TrackTable(context)
        self.rules: list[Rule] = []
        self.operator_rule: OperatorLocatedRule | None = None
        for cfg in rules_config.rules:
            if not cfg.enabled:
                continue
            if isinstance(cfg, OperatorLocatedRule):
                self.operator_rule = cfg
                continue
            self.rules.append(_IMPLS[cfg.type](cfg, self))
        self._clear = {r.name: r.cfg.clear_after_s for r in self.rules}
        self._interval = {r.name: r.cfg.update_interval_s for r in self.rules}
        self.steps = 0
        self.last_step_s = 0.0
        self.rule_errors: Counter = Counter()  # rule name -> evaluations that raised (logged)
        self.webhooks: list = []  # WebhookSenders subscribed from the rules file (close() them)
        #: a store whose zones the engine follows (see :meth:`sync_zones`)
        self.zone_store: Any | None = None
        self.zone_refresh_s = 10.0
        self._zone_sig = {(z.id, z.version) for z in context.zones.zones}
        self._zones_checked = -math.inf

    # -- inputs ----------------------------------------------------------------------------------
    def observe(self, observations: Iterable[Observation]) -> int:
        """Take agent positions (blue-force fixes, reporters) from a step's observations."""
        return self.context.update_agents(observations)

    def set_zones(self, zones: Iterable[Zone]) -> None:
        """Swap the zones (a new version was loaded); zone rules restart their in/out state.
        Raises ValueError (and keeps the old zones) when a rule names a zone id that is missing."""
        zones = list(zones)
        known = {z.id for z in zones}
        for r in self.rules:
            if isinstance(r, ZoneRuleImpl):
                missing = [z for z in r.cfg.zones if z not in known]
                if missing:
                    raise ValueError(f"rule {r.name!r} names unknown zone ids {missing}; known: {sorted(known)}")
        self.context.set_zones(zones)
        self._zone_sig = {(z.id, z.version) for z in zones}
        for r in self.rules:
            if isinstance(r, ZoneRuleImpl):
                r.rebuild_zones()

    def sync_zones(self) -> bool:
        """Pick up zone changes from :attr:`zone_store` (new versions, additions, deletions);
        True when the zones changed. ``evaluate`` calls it every ``zone_refresh_s`` of track time."""
        if self.zone_store is None:
            return False
        zones = self.zone_store.zones()
        if {(z.id, z.version) for z in zones} == self._zone_sig:
            return False
        try:
            self.set_zones(zones)
        except ValueError as exc:
            log.warning("zones from the store not applied: %s", exc)
            return False
        return True

    def subscribe(self, fn) -> Any:
        return self.alerts.subscribe(fn)

    # -- a track moving to another engine (sector handoff) ----------------------------------------
    def export_track(self, track_id: str) -> dict[str, Any]:
        """What this engine knows of one track, as JSON-able data (positions as latitude/longitude):
        its counters, each rule's state (zone entry times, border side and crossing count, loiter
        history, Remote ID timers) and its open alert episodes. Another engine takes it over with
        :meth:`adopt_track`, so the track's alerts and half-built findings continue there instead
        of ending here and starting afresh there. The track stays here (see :meth:`release_track`)."""
        out: dict[str, Any] = {"version": HANDOFF_VERSION, "episodes": self.alerts.export_track(track_id)}
        tb = self.table
        s = tb.slot.get(track_id)
        if s is not None:
            out["table"] = {"updates": int(tb.updates[s]), "rid_last": _out(tb.rid_last[s]),
                            "noncoop_last": _out(tb.noncoop_last[s])}
            rules: dict[str, Any] = {}
            for r in self.rules:
                try:
                    st = r.export(s, track_id)
                except Exception:  # noqa: BLE001 - the track moves on without this rule's state
                    log.exception("rule %s: state of %s not exported", r.name, track_id)
                    continue
                if st is not None:
                    rules[r.name] = st
            out["rules"] = rules
        return out

    def release_track(self, track_id: str) -> None:
        """Drop a track that continues in another engine: its state and open episodes go without
        ending them (no ``end`` event)."""
        self.__dict__.get("_adopted", {}).pop(track_id, None)
        self.alerts.release_track(track_id)
        freed = self.table.remove([track_id])
        for r in self.rules:
            r.forget(freed, [track_id])

    def adopt_track(self, track_id: str, state: Any) -> list[Alert]:
        """Take over a track's state from :meth:`export_track` of another engine; returns the
        alerts of the episodes taken over (they continue here under their ids). The rules' state
        is restored when the track first reaches :meth:`evaluate`. A malformed state is logged
        and left out, whole or in part (never raised: the track is tracked either way)."""
        if not isinstance(state, dict) or state.get("version") != HANDOFF_VERSION:
            log.warning("rule state of handed-over track %s not adopted: not a version-%d state",
                        track_id, HANDOFF_VERSION)
            return []
        alerts = self.alerts.adopt_episodes(track_id, state.get("episodes"))
        if isinstance(state.get("table"), dict) or isinstance(state.get("rules"), dict):
            self.__dict__.setdefault("_adopted", {})[track_id] = state
        return alerts

    def _restore(self, tracks: list[Track], slots: np.ndarray) -> None:
        """Apply the adopted state of tracks now in the table (fresh slots)."""
        adopted = self._adopted
        tb = self.table
        for tr, s in zip(tracks, slots.tolist()):
            st = adopted.pop(tr.id, None)
            if st is None:
                continue
            t = st.get("table")
            if isinstance(t, dict):
                if isinstance(t.get("updates"), int) and t["updates"] > 0:
                    tb.updates[s] += t["updates"]
                tb.rid_last[s] = np.fmax(tb.rid_last[s], _in(t.get("rid_last")))
                tb.noncoop_last[s] = np.fmax(tb.noncoop_last[s], _in(t.get("noncoop_last")))
            rules = st.get("rules") if isinstance(st.get("rules"), dict) else {}
            for r in self.rules:
                rs = rules.get(r.name)
                if not isinstance(rs, dict):
                    continue
                try:
                    r.adopt(s, tr.id, rs)
                except Exception:  # noqa: BLE001 - a bad state restarts this rule for the track
                    log.exception("rule %s: state of handed-over track %s not adopted", r.name, tr.id)

    def close(self, timeout_s: float = 5.0) -> None:
        """Flush and stop the webhook senders."""
        for w in self.webhooks:
            w.close(timeout_s)

    # -- the step ----------------------------------------------------------------------------------
    def evaluate(self, updates: TrackUpdates) -> list[AlertEvent]:
        t0 = _time.perf_counter()
        t = updates.time
        self.context.time = t
        if self.zone_store is not None and t - self._zones_checked >= self.zone_refresh_s:
            self._zones_checked = t
            self.sync_zones()
        by_id: dict[str, Track] = {}
        for tr in list(updates.confirmed) + list(updates.updated):
            if tr.cls == ObjectClass.AGENT:
                v = tr.velocity
                self.context.update_agent(tr.identities.get("callsign") or tr.id, tr.time, tr.position.lat,
                                          tr.position.lon, v.east if v else 0.0, v.north if v else 0.0,
                                          tr.position.alt_m)
                continue
            by_id[tr.id] = tr
        deleted = {tr.id for tr in updates.deleted}
        for tid in deleted:
            by_id.pop(tid, None)
        tracks = list(by_id.values())
        slots = self.table.upsert(tracks) if tracks else np.empty(0, dtype=np.intp)
        adopted = self.__dict__.get("_adopted")
        if adopted:
            for tid in deleted:
                adopted.pop(tid, None)
            if tracks:
                self._restore(tracks, slots)
        step = Step(self, t, slots)
        hits: list[Hit] = []
        for r in self.rules:
            try:
                hits.extend(r.evaluate(step))
            except Exception:  # noqa: BLE001 - one failing rule never stops the others or the pipeline
                self.rule_errors[r.name] += 1
                if self.rule_errors[r.name] <= 5:
                    log.exception("rule %s failed at t=%s", r.name, t)
        if self.operator_rule is not None and hits:
            self._attach_operators(hits)
        events = self.alerts.apply(t, hits, set(by_id), deleted, self._clear, self._interval)
        if deleted:
            freed = self.table.remove(deleted)
            ids = list(deleted)
            for r in self.rules:
                r.forget(freed, ids)
        self.steps += 1
        self.last_step_s = _time.perf_counter() - t0
        return events

    def _attach_operators(self, hits: list[Hit]) -> None:
        only = set(self.operator_rule.rules)
        sc, tb = self.context.sector, self.table
        for h in hits:
            if only and h.key[0] not in only:
                continue
            for tid in h.track_ids:
                s = tb.slot.get(tid)
                tr = tb.tracks[s] if s is not None else None
                if tr is None or tr.operator is None:
                    continue
                op = tr.operator
                ox, oy = self.context.to_enu(op.lat, op.lon)
                side = self.context.side(float(self.context.border_offset(np.array([ox]), np.array([oy]))[0]))
                d = math.hypot(ox - tb.x[s], oy - tb.y[s])
                h.operator = GeoPoint(op.lat, op.lon, op.alt_m)
                h.evidence["operator"] = {"track_id": tid, "lat": op.lat, "lon": op.lon, "country_side": side,
                                          "distance_to_drone_m": d,
                                          "remote_id": tr.identities.get("remote_id")}
                h.message += f"; operator located at {latlon(op.lat, op.lon)} ({side} side, {d:.0f} m from the drone)"
                if side != sc.north_country:
                    h.evidence["operator"]["across_border"] = True
                break
