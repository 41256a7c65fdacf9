"""AIS (format ``ais``): NMEA 0183 ``!AIVDM``/``!AIVDO`` sentences decoded with pyais.

Position reports (types 1, 2, 3 class A; 18, 19 class B; 27 long range) become Observations
(``source`` ais, ``ident`` the MMSI, ``cls`` vessel, velocity from SOG/COG). Static data
(type 5, type 24 parts A and B, and type 19's name and ship type) are remembered per MMSI
and attached to that vessel's later positions as ``callsign`` and ``attrs`` name/ship type.

Lines may carry an NMEA 4.0 tag block (``\\s:rcv1,c:1700000000*hh\\!AIVDM,...``, whose ``c:``
is the receive time in UNIX seconds) or a leading timestamp (``1700000000.5 !AIVDM,...``,
UNIX seconds or ISO 8601 followed by a blank, comma or semicolon). Otherwise the time is the
decoder's ``reference_time``, else the wall clock. Multi-part sentences are assembled per
(sequence id, channel); a fragment set left incomplete is dropped and counted.
"""

from __future__ import annotations

import math
import re
import time as _time
from collections import OrderedDict
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pyais.messages import AISSentence, NMEASentenceFactory

from lookout.model import DEFAULT_LABEL, GeoPosition, ObjectClass, Observation, SourceKind, Velocity
from lookout.sources.base import Decoder, register

KNOT = 1852.0 / 3600.0
POSITION_TYPES = frozenset({1, 2, 3, 18, 19, 27})
STATIC_TYPES = frozenset({5, 24})
_MAX_PENDING = 64  # incomplete multi-part sets kept
_MAX_VESSELS = 50_000  # static data cache size
_LEAD_RE = re.compile(rb"^([^!\\\s,;]+)[\s,;]+(?=[!\\])")

SHIP_TYPE_GROUPS = {2: "wing_in_ground", 3: "special", 4: "high_speed_craft", 5: "special", 6: "passenger",
                    7: "cargo", 8: "tanker", 9: "other"}
_SPECIAL_TYPES = {30: "fishing", 31: "towing", 32: "towing_large", 33: "dredging", 34: "diving", 35: "military",
                  36: "sailing", 37: "pleasure_craft", 50: "pilot", 51: "search_and_rescue", 52: "tug",
                  53: "port_tender", 54: "anti_pollution", 55: "law_enforcement", 58: "medical"}


