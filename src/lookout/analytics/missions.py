"""Surveillance-flight detection: orbit, racetrack, loiter and survey patterns in flight histories.

A *mission* is a stretch of one aircraft's flight where it stays on station: it keeps flying
(not parked or taxiing), covers much more path than the area it stays in, and turns a lot.

Method (numpy over arrays, one pass per flight):

1. Points are grouped by aircraft identity (ICAO24) and split into flights at reception gaps
   longer than ``max_gap_s``.
2. Each flight is converted to a local East-North-Up frame at its own centre
   (:class:`lookout.geo.LocalFrame`) and resampled on a regular time grid (``step_s``).
3. Over a sliding window (``window_s``, 30 min) centred on every sample: path length flown, bounding-box
   diagonal of the positions, mean ground speed. The window is *confined* when the path is at
   least ``min_confinement`` times the diagonal (a straight line scores 1, one orbit lap about
   2.2, a 20 minute orbit 5-10) and the mean speed is at least ``min_speed_mps``.
4. Runs of confined samples (joined across breaks shorter than ``merge_gap_s``) are extended
   back and forth while the aircraft stays inside the station's radius: the time on station.
5. A station is a mission when it lasts ``min_duration_s`` and turns ``min_turn_deg`` in all
   (cumulative absolute turning, summed per minute so that position noise does not add up).
6. Its pattern: turns mostly one way (net turning / total turning >= 0.6) -> ``orbit`` when the
   positions are round (principal-axes ratio < ``max_orbit_elongation``), else ``racetrack``;
   turns alternating with headings on one axis (lawnmower legs) -> ``survey``; else ``loiter``.

Counting (:func:`count_missions`) bins missions per UTC day, ISO week or calendar month, inside a
region polygon, and :func:`baseline_comparison` states a period's rate against a baseline
("18 missions in 14 days, 38.6 times the baseline rate").
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from shapely import MultiPoint, Point
from shapely.geometry.base import BaseGeometry

from lookout.geo import LocalFrame
from lookout.model import ObjectClass, Observation, Track, TrackPoint

log = logging.getLogger(__name__)

PATTERNS = ("orbit", "racetrack", "loiter", "survey")
PERIODS = ("day", "week", "month")


# ------------------------------------------------------------------------------------------
# Input: a columnar history of positions
# ------------------------------------------------------------------------------------------
@dataclass
class PointHistory:
    """Positions of many aircraft as parallel arrays (one row per reported position).

    ``ident`` is the aircraft identity per point (ICAO24, lower-case hex, or a track id when no
    transponder identity is known); ``callsigns`` and ``types`` map an identity to its latest
    callsign and aircraft type where known.
    """

    ident: np.ndarray
    time: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    alt: np.ndarray | None = None
    callsigns: dict[str, str] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ident = np.asarray(self.ident, dtype=object)
        self.time = np.asarray(self.time, dtype=float)
        self.lat = np.asarray(self.lat, dtype=float)
        self.lon = np.asarray(self.lon, dtype=float)
        self.alt = None if self.alt is None else np.asarray(self.alt, dtype=float)
        n = self.time.size
        for name in ("ident", "lat", "lon") + (("alt",) if self.alt is not None else ()):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"PointHistory.{name} has shape {getattr(self, name).shape}, expected ({n},)")

    def __len__(self) -> int:
        return int(self.time.size)

    @classmethod
    def empty(cls) -> PointHistory:
        return cls(ident=np.empty(0, object), time=np.empty(0), lat=np.empty(0), lon=np.empty(0))

    @classmethod
    def concat(cls, parts: Iterable[PointHistory]) -> PointHistory:
        """One history of several (callsigns and types merged, later ones winning)."""
        calls: dict[str, str] = {}
        types: dict[str, str] = {}
        full = []
        for p in parts:
            calls.update(p.callsigns)
            types.update(p.types)
            if len(p):
                full.append(p)
        parts = full
        if not parts:
            return cls(ident=np.empty(0, object), time=np.empty(0), lat=np.empty(0), lon=np.empty(0),
                       callsigns=calls, types=types)
        alt = None
        if all(p.alt is not None for p in parts):
            alt = np.concatenate([p.alt for p in parts])
        return cls(ident=np.concatenate([p.ident for p in parts]), time=np.concatenate([p.time for p in parts]),
                   lat=np.concatenate([p.lat for p in parts]), lon=np.concatenate([p.lon for p in parts]),
                   alt=alt, callsigns=calls, types=types)

    @classmethod
    def from_records(cls, rows: Iterable[tuple[str, float, float, float, float | None]],
                     callsigns: dict[str, str] | None = None, types: dict[str, str] | None = None) -> PointHistory:
        """From ``(ident, time, lat, lon, alt_m or None)`` tuples."""
        rows = list(rows)
        if not rows:
            return cls.empty()
        ident, t, lat, lon, alt = zip(*rows)
        alt_a = np.array([np.nan if a is None else a for a in alt], float)
        return cls(ident=np.asarray(ident, object), time=np.asarray(t, float), lat=np.asarray(lat, float),
                   lon=np.asarray(lon, float), alt=alt_a, callsigns=dict(callsigns or {}), types=dict(types or {}))

    @classmethod
    def from_observations(cls, observations: Iterable[Observation]) -> PointHistory:
        """From geodetic observations that carry an identity (ADS-B: ICAO24)."""
        rows, calls, types = [], {}, {}
        for o in observations:
            if o.position is None or not o.ident:
                continue
            rows.append((o.ident, o.time, o.position.lat, o.position.lon, o.position.alt_m))
            if o.callsign:
                calls[o.ident] = o.callsign.strip()
            typ = o.attrs.get("aircraft_type") or o.attrs.get("type") if o.attrs else None
            if typ:
                types[o.ident] = str(typ)
        return cls.from_records(rows, calls, types)

    @classmethod
    def from_track_points(cls, points: Iterable[tuple[str, TrackPoint]], tracks: dict[str, Track] | None = None,
                          include_uas: bool = False) -> PointHistory:
        """From the store's ``(track id, TrackPoint)`` pairs.

        A track's identity is its ``icao24`` where it has one, else the track id. With
        ``tracks`` given, drones and ground objects are left out (unless ``include_uas``),
        and callsigns and types come from the tracks' identities and attributes.
        """
        tracks = tracks or {}
        skip = {ObjectClass.GROUND_VEHICLE, ObjectClass.PERSON, ObjectClass.VESSEL, ObjectClass.AGENT}
        if not include_uas:
            skip.add(ObjectClass.UAS)
        rows, calls, types = [], {}, {}
        for tid, p in points:
            tr = tracks.get(tid)
            ident = tid
            if tr is not None:
                if tr.cls in skip and "icao24" not in tr.identities:
                    continue
                ident = tr.identities.get("icao24", tid)
                if tr.identities.get("callsign"):
                    calls[ident] = tr.identities["callsign"]
                typ = tr.attrs.get("aircraft_type") if tr.attrs else None
                if typ:
                    types[ident] = str(typ)
            rows.append((ident, p.time, p.lat, p.lon, p.alt_m))
        return cls.from_records(rows, calls, types)


# ------------------------------------------------------------------------------------------
# Output
# ------------------------------------------------------------------------------------------
@dataclass
class Mission:
    """One detected surveillance mission (time on station of one aircraft)."""

    icao24: str
    callsign: str | None
    start: float
    end: float
    center_lat: float
    center_lon: float
    radius_m: float
    pattern: str
    score: float
    aircraft_type: str | None = None
    duration_s: float = 0.0
    turn_deg: float = 0.0  # cumulative absolute turning on station
    laps: float = 0.0  # net turning / 360 (positive: clockwise, right turns)
    area_km2: float = 0.0  # convex hull of the positions on station
    mean_speed_mps: float = 0.0
    mean_alt_m: float | None = None
    points: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


@dataclass(frozen=True)
class MissionConfig:
    """Thresholds of :func:`detect_missions` (see the module documentation)."""

    max_gap_s: float = 600.0
    step_s: float = 10.0
    window_s: float = 1800.0
    min_confinement: float = 2.5
    min_speed_mps: float = 15.0
    min_duration_s: float = 1200.0
    min_turn_deg: float = 720.0
    merge_gap_s: float = 600.0
    max_orbit_elongation: float = 1.6
    min_points: int = 10

    def __post_init__(self) -> None:
        for name in ("max_gap_s", "step_s", "window_s", "min_confinement", "min_duration_s"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"MissionConfig.{name} must be a positive number, got {v!r}")
        if self.window_s < 4 * self.step_s:
            raise ValueError("MissionConfig.window_s must be at least 4 * step_s")


def _codes(ident: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniq, codes = np.unique(ident.astype(str), return_inverse=True)
    return codes.ravel(), uniq


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index pairs of the True runs of ``mask``."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def _classify(e, n, dh, valid_h, heading, cfg: MissionConfig) -> tuple[str, float, float, float]:
    """Pattern, total turning (deg), net turning (deg), elongation of one station's samples."""
    chunk = max(1, int(round(60.0 / cfg.step_s)))
    m = dh.size // chunk * chunk
    per_min = np.abs(dh[:m].reshape(-1, chunk).sum(axis=1)).sum() + abs(dh[m:].sum())
    total = math.degrees(per_min)
    net = math.degrees(dh.sum())
    pts = np.column_stack([e, n])
    cov = np.cov(pts.T) if pts.shape[0] > 2 else np.eye(2)
    ev = np.sort(np.linalg.eigvalsh(cov))
    elong = math.sqrt(ev[1] / max(ev[0], 1e-6))
    consistency = abs(net) / total if total > 0 else 0.0
    h = heading[valid_h]
    axis_r = float(np.abs(np.mean(np.exp(2j * h)))) if h.size else 0.0
    if consistency >= 0.6:
        pattern = "orbit" if elong < cfg.max_orbit_elongation else "racetrack"
    elif axis_r >= 0.5 and consistency < 0.4:
        pattern = "survey"
    else:
        pattern = "loiter"
    return pattern, total, net, elong


