"""Drone Remote ID broadcast (ASTM F3411-19/-22a, ASD-STAN EN 4709-002): decode and encode.

No maintained Python decoder of the broadcast messages exists on PyPI, so the 25-byte messages
are decoded here from the published layout (the one of opendroneid-core-c): little-endian
fields, the message type in the high nibble of byte 0 and the protocol version in the low
nibble. Types: 0 Basic ID, 1 Location/Vector, 2 Authentication, 3 Self-ID, 4 System,
5 Operator ID, 0xF Message Pack (a 3-byte header, message size 25, count, then the messages).

Encoders for every message type are provided too (``encode_basic_id``, ``encode_location``,
``encode_auth_page``, ``encode_self_id``, ``encode_system``, ``encode_operator_id``,
``encode_pack``), so tests round-trip and the simulator can emit real Remote ID bytes.

The ``remoteid`` decoder takes lines:

* hex of one 25-byte message or a message pack (optionally behind the Bluetooth application
  code 0x0D and message counter), optionally prefixed with a receive time
  (UNIX seconds) and a sender (MAC address or any receiver-side id), comma or blank separated:
  ``1700000000.5,AA:BB:CC:DD:EE:FF,<hex>``, ``AA:BB:CC:DD:EE:FF,<hex>``, ``<hex>``;
* a JSON object per line as receivers emit them (see :func:`_json_fields`; key spelling is
  tolerant: ``lat``/``latitude``, ``alt``/``altitudeGeo``, nested ``{"BasicID": {...}}`` objects,
  ``operator_location_type`` as a name or number), or ``{"time":..,"mac":..,"hex": ".."}``.

Messages are aggregated per sender: the latest Basic ID, Self-ID, System and Operator ID of a
sender are attached to each of its Location messages, and every valid Location message becomes
one :class:`~lookout.model.Observation` (``source`` remote_id, ``ident`` the UAS serial,
``cls`` uas, operator position and location type when the System message gave them). Remote ID
times are tenths of a second since the full hour; they are resolved to UNIX time against the
receive time of the line, else the decoder's ``reference_time``, else the wall clock.
"""

from __future__ import annotations

import json
import math
import re
import struct
import time as _time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lookout.model import (
    DEFAULT_LABEL,
    GeoPoint,
    GeoPosition,
    ObjectClass,
    Observation,
    OperatorLocationType,
    SourceKind,
    Velocity,
)
from lookout.sources.base import Decoder, register

MESSAGE_SIZE = 25
MAX_PACK_MESSAGES = 9
ODID_EPOCH = 1546300800  # 2019-01-01 00:00:00 UTC, the epoch of System/Auth timestamps
PROTOCOL_VERSIONS = (0, 1, 2)  # F3411-19, F3411-20, F3411-22a
BLE_APP_CODE = 0x0D  # ASTM Remote ID application code in Bluetooth service data (UUID 0xFFFA)

MSG_BASIC_ID, MSG_LOCATION, MSG_AUTH, MSG_SELF_ID, MSG_SYSTEM, MSG_OPERATOR_ID, MSG_PACK = 0, 1, 2, 3, 4, 5, 0xF

ID_TYPES = {0: "none", 1: "serial_number", 2: "caa_registration", 3: "utm_uuid", 4: "specific_session"}
UA_TYPES = {
    0: "none", 1: "aeroplane", 2: "helicopter_or_multirotor", 3: "gyroplane", 4: "hybrid_lift",
    5: "ornithopter", 6: "glider", 7: "kite", 8: "free_balloon", 9: "captive_balloon", 10: "airship",
    11: "free_fall_parachute", 12: "rocket", 13: "tethered_powered_aircraft", 14: "ground_obstacle", 15: "other",
}
STATUSES = {0: "undeclared", 1: "ground", 2: "airborne", 3: "emergency", 4: "remote_id_system_failure"}
HEIGHT_TYPES = {0: "above_takeoff", 1: "above_ground"}
OPERATOR_LOCATION_TYPES = {0: OperatorLocationType.TAKE_OFF, 1: OperatorLocationType.LIVE_GNSS,
                           2: OperatorLocationType.FIXED}
CLASSIFICATION_TYPES = {0: "undeclared", 1: "eu"}
CATEGORIES_EU = {0: "undeclared", 1: "open", 2: "specific", 3: "certified"}
CLASSES_EU = {0: "undeclared", 1: "class_0", 2: "class_1", 3: "class_2", 4: "class_3", 5: "class_4",
              6: "class_5", 7: "class_6"}
SELF_ID_TYPES = {0: "text", 1: "emergency", 2: "extended_status"}
AUTH_TYPES = {0: "none", 1: "uas_id_signature", 2: "operator_id_signature", 3: "message_set_signature",
              4: "network_remote_id", 5: "specific_method"}

#: Accuracy categories -> their 95 % bound (metres, or m/s for speed, seconds for time).
HORIZONTAL_ACCURACY_M = {1: 18520.0, 2: 7408.0, 3: 3704.0, 4: 1852.0, 5: 926.0, 6: 555.6, 7: 185.2,
                         8: 92.6, 9: 30.0, 10: 10.0, 11: 3.0, 12: 1.0}
VERTICAL_ACCURACY_M = {1: 150.0, 2: 45.0, 3: 25.0, 4: 10.0, 5: 3.0, 6: 1.0}
SPEED_ACCURACY_MPS = {1: 10.0, 2: 3.0, 3: 1.0, 4: 0.3}

#: 1-sigma used when a Location message declares its horizontal accuracy unknown.
UNKNOWN_SIGMA_H_M = 50.0
_SIGMA_PER_95 = 1.0 / 2.0  # 95 % bound -> 1-sigma (per axis, rounded conservatively)

