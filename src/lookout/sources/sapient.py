"""SAPIENT (BSI Flex 335 v2.0) edge-node messages (format ``sapient``).

SAPIENT is the UK MOD / NATO-candidate interface between counter-UAS and security sensors
("autonomous sensor modules") and a fusion node. Each message is a protobuf
``SapientMessage`` sent over TCP with a 4-octet little-endian length prefix. The protobuf
classes come from a wire-compatible subset of the published definitions
(:mod:`lookout.sources.sapient_proto`; no maintained, licence-compatible package of the
definitions installs alongside Lookout's protobuf runtime).

* ``Registration`` -> :attr:`SapientDecoder.sensor_status` ``[node_id]`` (name, node types,
  ICD version, manufacturer/model);
* ``StatusReport`` -> the same record (system state, mode, power, status items) and the node's
  location, used for its range/bearing detections;
* ``DetectionReport`` -> an Observation: a geodetic position (``location`` in lat/lon degrees
  or radians, ``x`` = longitude, ``y`` = latitude, ``z`` = altitude) or a
  :class:`~lookout.model.PolarMeasurement` (``range_bearing`` relative to the node's reported
  location, degrees or radians, metres or kilometres, true north); classification -> class
  hint and confidence; ``enu_velocity`` -> velocity; ``object_id`` and the rest in ``attrs``.

UTM locations and magnetic/grid/platform-referenced bearings cannot be converted without data
Lookout does not have (zone grids, declination, platform heading): they are rejected with their
reason. The ``sensor`` of an Observation is ``<decoder sensor>:<node_id>``.
"""

from __future__ import annotations

import math
import struct
import time as _time
from collections.abc import Iterator
from typing import Any

from google.protobuf.message import DecodeError

from lookout.model import (
    DEFAULT_LABEL,
    GeoPoint,
    GeoPosition,
    ObjectClass,
    Observation,
    PolarMeasurement,
    SourceKind,
    Velocity,
)
from lookout.sources.base import Decoder, register, rescan_leftover
from lookout.sources.radar_json import parse_class
from lookout.sources.sapient_proto import sapient_pb2 as pb

MAX_MESSAGE_BYTES = 256 * 1024  # SAPIENT messages are small (detections: hundreds of octets)
#: First octet of a serialised SapientMessage: the tag of one of its fields 1..13, all
#: length-delimited (wire type 2). Used to tell a real length prefix from garbage when resyncing.
_FIRST_TAGS = frozenset((n << 3) | 2 for n in range(1, 14))
_LEN = struct.Struct("<I")
_M_PER_DEG = 111_320.0

LOC = pb.LocationCoordinateSystem
RB = pb.RangeBearingCoordinateSystem
# enum values as plain ints (attribute access on the generated enum wrappers is slow)
_LOC_UTM = LOC.Value("LOCATION_COORDINATE_SYSTEM_UTM_M")
_LOC_RAD = LOC.Value("LOCATION_COORDINATE_SYSTEM_LAT_LNG_RAD_M")
_LOC_LATLON = frozenset((LOC.Value("LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M"), _LOC_RAD,
                         LOC.Value("LOCATION_COORDINATE_SYSTEM_UNSPECIFIED")))
_DATUM_GEOID = pb.LocationDatum.Value("LOCATION_DATUM_WGS84_G")
_RB_TRUE_NORTH = frozenset((pb.RangeBearingDatum.Value("RANGE_BEARING_DATUM_TRUE"),
                            pb.RangeBearingDatum.Value("RANGE_BEARING_DATUM_UNSPECIFIED")))
_RB_RADIANS = frozenset((RB.Value("RANGE_BEARING_COORDINATE_SYSTEM_RADIANS_M"),
                         RB.Value("RANGE_BEARING_COORDINATE_SYSTEM_RADIANS_KM")))
_RB_KM = frozenset((RB.Value("RANGE_BEARING_COORDINATE_SYSTEM_DEGREES_KM"),
                    RB.Value("RANGE_BEARING_COORDINATE_SYSTEM_RADIANS_KM")))
_RB_ALL = frozenset(RB.values())
SYSTEM_STATES = {pb.StatusReport.SYSTEM_OK: "ok", pb.StatusReport.SYSTEM_WARNING: "warning",
                 pb.StatusReport.SYSTEM_ERROR: "error", pb.StatusReport.SYSTEM_GOODBYE: "goodbye"}