def _mean_lon(lon: np.ndarray) -> float:
    """Mean longitude (degrees), right for flights across the antimeridian too."""
    a = np.radians(lon)
    return float(np.degrees(np.arctan2(np.mean(np.sin(a)), np.mean(np.cos(a)))))


def _flight_missions(ident: str, t: np.ndarray, lat: np.ndarray, lon: np.ndarray, alt: np.ndarray | None,
                     names: PointHistory | MissionStream, cfg: MissionConfig) -> list[Mission]:
    """The missions of one flight (``names``: where its callsign and type are looked up)."""
    t, first = np.unique(t, return_index=True)
    lat, lon = lat[first], lon[first]
    alt = None if alt is None else alt[first]
    if t.size < cfg.min_points or t[-1] - t[0] < cfg.min_duration_s:
        return []
    frame = LocalFrame(float(np.mean(lat)), _mean_lon(lon), 0.0)
    e_raw, n_raw, _ = frame.to_enu(lat, lon, None)
    tg = np.arange(t[0], t[-1], cfg.step_s)
    k = int(round(cfg.window_s / cfg.step_s))
    if tg.size < k + 2:
        return []
    e, n = np.interp(tg, t, e_raw), np.interp(tg, t, n_raw)
    de, dn = np.diff(e), np.diff(n)
    seg = np.hypot(de, dn)
    heading = np.arctan2(de, dn)
    moving = seg >= 0.3 * cfg.min_speed_mps * cfg.step_s
    dh = (np.diff(heading) + np.pi) % (2 * np.pi) - np.pi
    dh[~(moving[1:] & moving[:-1])] = 0.0
    # sliding windows of k samples: window j spans samples [j, j + k)
    cpath = np.concatenate([[0.0], np.cumsum(seg)])
    path = cpath[k - 1:] - cpath[: cpath.size - k + 1]
    ew, nw = sliding_window_view(e, k), sliding_window_view(n, k)
    diag = np.hypot(ew.max(axis=1) - ew.min(axis=1), nw.max(axis=1) - nw.min(axis=1))
    span = (k - 1) * cfg.step_s
    conf_ratio = path / np.maximum(diag, 1.0)
    confined_w = (conf_ratio >= cfg.min_confinement) & (path / span >= cfg.min_speed_mps)
    # a sample is on station when the window centred on it is confined
    half = k // 2
    station = np.zeros(tg.size, bool)
    station[half: half + confined_w.size] = confined_w
    runs = _runs(station)
    merged: list[list[int]] = []
    gap = int(cfg.merge_gap_s / cfg.step_s)
    for a, b in runs:
        if merged and a - merged[-1][1] <= gap:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    out = []
    for a, b in merged:
        # extend while the aircraft stays within the station's radius (95th percentile)
        ce, cn = e[a:b].mean(), n[a:b].mean()
        d = np.hypot(e - ce, n - cn)
        r = float(np.percentile(d[a:b], 95)) * 1.1 + 200.0
        outside = d > r
        before = np.flatnonzero(outside[:a])
        after = np.flatnonzero(outside[b:])
        a2 = int(before[-1] + 1) if before.size else 0
        b2 = int(b + after[0]) if after.size else tg.size
        dur = tg[b2 - 1] - tg[a2]
        if dur < cfg.min_duration_s:
            continue
        sl = slice(a2, b2)
        dh_s = dh[a2: max(a2, b2 - 2)]
        valid = moving[a2: b2 - 1]
        pattern, total, net, _ = _classify(e[sl], n[sl], dh_s, valid, heading[a2: b2 - 1], cfg)
        if total < cfg.min_turn_deg:
            continue
        ce, cn = float(e[sl].mean()), float(n[sl].mean())
        dist = np.hypot(e[sl] - ce, n[sl] - cn)
        radius = float(np.percentile(dist, 95))
        hull = MultiPoint(np.column_stack([e[sl], n[sl]])).convex_hull
        cw = confined_w[max(0, a2 - half): max(0, b2 - half)]
        cr = conf_ratio[max(0, a2 - half): max(0, b2 - half)]
        med_conf = float(np.median(cr[cw])) if cw.any() else cfg.min_confinement
        s_dur = min(1.0, dur / (3.0 * cfg.min_duration_s))
        s_turn = min(1.0, total / (3.0 * cfg.min_turn_deg))
        s_conf = min(1.0, (med_conf - 1.0) / (3.0 * (cfg.min_confinement - 1.0)))
        score = round((s_dur + s_turn + s_conf) / 3.0, 3)
        clat, clon, _ = frame.to_geodetic(ce, cn, 0.0)
        in_t = (t >= tg[a2]) & (t <= tg[b2 - 1])
        mean_alt = None
        if alt is not None and np.isfinite(alt[in_t]).any():
            mean_alt = round(float(np.nanmean(alt[in_t])), 1)
        out.append(Mission(
            icao24=ident, callsign=names.callsigns.get(ident), start=float(tg[a2]), end=float(tg[b2 - 1]),
            center_lat=round(float(clat), 6), center_lon=round(float(clon), 6), radius_m=round(radius, 1),
            pattern=pattern, score=score, aircraft_type=names.types.get(ident), duration_s=round(float(dur), 1),
            turn_deg=round(total, 1), laps=round(net / 360.0, 2), area_km2=round(hull.area / 1e6, 3),
            mean_speed_mps=round(float(seg[a2: b2 - 1].sum() / max(dur, 1.0)), 1), mean_alt_m=mean_alt,
            points=int(in_t.sum()),
        ))
    return out


