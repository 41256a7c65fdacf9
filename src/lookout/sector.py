"""The operating sector: its area, border line and local frame, from a small GeoJSON file.

The package ships the default sector (``data/nogales_sector.geojson``): a 40 km x 40 km square
straddling the U.S.-Mexico border at Nogales (Arizona / Sonora), with the border line segment
from Natural Earth (public domain), the two towns, the port of entry and the main road.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from shapely.geometry import LineString, Point, Polygon, shape

from lookout.geo import LocalFrame

DEFAULT_SECTOR_FILE = "nogales_sector.geojson"


@dataclass
class Sector:
    """A sector: polygon, border line, ENU origin and named places (all WGS-84)."""

    name: str
    polygon: Polygon  # lon/lat
    border: LineString  # lon/lat; the side to its north is ``north_country``
    origin: tuple[float, float, float]  # lat, lon, ground alt (m HAE)
    north_country: str = "US"
    south_country: str = "MX"
    places: list[dict[str, Any]] = field(default_factory=list)
    geojson: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def frame(self) -> LocalFrame:
        return LocalFrame(*self.origin)

    @property
    def ground_alt_m(self) -> float:
        return self.origin[2]

    @cached_property
    def border_enu(self) -> LineString:
        """The border line in the sector's local ENU frame (metres)."""
        lon, lat = self.border.xy
        e, n, _ = self.frame.to_enu(list(lat), list(lon), self.ground_alt_m)
        return LineString(list(zip(e, n)))

    def side_of_border(self, lat: float, lon: float) -> str:
        """``north_country`` or ``south_country`` for a point (by the border line's y at its x)."""
        e, n, _ = self.frame.to_enu(lat, lon, self.ground_alt_m)
        return self.north_country if self.border_north_offset(e, n) > 0 else self.south_country

    @cached_property
    def _border_xy(self) -> tuple[np.ndarray, np.ndarray]:
        """Border vertices in ENU sorted by easting (for interpolation)."""
        xs, ys = (np.asarray(a, float) for a in self.border_enu.xy)
        order = np.argsort(xs, kind="stable")
        return xs[order], ys[order]

    def border_north_offset(self, east, north):
        """Signed north offset (m) of ENU point(s) from the border line at the same easting:
        positive on the ``north_country`` side. Scalars or numpy arrays."""
        xs, ys = self._border_xy
        off = np.asarray(north, float) - np.interp(east, xs, ys)
        return off if np.ndim(off) else float(off)

    def contains(self, lat: float, lon: float) -> bool:
        return self.polygon.contains(Point(lon, lat))

    def place(self, place_id: str) -> dict[str, Any]:
        for p in self.places:
            if p["id"] == place_id:
                return p
        raise KeyError(place_id)


def load_sector(path: str | Path | None = None) -> Sector:
    """Load a sector GeoJSON (the packaged default when ``path`` is None)."""
    if path is None:
        text = resources.files("lookout.data").joinpath(DEFAULT_SECTOR_FILE).read_text()
    else:
        text = Path(path).read_text()
    gj = json.loads(text)
    sector_poly = border = None
    name, origin, north, south, places = "sector", None, "US", "MX", []
    for feat in gj.get("features", []):
        props = feat.get("properties", {})
        kind = props.get("kind")
        if kind == "sector":
            sector_poly = shape(feat["geometry"])
            name = props.get("name", name)
            o = props.get("origin")
            if o:
                origin = (float(o["lat"]), float(o["lon"]), float(o.get("alt_m", 0.0)))
        elif kind == "border":
            border = shape(feat["geometry"])
            north, south = props.get("north", north), props.get("south", south)
        else:
            places.append({"id": props.get("id"), "name": props.get("name"), "kind": kind,
                           "geometry": feat["geometry"]})
    if sector_poly is None or border is None:
        raise ValueError("a sector file needs one feature of kind 'sector' and one of kind 'border'")
    if origin is None:
        c = sector_poly.centroid
        origin = (c.y, c.x, 0.0)
    return Sector(name=name, polygon=sector_poly, border=border, origin=origin, north_country=north,
                  south_country=south, places=places, geojson=gj)
