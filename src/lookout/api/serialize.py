"""JSON, GeoJSON and KML forms of tracks, alerts and track points for the API and the web map.

One JSON shape per record, used by the REST endpoints, the WebSocket stream and the exports:
the record's own fields (``Track.to_dict`` / ``Alert.to_dict``) plus, for tracks, the derived
``speed_mps``, ``course_deg`` and ``climb_mps`` so that clients need no vector arithmetic.
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from lookout.model import Alert, GeoPoint, Track, TrackPoint, track_name


def _point(p: GeoPoint | None) -> dict[str, Any] | None:
    """A point with latitude/longitude rounded to 1e-7 degrees (about 1 cm) and height to 1 cm."""
    if p is None:
        return None
    return {"lat": round(p.lat, 7), "lon": round(p.lon, 7), "alt_m": None if p.alt_m is None else round(p.alt_m, 2)}


def track_json(t: Track) -> dict[str, Any]:
    """The API's JSON form of a track (hand-built: it is on the streaming hot path). Positions
    are rounded to about 1 cm and velocities to 1 cm/s, far below any sensor's accuracy."""
    v = t.velocity
    return {
        "id": t.id,
        "time": t.time,
        "position": _point(t.position),
        "velocity": None if v is None else {"east": round(v.east, 2), "north": round(v.north, 2), "up": round(v.up, 2)},
        "speed_mps": None if v is None else round(v.speed, 2),
        "course_deg": None if v is None else round(v.course_deg, 1),
        "climb_mps": None if v is None else round(v.up, 2),
        "sigma_h_m": round(t.sigma_h_m, 1),
        "status": str(t.status),
        "cls": str(t.cls),
        "identities": t.identities,
        "sources": t.sources,
        "sensors": t.sensors,
        "label": t.label,
        "first_time": t.first_time,
        "updates": t.updates,
        "operator": _point(t.operator),
        "attrs": t.attrs,
    }


def track_wire(t: Track) -> dict[str, Any]:
    """The live stream's compact form of a track: flat, short keys (about 40% smaller than
    :func:`track_json`, which matters at a thousand tracks a second to every client).

    ``id, t`` (time), ``lat, lon, alt`` (m HAE), ``ve, vn, vu`` (m/s), ``spd`` (m/s), ``crs``
    (deg), ``sig`` (sigma_h_m), ``st`` (status), ``cls``, ``ids`` (identities), ``src``
    (sources), ``sen`` (sensors), ``lbl`` (label), ``t0`` (first_time), ``n`` (updates), ``op``
    (operator ``[lat, lon, alt]`` or null) and ``attrs`` (only when not empty).
    """
    p, v, op = t.position, t.velocity, t.operator
    d = {
        "id": t.id, "t": t.time, "lat": round(p.lat, 7), "lon": round(p.lon, 7),
        "alt": None if p.alt_m is None else round(p.alt_m, 2),
        "ve": None, "vn": None, "vu": None, "spd": None, "crs": None,
        "sig": round(t.sigma_h_m, 1), "st": str(t.status), "cls": str(t.cls), "ids": t.identities,
        "src": t.sources, "sen": t.sensors, "lbl": t.label, "t0": t.first_time, "n": t.updates,
        "op": None if op is None else [round(op.lat, 7), round(op.lon, 7), op.alt_m],
    }
    if v is not None:
        d["ve"], d["vn"], d["vu"] = round(v.east, 2), round(v.north, 2), round(v.up, 2)
        d["spd"], d["crs"] = round(v.speed, 2), round(v.course_deg, 1)
    if t.attrs:
        d["attrs"] = t.attrs
    return d


def alert_json(a: Alert) -> dict[str, Any]:
    d = a.to_dict()
    d["severity"] = str(a.severity)
    d["state"] = str(a.state)
    return d


def point_json(p: TrackPoint) -> dict[str, Any]:
    return {"time": p.time, "lat": p.lat, "lon": p.lon, "alt_m": p.alt_m, "speed_mps": p.speed_mps,
            "course_deg": p.course_deg}


# -- GeoJSON --------------------------------------------------------------------------------
def _coord(lat: float, lon: float, alt: float | None) -> list[float]:
    return [lon, lat] if alt is None else [lon, lat, alt]


