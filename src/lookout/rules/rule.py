"""What every rule kind shares: the class filter, the per-step shared work, hits, the wording
helpers of alert messages, and the conversions of rule state that travels as JSON.

A rule kind is one module of :mod:`lookout.rules.kinds` with one :class:`Rule` subclass. Its
hooks: :meth:`Rule.evaluate` (a step's hits), :meth:`Rule.forget` (tracks deleted),
:meth:`Rule.export` / :meth:`Rule.adopt` (one track's state, frame-free, for a sector handoff,
see :mod:`lookout.rules.handoff`) and :meth:`Rule.state` / :meth:`Rule.load_state` (the rule's
whole state, exactly, for a checkpoint, see :mod:`lookout.rules.checkpoint`).
"""

from __future__ import annotations

import math
import time as _time
from typing import TYPE_CHECKING, Any

import numpy as np

from lookout.model import GeoPoint, ObjectClass, Severity, Track
from lookout.rules.alerts import Hit
from lookout.rules.context import RuleContext
from lookout.rules.table import CLASS_CODE, CLASSES, TrackTable, finite, floats_in, floats_out

if TYPE_CHECKING:
    from lookout.rules.engine import RuleEngine

_NOUN = {
    ObjectClass.UAS: "drone", ObjectClass.FIXED_WING: "aircraft", ObjectClass.ROTORCRAFT: "helicopter",
    ObjectClass.SURVEILLANCE_AIRCRAFT: "surveillance aircraft", ObjectClass.GROUND_VEHICLE: "vehicle",
    ObjectClass.PERSON: "person", ObjectClass.VESSEL: "vessel", ObjectClass.AGENT: "agent",
    ObjectClass.UNKNOWN: "unknown object",
}


# -- wording of alert messages --------------------------------------------------------------------

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


# -- rule state as JSON (handoff: positions as latitude/longitude) ---------------------------------

def float_out(v: Any) -> float | None:
    """A float for exported rule state: None for NaN/infinity (state travels as JSON)."""
    v = float(v)
    return v if math.isfinite(v) else None


def float_in(v: Any, default: float = math.nan) -> float:
    """An exported float back: ``default`` for None or anything not a finite number."""
    return float(v) if finite(v) else default


def geo_out(ctx: RuleContext, x: Any, y: Any) -> list[list[float] | None]:
    """ENU points as ``[lat, lon]`` (None where not finite): frame-free, for exported state."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    out: list[list[float] | None] = [None] * len(x)
    if ok.any():
        lat, lon = ctx.to_geodetic(x[ok], y[ok])
        for k, a, b in zip(np.flatnonzero(ok).tolist(), np.atleast_1d(lat).tolist(), np.atleast_1d(lon).tolist()):
            out[k] = [a, b]
    return out


def geo_in(ctx: RuleContext, pts: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``[lat, lon]`` points (None allowed) back to ENU arrays of length ``n`` (NaN where none)."""
    x, y = np.full(n, np.nan), np.full(n, np.nan)
    if not isinstance(pts, list) or len(pts) != n:
        return x, y
    idx = [k for k, p in enumerate(pts) if isinstance(p, list) and len(p) == 2 and finite(p[0]) and finite(p[1])]
    if idx:
        e, nn = ctx.to_enu(np.array([pts[k][0] for k in idx], dtype=float),
                           np.array([pts[k][1] for k in idx], dtype=float))
        x[idx], y[idx] = e, nn
    return x, y


def grown(a: np.ndarray, shape: int | tuple[int, ...], fill: float) -> np.ndarray:
    """``a`` in a larger array of ``shape`` (the rest ``fill``): per-slot rule state follows the
    track table's capacity."""
    b = np.full(shape, fill, dtype=a.dtype)
    b[: len(a)] = a
    return b