def detect_missions(hist: PointHistory, config: MissionConfig | None = None,
                    region: BaseGeometry | None = None) -> list[Mission]:
    """Find surveillance missions in ``hist``, ordered by start time.

    ``region`` (a shapely geometry in lon/lat) keeps the missions whose centre lies inside it.
    A history too large to hold at once goes through :class:`MissionStream` in chunks.
    """
    stream = MissionStream(config, region, max_pending_points=None)
    stream.add(hist)
    return stream.finish()


#: points a :class:`MissionStream` holds before it analyses completed flights (about 32 bytes each)
MAX_PENDING_POINTS = 2_000_000


class MissionStream:
    """Mission detection over a history given in chunks (:meth:`add`), of any size.

    Points are kept per aircraft until its flight is complete: a flight ends at a reception gap
    longer than ``max_gap_s``. While fewer than ``max_pending_points`` (default
    :data:`MAX_PENDING_POINTS`; None: no bound) points are held, nothing
    is decided before :meth:`finish`, so chunks may come in any order and the result is the one
    :func:`detect_missions` gives for the whole history. Past that bound, the flights that ended
    ``max_gap_s`` before the latest time seen are analysed and dropped: that needs the chunks in
    time order (receiver logs, store reads), and a point that still falls into an analysed
    flight is counted in :attr:`late_points` (it starts a flight of its own).
    """

    def __init__(self, config: MissionConfig | None = None, region: BaseGeometry | None = None,
                 max_pending_points: int | None | str = "default") -> None:
        self.cfg = config or MissionConfig()
        self.region = region
        if max_pending_points == "default":
            max_pending_points = MAX_PENDING_POINTS
        self.max_pending_points = max_pending_points
        self.callsigns: dict[str, str] = {}
        self.types: dict[str, str] = {}
        self.missions: list[Mission] = []
        self.points = 0
        self.flights = 0
        self.late_points = 0
        self.aircraft: set[str] = set()
        self._pending: dict[str, list[tuple[np.ndarray, ...]]] = {}
        self._n_pending = 0
        self._threshold = max_pending_points
        self._watermark = -math.inf
        self._closed_until: dict[str, float] = {}

    def add(self, hist: PointHistory) -> None:
        """Take a chunk of positions (any aircraft, any order within the chunk)."""
        self.callsigns.update(hist.callsigns)
        self.types.update(hist.types)
        if len(hist) == 0:
            return
        ok = np.isfinite(hist.time) & np.isfinite(hist.lat) & np.isfinite(hist.lon)
        idx = np.flatnonzero(ok)
        if idx.size == 0:
            return
        codes, uniq = _codes(hist.ident[idx])
        order = np.argsort(codes, kind="stable")
        idx, codes = idx[order], codes[order]
        bounds = np.concatenate([[0], np.flatnonzero(np.diff(codes)) + 1, [idx.size]])
        alt = hist.alt
        gap = self.cfg.max_gap_s
        for a, b in zip(bounds[:-1], bounds[1:]):
            ident = str(uniq[codes[a]])
            sel = idx[a:b]
            part = (hist.time[sel], hist.lat[sel], hist.lon[sel], None if alt is None else alt[sel])
            closed = self._closed_until.get(ident)
            if closed is not None:
                self.late_points += int(np.count_nonzero(part[0] <= closed + gap))
            self._pending.setdefault(ident, []).append(part)
            self.aircraft.add(ident)
        n = int(idx.size)
        self.points += n
        self._n_pending += n
        self._watermark = max(self._watermark, float(hist.time[idx].max()))
        if self._threshold is not None and self._n_pending > self._threshold:
            self._close(self._watermark - gap)
            # a bound that the recent flights alone exceed would analyse on every chunk
            self._threshold = max(self.max_pending_points, 2 * self._n_pending)

    def _close(self, before: float) -> None:
        """Analyse the flights that ended before ``before`` (all of them for +inf)."""
        cfg = self.cfg
        for ident in list(self._pending):
            parts = self._pending[ident]
            t = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
            if t.max() >= before and t.min() >= before - cfg.max_gap_s:
                continue  # one recent flight only
            lat = np.concatenate([p[1] for p in parts]) if len(parts) > 1 else parts[0][1]
            lon = np.concatenate([p[2] for p in parts]) if len(parts) > 1 else parts[0][2]
            alt = None
            if all(p[3] is not None for p in parts):
                alt = np.concatenate([p[3] for p in parts]) if len(parts) > 1 else parts[0][3]
            order = np.argsort(t, kind="stable")
            t, lat, lon = t[order], lat[order], lon[order]
            alt = None if alt is None else alt[order]
            cuts = np.concatenate([[0], np.flatnonzero(np.diff(t) > cfg.max_gap_s) + 1, [t.size]])
            keep_from = t.size
            for a, b in zip(cuts[:-1], cuts[1:]):
                if t[b - 1] >= before:  # still open: it may go on in a later chunk
                    keep_from = int(a)
                    break
                self.flights += 1
                self.missions.extend(_flight_missions(ident, t[a:b], lat[a:b], lon[a:b],
                                                      None if alt is None else alt[a:b], self, cfg))
                self._closed_until[ident] = float(t[b - 1])
            self._n_pending -= keep_from  # the points analysed
            if keep_from == t.size:
                del self._pending[ident]
            else:
                k = keep_from
                self._pending[ident] = [(t[k:], lat[k:], lon[k:], None if alt is None else alt[k:])]

    def finish(self) -> list[Mission]:
        """Analyse what is left; the missions (in the region, if one was given) by start time."""
        self._close(math.inf)
        out = self.missions if self.region is None else missions_in_region(self.missions, self.region)
        out.sort(key=lambda m: (m.start, m.icao24))
        return out