def tracks_geojson(tracks: list[Track], histories: dict[str, list[TrackPoint]] | None = None) -> dict[str, Any]:
    """A FeatureCollection with one Point per track (its latest position), plus one LineString
    per track history when ``histories`` is given."""
    feats: list[dict[str, Any]] = []
    for t in tracks:
        props = track_json(t)
        props.pop("position")
        props["name"] = track_name(t)
        feats.append({"type": "Feature", "id": t.id,
                      "geometry": {"type": "Point",
                                   "coordinates": _coord(t.position.lat, t.position.lon, t.position.alt_m)},
                      "properties": props})
        hist = (histories or {}).get(t.id)
        if hist and len(hist) >= 2:
            feats.append({"type": "Feature", "id": f"{t.id}/history",
                          "geometry": {"type": "LineString",
                                       "coordinates": [_coord(p.lat, p.lon, p.alt_m) for p in hist]},
                          "properties": {"track_id": t.id, "name": track_name(t), "kind": "history",
                                         "times": [p.time for p in hist]}})
    return {"type": "FeatureCollection", "features": feats}


def alerts_geojson(alerts: list[Alert]) -> dict[str, Any]:
    """A FeatureCollection with one Point per alert (``geometry`` null when it has no position)."""
    feats = []
    for a in alerts:
        props = alert_json(a)
        pos = props.pop("position")
        geom = None if pos is None else {"type": "Point", "coordinates": _coord(pos["lat"], pos["lon"], pos["alt_m"])}
        feats.append({"type": "Feature", "id": a.id, "geometry": geom, "properties": props})
    return {"type": "FeatureCollection", "features": feats}


# -- KML ------------------------------------------------------------------------------------
KML_NS = "http://www.opengis.net/kml/2.2"


def _kml_coords(points: list[tuple[float, float, float | None]]) -> str:
    return " ".join(f"{lon:.7f},{lat:.7f},{(alt or 0.0):.1f}" for lat, lon, alt in points)


def _placemark(doc: ET.Element, name: str, description: dict[str, Any], geometry: ET.Element | None,
               pid: str) -> None:
    pm = ET.SubElement(doc, "Placemark", id=pid)
    ET.SubElement(pm, "name").text = name
    ext = ET.SubElement(pm, "ExtendedData")
    for k, v in description.items():
        if v is None or v == {} or v == []:
            continue
        data = ET.SubElement(ext, "Data", name=k)
        ET.SubElement(data, "value").text = v if isinstance(v, str) else json.dumps(v)
    if geometry is not None:
        pm.append(geometry)


def _kml_point(lat: float, lon: float, alt: float | None) -> ET.Element:
    pt = ET.Element("Point")
    if alt is not None:
        ET.SubElement(pt, "altitudeMode").text = "absolute"
    ET.SubElement(pt, "coordinates").text = _kml_coords([(lat, lon, alt)])
    return pt


def _kml_doc(name: str) -> tuple[ET.Element, ET.Element]:
    root = ET.Element("kml", xmlns=KML_NS)
    doc = ET.SubElement(root, "Document")
    ET.SubElement(doc, "name").text = name
    return root, doc


def _kml_bytes(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def tracks_kml(tracks: list[Track], histories: dict[str, list[TrackPoint]] | None = None) -> bytes:
    """A KML document: one Placemark per track (latest position) and one per track history."""
    root, doc = _kml_doc("Lookout tracks")
    for t in tracks:
        props = track_json(t)
        props.pop("position")
        _placemark(doc, track_name(t), props, _kml_point(t.position.lat, t.position.lon, t.position.alt_m), t.id)
        hist = (histories or {}).get(t.id)
        if hist and len(hist) >= 2:
            line = ET.Element("LineString")
            ET.SubElement(line, "altitudeMode").text = "absolute"
            ET.SubElement(line, "coordinates").text = _kml_coords([(p.lat, p.lon, p.alt_m) for p in hist])
            _placemark(doc, f"{track_name(t)} history", {"track_id": t.id, "start": str(hist[0].time),
                                                         "end": str(hist[-1].time)}, line, f"{t.id}-history")
    return _kml_bytes(root)


def alerts_kml(alerts: list[Alert]) -> bytes:
    root, doc = _kml_doc("Lookout alerts")
    for a in alerts:
        props = alert_json(a)
        props.pop("position")
        geom = None if a.position is None else _kml_point(a.position.lat, a.position.lon, a.position.alt_m)
        _placemark(doc, f"{a.severity}: {a.message}", props, geom, a.id)
    return _kml_bytes(root)
