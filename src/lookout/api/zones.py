"""Zone bodies for the API: a GeoJSON Feature or a plain zone object -> a validated Zone.

A zone is accepted only when the rules can load it: after the checks here it goes through the
rules' own loader (:func:`lookout.rules.zones.zone_from_feature`: a Point needs ``radius_m``, a
line ``buffer_m``) and is projected and buffered as the rule engine does
(:meth:`lookout.rules.zones.ZoneSet.build`). Text must be valid Unicode (no lone UTF-16
surrogates such as ``"\\ud800"``) and numbers finite, anywhere in the body. Bodies larger than
:data:`MAX_ZONE_BODY` bytes are refused before they are read (:class:`lookout.api.params.BodyLimit`).
"""

from __future__ import annotations

import math
from typing import Any

from shapely.geometry import shape
from shapely.validation import explain_validity

from lookout.api.params import ApiError
from lookout.model import DEFAULT_LABEL, Zone, ZoneKind, new_id
from lookout.rules.zones import ZoneError, ZoneSet, zone_from_feature
from lookout.sector import Sector

GEOMETRY_TYPES = ("Point", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
_ZONE_FIELDS = {"id", "name", "kind", "geometry", "label", "properties", "version", "type"}
#: what the API answers in a zone's properties besides the free-form ones (read-only on input:
#: a Feature sent back as it was read keeps its version and owner out of the free-form properties)
_ANSWERED = ("name", "kind", "version", "label", "agency")
#: most bytes of a zone body (POST/PUT /api/zones); larger bodies get 422 before they are read
MAX_ZONE_BODY = 1024 * 1024


def _invalid(detail: str) -> ApiError:
    return ApiError(422, detail)


def validate_geometry(geometry: Any) -> dict[str, Any]:
    """Check a GeoJSON geometry (type, coordinates, WGS-84 ranges, polygon validity)."""
    if not isinstance(geometry, dict):
        raise _invalid("malformed GeoJSON: geometry must be an object with 'type' and 'coordinates', "
                       f"got {geometry!r:.80}")
    gtype = geometry.get("type")
    if gtype not in GEOMETRY_TYPES:
        raise _invalid(f"malformed GeoJSON: geometry type must be one of {list(GEOMETRY_TYPES)}, got {gtype!r}")
    coords = geometry.get("coordinates")
    if not isinstance(coords, list) or not coords:
        raise _invalid(f"malformed GeoJSON: {gtype} needs a non-empty 'coordinates' array")
    try:
        geom = shape(geometry)
    except Exception as exc:  # noqa: BLE001 - shapely raises several types for bad coordinates
        raise _invalid(f"malformed GeoJSON {gtype} coordinates: {exc}") from None
    if geom.is_empty:
        raise _invalid(f"malformed GeoJSON: {gtype} is empty")
    min_x, min_y, max_x, max_y = geom.bounds
    if not all(math.isfinite(v) for v in geom.bounds):
        raise _invalid(f"malformed GeoJSON: {gtype} has non-finite coordinates")
    if min_x < -180 or max_x > 180 or min_y < -90 or max_y > 90:
        raise _invalid(f"GeoJSON {gtype} coordinates are outside WGS-84 ranges "
                       "(positions are [longitude, latitude], lon -180..180, lat -90..90)")
    if gtype in ("Polygon", "MultiPolygon") and not geom.is_valid:
        raise _invalid(f"invalid GeoJSON {gtype}: {explain_validity(geom)}")
    return {"type": gtype, "coordinates": coords}


def check_values(value: Any, where: str = "body") -> None:
    """Every string (keys too) valid Unicode and every number finite, anywhere in ``value``.
    JSON allows ``"\\ud800"`` (a lone surrogate: no character, cannot be written as UTF-8) and
    Python's parser takes ``NaN``; neither can be stored and answered faithfully."""
    stack = [(value, where)]
    while stack:
        v, at = stack.pop()
        if isinstance(v, str):
            if not v.isascii():
                try:
                    v.encode("utf-8")
                except UnicodeEncodeError as exc:
                    raise _invalid(f"{at}: text is not valid Unicode (a lone UTF-16 surrogate "
                                   f"{v[exc.start]!r} at character {exc.start}); send UTF-8 text") from None
        elif isinstance(v, float):
            if not math.isfinite(v):
                raise _invalid(f"{at}: numbers must be finite, got {v!r}")
        elif isinstance(v, dict):
            for k, x in v.items():
                stack.append((k, f"{at}: a key"))
                stack.append((x, f"{at}.{k}" if isinstance(k, str) and k.isascii() else f"{at}[...]"))
        elif isinstance(v, list):
            stack.extend((x, f"{at}[{i}]") for i, x in enumerate(v))


def zone_from_body(body: Any, zone_id: str | None = None, sector: Sector | None = None) -> Zone:
    """Build a Zone from a request body: a GeoJSON ``Feature`` (name, kind, label and any
    other property in ``properties``) or ``{id?, name, kind, geometry, label?, properties?}``.
    ``zone_id`` (from the URL) wins over an id in the body; a conflicting body id is an error."""
    if not isinstance(body, dict):
        raise _invalid("a zone must be a JSON object: a GeoJSON Feature or {name, kind, geometry}")
    check_values(body)
    if body.get("type") == "FeatureCollection":
        raise _invalid("send one zone (a GeoJSON Feature) per request, not a FeatureCollection")
    if body.get("type") == "Feature":
        props = body.get("properties") or {}
        if not isinstance(props, dict):
            raise _invalid("malformed GeoJSON Feature: 'properties' must be an object")
        props = {k: v for k, v in props.items() if k not in ("version", "agency")}
        body_id = body.get("id", props.pop("id", None))
        name, kind = props.pop("name", None), props.pop("kind", str(ZoneKind.CUSTOM))
        label = props.pop("label", DEFAULT_LABEL)
        geometry, extra = body.get("geometry"), props
    elif "type" in body and body["type"] in GEOMETRY_TYPES:
        raise _invalid("send a GeoJSON Feature (with properties.name and properties.kind) "
                       "or {name, kind, geometry}, not a bare geometry")
    else:
        unknown = sorted(set(body) - _ZONE_FIELDS)
        if unknown:
            raise _invalid(f"unknown zone field(s) {unknown}; a zone has id, name, kind, geometry, label, properties")
        body_id, name = body.get("id"), body.get("name")
        kind, label = body.get("kind", str(ZoneKind.CUSTOM)), body.get("label", DEFAULT_LABEL)
        geometry, extra = body.get("geometry"), body.get("properties") or {}
        if not isinstance(extra, dict):
            raise _invalid("zone 'properties' must be an object")
        reserved = sorted(set(extra) & {"id", *_ANSWERED})
        if reserved:
            raise _invalid(f"zone 'properties' may not hold {reserved}: give id, name, kind and label as fields "
                           "(version and agency are set by the server)")
    if body_id is not None and not isinstance(body_id, str):
        raise _invalid(f"zone id must be a string, got {body_id!r}")
    if zone_id is not None and body_id is not None and body_id != zone_id:
        raise _invalid(f"zone id in the body ({body_id!r}) differs from the id in the URL ({zone_id!r})")
    if not isinstance(name, str) or not name.strip():
        raise _invalid("a zone needs a non-empty 'name' (a Feature: properties.name)")
    kinds = [str(k) for k in ZoneKind]
    if kind not in kinds:
        raise _invalid(f"zone kind {kind!r} is unknown; use one of {kinds}")
    if not isinstance(label, str) or not label:
        raise _invalid("zone 'label' must be a non-empty string (a releasability label such as PUBLIC)")
    geometry = validate_geometry(geometry)
    zid = zone_id or body_id or new_id("z-")
    try:
        zone = Zone(id=zid, name=name.strip(), kind=ZoneKind(kind), geometry=geometry, label=label, properties=extra)
    except ValueError as exc:
        raise _invalid(str(exc)) from None
    return rules_check(zone, sector)


def rules_check(zone: Zone, sector: Sector | None = None) -> Zone:
    """The zone as the rules will load it, or 422 naming what they refuse: it goes through the
    rules' zone loader and is projected and buffered in ``sector``'s frame (the packaged sector
    when None), as :class:`lookout.rules.zones.ZoneSet` does for the rule engine."""
    from lookout.sector import load_sector

    feature = {"type": "Feature", "geometry": zone.geometry,
               "properties": {**zone.properties, "id": zone.id, "name": zone.name, "kind": str(zone.kind),
                              "label": zone.label}}
    try:
        loaded = zone_from_feature(feature, where="zone")
        ZoneSet.build([loaded], sector if sector is not None else load_sector())
    except ZoneError as exc:
        raise _invalid(str(exc)) from None
    except (ValueError, TypeError) as exc:  # geometry the projection or buffering cannot take
        raise _invalid(f"zone {zone.id!r}: the rules cannot use this geometry: {exc}") from None
    return zone


def zone_feature(z: Zone) -> dict[str, Any]:
    """A zone as a GeoJSON Feature (what the API returns; ``properties.agency``: the agency
    that made it, when one did)."""
    props = {**z.properties, "name": z.name, "kind": str(z.kind), "version": z.version, "label": z.label}
    if z.agency is not None:
        props["agency"] = z.agency
    return {"type": "Feature", "id": z.id, "geometry": z.geometry, "properties": props}
