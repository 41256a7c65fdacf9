"""Cursor-on-Target in (format ``cot``): ATAK/TAK events as Observations.

:func:`parse_event` reads one event (XML, or TAK protobuf), hardened: size limit, DTDs,
entities and external references refused (defusedxml), numbers and times checked.
:func:`event_to_observation` turns friendly ground positions (``a-f-G...``, e.g. ATAK
self-reports of agents) into ``blue_force`` observations and markers dropped by an ATAK user
(any other ``a-`` type with a user ``link``/``contact``) into ``report`` observations with the
class the type implies. :class:`CotDecoder` does both over a byte stream. CoT out (tracks and
alerts as events) is :mod:`lookout.share.cot`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.etree import ElementTree as ET

import defusedxml.ElementTree as DET
from defusedxml import DefusedXmlException

from lookout.model import DEFAULT_LABEL, LABELS, GeoPosition, ObjectClass, Observation, SourceKind, Velocity
from lookout.sources.base import Decoder, register

#: Largest CoT event accepted (bytes); TAK Server's own default limit is of the same order.
MAX_EVENT_BYTES = 64 * 1024
#: CoT's "unknown" error value (``ce``/``le``/``hae``)
UNKNOWN_ERR = 9999999.0
#: uid prefix of the events Lookout sends (ignored when they come back in)
UID_PREFIX = "lookout-"


class CotError(ValueError):
    """A CoT event that is refused, with the reason (``reason`` is a short code for counters)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


# -- times -----------------------------------------------------------------------------------
_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


def parse_cot_time(s: str | None, name: str) -> float:
    if not s or not _TIME_RE.match(s):
        raise CotError("bad_time", f"{name}={s!r} is not an ISO 8601 UTC time")
    frac = ""
    m = re.search(r"\.(\d+)", s)
    if m:
        frac = m.group(1)
        s = s.replace("." + frac, "")
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError as exc:
        raise CotError("bad_time", f"{name}: {exc}") from None
    return dt.timestamp() + (float("0." + frac) if frac else 0.0)


# -- type mapping ----------------------------------------------------------------------------
def class_from_type(cot: str) -> ObjectClass:
    """The Lookout class a CoT type implies (for reports coming in)."""
    p = cot.split("-")
    dim = p[2] if len(p) > 2 else ""
    rest = p[3:]
    if len(p) > 1 and p[1] == "f" and dim == "G":
        return ObjectClass.AGENT
    if dim == "A":
        if rest[:1] == ["M"] and rest[-1:] == ["Q"]:
            return ObjectClass.UAS
        if rest[:3] == ["M", "F", "R"]:
            return ObjectClass.SURVEILLANCE_AIRCRAFT
        if "H" in rest[1:2]:
            return ObjectClass.ROTORCRAFT
        if "F" in rest[1:2]:
            return ObjectClass.FIXED_WING
        return ObjectClass.UNKNOWN
    if dim == "G":
        if rest[:2] == ["E", "V"]:
            return ObjectClass.GROUND_VEHICLE
        return ObjectClass.PERSON
    if dim in ("S", "U"):
        return ObjectClass.VESSEL
    return ObjectClass.UNKNOWN


# -- events ----------------------------------------------------------------------------------
@dataclass
class CotEvent:
    """The parts of a CoT event Lookout reads."""

    uid: str
    type: str
    how: str
    time: float
    start: float
    stale: float
    lat: float
    lon: float
    hae: float | None
    ce: float | None
    le: float | None
    callsign: str | None = None
    remarks: str | None = None
    course: float | None = None
    speed: float | None = None
    parent_callsign: str | None = None
    parent_uid: str | None = None
    access: str | None = None
    group: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _float(el: ET.Element | None, name: str, lo: float, hi: float, unknown_ok: bool = False) -> float | None:
    if el is None:
        return None
    raw = el.get(name)
    if raw is None or raw == "":
        return None
    try:
        v = float(raw)
    except ValueError:
        raise CotError("bad_number", f"{name}={raw[:40]!r} is not a number") from None
    if not math.isfinite(v):
        raise CotError("bad_number", f"{name}={raw[:40]!r} is not finite")
    if unknown_ok and v >= UNKNOWN_ERR - 1:
        return None
    if not lo <= v <= hi:
        raise CotError("out_of_range", f"{name}={v} outside {lo}..{hi}")
    return v


def _text(el: ET.Element | None, name: str, max_len: int = 256) -> str | None:
    if el is None:
        return None
    v = el.get(name)
    return None if v is None else v[:max_len]