def ship_type_name(code: int | None) -> str | None:
    """A short name for an AIS ship-and-cargo type code."""
    if code is None or code == 0:
        return None
    return _SPECIAL_TYPES.get(code) or SHIP_TYPE_GROUPS.get(code // 10, "other")


class AISError(ValueError):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def _leading_time(token: bytes) -> float | None:
    text = token.decode("ascii", "replace")
    try:
        t = float(text)
    except ValueError:
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        if dt.tzinfo is None:
            return None
        t = dt.timestamp()
    if math.isfinite(t) and t > 1e11:
        t /= 1000.0
    return t if math.isfinite(t) and 0 < t < 1e10 else None


def _clean(text: Any) -> str | None:
    if text is None:
        return None
    s = str(text).replace("@", "").strip()
    return s or None


@register("ais")
class AISDecoder(Decoder):
    """NMEA AIVDM/AIVDO lines -> vessel Observations (multi-part assembly, static data)."""

    framing = "lines"

    def __init__(self, sensor: str | None = None, label: str = DEFAULT_LABEL,
                 reference_time: float | None = None) -> None:
        super().__init__(sensor, label)
        self.reference_time = reference_time
        self._pending: OrderedDict[tuple[int, str], dict[str, Any]] = OrderedDict()
        self.static: OrderedDict[int, dict[str, Any]] = OrderedDict()

    def _decode(self, data: bytes) -> Iterator[Observation]:
        try:
            obs = self._line(data)
        except AISError as exc:
            self.stats.reject(exc.reason, f"{exc}: {data[:100]!r}")
            return
        if obs is not None:
            yield obs

    def _line(self, data: bytes) -> Observation | None:
        line = data.strip()
        if not line:
            return None
        t = None
        m = _LEAD_RE.match(line)
        if m:
            t = _leading_time(m.group(1))
            if t is None:
                raise AISError("bad_timestamp", m.group(1)[:40].decode("ascii", "replace"))
            line = line[m.end():]
        try:
            sentence = NMEASentenceFactory.produce(line)
        except Exception as exc:  # noqa: BLE001 - pyais raises several kinds on malformed input
            raise AISError("bad_sentence", str(exc)[:80]) from None
        if not isinstance(sentence, AISSentence):
            self.stats.skip("not_ais")
            return None
        if not sentence.is_valid:
            raise AISError("bad_checksum")
        if sentence.tag_block is not None:
            try:
                sentence.tag_block.init()
                c = sentence.tag_block.receiver_timestamp
                valid = sentence.tag_block.is_valid
            except Exception:  # noqa: BLE001
                raise AISError("bad_tag_block") from None
            if not valid:
                raise AISError("bad_tag_block_checksum")
            if c is not None and t is None:
                t = _leading_time(str(c).encode())
        if sentence.frag_cnt > 1:
            sentence, t = self._assemble(sentence, t)
            if sentence is None:
                return None
        if t is None:
            t = float(self.reference_time) if self.reference_time is not None else _time.time()
        try:
            msg = sentence.decode()
        except Exception as exc:  # noqa: BLE001
            raise AISError("decode_error", str(exc)[:80]) from None
        return self._message(msg, t, sentence)

    def _assemble(self, s: AISSentence, t: float | None) -> tuple[AISSentence | None, float | None]:
        slot = (s.seq_id if s.seq_id is not None else -1, s.channel)
        entry = self._pending.get(slot)
        if entry is not None and (entry["count"] != s.frag_cnt or s.frag_num in entry["parts"]):
            self.stats.reject("incomplete_multipart")  # a new set reused the slot
            del self._pending[slot]
            entry = None
        if entry is None:
            if s.frag_num != 1:
                raise AISError("orphan_fragment", f"fragment {s.frag_num}/{s.frag_cnt} without its first")
            entry = self._pending[slot] = {"count": s.frag_cnt, "parts": {}, "time": t}
            while len(self._pending) > _MAX_PENDING:
                self._pending.popitem(last=False)
                self.stats.reject("incomplete_multipart")
        entry["parts"][s.frag_num] = s
        if entry["time"] is None:
            entry["time"] = t
        if len(entry["parts"]) < entry["count"]:
            return None, None
        del self._pending[slot]
        parts = [entry["parts"][i] for i in sorted(entry["parts"])]
        return AISSentence.assemble_from_iterable(parts), entry["time"]

    def _remember(self, mmsi: int, **fields: Any) -> None:
        rec = self.static.get(mmsi)
        if rec is None:
            rec = self.static[mmsi] = {}
            if len(self.static) > _MAX_VESSELS:
                self.static.popitem(last=False)
        else:
            self.static.move_to_end(mmsi)
        rec.update({k: v for k, v in fields.items() if v is not None})

    def _message(self, msg: Any, t: float, sentence: AISSentence) -> Observation | None:
        mtype = msg.msg_type
        mmsi = int(msg.mmsi)
        if not 0 < mmsi <= 999_999_999:
            raise AISError("bad_mmsi", str(mmsi))
        if mtype == 5:
            self._remember(mmsi, callsign=_clean(msg.callsign), name=_clean(msg.shipname),
                           ship_type=int(msg.ship_type) or None, destination=_clean(msg.destination),
                           imo=int(msg.imo) or None)
            self.stats.skip("static_data")
            return None
        if mtype == 24:
            if int(msg.partno) == 0:
                self._remember(mmsi, name=_clean(msg.shipname))
            else:
                self._remember(mmsi, callsign=_clean(msg.callsign), ship_type=int(msg.ship_type) or None)
            self.stats.skip("static_data")
            return None
        if mtype not in POSITION_TYPES:
            self.stats.skip(f"type_{mtype}")
            return None
        if mtype == 19:
            self._remember(mmsi, name=_clean(msg.shipname), ship_type=int(msg.ship_type) or None)
        lat, lon = float(msg.lat), float(msg.lon)
        if lat == 91.0 or lon == 181.0:
            self.stats.skip("position_not_available")
            return None
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            raise AISError("position_out_of_range", f"{lat}, {lon}")
        speed = float(msg.speed) if msg.speed is not None else None
        course = float(msg.course) if msg.course is not None else None
        na_speed = 63.0 if mtype == 27 else 102.3
        na_course = 511.0 if mtype == 27 else 360.0
        velocity = None
        if speed is not None and course is not None and speed < na_speed and 0 <= course < na_course and course < 360:
            v = speed * KNOT
            rad = math.radians(course)
            velocity = Velocity(v * math.sin(rad), v * math.cos(rad))
        attrs: dict[str, Any] = {"msg_type": mtype, "channel": sentence.channel}
        heading = getattr(msg, "heading", None)
        if heading is not None and int(heading) != 511:
            attrs["heading_deg"] = int(heading)
        status = getattr(msg, "status", None)
        if status is not None and mtype in (1, 2, 3, 27):
            attrs["nav_status"] = getattr(status, "name", str(status))
        if speed is not None and speed < na_speed:
            attrs["sog_kn"] = speed
        if course is not None and course < min(na_course, 360):
            attrs["cog_deg"] = course
        accuracy = bool(getattr(msg, "accuracy", False))
        if mtype == 27:
            sigma = 1852.0 / 10.0 / 2.0  # 1/10 minute resolution
        else:
            sigma = 5.0 if accuracy else 15.0
        static = self.static.get(mmsi, {})
        callsign = static.get("callsign")
        for key in ("name", "destination", "imo"):
            if static.get(key):
                attrs[key] = static[key]
        if static.get("ship_type"):
            attrs["ship_type"] = int(static["ship_type"])
            attrs["ship_type_name"] = ship_type_name(int(static["ship_type"]))
        return Observation(
            time=t, source=SourceKind.AIS, sensor=self.sensor, position=GeoPosition(lat, lon, None, sigma_h_m=sigma),
            velocity=velocity, ident=f"{mmsi:09d}", callsign=callsign, cls=ObjectClass.VESSEL, label=self.label,
            attrs=attrs,
        )
