"""The rules' track table: the latest state of every live track in flat numpy arrays.

One slot per track, positions in the sector's ENU frame, so that each rule runs over all the
tracks of a step at once. Rules keep their own per-track state beside it, indexed by the same
slots; :attr:`TrackTable.generation` tells them when a slot was given to a new track.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import orjson

from lookout.model import GeoPoint, ObjectClass, Track
from lookout.rules.context import RuleContext

CLASSES = list(ObjectClass)
CLASS_CODE = {c: i for i, c in enumerate(CLASSES)}
#: the non-cooperative source kinds (no identity broadcast)
NONCOOP = frozenset({"radar", "camera"})


def finite(v: Any) -> bool:
    """True for an int or float (not a bool) that is finite."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def floats_out(a: Any) -> list[float | str | None]:
    """Floats exactly as JSON allows them: NaN as None, infinities as ``"inf"`` / ``"-inf"``."""
    arr = np.asarray(a, dtype=float)
    vals = arr.tolist()
    if np.isfinite(arr).all():
        return vals
    return [v if math.isfinite(v) else (None if math.isnan(v) else ("inf" if v > 0 else "-inf")) for v in vals]


def floats_in(vals: Any, n: int | None = None) -> np.ndarray:
    """:func:`floats_out` back to a float array (of length ``n`` when given); raises ValueError
    for anything else."""
    if not isinstance(vals, list) or (n is not None and len(vals) != n):
        raise ValueError(f"expected a list of {n if n is not None else 'some'} numbers")
    out = np.empty(len(vals))
    for k, v in enumerate(vals):
        if v is None:
            out[k] = np.nan
        elif v in ("inf", "-inf") or finite(v):
            out[k] = float(v)
        else:
            raise ValueError(f"not a number: {v!r}")
    return out


def _as_json(records: list[Any]) -> Any:
    """Records (dataclasses) as plain JSON data, as their ``to_dict`` gives them but with enums as
    their values (orjson serialises the dataclasses natively, many times faster than asdict)."""
    def default(v: Any) -> Any:
        return sorted(v) if isinstance(v, (set, frozenset)) else str(v)

    return orjson.loads(orjson.dumps(records, default=default, option=orjson.OPT_SERIALIZE_NUMPY))


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
    _INT = (("cls", np.int16), ("updates", np.int64), ("generation", np.int64))

    def _grow(self, cap: int) -> None:
        old = self.cap
        for name in self._FLOAT:
            a = np.full(cap, np.nan)
            if old:
                a[:old] = getattr(self, name)
            setattr(self, name, a)
        for name, dt in self._INT:
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
                rid_now[i] = r if finite(r) else np.nan
                ncs = [st[k] for k in NONCOOP if finite(st.get(k))]
                nc_now[i] = max(ncs) if ncs else np.nan
            off = attrs.get("remote_id_offset_m")
            if finite(off):
                rid_off[i] = off
            if attrs.get("identity_inconsistent") is True:
                incons[i] = 1.0
            rs = attrs.get("remote_id_sigma_m")
            if finite(rs) and rs > 0:
                rid_sig[i] = rs
            rp = attrs.get("remote_id_position")
            if isinstance(rp, dict) and finite(rp.get("lat")) and finite(rp.get("lon")):
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

    def live_slots(self) -> np.ndarray:
        """The slots of the live tracks, in the order they were given out."""
        return np.fromiter(self.slot.values(), dtype=np.intp, count=len(self.slot))

    # -- checkpoint (the whole table, exactly; see lookout.rules.checkpoint) -------------------
    def state(self) -> dict[str, Any]:
        live = self.live_slots()
        return {"cap": self.cap, "ids": list(self.slot), "slots": live.tolist(), "free": list(self._free),
                "generation": self.generation.tolist(),
                "tracks": _as_json([self.track(s) for s in live.tolist()]),
                "float": {name: floats_out(getattr(self, name)[live]) for name in self._FLOAT},
                "int": {name: getattr(self, name)[live].tolist() for name, _ in self._INT if name != "generation"}}

    def load_state(self, st: dict[str, Any]) -> None:
        """Take over :meth:`state` (of a table in the same frame); raises on a malformed state."""
        cap, ids, slots, free = int(st["cap"]), list(st["ids"]), [int(s) for s in st["slots"]], st["free"]
        if len(ids) != len(slots) or len(set(slots)) != len(slots) or set(slots) & set(free) \
                or len(slots) + len(free) != cap or not all(0 <= s < cap for s in slots + free):
            raise ValueError("track table slots do not add up")
        gen = np.asarray(st["generation"], dtype=np.int64)
        if gen.shape != (cap,):
            raise ValueError(f"track table generation: expected {cap} numbers")
        tracks = [Track.from_dict(d) for d in st["tracks"]]
        if [t.id for t in tracks] != ids:
            raise ValueError("track table: tracks and ids differ")
        self.cap, self.tracks, self.slot, self._free = 0, [], {}, []
        self._grow(cap)
        self._free = [int(s) for s in free]
        self.slot = dict(zip(ids, slots))
        live = np.array(slots, dtype=np.intp)
        for tr, s in zip(tracks, slots):
            self.tracks[s] = tr
        for name in self._FLOAT:
            getattr(self, name)[live] = floats_in(st["float"][name], len(slots))
        for name, _ in self._INT:
            if name != "generation":
                vals = st["int"][name]
                if not isinstance(vals, list) or len(vals) != len(slots):
                    raise ValueError(f"track table {name}: expected {len(slots)} numbers")
                getattr(self, name)[live] = vals
        self.generation = gen