def parse_event(data: bytes | str, max_bytes: int = MAX_EVENT_BYTES) -> CotEvent:
    """Parse one CoT event (XML, or TAK Protocol Version 1 protobuf starting with 0xbf).

    Refused with :class:`CotError`: more than ``max_bytes``, a DTD, entity declarations or
    external references (billion laughs, XXE), malformed XML, a root that is not ``event``,
    missing uid/type/point, out-of-range coordinates, bad times."""
    if isinstance(data, str):
        data = data.encode()
    if len(data) > max_bytes:
        raise CotError("oversized", f"CoT event of {len(data)} bytes exceeds the limit of {max_bytes} bytes")
    if data[:1] == b"\xbf":
        return _parse_proto(bytes(data))
    try:
        root = DET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise CotError("forbidden_xml",
                       f"DTDs, entities and external references are refused ({type(exc).__name__})") from None
    except ET.ParseError as exc:
        raise CotError("malformed_xml", str(exc)) from None
    except (LookupError, ValueError) as exc:  # e.g. an unknown encoding in the XML declaration
        raise CotError("malformed_xml", f"{type(exc).__name__}: {exc}") from None
    if root.tag != "event":
        raise CotError("not_event", f"root element is <{str(root.tag)[:40]}>, not <event>")
    uid, typ = root.get("uid"), root.get("type")
    if not uid or not typ or len(uid) > 256 or len(typ) > 64:
        raise CotError("missing_field", "an event needs uid and type attributes (at most 256/64 characters)")
    pt = root.find("point")
    if pt is None:
        raise CotError("missing_field", "an event needs a <point>")
    lat, lon = _float(pt, "lat", -90, 90), _float(pt, "lon", -180, 180)
    if lat is None or lon is None:
        raise CotError("missing_field", "<point> needs lat and lon")
    det = root.find("detail")
    contact = det.find("contact") if det is not None else None
    track = det.find("track") if det is not None else None
    remarks = det.find("remarks") if det is not None else None
    link = None
    if det is not None:
        for ln in det.findall("link"):
            if ln.get("relation") == "p-p":
                link = ln
                break
    group = det.find("__group") if det is not None else None
    return CotEvent(
        uid=uid, type=typ, how=root.get("how", "")[:16],
        time=parse_cot_time(root.get("time"), "time"),
        start=parse_cot_time(root.get("start") or root.get("time"), "start"),
        stale=parse_cot_time(root.get("stale") or root.get("time"), "stale"),
        lat=lat, lon=lon, hae=_float(pt, "hae", -1000, 100_000, unknown_ok=True),
        ce=_float(pt, "ce", 0, 1e7, unknown_ok=True), le=_float(pt, "le", 0, 1e7, unknown_ok=True),
        callsign=_text(contact, "callsign"), remarks=(remarks.text or "")[:2000] if remarks is not None else None,
        course=_float(track, "course", -360, 720), speed=_float(track, "speed", 0, 2000),
        parent_callsign=_text(link, "parent_callsign"), parent_uid=_text(link, "uid"), access=root.get("access"),
        group=_text(group, "name"),
    )


def _parse_proto(data: bytes) -> CotEvent:
    import takproto

    try:
        msg = takproto.parse_proto(bytearray(data))
    except Exception as exc:  # noqa: BLE001 - protobuf raises several types on garbage
        raise CotError("malformed_proto", f"not a TAK protobuf message ({type(exc).__name__})") from None
    if msg is None or not msg.HasField("cotEvent"):
        raise CotError("malformed_proto", "TAK message without a cotEvent")
    e = msg.cotEvent
    if not e.uid or not e.type:
        raise CotError("missing_field", "an event needs uid and type")
    for name, v, lo, hi in (("lat", e.lat, -90, 90), ("lon", e.lon, -180, 180)):
        if not math.isfinite(v) or not lo <= v <= hi:
            raise CotError("out_of_range", f"{name}={v} outside {lo}..{hi}")
    d = e.detail
    hae = e.hae if math.isfinite(e.hae) and e.hae < UNKNOWN_ERR - 1 and -1000 <= e.hae <= 100_000 else None
    ce = e.ce if math.isfinite(e.ce) and 0 <= e.ce < UNKNOWN_ERR - 1 else None
    has_track = d.HasField("track")
    return CotEvent(uid=e.uid[:256], type=e.type[:64], how=e.how[:16], time=e.sendTime / 1000.0,
                    start=e.startTime / 1000.0, stale=e.staleTime / 1000.0, lat=e.lat, lon=e.lon, hae=hae, ce=ce,
                    le=None, callsign=d.contact.callsign[:256] if d.HasField("contact") else None,
                    course=d.track.course if has_track else None, speed=d.track.speed if has_track else None,
                    access=e.access or None, group=d.group.name if d.HasField("group") else None)