ALT_UNKNOWN_ENC = 0  # encodes -1000 m, the "invalid/unknown" altitude
SPEED_UNKNOWN_ENC = 255  # with multiplier 1: 255 m/s = unknown
VSPEED_UNKNOWN_MPS = 63.0
DIRECTION_UNKNOWN = 361
TIMESTAMP_UNKNOWN = 0xFFFF


class RemoteIDError(ValueError):
    """A message that cannot be decoded; ``reason`` is the counter key."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


# ----------------------------------------------------------------------------------------
# decoded messages
# ----------------------------------------------------------------------------------------
@dataclass(slots=True)
class BasicID:
    id_type: int
    ua_type: int
    uas_id: str
    version: int = 2


@dataclass(slots=True)
class Location:
    status: int
    direction_deg: float | None  # track over ground, degrees clockwise from true north
    speed_mps: float | None  # horizontal
    vspeed_mps: float | None  # up positive
    lat: float | None  # None when the message declares it unknown (0, 0)
    lon: float | None
    alt_baro_m: float | None  # pressure altitude
    alt_geo_m: float | None  # geodetic altitude (WGS-84 HAE)
    height_m: float | None
    height_type: int
    h_accuracy: int
    v_accuracy: int
    baro_accuracy: int
    speed_accuracy: int
    timestamp_s: float | None  # seconds since the full hour
    ts_accuracy_s: float | None
    version: int = 2


@dataclass(slots=True)
class AuthPage:
    auth_type: int
    page: int
    data: bytes
    last_page_index: int | None = None  # page 0 only
    length: int | None = None  # page 0 only
    timestamp: float | None = None  # page 0 only, UNIX seconds
    version: int = 2


@dataclass(slots=True)
class SelfID:
    desc_type: int
    text: str
    version: int = 2


@dataclass(slots=True)
class System:
    operator_location_type: int
    classification_type: int
    operator_lat: float | None
    operator_lon: float | None
    area_count: int
    area_radius_m: float
    area_ceiling_m: float | None
    area_floor_m: float | None
    category_eu: int
    class_eu: int
    operator_alt_geo_m: float | None
    timestamp: float | None  # UNIX seconds
    version: int = 2


@dataclass(slots=True)
class OperatorID:
    id_type: int
    operator_id: str
    version: int = 2


Message = BasicID | Location | AuthPage | SelfID | System | OperatorID


# ----------------------------------------------------------------------------------------
# field codecs
# ----------------------------------------------------------------------------------------
def _dec_alt(enc: int) -> float | None:
    return None if enc == ALT_UNKNOWN_ENC else enc * 0.5 - 1000.0


def _enc_alt(alt_m: float | None) -> int:
    if alt_m is None:
        return ALT_UNKNOWN_ENC
    if not math.isfinite(alt_m) or alt_m < -1000.0 or alt_m > 31767.0:
        raise ValueError(f"altitude must be within -1000..31767 m, got {alt_m!r}")
    return int(round((alt_m + 1000.0) * 2.0))


def _dec_latlon(lat_enc: int, lon_enc: int, what: str) -> tuple[float | None, float | None]:
    if lat_enc == 0 and lon_enc == 0:
        return None, None
    lat, lon = lat_enc * 1e-7, lon_enc * 1e-7
    if not -90.0 <= lat <= 90.0:
        raise RemoteIDError(f"{what}lat_out_of_range", f"{lat:.7f}")
    if not -180.0 <= lon <= 180.0:
        raise RemoteIDError(f"{what}lon_out_of_range", f"{lon:.7f}")
    return lat, lon


def _enc_latlon(lat: float | None, lon: float | None) -> tuple[int, int]:
    if lat is None or lon is None:
        return 0, 0
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise ValueError(f"latitude must be within -90..90, got {lat!r}")
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise ValueError(f"longitude must be within -180..180, got {lon!r}")
    return int(round(lat * 1e7)), int(round(lon * 1e7))


def _dec_speed(enc: int, mult: int) -> float | None:
    if mult == 0:
        return enc * 0.25
    if enc == SPEED_UNKNOWN_ENC:
        return None
    return enc * 0.75 + 255 * 0.25


def _enc_speed(speed: float | None) -> tuple[int, int]:
    """Horizontal speed -> (encoded, multiplier flag)."""
    if speed is None:
        return SPEED_UNKNOWN_ENC, 1
    if not math.isfinite(speed) or speed < 0:
        raise ValueError(f"horizontal speed must be >= 0 m/s, got {speed!r}")
    if speed <= 255 * 0.25:
        return int(round(speed / 0.25)), 0
    if speed < 254.25:
        return int(round((speed - 63.75) / 0.75)), 1
    return 254, 1


def _dec_direction(enc: int, ew: int) -> float | None:
    value = enc + 180 if ew else enc
    if value == DIRECTION_UNKNOWN:
        return None
    if value > 359:
        raise RemoteIDError("bad_direction", f"{value}")
    return float(value)


def _enc_direction(direction: float | None) -> tuple[int, int]:
    """Direction -> (encoded, E/W flag)."""
    if direction is None:
        return DIRECTION_UNKNOWN - 180, 1
    if not math.isfinite(direction):
        raise ValueError(f"direction must be finite, got {direction!r}")
    d = int(round(direction)) % 360
    return (d, 0) if d < 180 else (d - 180, 1)


def _dec_vspeed(enc: int) -> float | None:
    v = enc * 0.5
    return None if v == VSPEED_UNKNOWN_MPS else v


def _enc_vspeed(v: float | None) -> int:
    if v is None:
        return int(VSPEED_UNKNOWN_MPS * 2)
    if not math.isfinite(v):
        raise ValueError(f"vertical speed must be finite, got {v!r}")
    return int(round(max(-62.0, min(62.0, v)) * 2))


def _dec_text(raw: bytes, what: str) -> str:
    raw = raw.split(b"\0", 1)[0]
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise RemoteIDError(f"bad_{what}", "not ASCII") from None
    if not text.isprintable():
        raise RemoteIDError(f"bad_{what}", "control characters")
    return text.strip()


def _enc_text(text: str, size: int, what: str) -> bytes:
    raw = text.encode("ascii")
    if len(raw) > size:
        raise ValueError(f"{what} is at most {size} characters, got {len(raw)}")
    return raw.ljust(size, b"\0")


def _header(msg_type: int, version: int) -> int:
    if version not in PROTOCOL_VERSIONS:
        raise ValueError(f"protocol version must be one of {PROTOCOL_VERSIONS}, got {version!r}")
    return (msg_type << 4) | version


# ----------------------------------------------------------------------------------------
# decoding
# ----------------------------------------------------------------------------------------
_LOCATION = struct.Struct("<BBBBbiiHHHBBHBB")
_SYSTEM = struct.Struct("<BBiiHBHHBHIB")
_AUTH0 = struct.Struct("<BBBBI17s")


def decode_message(data: bytes) -> list[Message]:
    """Decode one 25-byte message, or a message pack, into a list of messages. A leading
    Bluetooth application code (0x0D) and message counter, as Bluetooth sniffers log the service
    data, are accepted.

    Raises :class:`RemoteIDError` (with a ``reason``) for anything malformed or out of range.
    """
    if len(data) > MESSAGE_SIZE and data[0] == BLE_APP_CODE:
        data = data[2:]  # Bluetooth service data: application code 0x0D and a message counter first
    if len(data) < MESSAGE_SIZE:
        raise RemoteIDError("bad_length", f"{len(data)} bytes")
    msg_type, version = data[0] >> 4, data[0] & 0x0F
    if msg_type == MSG_PACK:
        return _decode_pack(data, version)
    if len(data) != MESSAGE_SIZE:
        raise RemoteIDError("bad_length", f"{len(data)} bytes for a single message")
    return [_decode_single(data)]


def _decode_pack(data: bytes, version: int) -> list[Message]:
    if version not in PROTOCOL_VERSIONS:
        raise RemoteIDError("unsupported_version", str(version))
    size, count = data[1], data[2]
    if size != MESSAGE_SIZE:
        raise RemoteIDError("bad_pack", f"message size {size}")
    if not 1 <= count <= MAX_PACK_MESSAGES:
        raise RemoteIDError("bad_pack", f"message count {count}")
    need = 3 + count * MESSAGE_SIZE
    if len(data) < need:
        raise RemoteIDError("bad_pack", f"{len(data)} bytes for {count} messages")
    if any(data[need:]):  # a pack is sent padded to its maximum size with zeros
        raise RemoteIDError("bad_pack", "trailing non-zero bytes")
    out: list[Message] = []
    for i in range(count):
        chunk = data[3 + i * MESSAGE_SIZE: 3 + (i + 1) * MESSAGE_SIZE]
        if chunk[0] >> 4 == MSG_PACK:
            raise RemoteIDError("bad_pack", "nested message pack")
        out.append(_decode_single(chunk))
    return out


def _decode_single(m: bytes) -> Message:
    msg_type, version = m[0] >> 4, m[0] & 0x0F
    if version not in PROTOCOL_VERSIONS:
        raise RemoteIDError("unsupported_version", str(version))
    if msg_type == MSG_BASIC_ID:
        id_type, ua_type = m[1] >> 4, m[1] & 0x0F
        if id_type not in ID_TYPES:
            raise RemoteIDError("bad_id_type", str(id_type))
        return BasicID(id_type, ua_type, _dec_text(m[2:22], "uas_id"), version)
    if msg_type == MSG_LOCATION:
        (_, flags, dir_enc, spd_enc, vspd_enc, lat_enc, lon_enc, baro_enc, geo_enc, height_enc,
         hv_acc, bs_acc, ts_enc, ts_acc, _) = _LOCATION.unpack(m)
        lat, lon = _dec_latlon(lat_enc, lon_enc, "")
        if ts_enc != TIMESTAMP_UNKNOWN and ts_enc > 36000:
            raise RemoteIDError("bad_timestamp", str(ts_enc))
        h_acc, v_acc = hv_acc & 0x0F, hv_acc >> 4
        speed_acc, baro_acc = bs_acc & 0x0F, bs_acc >> 4
        if h_acc > 12 or v_acc > 6 or baro_acc > 6 or speed_acc > 4:
            raise RemoteIDError("bad_accuracy", f"h={h_acc} v={v_acc} baro={baro_acc} speed={speed_acc}")
        tsa = ts_acc & 0x0F
        return Location(
            status=flags >> 4, direction_deg=_dec_direction(dir_enc, (flags >> 1) & 1),
            speed_mps=_dec_speed(spd_enc, flags & 1), vspeed_mps=_dec_vspeed(vspd_enc),
            lat=lat, lon=lon, alt_baro_m=_dec_alt(baro_enc), alt_geo_m=_dec_alt(geo_enc),
            height_m=_dec_alt(height_enc), height_type=(flags >> 2) & 1,
            h_accuracy=h_acc, v_accuracy=v_acc, baro_accuracy=baro_acc, speed_accuracy=speed_acc,
            timestamp_s=None if ts_enc == TIMESTAMP_UNKNOWN else ts_enc / 10.0,
            ts_accuracy_s=tsa / 10.0 if tsa else None, version=version,
        )
    if msg_type == MSG_AUTH:
        auth_type, page = m[1] >> 4, m[1] & 0x0F
        if page == 0:
            _, _, last, length, ts, payload = _AUTH0.unpack(m)
            if last > 15:
                raise RemoteIDError("bad_auth", f"last page index {last}")
            return AuthPage(auth_type, 0, payload, last, length, ODID_EPOCH + ts if ts else None, version)
        return AuthPage(auth_type, page, bytes(m[2:25]), version=version)
    if msg_type == MSG_SELF_ID:
        return SelfID(m[1], _dec_text(m[2:25], "self_id"), version)
    if msg_type == MSG_SYSTEM:
        (_, flags, lat_enc, lon_enc, area_count, area_radius, ceil_enc, floor_enc, cat_class, op_alt_enc,
         ts, _) = _SYSTEM.unpack(m)
        loc_type, cls_type = flags & 0x03, (flags >> 2) & 0x07
        if loc_type not in OPERATOR_LOCATION_TYPES:
            raise RemoteIDError("bad_operator_location_type", str(loc_type))
        lat, lon = _dec_latlon(lat_enc, lon_enc, "operator_")
        return System(
            operator_location_type=loc_type, classification_type=cls_type, operator_lat=lat, operator_lon=lon,
            area_count=area_count, area_radius_m=area_radius * 10.0, area_ceiling_m=_dec_alt(ceil_enc),
            area_floor_m=_dec_alt(floor_enc), category_eu=cat_class >> 4, class_eu=cat_class & 0x0F,
            operator_alt_geo_m=_dec_alt(op_alt_enc), timestamp=ODID_EPOCH + ts if ts else None, version=version,
        )
    if msg_type == MSG_OPERATOR_ID:
        return OperatorID(m[1], _dec_text(m[2:22], "operator_id"), version)
    raise RemoteIDError("unknown_message_type", str(msg_type))


# ----------------------------------------------------------------------------------------
# encoding
# ----------------------------------------------------------------------------------------
def encode_basic_id(uas_id: str, id_type: int = 1, ua_type: int = 2, version: int = 2) -> bytes:
    """Basic ID message: the UAS id (serial number for ``id_type`` 1) and the UA type."""
    if id_type not in ID_TYPES or ua_type not in UA_TYPES:
        raise ValueError(f"id_type must be 0..4 and ua_type 0..15, got {id_type!r}, {ua_type!r}")
    head = bytes([_header(MSG_BASIC_ID, version), (id_type << 4) | ua_type])
    return head + _enc_text(uas_id, 20, "uas_id") + bytes(3)


def encode_location(lat: float | None, lon: float | None, *, alt_geo_m: float | None = None,
                    alt_baro_m: float | None = None, height_m: float | None = None, height_type: int = 0,
                    speed_mps: float | None = None, direction_deg: float | None = None,
                    vspeed_mps: float | None = None, status: int = 2, timestamp_s: float | None = None,
                    h_accuracy: int = 0, v_accuracy: int = 0, baro_accuracy: int = 0, speed_accuracy: int = 0,
                    ts_accuracy_s: float | None = None, version: int = 2) -> bytes:
    """Location/Vector message. ``timestamp_s`` is seconds since the full hour (0..3600) or None."""
    if not 0 <= status <= 15 or height_type not in (0, 1):
        raise ValueError(f"status must be 0..15 and height_type 0/1, got {status!r}, {height_type!r}")
    if not (0 <= h_accuracy <= 12 and 0 <= v_accuracy <= 6 and 0 <= baro_accuracy <= 6 and 0 <= speed_accuracy <= 4):
        raise ValueError("accuracy categories out of range (h 0..12, v/baro 0..6, speed 0..4)")
    spd, mult = _enc_speed(speed_mps)
    dir_enc, ew = _enc_direction(direction_deg)
    lat_enc, lon_enc = _enc_latlon(lat, lon)
    if timestamp_s is None:
        ts = TIMESTAMP_UNKNOWN
    elif 0 <= timestamp_s <= 3600:
        ts = int(round(timestamp_s * 10))
    else:
        raise ValueError(f"timestamp_s is seconds since the hour (0..3600), got {timestamp_s!r}")
    tsa = 0 if ts_accuracy_s is None else max(1, min(15, int(round(ts_accuracy_s * 10))))
    flags = (status << 4) | (height_type << 2) | (ew << 1) | mult
    return _LOCATION.pack(
        _header(MSG_LOCATION, version), flags, dir_enc, spd, _enc_vspeed(vspeed_mps), lat_enc, lon_enc,
        _enc_alt(alt_baro_m), _enc_alt(alt_geo_m), _enc_alt(height_m), (v_accuracy << 4) | h_accuracy,
        (baro_accuracy << 4) | speed_accuracy, ts, tsa, 0,
    )


def encode_auth_page(page: int, data: bytes, *, auth_type: int = 1, last_page_index: int = 0,
                     length: int | None = None, timestamp: float | None = None, version: int = 2) -> bytes:
    """One Authentication page: page 0 carries 17 data bytes plus the header fields, pages 1..15 carry 23."""
    if not 0 <= page <= 15 or not 0 <= auth_type <= 15:
        raise ValueError(f"page and auth_type must be 0..15, got {page!r}, {auth_type!r}")
    head = bytes([_header(MSG_AUTH, version), (auth_type << 4) | page])
    if page == 0:
        if len(data) > 17:
            raise ValueError("page 0 carries at most 17 bytes of authentication data")
        ts = 0 if timestamp is None else int(timestamp - ODID_EPOCH)
        return head + struct.pack("<BBI17s", last_page_index, len(data) if length is None else length, ts, data)
    if len(data) > 23:
        raise ValueError("pages 1..15 carry at most 23 bytes of authentication data")
    return head + data.ljust(23, b"\0")


def encode_self_id(text: str, desc_type: int = 0, version: int = 2) -> bytes:
    """Self-ID message: a free-text description (at most 23 ASCII characters)."""
    if not 0 <= desc_type <= 255:
        raise ValueError(f"desc_type must be 0..255, got {desc_type!r}")
    return bytes([_header(MSG_SELF_ID, version), desc_type]) + _enc_text(text, 23, "self-ID text")


def encode_system(operator_lat: float | None, operator_lon: float | None, *,
                  operator_alt_geo_m: float | None = None,
                  operator_location_type: int | str | OperatorLocationType = OperatorLocationType.TAKE_OFF,
                  classification_type: int = 0, area_count: int = 1, area_radius_m: float = 0.0,
                  area_ceiling_m: float | None = None, area_floor_m: float | None = None,
                  category_eu: int = 0, class_eu: int = 0, timestamp: float | None = None,
                  version: int = 2) -> bytes:
    """System message: operator position and location type, operating area, UA classification."""
    if isinstance(operator_location_type, int):
        loc = operator_location_type
    else:
        loc = {v: k for k, v in OPERATOR_LOCATION_TYPES.items()}[OperatorLocationType(operator_location_type)]
    if loc not in OPERATOR_LOCATION_TYPES or not 0 <= classification_type <= 7:
        raise ValueError("operator_location_type must be 0..2 and classification_type 0..7")
    if not (0 <= category_eu <= 15 and 0 <= class_eu <= 15 and 0 <= area_count <= 65535):
        raise ValueError("category_eu/class_eu must be 0..15 and area_count 0..65535")
    if not 0 <= area_radius_m <= 2550:
        raise ValueError(f"area_radius_m must be 0..2550, got {area_radius_m!r}")
    lat_enc, lon_enc = _enc_latlon(operator_lat, operator_lon)
    ts = 0 if timestamp is None else int(timestamp - ODID_EPOCH)
    if not 0 <= ts <= 0xFFFFFFFF:
        raise ValueError(f"timestamp must be after 2019-01-01, got {timestamp!r}")
    return _SYSTEM.pack(
        _header(MSG_SYSTEM, version), (classification_type << 2) | loc, lat_enc, lon_enc, area_count,
        int(round(area_radius_m / 10.0)), _enc_alt(area_ceiling_m), _enc_alt(area_floor_m),
        (category_eu << 4) | class_eu, _enc_alt(operator_alt_geo_m), ts, 0,
    )


def encode_operator_id(operator_id: str, id_type: int = 0, version: int = 2) -> bytes:
    """Operator ID message (e.g. the EU operator registration number)."""
    if not 0 <= id_type <= 255:
        raise ValueError(f"id_type must be 0..255, got {id_type!r}")
    return bytes([_header(MSG_OPERATOR_ID, version), id_type]) + _enc_text(operator_id, 20, "operator id") + bytes(3)


def encode_pack(messages: list[bytes], version: int = 2) -> bytes:
    """Message Pack of 1..9 single 25-byte messages."""
    if not 1 <= len(messages) <= MAX_PACK_MESSAGES:
        raise ValueError(f"a message pack holds 1..{MAX_PACK_MESSAGES} messages, got {len(messages)}")
    for m in messages:
        if len(m) != MESSAGE_SIZE or m[0] >> 4 == MSG_PACK:
            raise ValueError("a message pack holds single 25-byte messages only")
    return bytes([_header(MSG_PACK, version), MESSAGE_SIZE, len(messages)]) + b"".join(messages)


def resolve_time(seconds_since_hour: float | None, reference: float) -> float:
    """UNIX time of a Remote ID timestamp (seconds since the full hour) nearest to ``reference``."""
    if seconds_since_hour is None:
        return reference
    t = math.floor(reference / 3600.0) * 3600.0 + seconds_since_hour
    if t - reference > 1800.0:
        t -= 3600.0
    elif reference - t > 1800.0:
        t += 3600.0
    return t


# ----------------------------------------------------------------------------------------
# the decoder
# ----------------------------------------------------------------------------------------
@dataclass
class _Sender:
    """What one sender (MAC or receiver id) has told us so far."""

    basic_ids: dict[int, BasicID] = field(default_factory=dict)  # by id type
    self_id: SelfID | None = None
    system: System | None = None
    operator_id: OperatorID | None = None
    last_time: float = 0.0


_HEX_RE = re.compile(r"^[0-9a-fA-F]+$")
_SPLIT_RE = re.compile(r"[,;\s]+")
_MAX_SENDERS = 10_000
_MIN_UNIX_TIME = 946_684_800.0  # 2000-01-01: smaller "times" are relative clocks, not UNIX time


@register("remoteid")
class RemoteIDDecoder(Decoder):
    """Remote ID hex lines or receiver JSON lines -> one Observation per Location message."""

    framing = "lines"

    def __init__(self, sensor: str | None = None, label: str = DEFAULT_LABEL,
                 reference_time: float | None = None) -> None:
        super().__init__(sensor, label)
        self.reference_time = reference_time
        self.senders: dict[str, _Sender] = {}

    # -- input forms -------------------------------------------------------------------
    def _decode(self, data: bytes) -> Iterator[Observation]:
        try:
            yield from self._decode_line(data)
        except RemoteIDError as exc:
            self.stats.reject(exc.reason, f"{exc}: {data[:80]!r}")
        except UnicodeDecodeError:
            self.stats.reject("bad_encoding", repr(data[:80]))

    def _decode_line(self, data: bytes) -> Iterator[Observation]:
        line = data.strip()
        if not line:
            return
        if line[:1] in (b"{", b"["):
            yield from self._decode_json(line)
            return
        text = line.decode("ascii")
        parts = [p for p in _SPLIT_RE.split(text) if p]
        payload = parts[-1]
        if payload.lower().startswith("0x"):
            payload = payload[2:]
        if not _HEX_RE.match(payload) or len(payload) % 2:
            raise RemoteIDError("bad_hex", payload[:60])
        rx_time, sender = None, ""
        for p in parts[:-1]:
            try:
                v = float(p)
            except ValueError:
                sender = p
                continue
            if rx_time is None and math.isfinite(v) and 0 < v < 1e10:
                rx_time = v
            else:
                sender = p
        yield from self.decode_bytes(bytes.fromhex(payload), sender=sender, rx_time=rx_time)

    def _reference(self, rx_time: float | None) -> float:
        if rx_time is not None:
            return rx_time
        if self.reference_time is not None:
            return self.reference_time
        return _time.time()

    def decode_bytes(self, payload: bytes, sender: str = "", rx_time: float | None = None) -> Iterator[Observation]:
        """Decode one binary message or pack heard from ``sender`` at ``rx_time`` (UNIX s)."""
        try:
            messages = decode_message(payload)
        except RemoteIDError as exc:
            self.stats.reject(exc.reason, str(exc))
            return
        sender = sender.upper()
        state = self._sender(sender)
        # absorb identity/system messages first: in a pack they may follow the location
        locations = []
        for msg in messages:
            if isinstance(msg, Location):
                locations.append(msg)
            else:
                self._absorb(state, msg)
        for loc in locations:
            try:
                obs = self._observation(state, loc, sender, self._reference(rx_time))
            except RemoteIDError as exc:
                if exc.reason == "position_unknown":
                    self.stats.skip(exc.reason)  # a valid message that has no position to report
                else:
                    self.stats.reject(exc.reason, str(exc))
                continue
            except ValueError as exc:
                self.stats.reject("invalid_value", str(exc))
                continue
            yield obs

    def _sender(self, sender: str) -> _Sender:
        state = self.senders.get(sender)
        if state is None:
            if len(self.senders) >= _MAX_SENDERS:  # forget the longest-silent sender
                oldest = min(self.senders, key=lambda k: self.senders[k].last_time)
                del self.senders[oldest]
            state = self.senders[sender] = _Sender()
        state.last_time = _time.monotonic()
        return state

    @staticmethod
    def _absorb(state: _Sender, msg: Message) -> None:
        if isinstance(msg, BasicID):
            state.basic_ids[msg.id_type] = msg
        elif isinstance(msg, SelfID):
            state.self_id = msg
        elif isinstance(msg, System):
            state.system = msg
        elif isinstance(msg, OperatorID):
            state.operator_id = msg
        # Authentication pages carry signatures Lookout does not verify; they are decoded only.

    def _observation(self, state: _Sender, loc: Location, sender: str, ref: float) -> Observation:
        if loc.lat is None or loc.lon is None:
            raise RemoteIDError("position_unknown")
        attrs: dict[str, Any] = {"status": STATUSES.get(loc.status, loc.status), "rid_version": loc.version}
        if sender:
            attrs["sender"] = sender
        ident = None
        basic = state.basic_ids.get(1) or next(iter(state.basic_ids.values()), None)
        if basic is not None:
            ident = basic.uas_id or None
            attrs["ua_type"] = UA_TYPES.get(basic.ua_type, basic.ua_type)
            attrs["id_type"] = ID_TYPES.get(basic.id_type, basic.id_type)
            for b in state.basic_ids.values():
                if b is not basic and b.uas_id:
                    attrs[ID_TYPES.get(b.id_type, str(b.id_type))] = b.uas_id
        if loc.alt_baro_m is not None:
            attrs["alt_baro_m"] = loc.alt_baro_m
        if loc.height_m is not None:
            attrs["height_m"] = loc.height_m
            attrs["height_type"] = HEIGHT_TYPES[loc.height_type]
        for key, value in (("h_accuracy_m", HORIZONTAL_ACCURACY_M.get(loc.h_accuracy)),
                           ("v_accuracy_m", VERTICAL_ACCURACY_M.get(loc.v_accuracy)),
                           ("baro_accuracy_m", VERTICAL_ACCURACY_M.get(loc.baro_accuracy)),
                           ("speed_accuracy_mps", SPEED_ACCURACY_MPS.get(loc.speed_accuracy)),
                           ("ts_accuracy_s", loc.ts_accuracy_s)):
            if value is not None:
                attrs[key] = value
        if state.self_id is not None and state.self_id.text:
            attrs["self_id"] = state.self_id.text
            attrs["self_id_type"] = SELF_ID_TYPES.get(state.self_id.desc_type, state.self_id.desc_type)
        if state.operator_id is not None and state.operator_id.operator_id:
            attrs["operator_id"] = state.operator_id.operator_id
        operator, op_type = None, None
        sysm = state.system
        if sysm is not None:
            op_type = OPERATOR_LOCATION_TYPES.get(sysm.operator_location_type)  # -1: a receiver did not say
            if sysm.operator_lat is not None:
                operator = GeoPoint(sysm.operator_lat, sysm.operator_lon, sysm.operator_alt_geo_m)
            if sysm.classification_type == 1:
                attrs["category_eu"] = CATEGORIES_EU.get(sysm.category_eu, sysm.category_eu)
                attrs["class_eu"] = CLASSES_EU.get(sysm.class_eu, sysm.class_eu)
            if sysm.area_count > 1 or sysm.area_radius_m > 0:  # a declared operating area (swarm/group ops)
                attrs["area_count"] = sysm.area_count
                attrs["area_radius_m"] = sysm.area_radius_m
                if sysm.area_ceiling_m is not None:
                    attrs["area_ceiling_m"] = sysm.area_ceiling_m
                if sysm.area_floor_m is not None:
                    attrs["area_floor_m"] = sysm.area_floor_m
        velocity = None
        if loc.speed_mps is not None and loc.direction_deg is not None:
            rad = math.radians(loc.direction_deg)
            velocity = Velocity(loc.speed_mps * math.sin(rad), loc.speed_mps * math.cos(rad), loc.vspeed_mps or 0.0)
        h_acc = HORIZONTAL_ACCURACY_M.get(loc.h_accuracy)
        v_acc = VERTICAL_ACCURACY_M.get(loc.v_accuracy)
        position = GeoPosition(
            loc.lat, loc.lon, loc.alt_geo_m,
            sigma_h_m=h_acc * _SIGMA_PER_95 if h_acc else UNKNOWN_SIGMA_H_M,
            sigma_v_m=v_acc * _SIGMA_PER_95 if v_acc and loc.alt_geo_m is not None else None,
        )
        return Observation(
            time=resolve_time(loc.timestamp_s, ref), source=SourceKind.REMOTE_ID, sensor=self.sensor,
            position=position, velocity=velocity, ident=ident, cls=ObjectClass.UAS, label=self.label,
            operator=operator, operator_location_type=op_type if operator is not None else None, attrs=attrs,
        )

    # -- JSON lines ----------------------------------------------------------------------
    def _decode_json(self, line: bytes) -> Iterator[Observation]:
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):
            raise RemoteIDError("bad_json") from None
        if not isinstance(obj, dict):
            raise RemoteIDError("bad_json", "not an object")
        f = _json_fields(obj)
        rx_time = _receive_time(_first(f, "time", "timestamp", "receivetime", "rxtime", "received", "ts",
                                       "unixtime", "datetime"))
        sender = _str(f, "mac", "macaddress", "sender", "addr", "address", "bssid", "src") or ""
        raw = _str(f, "hex", "raw", "payload", "data", "message")
        if raw is not None:
            raw = raw[2:] if raw.lower().startswith("0x") else raw
            if not _HEX_RE.match(raw) or len(raw) % 2:
                raise RemoteIDError("bad_hex", raw[:60])
            yield from self.decode_bytes(bytes.fromhex(raw), sender=sender, rx_time=rx_time)
            return
        yield from self._json_observation(f, sender, rx_time)

    def _json_observation(self, f: dict[str, Any], sender: str, rx_time: float | None) -> Iterator[Observation]:
        sender = sender.upper()
        state = self._sender(sender)
        uas_id = _str(f, "basicid", "uasid", "serial", "serialnumber", "id", "droneid", "idstring", "basicidid",
                      "basicidmessageid")
        if uas_id:
            id_type = _id_type(_first(f, "idtype", "uasidtype"))
            ua_type = _enum(f, UA_TYPES, "uatype", "uastype", "aircrafttype") or 0
            state.basic_ids[id_type] = BasicID(id_type, ua_type, uas_id.strip())
        text = _str(f, "selfid", "description", "selfidtext", "desc", "selfidmessagetext", "selfiddescription")
        if text:
            state.self_id = SelfID(0, text)
        op_id = _str(f, "operatorid", "operator")
        if op_id:
            state.operator_id = OperatorID(0, op_id)
        op_lat = _num(f, "operatorlat", "operatorlatitude", "pilotlat", "pilotlatitude")
        op_lon = _num(f, "operatorlon", "operatorlongitude", "operatorlng", "operatorlong", "pilotlon",
                      "pilotlongitude", "pilotlong", "pilotlng")
        op_type = _operator_type(_first(f, "operatorlocationtype", "operatorloctype", "locationtype"))
        if op_lat is not None and op_lon is not None and (op_lat, op_lon) != (0.0, 0.0):  # (0, 0): unknown
            if not -90 <= op_lat <= 90:
                raise RemoteIDError("operator_lat_out_of_range", str(op_lat))
            if not -180 <= op_lon <= 180:
                raise RemoteIDError("operator_lon_out_of_range", str(op_lon))
            state.system = System(
                operator_location_type=op_type if op_type is not None else -1, classification_type=0,
                operator_lat=op_lat, operator_lon=op_lon, area_count=1, area_radius_m=0.0, area_ceiling_m=None,
                area_floor_m=None, category_eu=0, class_eu=0,
                operator_alt_geo_m=_num(f, "operatoralt", "operatoraltitude", "operatoraltitudegeo", "operatoraltgeo",
                                        "operatorgeodeticaltitude", "pilotalt", "pilotaltitude"),
                timestamp=None)
        lat = _num(f, "lat", "latitude", "dronelat", "dronelatitude")
        lon = _num(f, "lon", "lng", "longitude", "dronelon", "dronelong", "dronelng", "dronelongitude")
        if lat is None or lon is None:
            return  # an identity/system-only record: absorbed, no position to report
        if (lat, lon) == (0.0, 0.0):
            self.stats.skip("position_unknown")
            return
        if not -90 <= lat <= 90:
            raise RemoteIDError("lat_out_of_range", str(lat))
        if not -180 <= lon <= 180:
            raise RemoteIDError("lon_out_of_range", str(lon))
        direction = _num(f, "direction", "heading", "track", "course", "dir", "headingdeg", "trackdirection")
        if direction is not None and not 0 <= direction <= 360:
            direction = None  # 361 and other out-of-range values mean unknown
        speed = _num(f, "speed", "speedhorizontal", "horizontalspeed", "groundspeed", "hspeed", "speedmps")
        if speed is not None and not 0 <= speed < 254.5:
            speed = None
        vspeed = _num(f, "vspeed", "speedvertical", "verticalspeed", "climbrate", "vertspeed", "vspeedmps")
        if vspeed is not None and abs(vspeed) > 62.5:
            vspeed = None
        loc = Location(
            status=_enum(f, STATUSES, "status") or 0, direction_deg=direction, speed_mps=speed, vspeed_mps=vspeed,
            lat=lat, lon=lon, alt_baro_m=_num(f, "altbaro", "altitudebaro", "altitudepressure", "pressurealtitude"),
            alt_geo_m=_num(f, "alt", "altgeo", "altitudegeo", "altitude", "geodeticaltitude", "altitudegeodetic",
                           "dronealtitude", "dronealt"),
            height_m=_num(f, "height", "heightagl", "heightm", "heightaglm"),
            height_type=_enum(f, HEIGHT_TYPES, "heighttype") or 0,
            h_accuracy=_int(f, "horizaccuracy", "horizontalaccuracy", "haccuracy") or 0,
            v_accuracy=_int(f, "vertaccuracy", "verticalaccuracy", "vaccuracy") or 0,
            baro_accuracy=_int(f, "baroaccuracy") or 0, speed_accuracy=_int(f, "speedaccuracy") or 0,
            timestamp_s=None, ts_accuracy_s=None,
        )
        if loc.h_accuracy not in HORIZONTAL_ACCURACY_M:
            loc.h_accuracy = 0
        if loc.v_accuracy not in VERTICAL_ACCURACY_M:
            loc.v_accuracy = 0
        ref = self._reference(rx_time)
        rid_ts = _num(f, "ridtimestamp", "timesincehour", "locationtimestamp")
        if rid_ts is not None and 0 <= rid_ts <= 3600:
            loc.timestamp_s = rid_ts
        try:
            yield self._observation(state, loc, sender, ref)
        except ValueError as exc:
            if isinstance(exc, RemoteIDError):
                raise
            raise RemoteIDError("invalid_value", str(exc)) from None

# ----------------------------------------------------------------------------------------
# tolerant JSON field access
# ----------------------------------------------------------------------------------------
def _norm(key: str) -> str:
    return re.sub(r"[^a-z0-9]", "", key.lower())


def _json_fields(obj: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """Flatten a receiver's JSON object to ``{normalised key: value}``.

    Keys are compared lower-case without ``_``/``-``/blanks; nested objects (``{"BasicID": {..}}``,
    ``{"location": {..}}``) are merged in, their keys also available prefixed with the parent's
    name (``operator: {lat, lon}`` gives ``operatorlat``). Outer keys win over nested ones.
    """
    out: dict[str, Any] = {}
    nested: list[tuple[str, dict]] = []
    for k, v in obj.items():
        nk = _norm(str(k))
        if isinstance(v, dict):
            if depth < 3:
                nested.append((nk, v))
        else:
            out.setdefault(nk, v)
    for prefix, sub in nested:
        flat = _json_fields(sub, depth + 1)
        for k, v in flat.items():
            out.setdefault(prefix + k, v)
        operator_part = prefix.startswith(("operator", "pilot", "system"))
        for k, v in flat.items():
            if operator_part and k in _POSITION_KEYS:
                out.setdefault("operator" + k, v)  # {"System": {"latitude": ..}}: the operator's position
            elif prefix not in ("operator", "pilot"):
                out.setdefault(k, v)
    return out


_POSITION_KEYS = frozenset({"lat", "latitude", "lon", "lng", "long", "longitude", "alt", "altitude", "altitudegeo",
                            "geodeticaltitude", "altgeo"})


def _first(f: dict[str, Any], *names: str) -> Any:
    for n in names:
        v = f.get(n)
        if v is not None and v != "":
            return v
    return None


def _num(f: dict[str, Any], *names: str) -> float | None:
    v = _first(f, *names)
    if v is None:
        return None
    if isinstance(v, bool):
        raise RemoteIDError("bad_field", f"{names[0]} is a boolean")
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise RemoteIDError("bad_field", f"{names[0]}={v!r:.40} is not a number") from None
    if not math.isfinite(x):
        raise RemoteIDError("bad_field", f"{names[0]} is not finite")
    return x


def _int(f: dict[str, Any], *names: str) -> int | None:
    x = _num(f, *names)
    return None if x is None else int(x)


def _str(f: dict[str, Any], *names: str) -> str | None:
    v = _first(f, *names)
    if v is None:
        return None
    if isinstance(v, (dict, list)):
        raise RemoteIDError("bad_field", f"{names[0]} is not a string")
    return str(v)


def _enum(f: dict[str, Any], table: dict[int, Any], *names: str) -> int | None:
    """A field given as the enum's number or name (any spelling of the name)."""
    v = _first(f, *names)
    if v is None:
        return None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return int(v) if int(v) in table else None
    key = _norm(str(v))
    for num, name in table.items():
        if _norm(str(name)) == key:
            return num
    return None


