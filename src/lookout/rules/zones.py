"""Zones: GeoJSON areas and lines the rules test tracks against.

A zone file is a GeoJSON ``FeatureCollection`` (or a single ``Feature``). Each feature becomes one
:class:`lookout.model.Zone`; its ``properties`` say what it is:

* ``id`` (required, unique in the file), ``name`` (defaults to the id), ``kind`` (one of
  :class:`lookout.model.ZoneKind`, default ``custom``), ``label`` (releasability, default PUBLIC);
* ``buffer_m``: for ``LineString``/``MultiLineString`` features (required, > 0) the zone is the
  area within that many metres of the line; for polygons it optionally grows the area;
* ``radius_m``: for ``Point`` features (required, > 0) the zone is the disc of that radius.

For evaluation the zones are projected into the sector's local ENU frame (through
:mod:`lookout.geo`), buffered in metres there, and indexed in a shapely ``STRtree`` so that
point-in-zone tests for every track of a step run as one vectorised query.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.validation import explain_validity

from lookout.model import DEFAULT_LABEL, Zone, ZoneKind
from lookout.sector import Sector


class ZoneError(ValueError):
    """A zone file or zone definition is malformed; the message names the feature and field."""


_LINE_TYPES = {"LineString", "MultiLineString"}
_AREA_TYPES = {"Polygon", "MultiPolygon"}


def _positive(value: Any, what: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
        raise ZoneError(f"{where}: {what} must be a positive number of metres, got {value!r}")
    return float(value)


def zone_from_feature(feature: Any, where: str = "feature") -> Zone:
    """One GeoJSON Feature -> :class:`Zone` (checked: geometry, coordinates, buffer/radius)."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise ZoneError(f"{where}: not a GeoJSON Feature object")
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        raise ZoneError(f"{where}: 'properties' must be an object")
    zid = props.get("id", feature.get("id"))
    if zid is None or str(zid).strip() == "":
        raise ZoneError(f"{where}: a zone needs an 'id' property")
    zid = str(zid)
    where = f"{where} (id {zid!r})"
    geom = feature.get("geometry")
    if not isinstance(geom, dict):
        raise ZoneError(f"{where}: missing 'geometry' object")
    gtype = geom.get("type")
    try:
        kind = ZoneKind(props.get("kind", ZoneKind.CUSTOM))
    except ValueError:
        raise ZoneError(f"{where}: unknown kind {props.get('kind')!r}; known: "
                        f"{', '.join(k.value for k in ZoneKind)}") from None
    try:
        zone = Zone(id=zid, name=str(props.get("name") or zid), kind=kind, geometry=geom,
                    label=str(props.get("label", DEFAULT_LABEL)),
                    properties={k: v for k, v in props.items() if k not in ("id", "name", "kind", "label")})
    except ValueError as exc:
        raise ZoneError(f"{where}: {exc}") from None
    try:
        g = shape(geom)
    except Exception as exc:  # noqa: BLE001 - shapely raises several types for bad coordinates
        raise ZoneError(f"{where}: bad {gtype} coordinates: {exc}") from None
    if g.is_empty:
        raise ZoneError(f"{where}: empty {gtype} geometry")
    lon, lat = shapely.get_coordinates(g).T
    if not (np.all(np.isfinite(lon)) and np.all(np.abs(lat) <= 90) and np.all(np.abs(lon) <= 180)):
        raise ZoneError(f"{where}: coordinates must be [lon, lat] in degrees (lon in [-180, 180], lat in [-90, 90])")
    if gtype in _AREA_TYPES and not g.is_valid:
        raise ZoneError(f"{where}: invalid polygon: {explain_validity(g)}")
    if gtype in _LINE_TYPES:
        _positive(props.get("buffer_m"), "a line zone's 'buffer_m'", where)
    elif gtype == "Point":
        _positive(props.get("radius_m"), "a point zone's 'radius_m'", where)
    elif "buffer_m" in props:
        _positive(props.get("buffer_m"), "'buffer_m'", where)
    return zone


def zones_from_geojson(obj: Any, source: str = "<geojson>") -> list[Zone]:
    """A parsed GeoJSON FeatureCollection (or Feature) -> zones; ids must be unique."""
    if isinstance(obj, dict) and obj.get("type") == "Feature":
        feats = [obj]
    elif isinstance(obj, dict) and obj.get("type") == "FeatureCollection":
        feats = obj.get("features")
        if not isinstance(feats, list):
            raise ZoneError(f"{source}: a FeatureCollection needs a 'features' list")
    else:
        raise ZoneError(f"{source}: expected a GeoJSON FeatureCollection or Feature")
    zones: list[Zone] = []
    seen: set[str] = set()
    for i, feat in enumerate(feats):
        z = zone_from_feature(feat, f"{source}: feature {i}")
        if z.id in seen:
            raise ZoneError(f"{source}: feature {i}: duplicate zone id {z.id!r}")
        seen.add(z.id)
        zones.append(z)
    return zones


