"""Crossing corridors and hotspots: where tracks cross the border, and where drones are launched.

Crossings come from two places, and both give the same columnar :class:`Crossings`:

* stored alerts of the ``border_crossing`` rule (:func:`crossings_from_alerts`: the alert's
  position is the crossing point, its evidence the direction and course);
* track histories checked against the sector's border line (:func:`crossings_from_tracks`:
  every sign change of a track's north offset from the line, interpolated to the line).

:func:`find_corridors` bins crossing points into H3 hexagonal cells and clusters them by
density on the hexagon grid (DBSCAN on cells: cells holding at least ``min_count`` crossings
are cores, adjacent cores join one corridor, sparse cells touching a corridor are its edge,
the rest is noise). Corridors are ranked by a recency-weighted count (every crossing weighs
``0.5 ** (age / half_life)``), and carry their raw count, first and last crossing, direction
split, mean course and width along the border.

:func:`launch_points` takes one operator (take-off) position per Remote ID flight and
:func:`launch_hotspots` counts them per H3 cell: the launch-point heatmap.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import h3
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from lookout.model import Alert, Observation, OperatorLocationType, Track, TrackPoint
from lookout.sector import Sector

log = logging.getLogger(__name__)

NORTH, SOUTH = "north", "south"


@dataclass
class Crossings:
    """Border crossings as parallel arrays: time, crossing point, direction (``north``/``south``),
    course in degrees (NaN when unknown) and the track id."""

    time: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    direction: np.ndarray
    course: np.ndarray
    track_id: np.ndarray

    def __post_init__(self) -> None:
        self.time = np.asarray(self.time, float)
        self.lat = np.asarray(self.lat, float)
        self.lon = np.asarray(self.lon, float)
        self.direction = np.asarray(self.direction, dtype=object)
        self.course = np.asarray(self.course, float)
        self.track_id = np.asarray(self.track_id, dtype=object)
        n = self.time.size
        for name in ("lat", "lon", "direction", "course", "track_id"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"Crossings.{name} has shape {getattr(self, name).shape}, expected ({n},)")

    def __len__(self) -> int:
        return int(self.time.size)

    @classmethod
    def empty(cls) -> Crossings:
        return cls(*(np.empty(0) for _ in range(6)))

    @classmethod
    def concat(cls, parts: Iterable[Crossings]) -> Crossings:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, f) for p in parts])
                     for f in ("time", "lat", "lon", "direction", "course", "track_id")))

    def select(self, mask: np.ndarray) -> Crossings:
        return Crossings(self.time[mask], self.lat[mask], self.lon[mask], self.direction[mask],
                         self.course[mask], self.track_id[mask])

    def window(self, start: float | None = None, end: float | None = None) -> Crossings:
        m = np.ones(len(self), bool)
        if start is not None:
            m &= self.time >= start
        if end is not None:
            m &= self.time <= end
        return self.select(m)


def _direction(value: Any) -> str | None:
    """``north``/``south`` from the forms a rule may write (north, northbound, N, MX->US ...)."""
    if not isinstance(value, str) or not value:
        return None
    v = value.strip().lower()
    if v.startswith("n"):
        return NORTH
    if v.startswith("s"):
        return SOUTH
    if "->" in v:
        return NORTH if v.split("->")[-1].strip() in ("us", "usa") else SOUTH
    return None


def crossings_from_alerts(alerts: Iterable[Alert], rule: str = "border_crossing") -> Crossings:
    """Crossings from the rules engine's alerts (position = crossing point; evidence carries
    ``direction`` and, where known, ``course_deg`` and ``crossing_time``). Alerts of other rules
    or without a position are skipped."""
    rows = []
    for a in alerts:
        if a.rule != rule or a.position is None:
            continue
        ev = a.evidence or {}
        d = _direction(ev.get("direction")) or "unknown"
        course = ev.get("course_deg", ev.get("course", ev.get("heading_deg")))
        try:
            course = float(course) if course is not None else math.nan
        except (TypeError, ValueError):
            course = math.nan
        t = ev.get("crossing_time", a.start)
        try:
            t = float(t)
        except (TypeError, ValueError):
            t = a.start
        rows.append((t, a.position.lat, a.position.lon, d, course, a.track_ids[0] if a.track_ids else a.id))
    if not rows:
        return Crossings.empty()
    return Crossings(*map(np.asarray, zip(*rows)))


def crossings_from_tracks(ids: np.ndarray, time: np.ndarray, lat: np.ndarray, lon: np.ndarray, sector: Sector,
                          max_gap_s: float = 120.0) -> Crossings:
    """Crossings of the sector's border line by the given track points (parallel arrays).

    Points are grouped by id and ordered by time; a crossing is a change of side between two
    consecutive points of one track less than ``max_gap_s`` apart, placed on the line by linear
    interpolation. Points east or west of the border line's extent are ignored.
    """
    ids = np.asarray(ids, dtype=object)
    time, lat, lon = (np.asarray(x, float) for x in (time, lat, lon))
    if time.size < 2:
        return Crossings.empty()
    _, codes = np.unique(ids.astype(str), return_inverse=True)
    order = np.lexsort((time, codes))
    ids, codes, time, lat, lon = ids[order], codes[order], time[order], lat[order], lon[order]
    e, n, _ = sector.frame.to_enu(lat, lon, sector.ground_alt_m)
    e, n = np.atleast_1d(e), np.atleast_1d(n)
    off = np.atleast_1d(sector.border_north_offset(e, n))
    bx = np.asarray(sector.border_enu.xy[0])
    inside = (e >= bx.min()) & (e <= bx.max())
    same = (codes[1:] == codes[:-1]) & (np.diff(time) <= max_gap_s) & inside[1:] & inside[:-1]
    flip = same & (np.sign(off[1:]) != np.sign(off[:-1])) & (off[1:] != 0)
    i = np.flatnonzero(flip)
    if i.size == 0:
        return Crossings.empty()
    f = off[i] / (off[i] - off[i + 1])
    ce = e[i] + f * (e[i + 1] - e[i])
    cn = n[i] + f * (n[i + 1] - n[i])
    ct = time[i] + f * (time[i + 1] - time[i])
    clat, clon, _ = sector.frame.to_geodetic(ce, cn, np.zeros_like(ce))
    course = np.degrees(np.arctan2(e[i + 1] - e[i], n[i + 1] - n[i])) % 360.0
    direction = np.where(off[i + 1] > 0, NORTH, SOUTH).astype(object)
    return Crossings(ct, np.atleast_1d(clat), np.atleast_1d(clon), direction, course, ids[i])


def crossings_from_track_points(points: Iterable[tuple[str, TrackPoint]], sector: Sector,
                                track_ids: set[str] | None = None, max_gap_s: float = 120.0) -> Crossings:
    """:func:`crossings_from_tracks` over the store's ``(track id, TrackPoint)`` pairs
    (only the tracks in ``track_ids`` when given, e.g. the drone tracks)."""
    rows = [(tid, p.time, p.lat, p.lon) for tid, p in points if track_ids is None or tid in track_ids]
    if not rows:
        return Crossings.empty()
    tid, t, la, lo = zip(*rows)
    return crossings_from_tracks(np.asarray(tid, object), np.asarray(t), np.asarray(la), np.asarray(lo), sector,
                                 max_gap_s=max_gap_s)


# ------------------------------------------------------------------------------------------
# Hexagonal density clustering
# ------------------------------------------------------------------------------------------
def _cells(lat: np.ndarray, lon: np.ndarray, resolution: int) -> np.ndarray:
    """H3 cell (as int) of every point."""
    f = h3.api.basic_int.latlng_to_cell
    return np.fromiter((f(a, o, resolution) for a, o in zip(lat.tolist(), lon.tolist())), dtype=np.uint64,
                       count=lat.size)


def _weights(t: np.ndarray, now: float, half_life_s: float) -> np.ndarray:
    return np.power(0.5, np.clip(now - t, 0.0, None) / half_life_s)


def _circular_mean(deg: np.ndarray) -> float | None:
    deg = deg[np.isfinite(deg)]
    if deg.size == 0:
        return None
    r = np.radians(deg)
    return round(float(np.degrees(np.arctan2(np.sin(r).mean(), np.cos(r).mean())) % 360.0), 1)


@dataclass
class Corridor:
    """A cluster of crossings: one crossing corridor."""

    rank: int
    count: int
    score: float  # recency-weighted count
    center_lat: float
    center_lon: float
    width_m: float  # 5-95 % spread of its crossings along their main axis
    first_seen: float
    last_seen: float
    north: int
    south: int
    course_north_deg: float | None  # mean course of its northbound crossings
    course_south_deg: float | None
    cells: list[str] = field(default_factory=list)  # H3 cells (hex strings)
    boundary: list[list[float]] = field(default_factory=list)  # [lon, lat] ring around its crossings

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _auto_min_count(counts: np.ndarray) -> int:
    """A core-cell threshold from the background: 3 x the median count of occupied cells."""
    return max(3, int(math.ceil(3 * float(np.median(counts)))))


def find_corridors(crossings: Crossings, resolution: int = 8, min_count: int | None = None,
                   now: float | None = None, half_life_days: float = 7.0, rank_by: str = "score",
                   frame=None) -> list[Corridor]:
    """Cluster crossing points into corridors (see the module documentation).

    ``resolution`` is the H3 resolution (8: cells of about 0.74 km^2, edge 0.53 km);
    ``min_count`` the crossings a core cell needs (default: three times the median of occupied
    cells, at least 3); ``now`` the reference time of the recency weight (default: the last
    crossing); ``rank_by`` one of ``score`` (recency-weighted count), ``count``, ``recent``.
    """
    if rank_by not in ("score", "count", "recent"):
        raise ValueError(f"rank_by must be score, count or recent, got {rank_by!r}")
    if not 0 <= resolution <= 15:
        raise ValueError(f"H3 resolution must be 0..15, got {resolution}")
    if half_life_days <= 0:
        raise ValueError("half_life_days must be > 0")
    ok = np.isfinite(crossings.lat) & np.isfinite(crossings.lon) & np.isfinite(crossings.time)
    cr = crossings.select(ok)
    if len(cr) == 0:
        return []
    now = float(cr.time.max()) if now is None else float(now)
    cell_of = _cells(cr.lat, cr.lon, resolution)
    uniq, inv, counts = np.unique(cell_of, return_inverse=True, return_counts=True)
    inv = inv.ravel()
    thr = _auto_min_count(counts) if min_count is None else int(min_count)
    core = counts >= thr
    pos = {int(c): i for i, c in enumerate(uniq.tolist())}
    rows, cols = [], []
    for i, c in enumerate(uniq.tolist()):
        for nb in h3.api.basic_int.grid_disk(c, 1):
            j = pos.get(nb)
            if j is not None and j != i and (core[i] and core[j]):
                rows.append(i)
                cols.append(j)
    ncell = uniq.size
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(ncell, ncell))
    _, comp = connected_components(graph, directed=False)
    label = np.where(core, comp, -1)
    # edge cells: a non-core cell next to a corridor joins the neighbour corridor with most crossings
    for i in np.flatnonzero(~core):
        best, best_n = -1, 0
        for nb in h3.api.basic_int.grid_disk(int(uniq[i]), 1):
            j = pos.get(nb)
            if j is not None and core[j] and counts[j] > best_n:
                best, best_n = comp[j], counts[j]
        label[i] = best
    point_label = label[inv]
    w = _weights(cr.time, now, half_life_days * 86400.0)
    if frame is None:
        from lookout.geo import LocalFrame

        frame = LocalFrame(float(np.mean(cr.lat)), float(np.mean(cr.lon)), 0.0)
    e_all, n_all, _ = frame.to_enu(cr.lat, cr.lon, None)
    e_all, n_all = np.atleast_1d(e_all), np.atleast_1d(n_all)
    order = np.argsort(point_label, kind="stable")
    sl = point_label[order]
    starts = np.flatnonzero(np.concatenate([[True], sl[1:] != sl[:-1]]))
    ends = np.concatenate([starts[1:], [sl.size]])
    out: list[Corridor] = []
    for a, b in zip(starts, ends):
        lab = sl[a]
        if lab < 0:
            continue
        idx = order[a:b]
        e, n = e_all[idx], n_all[idx]
        pts = np.column_stack([e - e.mean(), n - n.mean()])
        if idx.size > 2:
            _, vecs = np.linalg.eigh(np.cov(pts.T))
            along = pts @ vecs[:, 1]
            width = float(np.percentile(along, 95) - np.percentile(along, 5))
        else:
            width = 0.0
        d = cr.direction[idx]
        cells = sorted({h3.int_to_str(int(c)) for c in cell_of[idx].tolist()})
        ring = h3.cells_to_geo(cells)
        coords = ring["coordinates"][0] if ring["type"] == "Polygon" else ring["coordinates"][0][0]
        out.append(Corridor(
            rank=0, count=int(idx.size), score=round(float(w[idx].sum()), 3),
            center_lat=round(float(cr.lat[idx].mean()), 6), center_lon=round(float(cr.lon[idx].mean()), 6),
            width_m=round(width, 1), first_seen=float(cr.time[idx].min()), last_seen=float(cr.time[idx].max()),
            north=int((d == NORTH).sum()), south=int((d == SOUTH).sum()),
            course_north_deg=_circular_mean(cr.course[idx][d == NORTH]),
            course_south_deg=_circular_mean(cr.course[idx][d == SOUTH]),
            cells=cells, boundary=[[float(x), float(y)] for x, y in coords],
        ))
    key = {"score": lambda c: (-c.score, -c.count), "count": lambda c: (-c.count, -c.last_seen),
           "recent": lambda c: (-c.last_seen, -c.count)}[rank_by]
    out.sort(key=key)
    for i, c in enumerate(out, 1):
        c.rank = i
    return out


# ------------------------------------------------------------------------------------------
# Launch points (Remote ID operator positions)
# ------------------------------------------------------------------------------------------
@dataclass
class LaunchPoints:
    """One operator (launch) position per drone flight: parallel arrays."""

    time: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    ident: np.ndarray

    def __len__(self) -> int:
        return int(np.asarray(self.time).size)


def launch_points(observations: Iterable[Observation] = (), tracks: Iterable[Track] = (),
                  max_gap_s: float = 600.0) -> LaunchPoints:
    """Launch positions from Remote ID observations (one per drone flight: the first
    ``take_off`` operator position, else the first operator position; flights split at gaps
    longer than ``max_gap_s``) and from tracks with an operator position (one per track)."""
    flights: dict[str, list[tuple[float, float, float, bool]]] = {}
    for o in observations:
        if o.operator is None:
            continue
        key = o.ident or o.sensor
        flights.setdefault(key, []).append(
            (o.time, o.operator.lat, o.operator.lon, o.operator_location_type == OperatorLocationType.TAKE_OFF))
    rows = []
    for ident, recs in flights.items():
        recs.sort()
        t = np.asarray([r[0] for r in recs])
        brk = np.flatnonzero(np.diff(t) > max_gap_s) + 1
        for grp in np.split(np.arange(len(recs)), brk):
            chosen = next((recs[i] for i in grp if recs[i][3]), recs[grp[0]])
            rows.append((chosen[0], chosen[1], chosen[2], ident))
    seen = {str(r[3]).lower() for r in rows}
    for tr in tracks:
        if tr.operator is None:
            continue
        rid = tr.identities.get("remote_id")
        if rid and rid.lower() in seen:  # serials compared regardless of case
            continue  # already counted from its observations
        rows.append((tr.first_time or tr.time, tr.operator.lat, tr.operator.lon, rid or tr.id))
    if not rows:
        return LaunchPoints(np.empty(0), np.empty(0), np.empty(0), np.empty(0, object))
    t, la, lo, ids = zip(*rows)
    return LaunchPoints(np.asarray(t, float), np.asarray(la, float), np.asarray(lo, float), np.asarray(ids, object))


@dataclass
class Hotspot:
    cell: str
    center_lat: float
    center_lon: float
    count: int
    drones: int  # distinct identities
    first_seen: float
    last_seen: float
    boundary: list[list[float]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def launch_hotspots(points: LaunchPoints, resolution: int = 9, top: int | None = 20) -> list[Hotspot]:
    """Launch points counted per H3 cell (resolution 9: about 0.1 km^2), most used first."""
    if len(points) == 0:
        return []
    cell_of = _cells(np.asarray(points.lat, float), np.asarray(points.lon, float), resolution)
    uniq, inv, counts = np.unique(cell_of, return_inverse=True, return_counts=True)
    inv = inv.ravel()
    out = []
    for i in np.argsort(-counts, kind="stable")[: top or None]:
        m = inv == i
        cs = h3.int_to_str(int(uniq[i]))
        lat, lon = h3.cell_to_latlng(cs)
        out.append(Hotspot(cell=cs, center_lat=round(lat, 6), center_lon=round(lon, 6), count=int(counts[i]),
                           drones=len(set(points.ident[m].tolist())), first_seen=float(points.time[m].min()),
                           last_seen=float(points.time[m].max()),
                           boundary=[[float(lo_), float(la_)] for la_, lo_ in h3.cell_to_boundary(cs)]))
    return out