def missions_in_region(missions: Iterable[Mission], region: BaseGeometry) -> list[Mission]:
    """The missions whose centre lies inside ``region`` (lon/lat)."""
    return [m for m in missions if region.covers(Point(m.center_lon, m.center_lat))]


# ------------------------------------------------------------------------------------------
# Counting per period and baseline comparison
# ------------------------------------------------------------------------------------------
def period_start(t: float, period: str) -> float:
    """Start (UNIX s) of the UTC day, ISO week (Monday) or calendar month containing ``t``."""
    d = datetime.fromtimestamp(t, tz=UTC)
    if period == "day":
        s = d.replace(hour=0, minute=0, second=0, microsecond=0)
    elif period == "week":
        s = (d - timedelta(days=d.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    elif period == "month":
        s = d.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    else:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}, got {period!r}")
    return s.timestamp()


def _next_period(t: float, period: str) -> float:
    d = datetime.fromtimestamp(t, tz=UTC)
    if period == "day":
        return (d + timedelta(days=1)).timestamp()
    if period == "week":
        return (d + timedelta(days=7)).timestamp()
    year, month = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
    return d.replace(year=year, month=month).timestamp()


@dataclass
class PeriodCount:
    period_start: float
    period_end: float
    count: int
    aircraft: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"period_start": self.period_start, "period_end": self.period_end,
                "label": datetime.fromtimestamp(self.period_start, tz=UTC).strftime("%Y-%m-%d"),
                "count": self.count, "aircraft": self.aircraft}