def load_zones(path: str | Path) -> list[Zone]:
    """Read a GeoJSON zone file; raises :class:`ZoneError` naming the file and feature on bad input."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ZoneError(f"{p}: cannot read: {exc.strerror or exc}") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ZoneError(f"{p}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    return zones_from_geojson(obj, str(p))


def zones_to_geojson(zones: Iterable[Zone]) -> dict[str, Any]:
    """Zones -> a GeoJSON FeatureCollection that :func:`load_zones` reads back."""
    feats = []
    for z in zones:
        props = {"id": z.id, "name": z.name, "kind": str(z.kind), "label": z.label, "version": z.version}
        props.update(z.properties)
        feats.append({"type": "Feature", "properties": props, "geometry": z.geometry})
    return {"type": "FeatureCollection", "features": feats}


def border_zones(sector: Sector, buffer_m: float = 1000.0, label: str = DEFAULT_LABEL) -> list[Zone]:
    """The sector's border line as a zone of kind ``border_buffer`` (the area within ``buffer_m``)."""
    _positive(buffer_m, "border buffer_m", "border zone")
    coords = [list(c) for c in sector.border.coords]
    return [Zone(id="border-buffer", name=f"Border buffer ({buffer_m:g} m)", kind=ZoneKind.BORDER_BUFFER,
                 geometry={"type": "LineString", "coordinates": coords}, label=label,
                 properties={"buffer_m": float(buffer_m), "north": sector.north_country,
                             "south": sector.south_country})]


def sector_site_zones(sector: Sector, radius_m: float = 500.0) -> list[Zone]:
    """The sector file's ``protected_site`` places as disc zones of ``radius_m``."""
    out = []
    for p in sector.places:
        if p.get("kind") == ZoneKind.PROTECTED_SITE and p.get("geometry", {}).get("type") == "Point":
            out.append(Zone(id=str(p["id"]), name=str(p.get("name") or p["id"]), kind=ZoneKind.PROTECTED_SITE,
                            geometry=p["geometry"], properties={"radius_m": float(radius_m)}))
    return out


@dataclass
class ZoneSet:
    """Zones projected into the sector's ENU frame and indexed for vectorised point tests.

    ``geoms[i]`` is zone ``zones[i]`` as an ENU area (lines and points already buffered);
    ``outer[i]`` is the same area grown by the exit hysteresis margin used by rules that need it.
    """

    zones: list[Zone]
    geoms: np.ndarray  # shapely geometries (ENU metres)
    tree: shapely.STRtree
    index: dict[str, int]

    @classmethod
    def build(cls, zones: Iterable[Zone], sector: Sector) -> ZoneSet:
        zones = list(zones)
        frame, alt = sector.frame, sector.ground_alt_m

        def to_enu(xy: np.ndarray) -> np.ndarray:
            e, n, _ = frame.to_enu(xy[:, 1], xy[:, 0], np.full(len(xy), alt))
            return np.column_stack([e, n])

        geoms = []
        for z in zones:
            g = shapely.transform(shape(z.geometry), to_enu)
            gtype = z.geometry["type"]
            if gtype in _LINE_TYPES or (gtype in _AREA_TYPES and "buffer_m" in z.properties):
                g = g.buffer(float(z.properties["buffer_m"]), quad_segs=8)
            elif gtype == "Point":
                g = g.buffer(float(z.properties["radius_m"]), quad_segs=16)
            shapely.prepare(g)
            geoms.append(g)
        arr = np.array(geoms, dtype=object) if geoms else np.empty(0, dtype=object)
        return cls(zones=zones, geoms=arr, tree=shapely.STRtree(arr), index={z.id: i for i, z in enumerate(zones)})

    def __len__(self) -> int:
        return len(self.zones)

    def select(self, ids: Iterable[str] = (), kinds: Iterable[str] = ()) -> np.ndarray:
        """Indices of the zones with one of ``ids`` or one of ``kinds``."""
        ids, kinds = set(ids), {str(k) for k in kinds}
        return np.array([i for i, z in enumerate(self.zones) if z.id in ids or str(z.kind) in kinds], dtype=np.intp)

    def inside_pairs(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All (point index, zone index) pairs with the point inside the zone (one STRtree query)."""
        if len(self.zones) == 0 or len(x) == 0:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
        pts = shapely.points(np.asarray(x, float), np.asarray(y, float))
        pi, zi = self.tree.query(pts, predicate="intersects")
        return pi, zi

    def distance(self, zone_idx: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Distance (m) from each point to its paired zone (0 inside), vectorised over pairs."""
        if len(zone_idx) == 0:
            return np.empty(0)
        return shapely.distance(self.geoms[zone_idx], shapely.points(np.asarray(x, float), np.asarray(y, float)))