class SapientError(ValueError):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def _enum_name(enum: Any, value: int, prefix: str) -> str | None:
    """``STATUS_LEVEL_WARNING_STATUS`` -> ``warning_status``; None for an unknown value."""
    return enum.Name(value).removeprefix(prefix).lower() if value in enum.values() else None


def frame(message: pb.SapientMessage) -> bytes:
    """Serialise one SapientMessage with its 4-octet little-endian length prefix."""
    body = message.SerializeToString()
    return _LEN.pack(len(body)) + body


def _stamp(msg: pb.SapientMessage, t: float) -> None:
    sec = math.floor(t)
    msg.timestamp.seconds = int(sec)
    msg.timestamp.nanos = int(round((t - sec) * 1e9)) % 1_000_000_000


def registration_message(node_id: str, t: float, name: str, node_type: str = "RADAR",
                         short_name: str | None = None, manufacturer: str = "", model: str = "") -> pb.SapientMessage:
    """A Registration message (for tests and the simulator)."""
    msg = pb.SapientMessage(node_id=node_id)
    _stamp(msg, t)
    reg = msg.registration
    reg.icd_version = "BSI Flex 335 v2.0"
    reg.name = name
    if short_name:
        reg.short_name = short_name
    nd = reg.node_definition.add()
    nd.node_type = pb.Registration.NodeType.Value(f"NODE_TYPE_{node_type.upper()}")
    if manufacturer or model:
        cd = reg.config_data.add()
        cd.manufacturer, cd.model = manufacturer, model
    return msg


def status_message(node_id: str, t: float, lat: float, lon: float, alt_m: float | None = None,
                   system: str = "OK", mode: str = "default", report_id: str = "") -> pb.SapientMessage:
    """A StatusReport message with the node's location (lat/lon degrees, WGS-84 ellipsoid)."""
    msg = pb.SapientMessage(node_id=node_id)
    _stamp(msg, t)
    sr = msg.status_report
    sr.report_id = report_id or f"{node_id}-{t:.3f}"
    sr.system = pb.StatusReport.System.Value(f"SYSTEM_{system.upper()}")
    sr.info = pb.StatusReport.INFO_NEW
    sr.mode = mode
    loc = sr.node_location
    loc.x, loc.y = lon, lat
    if alt_m is not None:
        loc.z = alt_m
    loc.coordinate_system = LOC.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M
    loc.datum = pb.LOCATION_DATUM_WGS84_E
    return msg


def detection_message(node_id: str, t: float, object_id: str, *, lat: float | None = None,
                      lon: float | None = None, alt_m: float | None = None, error_m: float | None = None,
                      range_m: float | None = None, azimuth_deg: float | None = None,
                      elevation_deg: float | None = None, classification: str | None = None,
                      confidence: float | None = None, velocity_enu: tuple[float, float, float] | None = None,
                      report_id: str = "") -> pb.SapientMessage:
    """A DetectionReport: geodetic (``lat``/``lon``) or range/bearing (``azimuth_deg`` ...)."""
    msg = pb.SapientMessage(node_id=node_id)
    _stamp(msg, t)
    dr = msg.detection_report
    dr.report_id = report_id or f"{object_id}-{t:.3f}"
    dr.object_id = object_id
    if lat is not None and lon is not None:
        dr.location.x, dr.location.y = lon, lat
        if alt_m is not None:
            dr.location.z = alt_m
        if error_m is not None:
            dr.location.x_error = error_m / (_M_PER_DEG * max(0.01, math.cos(math.radians(lat))))
            dr.location.y_error = error_m / _M_PER_DEG
        dr.location.coordinate_system = LOC.LOCATION_COORDINATE_SYSTEM_LAT_LNG_DEG_M
        dr.location.datum = pb.LOCATION_DATUM_WGS84_E
    elif azimuth_deg is not None:
        rb = dr.range_bearing
        rb.azimuth = azimuth_deg
        if elevation_deg is not None:
            rb.elevation = elevation_deg
        if range_m is not None:
            rb.range = range_m
        rb.coordinate_system = RB.RANGE_BEARING_COORDINATE_SYSTEM_DEGREES_M
        rb.datum = pb.RANGE_BEARING_DATUM_TRUE
    if classification is not None:
        c = dr.classification.add()
        c.type = classification
        if confidence is not None:
            c.confidence = confidence
    if confidence is not None:
        dr.detection_confidence = confidence
    if velocity_enu is not None:
        v = dr.enu_velocity
        v.east_rate, v.north_rate, v.up_rate = velocity_enu
    return msg