class Step:
    """Per-step shared work (computed once, used by every rule)."""

    def __init__(self, engine: RuleEngine, time: float, slots: np.ndarray) -> None:
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
    """Base of the rule kinds: class filter, hits and per-slot state hooks."""

    def __init__(self, cfg: Any, engine: RuleEngine) -> None:
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
        latitude/longitude; None when the rule holds none (see :mod:`lookout.rules.handoff`)."""
        return None

    def adopt(self, s: int, tid: str, state: dict) -> None:
        """Take over what :meth:`export` gave for ``tid``, now in slot ``s`` of this engine."""

    def state(self) -> dict[str, Any] | None:
        """The rule's whole state as JSON-able data, exactly (ENU floats, the order of every
        mapping kept): a checkpoint of this engine, restored by :meth:`load_state` into an
        engine of the same rules, zones and frame (see :mod:`lookout.rules.checkpoint`)."""
        return None

    def load_state(self, state: dict[str, Any]) -> None:
        """Take over :meth:`state`; raises (KeyError, TypeError, ValueError) on a malformed one."""

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


class SlotRule(Rule):
    """A rule whose state is per-slot arrays beside the track table (``_arrays``: name -> fill),
    reset when a slot goes to a new track (``_gen`` against :attr:`TrackTable.generation`)."""

    #: per-slot arrays: name -> (fill value, dtype); row shape per slot in :meth:`_row_shape`
    _arrays: dict[str, tuple[float, Any]] = {}

    def __init__(self, cfg: Any, engine: RuleEngine) -> None:
        super().__init__(cfg, engine)
        self._cap = 0
        self._gen = np.zeros(0, dtype=np.int64)
        for name, (fill, dt) in self._arrays.items():
            setattr(self, name, np.full((0, *self._row_shape(name)), fill, dtype=dt))

    def _row_shape(self, name: str) -> tuple[int, ...]:
        return ()

    def _ensure(self) -> None:
        cap = self.table.cap
        if cap == self._cap:
            return
        for name, (fill, _) in self._arrays.items():
            setattr(self, name, grown(getattr(self, name), (cap, *self._row_shape(name)), fill))
        self._gen = grown(self._gen, cap, 0)
        self._cap = cap

    def _fresh(self, sel: np.ndarray) -> np.ndarray:
        """The slots of ``sel`` that went to a new track since this rule last saw them: their
        state is reset (and the generation noted); returns them."""
        tb = self.table
        f = sel[self._gen[sel] != tb.generation[sel]]
        if len(f):
            self._gen[f] = tb.generation[f]
            for name, (fill, _) in self._arrays.items():
                getattr(self, name)[f] = fill
        return f

    def _mine(self, s: int) -> bool:
        """True when this rule holds state of the track now in slot ``s``."""
        self._ensure()
        return bool(self._gen[s] == self.table.generation[s])

    def _slot_state(self) -> dict[str, Any]:
        """The per-slot arrays of the live slots this rule holds (the checkpoint part of :meth:`state`)."""
        self._ensure()
        live = self.table.live_slots()
        mine = live[self._gen[live] == self.table.generation[live]]
        out: dict[str, Any] = {}
        for name in self._arrays:
            a = getattr(self, name)[mine]
            out[name] = floats_out(a) if a.ndim == 1 else [floats_out(r) for r in a]
        return {"slots": mine.tolist(), "arrays": out}

    def _load_slot_state(self, st: dict[str, Any]) -> None:
        self._ensure()
        slots = [int(s) for s in st["slots"]]
        if not all(0 <= s < self._cap for s in slots):
            raise ValueError(f"rule {self.name}: slot out of range")
        ix, k = np.array(slots, dtype=np.intp), len(slots)
        for name, (_, dt) in self._arrays.items():
            rows, shape = st["arrays"][name], self._row_shape(name)
            if not shape:
                vals = floats_in(rows, k)
            elif isinstance(rows, list) and len(rows) == k:
                vals = np.array([floats_in(r, shape[0]) for r in rows]).reshape((k, *shape))
            else:
                raise ValueError(f"rule {self.name}: {name} needs {k} rows")
            if np.dtype(dt).kind in "iu" and not np.isfinite(vals).all():
                raise ValueError(f"rule {self.name}: {name} must be whole numbers")
            getattr(self, name)[ix] = vals.astype(dt)
        self._gen[ix] = self.table.generation[ix]
