"""Observation generators for the scale-out tests."""

from __future__ import annotations

import numpy as np

from lookout.model import GeoPosition, Observation, SourceKind
from lookout.sector import load_sector


def crossing_object(t0: float = 1_750_000_000.0, seconds: int = 160, east0: float = -2400.0,
                    north: float = 6000.0, speed: float = 30.0, sigma: float = 15.0, seed: int = 1,
                    sensor: str = "radar-x") -> list[Observation]:
    """One object flying east at ``speed`` m/s through the sector's middle, seen by a radar
    giving positions (no identity) once a second."""
    frame = load_sector().frame
    rng = np.random.default_rng(seed)
    t = t0 + np.arange(seconds, dtype=float)
    e = east0 + speed * (t - t0) + rng.normal(0, sigma, seconds)
    n = north + rng.normal(0, sigma, seconds)
    lat, lon, _ = frame.to_geodetic(e, n, np.full(seconds, 300.0))
    return [Observation(time=float(ti), source=SourceKind.RADAR, sensor=sensor,
                        position=GeoPosition(float(la), float(lo), None, sigma_h_m=sigma), id=f"o-x{i:05d}")
            for i, (ti, la, lo) in enumerate(zip(t, lat, lon))]


def border_crossers(n_objects: int = 8, t0: float = 1_750_000_000.0, seconds: int = 120, speed: float = 25.0,
                    stagger_s: float = 6.0, sigma: float = 15.0, seed: int = 2) -> list[Observation]:
    """``n_objects`` objects walking/driving north across the border at different eastings,
    starting ``stagger_s`` apart, seen by one radar (positions, no identity) once a second;
    time-ordered. Each one raises a border-crossing alert."""
    sector = load_sector()
    frame = sector.frame
    rng = np.random.default_rng(seed)
    out: list[Observation] = []
    for j in range(n_objects):
        e0 = -12_000.0 + j * 3_000.0
        n_border = -float(sector.border_north_offset(np.array([e0]), np.array([0.0]))[0])
        t = t0 + j * stagger_s + np.arange(seconds, dtype=float)
        n = n_border - speed * seconds / 2 + speed * (t - t[0]) + rng.normal(0, sigma, seconds)
        e = e0 + rng.normal(0, sigma, seconds)
        lat, lon, _ = frame.to_geodetic(e, n, np.full(seconds, sector.ground_alt_m))
        out += [Observation(time=float(ti), source=SourceKind.RADAR, sensor="radar-b",
                            position=GeoPosition(float(la), float(lo), None, sigma_h_m=sigma), id=f"o-b{j}-{i:04d}")
                for i, (ti, la, lo) in enumerate(zip(t, lat, lon))]
    out.sort(key=lambda o: (o.time, o.id))
    return out


def boundary_line(part) -> tuple[float, float]:
    """A west-east line of the sector's frame crossing from s0 into s1 of ``part`` exactly once:
    (its north coordinate, the easting where it crosses)."""
    frame = part.sector.frame
    for north in np.arange(-8000.0, 8000.0, 500.0):
        east = np.arange(part.edges[0] - 4000.0, part.edges[0] + 4000.0, 20.0)
        lat, lon, _ = frame.to_geodetic(east, np.full(len(east), north), np.zeros(len(east)))
        secs = [part.sector_of(float(a), float(b)) for a, b in zip(lat, lon)]
        changes = [i for i in range(1, len(secs)) if secs[i] != secs[i - 1]]
        if len(changes) == 1 and secs[0] == "s0":
            return float(north), float(east[changes[0]])
    raise AssertionError("no simple crossing of the s0/s1 boundary found")
