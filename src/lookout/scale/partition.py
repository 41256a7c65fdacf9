"""Geographic partitions of a sector for fusion workers: H3 cells grouped into sectors.

The sector polygon is covered with H3 cells (resolution 7 by default: ~5 km² cells); the
cells are split into ``n`` contiguous west-to-east strips with equal cell counts. Sector ids are
``s0`` (westernmost) ... ``s{n-1}``. A point outside the covered cells falls in the strip of its
easting, so every position of the world has exactly one sector.

An observation is routed by its geodetic position, or, for a sensor-relative measurement, by
the position its range/azimuth/elevation projects to (the sensor site when it has no range).
"""

from __future__ import annotations

import math

import h3
import numpy as np

from lookout.geo import LocalFrame, polar_to_enu
from lookout.model import Observation
from lookout.sector import Sector, load_sector


class Partition:
    """``Partition(sector, n)``; :meth:`sector_of` a position, :meth:`route` an observation."""

    def __init__(self, sector: Sector | None = None, n: int = 1, resolution: int = 7) -> None:
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"number of sectors must be an integer >= 1, got {n!r}")
        self.sector = sector or load_sector()
        self.n, self.resolution = n, resolution
        self.ids = [f"s{i}" for i in range(n)]
        frame = self.sector.frame
        poly = self.sector.polygon
        ring = [(lat, lon) for lon, lat in poly.exterior.coords]
        cells = sorted(h3.polygon_to_cells(h3.LatLngPoly(ring), resolution))
        if not cells:
            raise ValueError(f"H3 resolution {resolution} gives no cell inside the sector polygon")
        centres = np.array([h3.cell_to_latlng(c) for c in cells])
        east, _, _ = frame.to_enu(centres[:, 0], centres[:, 1], np.zeros(len(cells)))
        order = np.argsort(east, kind="stable")
        strip = np.empty(len(cells), dtype=np.int64)
        strip[order] = np.minimum(np.arange(len(cells)) * n // len(cells), n - 1)
        self.cell_sector: dict[str, int] = dict(zip(cells, strip.tolist()))
        # easting edges between strips (for points outside the covered cells)
        es = np.asarray(east)[order]
        bounds = [len(cells) * i // n for i in range(1, n)]
        self.edges = np.array([0.5 * (es[b - 1] + es[b]) for b in bounds])
        self._frame = frame
        self._sites: dict[tuple, LocalFrame] = {}

    def index_of(self, lat: float, lon: float) -> int:
        if self.n == 1:
            return 0
        k = self.cell_sector.get(h3.latlng_to_cell(lat, lon, self.resolution))
        if k is not None:
            return k
        east, _, _ = self._frame.to_enu(lat, lon, 0.0)
        return int(np.searchsorted(self.edges, float(east)))

    def sector_of(self, lat: float, lon: float) -> str:
        """The sector id holding a WGS-84 position."""
        return self.ids[self.index_of(lat, lon)]

    def position_of(self, obs: Observation) -> tuple[float, float]:
        """The position an observation is routed by (see the module docstring)."""
        if obs.position is not None:
            return obs.position.lat, obs.position.lon
        m = obs.measurement
        if m.range_m is None:
            return m.site.lat, m.site.lon
        key = (m.site.lat, m.site.lon, m.site.alt_m or 0.0)
        f = self._sites.get(key)
        if f is None:
            f = self._sites[key] = LocalFrame(*key)
        e, n, u = polar_to_enu(m.range_m, m.azimuth_deg, m.elevation_deg or 0.0)
        lat, lon, _ = f.to_geodetic(e, n, u)
        lat, lon = float(lat), float(lon)
        if not (math.isfinite(lat) and math.isfinite(lon)):
            return m.site.lat, m.site.lon
        return lat, lon

    def route(self, obs: Observation) -> str:
        """The sector id an observation goes to."""
        return self.sector_of(*self.position_of(obs))

    def describe(self) -> list[dict]:
        """Cells per sector (for ``lookout partition``)."""
        counts = np.bincount(np.fromiter(self.cell_sector.values(), dtype=np.int64), minlength=self.n)
        return [{"sector": s, "h3_cells": int(c), "resolution": self.resolution} for s, c in zip(self.ids, counts)]