def event_to_observation(ev: CotEvent, label: str = DEFAULT_LABEL, sensor: str = "cot") -> Observation | None:
    """A friendly ground position -> ``blue_force``; a marker an ATAK user dropped -> ``report``;
    anything else (pings, chat, Lookout's own events echoed back, shapes) -> None."""
    typ = ev.type
    if ev.uid.startswith(UID_PREFIX) or not typ.startswith("a-"):
        return None
    parts = typ.split("-")
    if len(parts) < 3 or len(parts[1]) != 1:
        return None
    sigma = ev.ce if ev.ce and ev.ce > 0 else 50.0
    pos = GeoPosition(ev.lat, ev.lon, ev.hae, sigma_h_m=sigma)
    vel = None
    if ev.course is not None and ev.speed is not None and ev.speed >= 0:
        c = math.radians(ev.course % 360.0)
        vel = Velocity(ev.speed * math.sin(c), ev.speed * math.cos(c), 0.0)
    lab = ev.access if ev.access in LABELS else label
    attrs: dict[str, Any] = {"cot_type": typ, "cot_uid": ev.uid}
    if ev.group:
        attrs["team"] = ev.group
    if parts[1] == "f" and parts[2] == "G":
        return Observation(time=ev.time, source=SourceKind.BLUE_FORCE, sensor=sensor, position=pos, velocity=vel,
                           ident=ev.uid, callsign=ev.callsign, cls=ObjectClass.AGENT, label=lab, attrs=attrs)
    reporter = ev.parent_callsign or ev.parent_uid
    if reporter is None:
        return None  # not a user-placed marker: a machine track from another system
    cls = class_from_type(typ)
    attrs.update(reporter=reporter, what=typ)
    if ev.remarks:
        attrs["text"] = ev.remarks
    if ev.callsign:
        attrs["marker"] = ev.callsign
    return Observation(time=ev.time, source=SourceKind.REPORT, sensor=sensor, position=pos, velocity=vel,
                       cls=None if cls == ObjectClass.UNKNOWN else cls, label=lab, attrs=attrs)


# -- stream decoder --------------------------------------------------------------------------
_START = re.compile(rb"<\?xml|<event[\s>]")


@register("cot")
class CotDecoder(Decoder):
    """A CoT stream (TAK Server / ATAK TCP: XML events back to back, or TAK protocol v1
    varint-length-delimited protobuf after ``0xbf``) -> Observations. Oversized or hostile
    events are counted by reason (``oversized``, ``forbidden_xml``, ...) and skipped; the
    decoder resynchronises at the next event."""

    framing = "bytes"
    counts_records = True

    def __init__(self, sensor: str | None = None, label: str = DEFAULT_LABEL, max_bytes: int = MAX_EVENT_BYTES) -> None:
        super().__init__(sensor=sensor, label=label)
        self.max_bytes = max_bytes
        self._buf = bytearray()
        self.refused: list[str] = []  # last reasons, for logs / audit (bounded)

    def _refuse(self, exc: CotError) -> None:
        self.stats.reject(exc.reason, exc.detail)
        self.refused.append(str(exc))
        del self.refused[:-20]

    def _one(self, data: bytes) -> Iterator[Observation]:
        self.stats.messages += 1
        try:
            ev = parse_event(data, self.max_bytes)
            obs = event_to_observation(ev, self.label, self.sensor)
        except CotError as exc:
            self._refuse(exc)
            return
        except ValueError as exc:  # a record that fails model validation
            self.stats.reject("invalid", str(exc))
            return
        if obs is None:
            self.stats.skip("not_a_position_report")
            return
        yield obs

    def _decode(self, data: bytes) -> Iterator[Observation]:
        self._buf += data
        while self._buf:
            if self._buf[:1] == b"\xbf" and self._buf[:3] != b"\xbf\x01\xbf":
                n, shift, i, done = 0, 0, 1, False
                while i < len(self._buf) and i < 11:
                    b = self._buf[i]
                    n |= (b & 0x7F) << shift
                    shift += 7
                    i += 1
                    if not b & 0x80:
                        done = True
                        break
                if not done:
                    if i < 11:
                        return  # need more bytes for the length
                    self.stats.messages += 1
                    self._refuse(CotError("malformed_proto", "TAK protobuf length prefix longer than 10 bytes"))
                    self._resync(1)
                    continue
                if n > self.max_bytes:
                    self._refuse(CotError("oversized", f"TAK protobuf message of {n} bytes exceeds {self.max_bytes}"))
                    self.stats.messages += 1
                    self._resync(1)
                    continue
                if len(self._buf) < i + n:
                    return
                frame = bytes(self._buf[:i + n])
                del self._buf[:i + n]
                yield from self._one(frame)
                continue
            end = self._buf.find(b"</event>")
            if end < 0:
                if len(self._buf) > self.max_bytes:
                    self.stats.messages += 1
                    self._refuse(CotError("oversized", f"CoT event longer than {self.max_bytes} bytes"))
                    self._resync(1)
                    continue
                return
            frame = bytes(self._buf[:end + 8])
            del self._buf[:end + 8]
            start = _START.search(frame)
            if start is None:
                self.stats.messages += 1
                self.stats.reject("garbage", repr(frame[:80]))
                continue
            yield from self._one(frame[start.start():].strip())

    def _resync(self, skip: int) -> None:
        m = _START.search(self._buf, skip)
        nxt = self._buf.find(b"\xbf", skip)
        cut = min(x for x in (m.start() if m else len(self._buf), nxt if nxt >= 0 else len(self._buf)))
        del self._buf[:cut]

    def _flush(self) -> Iterator[Observation]:
        if self._buf.strip():
            self.stats.messages += 1
            self.stats.reject("truncated", f"{len(self._buf)} bytes at end of stream")
        self._buf.clear()
        return iter(())