def _receive_time(v: Any) -> float | None:
    """A receiver's time of reception: UNIX seconds or milliseconds, or ISO 8601 with a zone.
    Anything else (a receiver's uptime counter, a time without zone) gives None: the decoder's
    reference time is used instead."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, str):
        try:
            t = float(v)
        except ValueError:
            try:
                dt = datetime.fromisoformat(v.strip().replace("Z", "+00:00"))
            except ValueError:
                return None
            if dt.tzinfo is None:
                return None
            t = dt.timestamp()
    elif isinstance(v, (int, float)):
        t = float(v)
    else:
        return None
    if math.isfinite(t) and t > 1e11:  # milliseconds
        t /= 1000.0
    return t if math.isfinite(t) and _MIN_UNIX_TIME < t < 1e10 else None


def _id_type(v: Any) -> int:
    """A Basic ID type given as its number or as text (``"Serial Number (ANSI/CTA-2063-A)"``)."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return int(v) if int(v) in ID_TYPES else 1
    key = _norm(str(v)) if v is not None else ""
    if key.isdigit():
        return int(key) if int(key) in ID_TYPES else 1
    for word, num in (("serial", 1), ("caa", 2), ("registration", 2), ("utm", 3), ("uuid", 3), ("session", 4)):
        if word in key:
            return num
    return 1


_OP_TYPE_NAMES = {"takeoff": 0, "livegnss": 1, "dynamic": 1, "live": 1, "gnss": 1, "fixed": 2}


def _operator_type(v: Any) -> int | None:
    if v is None:
        return None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return int(v) if int(v) in OPERATOR_LOCATION_TYPES else None
    key = _norm(str(v))
    if key.isdigit():
        return int(key) if int(key) in OPERATOR_LOCATION_TYPES else None
    return _OP_TYPE_NAMES.get(key)
