"""Cursor-on-Target (CoT): tracks and alerts out as CoT events, ATAK reports in as Observations.

**Out.** :func:`track_event` builds one CoT ``<event>`` per track, following TAK (ATAK, WinTAK,
TAK Server) conventions:

* ``uid`` ``lookout-<track id>``, stable for the life of the track; ``how`` ``m-f`` (machine,
  fused); ``time``/``start`` the track's last update, ``stale`` ``stale_s`` later;
* ``type`` from class and affiliation: drones ``a-u-A-M-H-Q`` (rotary) / ``a-u-A-M-F-Q``
  (fixed-wing UAS, from the Remote ID UA type), civil fixed wing ``a-n-A-C-F`` with a
  transponder identity else ``a-u-A-C-F``, rotorcraft ``a-n-A-C-H`` / ``a-u-A-C-H``,
  surveillance aircraft ``a-u-A-M-F-R``, ground vehicles ``a-u-G-E-V``, people on foot
  ``a-u-G``, vessels ``a-u-S-X``, own agents ``a-f-G-U-C``, unknown air ``a-u-A``;
* ``point`` lat/lon/hae (metres above the WGS-84 ellipsoid, as Lookout stores it), ``ce`` the
  1-sigma horizontal error, ``le`` 9999999 (unknown);
* ``detail``: ``track`` course (degrees true) and speed (m/s), ``contact`` callsign (callsign,
  ICAO24, Remote ID serial or track id), ``remarks`` with class, identities, sources and
  releasability label, and ``<lookout track= cls= label=/>`` for Lookout-aware consumers.

A drone's Remote ID operator position is a second event (``lookout-<id>-operator``, ``a-u-G``,
linked to the drone). Alerts with a position are ``b-m-p-s-m`` spot markers
(``lookout-alert-<id>``) whose remarks carry severity, rule, message and state. A track that
ends (or is no longer releasable) gets a ``t-x-d-d`` delete event. The event's ``access``
attribute carries the releasability label.

:func:`to_protobuf` wraps an event as TAK Protocol Version 1 (stream or mesh) with takproto.

**In** (format ``cot``: :func:`parse_event`, :func:`event_to_observation`, :class:`CotDecoder`)
lives with the other formats in :mod:`lookout.sources.cot`; its names are re-exported here.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from functools import lru_cache
from xml.etree import ElementTree as ET

from lookout.model import Alert, ObjectClass, Track, track_name
from lookout.sources.cot import (
    MAX_EVENT_BYTES,
    UID_PREFIX,
    UNKNOWN_ERR,
    CotDecoder,
    CotError,
    CotEvent,
    class_from_type,
    event_to_observation,
    parse_cot_time,
    parse_event,
)


# -- times -----------------------------------------------------------------------------------
@lru_cache(maxsize=4096)
def cot_time(t: float) -> str:
    """UNIX seconds -> CoT time (ISO 8601 UTC with milliseconds, ``2026-11-24T00:00:00.000Z``)."""
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# -- type mapping ----------------------------------------------------------------------------
def affiliation(track: Track) -> str:
    """CoT affiliation letter: ``f`` own agents, ``n`` civil aircraft identified by transponder
    (neutral), else ``u`` (unknown); ``attrs["affiliation"]`` (f/h/u/n/s/a/p/j/k/o/x) overrides."""
    a = (track.attrs or {}).get("affiliation")
    if isinstance(a, str) and a in set("fhunsapjkox"):
        return a
    if track.cls == ObjectClass.AGENT:
        return "f"
    if track.cls in (ObjectClass.FIXED_WING, ObjectClass.ROTORCRAFT) and track.identities.get("icao24"):
        return "n"
    return "u"


_FIXED_WING_UA = {"aeroplane", "glider", "hybrid_lift"}


def cot_type(track: Track) -> str:
    """The CoT type of a track from its class, identities and affiliation."""
    a = affiliation(track)
    c = track.cls
    if c == ObjectClass.UAS:
        ua = str((track.attrs or {}).get("ua_type", ""))
        return f"a-{a}-A-M-F-Q" if ua in _FIXED_WING_UA else f"a-{a}-A-M-H-Q"
    if c == ObjectClass.FIXED_WING:
        return f"a-{a}-A-C-F"
    if c == ObjectClass.ROTORCRAFT:
        return f"a-{a}-A-C-H"
    if c == ObjectClass.SURVEILLANCE_AIRCRAFT:
        return f"a-{a}-A-M-F-R"
    if c == ObjectClass.GROUND_VEHICLE:
        return f"a-{a}-G-E-V"
    if c == ObjectClass.PERSON:
        return f"a-{a}-G"
    if c == ObjectClass.VESSEL:
        return f"a-{a}-S-X"
    if c == ObjectClass.AGENT:
        return "a-f-G-U-C"
    fast = track.velocity is not None and track.velocity.speed > 40.0
    return f"a-{a}-A" if fast else f"a-{a}-G"


def _num(x: float | None, nd: int = 7) -> str:
    if x is None or not math.isfinite(x):
        return f"{UNKNOWN_ERR:.1f}"
    return f"{x:.{nd}f}".rstrip("0").rstrip(".") if nd else f"{x:.0f}"


# -- events out ------------------------------------------------------------------------------
def _event(uid: str, typ: str, t: float, stale_s: float, lat: float, lon: float, hae: float | None, ce: float | None,
           how: str = "m-f", access: str | None = None) -> tuple[ET.Element, ET.Element]:
    ev = ET.Element("event", version="2.0", uid=uid, type=typ, how=how, time=cot_time(t), start=cot_time(t),
                    stale=cot_time(t + stale_s))
    if access:
        ev.set("access", access)
    ET.SubElement(ev, "point", lat=_num(lat), lon=_num(lon), hae=_num(hae, 2), ce=_num(ce, 1), le=f"{UNKNOWN_ERR:.1f}")
    return ev, ET.SubElement(ev, "detail")


def track_element(t: Track, stale_s: float = 30.0) -> ET.Element:
    """One track as a CoT ``<event>`` element."""
    ev, det = _event(UID_PREFIX + t.id, cot_type(t), t.time, stale_s, t.position.lat, t.position.lon,
                     t.position.alt_m, t.sigma_h_m if t.sigma_h_m > 0 else None, access=t.label)
    v = t.velocity
    if v is not None:
        ET.SubElement(det, "track", course=f"{v.course_deg:.1f}", speed=f"{v.speed:.2f}")
    ET.SubElement(det, "contact", callsign=track_name(t))
    parts = [str(t.cls).replace("_", " ")]
    parts += [f"{k}={val}" for k, val in sorted((t.identities or {}).items())]
    if t.sources:
        parts.append("sources " + "+".join(sorted(set(t.sources))))
    parts.append(f"label {t.label}")
    if (t.attrs or {}).get("released"):
        parts.append(f"released {t.attrs['released']}")
    ET.SubElement(det, "remarks", source="lookout").text = "; ".join(parts)
    ET.SubElement(det, "lookout", track=t.id, cls=str(t.cls), label=t.label, status=str(t.status))
    return ev


def operator_element(t: Track, stale_s: float = 30.0) -> ET.Element | None:
    """The Remote ID operator of a drone track as its own CoT event (None without one)."""
    op = t.operator
    if op is None:
        return None
    ev, det = _event(f"{UID_PREFIX}{t.id}-operator", "a-u-G", t.time, stale_s, op.lat, op.lon, op.alt_m, None,
                     access=t.label)
    ET.SubElement(det, "link", uid=UID_PREFIX + t.id, relation="p-p", type=cot_type(t))
    ET.SubElement(det, "contact", callsign=f"{track_name(t)} operator")
    ET.SubElement(det, "remarks", source="lookout").text = f"Remote ID operator of {track_name(t)}; label {t.label}"
    return ev


def alert_element(a: Alert, stale_s: float = 300.0, now: float | None = None) -> ET.Element | None:
    """An alert with a position as a CoT spot marker (None without a position)."""
    if a.position is None:
        return None
    t = a.updated or a.start
    stale = 0.0 if str(a.state) == "resolved" else stale_s
    ev, det = _event(f"{UID_PREFIX}alert-{a.id}", "b-m-p-s-m", t, stale, a.position.lat, a.position.lon,
                     a.position.alt_m, None, how="m-f", access=a.label)
    ET.SubElement(det, "contact", callsign=f"{str(a.severity).upper()} {a.rule}")
    for tid in a.track_ids[:8]:
        ET.SubElement(det, "link", uid=UID_PREFIX + tid, relation="p-p", type="a-u-A")
    ET.SubElement(det, "remarks", source="lookout").text = (
        f"[{str(a.severity).upper()}] {a.rule}: {a.message} ({a.state}); label {a.label}")
    ET.SubElement(det, "lookout", alert=a.id, rule=a.rule, severity=str(a.severity), state=str(a.state), label=a.label)
    return ev


def delete_element(uid: str, t: float) -> ET.Element:
    """A TAK delete event (``t-x-d-d``) for an item previously sent."""
    ev, det = _event(f"{uid}-delete", "t-x-d-d", t, 20.0, 0.0, 0.0, None, None, how="h-g-i-g-o")
    ET.SubElement(det, "link", uid=uid, relation="none", type="none")
    ET.SubElement(det, "__forcedelete")
    return ev


def _esc(v: str) -> str:
    if "&" in v:
        v = v.replace("&", "&amp;")
    if "<" in v:
        v = v.replace("<", "&lt;")
    if ">" in v:
        v = v.replace(">", "&gt;")
    return v


def _esc_attr(v: str) -> str:
    v = _esc(v)
    if '"' in v:
        v = v.replace('"', "&quot;")
    if "\n" in v or "\r" in v or "\t" in v:
        v = v.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#09;")
    return v


def _serialize(el: ET.Element, out: list[str]) -> None:
    """A lean serializer for the un-namespaced elements built here (same output as ElementTree)."""
    out.append("<" + el.tag)
    for k, v in el.attrib.items():
        out.append(f' {k}="{_esc_attr(v)}"')
    if el.text is None and not len(el):
        out.append(" />")
    else:
        out.append(">")
        if el.text:
            out.append(_esc(el.text))
        for child in el:
            _serialize(child, out)
        out.append(f"</{el.tag}>")
    if el.tail:
        out.append(_esc(el.tail))


def to_bytes(ev: ET.Element, declaration: bool = True) -> bytes:
    parts: list[str] = []
    _serialize(ev, parts)
    body = "".join(parts).encode()
    return (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + body) if declaration else body


def track_event(t: Track, stale_s: float = 30.0) -> bytes:
    """One track as CoT XML bytes."""
    return to_bytes(track_element(t, stale_s))


def track_events(t: Track, stale_s: float = 30.0) -> list[bytes]:
    """A track's event plus its operator's, when it has one."""
    out = [to_bytes(track_element(t, stale_s))]
    op = operator_element(t, stale_s)
    if op is not None:
        out.append(to_bytes(op))
    return out


def alert_event(a: Alert, stale_s: float = 300.0) -> bytes | None:
    el = alert_element(a, stale_s)
    return None if el is None else to_bytes(el)


def to_protobuf(xml: bytes, mesh: bool = False) -> bytes:
    """A CoT XML event as TAK Protocol Version 1 (stream framing by default; mesh for UDP)."""
    import takproto

    ver = takproto.TAKProtoVer.MESH if mesh else takproto.TAKProtoVer.STREAM
    return bytes(takproto.xml2proto(xml.decode(), ver))


def events_for(tracks: list[Track], alerts: list[Alert] = (), stale_s: float = 30.0) -> list[bytes]:
    """CoT events for one step: each track (and its operator) and each alert with a position."""
    out: list[bytes] = []
    for t in tracks:
        out.extend(track_events(t, stale_s))
    for a in alerts:
        ev = alert_event(a)
        if ev is not None:
            out.append(ev)
    return out


__all__ = ["MAX_EVENT_BYTES", "CotDecoder", "CotError", "CotEvent", "alert_element", "alert_event",
           "class_from_type", "cot_time", "cot_type", "delete_element", "event_to_observation", "events_for",
           "operator_element", "parse_cot_time", "parse_event", "to_bytes", "to_protobuf", "track_element",
           "track_event", "track_events", "track_name"]