def count_missions(missions: Iterable[Mission], period: str = "week", start: float | None = None,
                   end: float | None = None, region: BaseGeometry | None = None) -> list[PeriodCount]:
    """Missions per period (by start time) over ``[start, end)``, every period listed, also empty
    ones; the first and last periods are cut to the window.

    Without ``start``/``end`` the range is the whole periods holding the missions.
    """
    ms = list(missions)
    if region is not None:
        ms = missions_in_region(ms, region)
    if start is not None:
        ms = [m for m in ms if m.start >= start]
    if end is not None:
        ms = [m for m in ms if m.start < end]
    if start is None or end is None:
        if not ms:
            return []
        start = period_start(min(m.start for m in ms), period) if start is None else start
        end = _next_period(period_start(max(m.start for m in ms), period), period) if end is None else end
    out: list[PeriodCount] = []
    p = period_start(start, period)
    while p < end:
        q = _next_period(p, period)
        a, b = max(p, start), min(q, end)  # periods cut to the window at its ends
        sel = [m for m in ms if a <= m.start < b]
        out.append(PeriodCount(a, b, len(sel), sorted({m.icao24 for m in sel})))
        p = q
    return out


def baseline_comparison(missions: Iterable[Mission], start: float, end: float,
                        baseline_start: float | None = None, baseline_end: float | None = None,
                        region: BaseGeometry | None = None) -> dict[str, Any]:
    """Missions in ``[start, end)`` against a baseline window (default: the equal-length
    window just before). Rates are per day; ``ratio`` is None when the baseline had none."""
    if end <= start:
        raise ValueError(f"end ({end}) must be after start ({start})")
    if baseline_end is None:
        baseline_end = start
    if baseline_start is None:
        baseline_start = baseline_end - (end - start)
    if baseline_end <= baseline_start:
        raise ValueError("the baseline window is empty")
    ms = list(missions)
    if region is not None:
        ms = missions_in_region(ms, region)
    n = sum(1 for m in ms if start <= m.start < end)
    nb = sum(1 for m in ms if baseline_start <= m.start < baseline_end)
    days, bdays = (end - start) / 86400.0, (baseline_end - baseline_start) / 86400.0
    rate, brate = n / days, nb / bdays
    ratio = round(rate / brate, 2) if nb else None
    if ratio is not None:
        text = (f"{n} missions in {days:g} days, {ratio:g} times the baseline rate "
                f"({nb} in {bdays:g} days)")
    else:
        text = f"{n} missions in {days:g} days; none in the baseline ({bdays:g} days)"
    return {"start": start, "end": end, "count": n, "days": round(days, 3), "rate_per_day": round(rate, 4),
            "baseline_start": baseline_start, "baseline_end": baseline_end, "baseline_count": nb,
            "baseline_days": round(bdays, 3), "baseline_rate_per_day": round(brate, 4), "ratio": ratio, "text": text}