_SAPIENT_CLASS_HINTS = (
    ("uav", ObjectClass.UAS), ("uas", ObjectClass.UAS), ("drone", ObjectClass.UAS), ("quadcopter", ObjectClass.UAS),
    ("multirotor", ObjectClass.UAS), ("helicopter", ObjectClass.ROTORCRAFT), ("rotary", ObjectClass.ROTORCRAFT),
    ("fixed wing", ObjectClass.FIXED_WING), ("aircraft", ObjectClass.FIXED_WING), ("human", ObjectClass.PERSON),
    ("person", ObjectClass.PERSON), ("people", ObjectClass.PERSON), ("vessel", ObjectClass.VESSEL),
    ("boat", ObjectClass.VESSEL), ("vehicle", ObjectClass.GROUND_VEHICLE),
)


def sapient_class(names: list[str]) -> ObjectClass | None:
    """Class hint from a SAPIENT classification path, most specific name first
    (``["UAV Rotary Wing", "Air Vehicle"]`` -> uas)."""
    for name in names:
        direct = parse_class(name)
        if direct is not None and direct != ObjectClass.UNKNOWN:
            return direct
        low = name.lower().replace("-", " ").replace("_", " ")
        if low in ("air vehicle", "air"):
            continue  # not specific enough on its own
        for word, cls in _SAPIENT_CLASS_HINTS:
            if word in low:
                return cls
    return None


def _deepest(cls_msg: Any) -> list[str]:
    """Names along the most confident sub-class path, deepest first."""
    names = [cls_msg.type] if cls_msg.type else []
    subs = list(cls_msg.sub_class)
    depth = 0
    while subs and depth < 8:
        best = max(subs, key=lambda s: s.confidence if s.HasField("confidence") else 0.0)
        if best.type:
            names.append(best.type)
        subs = list(best.sub_class)
        depth += 1
    return names[::-1]


