"""Synthetic ADS-B flight histories with known ground truth, for tests and benchmarks.

Generates many flights over days around a sector (or, :func:`synth_wide_area`, around several
regions thousands of km apart): surveillance patterns (orbit, racetrack,
loiter, survey lawnmower) and ordinary traffic (straight transits, airliner approaches with
base/final turns but no holding, general-aviation flights with a few turns, helicopter
transits). Each flight is built from kinematic segments (straight legs and constant-radius
turns), sampled at a reporting interval with position noise and dropouts, and converted to
WGS-84 through the sector's :class:`~lookout.geo.LocalFrame`.

The output is a :class:`~lookout.analytics.missions.PointHistory` plus one
:class:`FlightTruth` per flight, and writers for the SBS-1 and Observation JSON-lines formats
so the ``lookout missions`` command can be exercised on the same data.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from lookout.analytics.missions import PointHistory
from lookout.geo import LocalFrame

SURVEILLANCE_KINDS = ("orbit", "racetrack", "loiter", "survey")
TRAFFIC_KINDS = ("transit", "approach", "ga", "helicopter")
DEFAULT_MIX = {"orbit": 0.08, "racetrack": 0.04, "loiter": 0.04, "survey": 0.04,
               "transit": 0.35, "approach": 0.25, "ga": 0.12, "helicopter": 0.08}
FT_PER_M = 3.28084


@dataclass
class FlightTruth:
    """What one synthetic flight really did."""

    ident: str
    callsign: str
    aircraft_type: str
    kind: str  # one of SURVEILLANCE_KINDS or TRAFFIC_KINDS
    start: float
    end: float
    mission_start: float | None = None  # the surveillance pattern's interval, if any
    mission_end: float | None = None
    center_e: float | None = None
    center_n: float | None = None

    @property
    def is_mission(self) -> bool:
        return self.kind in SURVEILLANCE_KINDS


def _integrate(segments: list[tuple[float, float, float]], h0: float, dt: float):
    """Integrate ``(turn_rad, length_m, speed_mps)`` segments from heading ``h0`` (rad).

    Returns times, east, north (starting at 0, 0) and the segments' start times.
    """
    t_b, h_b, v_b = [0.0], [h0], []
    for turn, length, speed in segments:
        t_b.append(t_b[-1] + length / speed)
        h_b.append(h_b[-1] + turn)
        v_b.append(speed)
    t = np.arange(0.0, t_b[-1], dt)
    tm = t + dt / 2
    h = np.interp(tm, t_b, h_b)
    seg = np.clip(np.searchsorted(t_b, tm, side="right") - 1, 0, len(v_b) - 1)
    v = np.asarray(v_b)[seg]
    e = np.concatenate([[0.0], np.cumsum(v * dt * np.sin(h))])[:-1]
    n = np.concatenate([[0.0], np.cumsum(v * dt * np.cos(h))])[:-1]
    return t, e, n, np.asarray(t_b)


def _arc(angle_deg: float, radius: float, speed: float) -> tuple[float, float, float]:
    return (math.radians(angle_deg), abs(math.radians(angle_deg)) * radius, speed)


def _leg(length: float, speed: float) -> tuple[float, float, float]:
    return (0.0, length, speed)


class _Builder:
    def __init__(self, rng: np.random.Generator, extent_m: float) -> None:
        self.rng = rng
        self.extent = extent_m

    def _point_in_area(self) -> tuple[float, float]:
        return tuple(self.rng.uniform(-self.extent * 0.6, self.extent * 0.6, 2))

    def _inbound(self, target, speed):
        """An approach leg from 25-50 km away straight to ``target``; returns start and heading."""
        rng = self.rng
        brg = rng.uniform(0, 2 * math.pi)
        dist = rng.uniform(25_000, 50_000)
        start = (target[0] + dist * math.sin(brg), target[1] + dist * math.cos(brg))
        heading = math.atan2(target[0] - start[0], target[1] - start[1])
        return start, heading, [_leg(dist, speed)]

    def surveillance(self, kind: str):
        """Segments for a surveillance flight: inbound leg, pattern, outbound leg."""
        rng = self.rng
        speed = rng.uniform(45, 85)
        center = self._point_in_area()
        on_station = rng.uniform(2400, 9000)  # s
        side = rng.choice([-1.0, 1.0])
        if kind == "orbit":
            r = rng.uniform(1500, 6000)
            entry = (center[0], center[1] - r)  # enter the circle at its south point, heading east/west
            start, h_in, segs = self._inbound(entry, speed)
            # at the circle's south point, heading west turns right around it, east turns left
            turn_to = math.degrees((-math.pi / 2 * side) - h_in)
            turn_to = (turn_to + 180) % 360 - 180
            segs.append(_arc(turn_to, 800, speed))
            laps = max(2.0, on_station * speed / (2 * math.pi * r))
            pattern = [_arc(side * 360.0 * laps, r, speed)]
        elif kind == "racetrack":
            leg, r = rng.uniform(8000, 20000), rng.uniform(1500, 3000)
            start, h_in, segs = self._inbound(center, speed)
            lap = [_leg(leg, speed), _arc(side * 180, r, speed), _leg(leg, speed), _arc(side * 180, r, speed)]
            lap_t = sum(s[1] / s[2] for s in lap)
            pattern = lap * max(2, int(on_station / lap_t))
        elif kind == "survey":
            leg, spacing = rng.uniform(6000, 15000), rng.uniform(1500, 3000)
            start, h_in, segs = self._inbound(center, speed)
            nlegs = max(6, int(on_station / (leg / speed + math.pi * spacing / 2 / speed)))
            nlegs = min(nlegs, 24)
            pattern = []
            for i in range(nlegs):
                pattern.append(_leg(leg, speed))
                pattern.append(_arc(side * 180 * (1 if i % 2 == 0 else -1), spacing / 2, speed))
        elif kind == "loiter":
            # A wandering flight inside a few km: random turns of 60-270 degrees either way,
            # short legs; headings keep the aircraft near the centre.
            start, h_in, segs = self._inbound(center, speed)
            pattern, t = [], 0.0
            while t < on_station:
                length = rng.uniform(1000, 4000)
                pattern.append(_leg(length, speed))
                pattern.append(_arc(rng.choice([-1, 1]) * rng.uniform(120, 270), rng.uniform(600, 1500), speed))
                t += (length + pattern[-1][1]) / speed
        else:
            raise ValueError(f"unknown surveillance kind {kind!r}")
        n_in = len(segs)
        segs = segs + pattern + [_leg(rng.uniform(30_000, 50_000), speed)]
        alt = rng.uniform(2500, 6000)
        return start, h_in, segs, n_in, n_in + len(pattern), alt, center

    def traffic(self, kind: str):
        rng = self.rng
        if kind in ("transit", "helicopter"):
            speed = rng.uniform(180, 250) if kind == "transit" else rng.uniform(35, 70)
            length = rng.uniform(80_000, 160_000) if kind == "transit" else rng.uniform(30_000, 70_000)
            mid = self._point_in_area()
            brg = rng.uniform(0, 2 * math.pi)
            start = (mid[0] - length / 2 * math.sin(brg), mid[1] - length / 2 * math.cos(brg))
            turn = rng.uniform(-30, 30)
            radius = 8000 if kind == "transit" else 1000
            segs = [_leg(length / 2, speed), _arc(turn, radius, speed), _leg(length / 2, speed)]
            alt = rng.uniform(9000, 12000) if kind == "transit" else rng.uniform(300, 1500)
            return start, brg, segs, alt
        if kind == "approach":
            # Straight descent towards an airfield, then downwind/base/final turns (up to 270
            # degrees in all), slowing down: no holding.
            runway = self._point_in_area()
            v1, v2 = rng.uniform(140, 200), rng.uniform(65, 85)
            start, h_in, segs = self._inbound(runway, v1)
            segs[0] = _leg(segs[0][1] * rng.uniform(1.2, 2.0), v1)
            side = rng.choice([-1.0, 1.0])
            style = rng.integers(0, 3)
            if style == 0:  # straight-in with a small intercept
                segs += [_arc(side * rng.uniform(10, 40), 5000, v2), _leg(15_000, v2)]
            elif style == 1:  # base and final: two 90 degree turns
                segs += [_arc(side * 90, 4000, v2), _leg(rng.uniform(5000, 10_000), v2),
                         _arc(side * 90, 4000, v2), _leg(rng.uniform(10_000, 18_000), v2)]
            else:  # overhead join: downwind, base, final (270 degrees)
                segs += [_arc(side * 90, 3500, v2), _leg(12_000, v2), _arc(side * 90, 3000, v2),
                         _leg(5000, v2), _arc(side * 90, 3000, v2), _leg(12_000, v2)]
            return start, h_in, segs, rng.uniform(600, 4000)
        if kind == "ga":
            speed = rng.uniform(50, 75)
            start = self._point_in_area()
            h = rng.uniform(0, 2 * math.pi)
            segs = []
            for _ in range(rng.integers(2, 5)):
                segs.append(_leg(rng.uniform(8000, 30_000), speed))
                segs.append(_arc(rng.choice([-1, 1]) * rng.uniform(20, 120), 1200, speed))
            segs.append(_leg(rng.uniform(8000, 30_000), speed))
            return start, h, segs, rng.uniform(1000, 3500)
        raise ValueError(f"unknown traffic kind {kind!r}")


_TYPES = {"orbit": ["C208", "PC12", "B350", "DHC8"], "racetrack": ["B350", "P3", "DHC8"],
          "loiter": ["C208", "PC12", "AS50"], "survey": ["C208", "B350"],
          "transit": ["B738", "A320", "B77W", "E75L"], "approach": ["B738", "A320", "CRJ9", "E75L"],
          "ga": ["C172", "PA28", "SR22"], "helicopter": ["EC35", "AS50", "B407"]}


def synth_flights(
    n_flights: int,
    seed: int = 0,
    start_time: float = 1_767_225_600.0,  # 2026-01-01T00:00:00Z
    days: float = 1.0,
    mix: dict[str, float] | None = None,
    frame: LocalFrame | None = None,
    dt: float = 5.0,
    noise_m: float = 15.0,
    dropout: float = 0.03,
    extent_m: float = 20_000.0,
) -> tuple[PointHistory, list[FlightTruth]]:
    """Generate ``n_flights`` flights spread over ``days`` from ``start_time``.

    ``mix`` maps a flight kind to its share (default :data:`DEFAULT_MIX`); ``frame`` is the
    local frame the flights are laid out in (default: the packaged sector's). Returns the
    points (sorted by time, as a receiver would record them) and the ground truth.
    """
    if frame is None:
        from lookout.sector import load_sector

        frame = load_sector().frame
    rng = np.random.default_rng(seed)
    mix = mix or DEFAULT_MIX
    kinds = list(mix)
    p = np.asarray([mix[k] for k in kinds], float)
    builder = _Builder(rng, extent_m)
    cols: dict[str, list[np.ndarray]] = {"t": [], "e": [], "n": [], "a": [], "i": []}
    truths: list[FlightTruth] = []
    idents: list[str] = []
    used: set[str] = set()
    for k in range(n_flights):
        kind = kinds[rng.choice(len(kinds), p=p / p.sum())] if k >= len(kinds) or n_flights < len(kinds) else kinds[k]
        while True:
            ident = f"{int(rng.integers(0, 0xFFFFFF)):06x}"
            if ident not in used:
                used.add(ident)
                break
        t0 = start_time + rng.uniform(0, days * 86400)
        t_m0 = t_m1 = None
        center = (None, None)
        if kind in SURVEILLANCE_KINDS:
            start, h0, segs, i0, i1, alt, center = builder.surveillance(kind)
            t, e, n, t_b = _integrate(segs, h0, dt)
            t_m0, t_m1 = t0 + t_b[i0], t0 + t_b[i1]
            callsign = f"SRV{int(rng.integers(1, 99)):02d}"
            a = np.full(t.size, alt)
        else:
            start, h0, segs, alt = builder.traffic(kind)
            t, e, n, _ = _integrate(segs, h0, dt)
            if kind == "approach":
                a = np.linspace(alt, 400.0, t.size)
                callsign = f"{rng.choice(['AAL', 'SWA', 'VOI', 'AMX'])}{int(rng.integers(100, 9999))}"
            else:
                a = np.full(t.size, alt)
                callsign = (f"N{int(rng.integers(100, 999))}{chr(65 + int(rng.integers(0, 26)))}"
                            if kind in ("ga", "helicopter") else f"UAL{int(rng.integers(100, 9999))}")
        e = e + start[0] + rng.normal(0, noise_m, t.size)
        n = n + start[1] + rng.normal(0, noise_m, t.size)
        keep = rng.random(t.size) >= dropout
        if t.size > 200 and rng.random() < 0.3:  # one longer reception gap (60-240 s)
            g0 = int(rng.integers(0, t.size - 60))
            keep[g0:g0 + int(rng.uniform(60, 240) / dt)] = False
        tt = t0 + t[keep] + rng.uniform(-0.2, 0.2, int(keep.sum()))
        tt.sort()
        cols["t"].append(tt)
        cols["e"].append(e[keep])
        cols["n"].append(n[keep])
        cols["a"].append(a[keep])
        cols["i"].append(np.full(int(keep.sum()), len(idents)))
        idents.append(ident)
        truths.append(FlightTruth(ident=ident, callsign=callsign, aircraft_type=str(rng.choice(_TYPES[kind])),
                                  kind=kind, start=float(tt[0]), end=float(tt[-1]), mission_start=t_m0,
                                  mission_end=t_m1, center_e=center[0], center_n=center[1]))
    t = np.concatenate(cols["t"])
    order = np.argsort(t, kind="stable")
    e = np.concatenate(cols["e"])[order]
    n = np.concatenate(cols["n"])[order]
    up = np.concatenate(cols["a"])[order] - frame.alt0
    lat, lon, alt = frame.to_geodetic(e, n, up)
    codes = np.concatenate(cols["i"])[order]
    hist = PointHistory(
        ident=np.asarray(idents, dtype=object)[codes], time=t[order], lat=np.asarray(lat), lon=np.asarray(lon),
        alt=np.asarray(alt),
        callsigns={tr.ident: tr.callsign for tr in truths},
        types={tr.ident: tr.aircraft_type for tr in truths},
    )
    return hist, truths


#: regions of the wide-area synthetic history: name, centre latitude and longitude (degrees);
#: thousands of km apart, both hemispheres, one across the antimeridian
WIDE_AREA = (
    ("texas", 31.0, -100.0),
    ("france", 46.5, 2.5),
    ("alaska", 61.2, -150.0),
    ("fiji", -17.7, 179.8),
    ("australia", -33.9, 150.9),
    ("norway", 69.6, 19.0),
)


def synth_wide_area(n_flights: int, seed: int = 0, regions: tuple[tuple[str, float, float], ...] = WIDE_AREA,
                    extent_m: float = 150_000.0, **kwargs) -> tuple[PointHistory, list[FlightTruth], dict[str, str]]:
    """:func:`synth_flights` over several regions far apart: ``n_flights`` shared between
    ``regions`` (name, lat, lon), each laid out around its own centre over ``extent_m``.

    Returns the merged history (sorted by time, as an aggregated feed would be), the ground
    truth, and the region name of each aircraft identity. Other keywords go to
    :func:`synth_flights` (``start_time``, ``days``, ``mix``, ``dt``, ...)."""
    if not regions:
        raise ValueError("synth_wide_area needs at least one region")
    hists, truths, region_of = [], [], {}
    rng = np.random.default_rng(seed + 7919)
    for k, (name, lat, lon) in enumerate(regions):
        n = n_flights // len(regions) + (1 if k < n_flights % len(regions) else 0)
        if n == 0:
            continue
        h, tr = synth_flights(n, seed=seed * 131 + k, frame=LocalFrame(lat, lon, 0.0), extent_m=extent_m, **kwargs)
        rename = {}
        mine = {t.ident for t in tr}
        for t in tr:  # identities are drawn per region: keep them unique over all regions
            new = t.ident
            while new in region_of:
                new = f"{int(rng.integers(0, 0xFFFFFF)):06x}"
                if new in mine:
                    new = t.ident  # taken in this region: draw again
            if new != t.ident:
                rename[t.ident] = new
                mine.add(new)
        if rename:
            h.ident = np.array([rename.get(i, i) for i in h.ident.tolist()], dtype=object)
            h.callsigns = {rename.get(i, i): c for i, c in h.callsigns.items()}
            h.types = {rename.get(i, i): c for i, c in h.types.items()}
            for t in tr:
                t.ident = rename.get(t.ident, t.ident)
        for t in tr:
            region_of[t.ident] = name
        hists.append(h)
        truths += tr
    hist = PointHistory.concat(hists)
    order = np.argsort(hist.time, kind="stable")
    hist = PointHistory(ident=hist.ident[order], time=hist.time[order], lat=hist.lat[order], lon=hist.lon[order],
                        alt=None if hist.alt is None else hist.alt[order], callsigns=hist.callsigns, types=hist.types)
    return hist, truths, region_of


def sbs_lines(hist: PointHistory) -> Iterator[str]:
    """The history as SBS-1 BaseStation lines (one ``MSG,1`` callsign line per aircraft, then
    ``MSG,3`` airborne positions with barometric-like altitude in feet)."""
    named: set[str] = set()
    for i in range(len(hist)):
        ident = str(hist.ident[i])
        ts = datetime.fromtimestamp(float(hist.time[i]), tz=UTC)
        d, tm = ts.strftime("%Y/%m/%d"), ts.strftime("%H:%M:%S.") + f"{ts.microsecond // 1000:03d}"
        hexid = ident.upper()
        if ident not in named and hist.callsigns.get(ident):
            named.add(ident)
            yield f"MSG,1,1,1,{hexid},1,{d},{tm},{d},{tm},{hist.callsigns[ident]},,,,,,,,0,0,0,0"
        alt_ft = int(round(float(hist.alt[i]) * FT_PER_M))
        yield (f"MSG,3,1,1,{hexid},1,{d},{tm},{d},{tm},,{alt_ft},,,"
               f"{float(hist.lat[i]):.5f},{float(hist.lon[i]):.5f},,,0,0,0,0")


def jsonl_lines(hist: PointHistory, sensor: str = "synth") -> Iterator[str]:
    """The history as flat Observation JSON lines."""
    for i in range(len(hist)):
        ident = str(hist.ident[i])
        rec = {"time": float(hist.time[i]), "source": "adsb", "sensor": sensor, "ident": ident,
               "lat": float(hist.lat[i]), "lon": float(hist.lon[i]), "alt_m": float(hist.alt[i])}
        if hist.callsigns.get(ident):
            rec["callsign"] = hist.callsigns[ident]
        yield json.dumps(rec)


@dataclass
class CorridorTruth:
    """A scripted crossing corridor: position along the border line (m from its first point),
    spread (1-sigma, m), number of crossings, share going north, and its active time span."""

    along_m: float
    spread_m: float
    count: int
    north_share: float = 0.8
    start: float = 1_767_225_600.0
    end: float = 1_767_225_600.0 + 30 * 86400.0


def synth_crossing_tracks(sector, corridors: list[CorridorTruth], noise_count: int = 0, seed: int = 0,
                          dt: float = 2.0, points_each_side: int = 5, speed: float = 12.0):
    """Drone tracks crossing the sector's border: each corridor's crossings are spread along the
    line (Gaussian) with courses roughly perpendicular to it; ``noise_count`` crossings fall
    anywhere along the line at any time. Returns parallel arrays ``(ids, time, lat, lon)`` of
    track points (``points_each_side`` points before and after each crossing) and, per
    crossing, the scripted corridor index (-1 for noise) and crossing point (east, north)."""
    rng = np.random.default_rng(seed)
    line = sector.border_enu
    xs = []
    for ci, c in enumerate(corridors):
        xs += [(ci, a, t, rng.random() < c.north_share) for a, t in
               zip(rng.normal(c.along_m, c.spread_m, c.count), rng.uniform(c.start, c.end, c.count))]
    t_lo = min((c.start for c in corridors), default=1_767_225_600.0)
    t_hi = max((c.end for c in corridors), default=t_lo + 86400.0)
    xs += [(-1, a, t, rng.random() < 0.5) for a, t in
           zip(rng.uniform(0, line.length, noise_count), rng.uniform(t_lo, t_hi, noise_count))]
    k = np.arange(-points_each_side, points_each_side) + 0.5
    ids, tt, ee, nn, labels, cpts = [], [], [], [], [], []
    for j, (ci, along, t, north) in enumerate(xs):
        along = float(np.clip(along, 1.0, line.length - 1.0))
        p = line.interpolate(along)
        q = line.interpolate(min(along + 10.0, line.length))
        r = line.interpolate(max(along - 10.0, 0.0))
        tx, ty = q.x - r.x, q.y - r.y
        norm = math.hypot(tx, ty)
        nx, ny = -ty / norm, tx / norm
        if ny < 0:  # the normal pointing to the north side of the line
            nx, ny = -nx, -ny
        ang = rng.normal(0, math.radians(15))
        sgn = 1.0 if north else -1.0
        vx = sgn * (nx * math.cos(ang) - ny * math.sin(ang)) * speed
        vy = sgn * (nx * math.sin(ang) + ny * math.cos(ang)) * speed
        ids.append(np.full(k.size, f"d-{seed}-{j}", dtype=object))
        tt.append(t + k * dt)
        ee.append(p.x + vx * k * dt + rng.normal(0, 3, k.size))
        nn.append(p.y + vy * k * dt + rng.normal(0, 3, k.size))
        labels.append(ci)
        cpts.append((p.x, p.y))
    e, n = np.concatenate(ee), np.concatenate(nn)
    lat, lon, _ = sector.frame.to_geodetic(e, n, np.zeros_like(e))
    return (np.concatenate(ids), np.concatenate(tt), np.asarray(lat), np.asarray(lon), np.asarray(labels),
            np.asarray(cpts))


def raw_lines(hist: PointHistory) -> Iterator[str]:
    """The history as ``timestamp,hex`` raw Mode S lines: one DF17 identification frame per
    aircraft, then airborne position frames alternating CPR even/odd per aircraft (encoders of
    :mod:`lookout.sources.modes`)."""
    from lookout.sources.modes import encode_airborne_position, encode_identification

    odd: dict[str, bool] = {}
    for i in range(len(hist)):
        ident = str(hist.ident[i])
        t = float(hist.time[i])
        if ident not in odd:
            odd[ident] = False
            if hist.callsigns.get(ident):
                yield f"{t - 0.01:.3f},{encode_identification(ident, hist.callsigns[ident])}"
        alt_ft = float(hist.alt[i]) * FT_PER_M
        yield f"{t:.3f},{encode_airborne_position(ident, float(hist.lat[i]), float(hist.lon[i]), alt_ft, odd[ident])}"
        odd[ident] = not odd[ident]