@register("sapient")
class SapientDecoder(Decoder):
    """Length-prefixed SAPIENT protobuf stream -> Observations and per-node sensor status."""

    framing = "bytes"
    counts_records = True

    def __init__(self, sensor: str | None = None, label: str = DEFAULT_LABEL,
                 max_message_bytes: int = MAX_MESSAGE_BYTES) -> None:
        super().__init__(sensor, label)
        self.max_message_bytes = max_message_bytes
        self.sensor_status: dict[str, dict[str, Any]] = {}
        self.node_locations: dict[str, GeoPoint] = {}
        self._buf = bytearray()

    # -- framing ---------------------------------------------------------------------------
    def _decode(self, data: bytes) -> Iterator[Observation]:
        self._buf += data
        buf = self._buf
        pos = 0
        resync_from = None  # start of a run of octets that are not a message
        while len(buf) - pos >= 4:
            (size,) = _LEN.unpack_from(buf, pos)
            if size == 0 or size > self.max_message_bytes or (len(buf) - pos > 4 and buf[pos + 4] not in _FIRST_TAGS):
                if resync_from is None:
                    resync_from = pos
                pos += 1  # not a frame start: resynchronise octet by octet
                continue
            if len(buf) - pos - 4 < size:
                break
            body = bytes(buf[pos + 4:pos + 4 + size])
            try:
                msg = pb.SapientMessage.FromString(body)
                valid = bool(msg.node_id)  # node_id is mandatory: without it this is not a message
            except (DecodeError, RuntimeError, ValueError, TypeError, OverflowError):
                valid = False
            if not valid:
                if resync_from is None:
                    resync_from = pos
                pos += 1
                continue
            if resync_from is not None:
                self.stats.reject("resync", f"{pos - resync_from} octets skipped")
                resync_from = None
            pos += 4 + size
            self.stats.messages += 1
            try:
                obs = self._message(msg)
            except SapientError as exc:
                self.stats.reject(exc.reason, str(exc))
                continue
            except (ValueError, TypeError, OverflowError) as exc:
                self.stats.reject("invalid_value", str(exc))
                continue
            if obs is not None:
                yield obs
        if resync_from is not None:
            self.stats.reject("resync", f"{pos - resync_from} octets skipped")
        del buf[:pos]

    def _flush(self) -> Iterator[Observation]:
        """End of stream: rescan a partial record so valid messages behind garbage are not lost."""
        yield from rescan_leftover(self, self._buf, "truncated_message")

    # -- messages ----------------------------------------------------------------------------
    @staticmethod
    def _time(msg: pb.SapientMessage) -> float:
        if msg.HasField("timestamp"):
            t = msg.timestamp.seconds + msg.timestamp.nanos * 1e-9
            if not 0 < t < 1e10:
                raise SapientError("bad_time", str(t))
            return t
        return _time.time()

    def _message(self, msg: pb.SapientMessage) -> Observation | None:
        kind = msg.WhichOneof("content")
        t = self._time(msg)
        node = msg.node_id
        if kind == "registration":
            self._registration(node, msg.registration, t)
            self.stats.skip("registration")
            return None
        if kind == "status_report":
            self._status(node, msg.status_report, t)
            self.stats.skip("status_report")
            return None
        if kind == "detection_report":
            return self._detection(node, msg.detection_report, t)
        self.stats.skip("unsupported_content")
        return None

    def _registration(self, node: str, reg: Any, t: float) -> None:
        st = self.sensor_status.setdefault(node, {})
        st.update(registered_at=t, name=reg.name or None, short_name=reg.short_name or None,
                  icd_version=reg.icd_version or None,
                  node_types=[pb.Registration.NodeType.Name(nd.node_type).removeprefix("NODE_TYPE_").lower()
                              for nd in reg.node_definition if nd.node_type in pb.Registration.NodeType.values()])
        if reg.config_data:
            cd = reg.config_data[0]
            st.update(manufacturer=cd.manufacturer or None, model=cd.model or None,
                      serial_number=cd.serial_number or None)

    def _status(self, node: str, sr: Any, t: float) -> None:
        st = self.sensor_status.setdefault(node, {})
        st["last_status"] = t
        if sr.HasField("system"):
            st["system"] = SYSTEM_STATES.get(sr.system, "unspecified")
        if sr.HasField("mode"):
            st["mode"] = sr.mode
        if sr.HasField("power"):
            st["power"] = {"level": sr.power.level if sr.power.HasField("level") else None,
                           "status": _enum_name(pb.StatusReport.PowerStatus, sr.power.status, "POWERSTATUS_")}
        if sr.status:
            st["status"] = [{"level": _enum_name(pb.StatusReport.StatusLevel, s.status_level, "STATUS_LEVEL_"),
                             "type": _enum_name(pb.StatusReport.StatusType, s.status_type, "STATUS_TYPE_"),
                             "value": s.status_value or None} for s in sr.status[:32]]
        if sr.HasField("node_location"):
            lat, lon, alt, _ = self._geodetic(sr.node_location)
            self.node_locations[node] = GeoPoint(lat, lon, alt)
            st["location"] = {"lat": lat, "lon": lon, "alt_m": alt}

    @staticmethod
    def _geodetic(loc: Any) -> tuple[float, float, float | None, float | None]:
        """(lat, lon, alt, horizontal 1-sigma metres) of a SAPIENT Location."""
        cs = loc.coordinate_system
        if cs == _LOC_UTM:
            raise SapientError("unsupported_coordinates", "UTM locations are not supported")
        if cs not in _LOC_LATLON:
            raise SapientError("unsupported_coordinates", f"coordinate system {cs}")
        if not (loc.HasField("x") and loc.HasField("y")):
            raise SapientError("missing_location", "a Location needs x (longitude) and y (latitude)")
        lon, lat = loc.x, loc.y
        x_err = loc.x_error if loc.HasField("x_error") else None
        y_err = loc.y_error if loc.HasField("y_error") else None
        if cs == _LOC_RAD:
            lon, lat = math.degrees(lon), math.degrees(lat)
            x_err = math.degrees(x_err) if x_err is not None else None
            y_err = math.degrees(y_err) if y_err is not None else None
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
            raise SapientError("position_out_of_range", f"lat {lat}, lon {lon}")
        alt = loc.z if loc.HasField("z") else None
        sigma = None
        errs = []
        if x_err is not None and math.isfinite(x_err) and x_err > 0:
            errs.append(x_err * _M_PER_DEG * math.cos(math.radians(lat)))
        if y_err is not None and math.isfinite(y_err) and y_err > 0:
            errs.append(y_err * _M_PER_DEG)
        if errs:
            sigma = max(errs)
        return lat, lon, alt, sigma

    def _detection(self, node: str, dr: Any, t: float) -> Observation:
        attrs: dict[str, Any] = {"node_id": node}
        if dr.object_id:
            attrs["object_id"] = dr.object_id
        if dr.report_id:
            attrs["report_id"] = dr.report_id
        if dr.state:
            attrs["state"] = dr.state
        if dr.HasField("detection_confidence"):
            attrs["detection_confidence"] = round(dr.detection_confidence, 4)
        for info in list(dr.object_info[:16]) + list(dr.track_info[:16]):
            if info.type:
                attrs.setdefault("info", {})[info.type] = info.value
        if dr.behaviour:
            attrs["behaviour"] = [b.type for b in dr.behaviour[:8] if b.type]
        cls = conf = None
        if dr.classification:
            best = max(dr.classification, key=lambda c: c.confidence if c.HasField("confidence") else 0.0)
            path = _deepest(best)
            attrs["classification"] = path[::-1]
            cls = sapient_class(path)
            if cls is not None and best.HasField("confidence") and 0.0 <= best.confidence <= 1.0:
                conf = float(best.confidence)
        velocity = None
        if dr.HasField("enu_velocity"):
            v = dr.enu_velocity
            velocity = Velocity(v.east_rate, v.north_rate, v.up_rate if v.HasField("up_rate") else 0.0)
        where = dr.WhichOneof("location_oneof")
        # SourceKind has no passive-RF/acoustic kinds: electro-optical nodes report as camera,
        # every other node type as radar (a sensor-relative or geolocated detection)
        source = SourceKind.CAMERA if self._is_camera(node) else SourceKind.RADAR
        common = dict(time=t, source=source,
                      sensor=f"{self.sensor}:{node}", velocity=velocity, ident=dr.id or None,
                      cls=cls, cls_confidence=conf, label=self.label, attrs=attrs)
        if where == "location":
            lat, lon, alt, sigma = self._geodetic(dr.location)
            if dr.location.datum == _DATUM_GEOID:
                attrs["alt_datum"] = "geoid"
            return Observation(position=GeoPosition(lat, lon, alt, sigma_h_m=sigma or 10.0), **common)
        if where == "range_bearing":
            site = self.node_locations.get(node)
            if site is None:
                raise SapientError("unknown_node_location",
                                   f"node {node}: range/bearing detection before any StatusReport location")
            rb = dr.range_bearing
            if rb.datum not in _RB_TRUE_NORTH:
                raise SapientError("unsupported_bearing_datum",
                                   pb.RangeBearingDatum.Name(rb.datum) if rb.datum in pb.RangeBearingDatum.values()
                                   else str(rb.datum))
            cs = rb.coordinate_system
            radians = cs in _RB_RADIANS
            km = cs in _RB_KM
            if cs not in _RB_ALL:
                raise SapientError("unsupported_coordinates", f"range/bearing coordinate system {cs}")
            ang = math.degrees if radians else float
            scale = 1000.0 if km else 1.0
            if not rb.HasField("azimuth"):
                raise SapientError("missing_location", "range_bearing without azimuth")
            az = ang(rb.azimuth)
            el = ang(rb.elevation) if rb.HasField("elevation") else None
            rng = rb.range * scale if rb.HasField("range") and rb.range > 0 else None
            s_az = ang(rb.azimuth_error) if rb.HasField("azimuth_error") and rb.azimuth_error > 0 else 1.0
            s_el = (ang(rb.elevation_error) if rb.HasField("elevation_error") and rb.elevation_error > 0 else 1.0) \
                if el is not None else None
            s_r = (rb.range_error * scale if rb.HasField("range_error") and rb.range_error > 0
                   else max(10.0, 0.02 * rng)) if rng is not None else None
            meas = PolarMeasurement(site=site, azimuth_deg=az, elevation_deg=el, range_m=rng, sigma_az_deg=s_az,
                                    sigma_el_deg=s_el, sigma_range_m=s_r)
            return Observation(measurement=meas, **common)
        raise SapientError("missing_location", "DetectionReport without location or range_bearing")

    def _types(self, node: str) -> list[str]:
        return self.sensor_status.get(node, {}).get("node_types") or []

    def _is_camera(self, node: str) -> bool:
        return any(t in ("camera", "lidar") for t in self._types(node))
