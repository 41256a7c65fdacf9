"""Remote ID (ASTM F3411 / ASD-STAN EN 4709-002) broadcast messages: layout, scaling edges,
round trips, rejects, aggregation per sender, time resolution, receiver JSON and fuzzing."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lookout.model import ObjectClass, OperatorLocationType, SourceKind
from lookout.sources import decoder_class
from lookout.sources import remoteid as rid
from lookout.sources.remoteid import RemoteIDDecoder, RemoteIDError, decode_message

DATA = Path(__file__).parent / "data" / "remoteid"
T0 = 1700000000.0  # 22:13:20 UTC, 800 s after the full hour


def _one(data: bytes):
    msgs = decode_message(data)
    assert len(msgs) == 1
    return msgs[0]


def _reason(data: bytes) -> str:
    with pytest.raises(RemoteIDError) as err:
        decode_message(data)
    return err.value.reason


# ---------------------------------------------------------------------------------------------
# layout: bytes built by hand from the published field table decode to the right values
# ---------------------------------------------------------------------------------------------
def test_location_layout_from_hand_built_bytes():
    # header 0x12: type 1 (Location) in the high nibble, protocol version 2 in the low one
    # flags: status 2 (airborne) << 4 | height type 1 << 2 | E/W 1 << 1 | speed multiplier 1
    flags = (2 << 4) | (1 << 2) | (1 << 1) | 1
    msg = struct.pack(
        "<BBBBbiiHHHBBHBB", 0x12, flags, 90, 10, -3, 313_400_000, -1_109_400_000,
        (1250 + 1000) * 2, (1300 + 1000) * 2, (80 + 1000) * 2, (4 << 4) | 10, (3 << 4) | 2, 12345, 3, 0,
    )
    assert len(msg) == 25
    loc = _one(msg)
    assert isinstance(loc, rid.Location)
    assert loc.version == 2 and loc.status == 2
    assert loc.direction_deg == 270.0  # 90 + 180 (E/W flag)
    assert loc.speed_mps == pytest.approx(10 * 0.75 + 63.75)  # multiplier flag set
    assert loc.vspeed_mps == -1.5
    assert loc.lat == pytest.approx(31.34) and loc.lon == pytest.approx(-110.94)
    assert loc.alt_baro_m == 1250.0 and loc.alt_geo_m == 1300.0 and loc.height_m == 80.0
    assert loc.height_type == 1
    assert (loc.h_accuracy, loc.v_accuracy, loc.speed_accuracy, loc.baro_accuracy) == (10, 4, 2, 3)
    assert loc.timestamp_s == 1234.5
    assert loc.ts_accuracy_s == pytest.approx(0.3)


def test_system_layout_from_hand_built_bytes():
    flags = (1 << 2) | 2  # classification type EU, operator location type fixed
    msg = struct.pack("<BBiiHBHHBHIB", 0x42, flags, 313_300_000, -1_109_500_000, 3, 15,
                      (500 + 1000) * 2, (0 + 1000) * 2, (2 << 4) | 3, (1240 + 1000) * 2, 100_000_000, 0)
    s = _one(msg)
    assert isinstance(s, rid.System)
    assert s.operator_location_type == 2 and s.classification_type == 1
    assert s.operator_lat == pytest.approx(31.33) and s.operator_lon == pytest.approx(-110.95)
    assert s.area_count == 3 and s.area_radius_m == 150.0
    assert s.area_ceiling_m == 500.0 and s.area_floor_m == 0.0
    assert (s.category_eu, s.class_eu) == (2, 3)
    assert s.operator_alt_geo_m == 1240.0
    assert s.timestamp == rid.ODID_EPOCH + 100_000_000


def test_basic_id_self_id_operator_id_layout():
    b = _one(bytes([0x02, (1 << 4) | 2]) + b"1596F351234567890ABC" + bytes(3))
    assert (b.id_type, b.ua_type, b.uas_id) == (1, 2, "1596F351234567890ABC")
    s = _one(bytes([0x32, 0]) + b"Survey flight".ljust(23, b"\0"))
    assert (s.desc_type, s.text) == (0, "Survey flight")
    o = _one(bytes([0x52, 0]) + b"FIN87astrdge12k8".ljust(20, b"\0") + bytes(3))
    assert o.operator_id == "FIN87astrdge12k8"


def test_auth_pages():
    page0 = rid.encode_auth_page(0, b"\x01" * 17, auth_type=1, last_page_index=1, length=40, timestamp=T0)
    page1 = rid.encode_auth_page(1, b"\x02" * 23, auth_type=1)
    a0, a1 = _one(page0), _one(page1)
    assert a0.page == 0 and a0.auth_type == 1 and a0.last_page_index == 1 and a0.length == 40
    assert a0.timestamp == T0 and a0.data == b"\x01" * 17
    assert a1.page == 1 and a1.data == b"\x02" * 23
    assert page0[0] == 0x22 and page0[1] == 0x10


# ---------------------------------------------------------------------------------------------
# scaling edges
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("speed, expected", [
    (0.0, 0.0), (0.25, 0.25), (63.75, 63.75), (64.5, 64.5), (100.0, 99.75), (254.25, 254.25),
    (300.0, 254.25), (None, None),
])
def test_speed_encoding_edges(speed, expected):
    loc = _one(rid.encode_location(31.0, -110.0, speed_mps=speed, direction_deg=0.0))
    assert loc.speed_mps == (pytest.approx(expected, abs=0.38) if expected is not None else None)


@pytest.mark.parametrize("direction, expected", [
    (0.0, 0.0), (179.0, 179.0), (180.0, 180.0), (270.4, 270.0), (359.0, 359.0), (360.0, 0.0), (None, None),
])
def test_direction_encoding_edges(direction, expected):
    assert _one(rid.encode_location(31.0, -110.0, direction_deg=direction)).direction_deg == expected


@pytest.mark.parametrize("vspeed, expected", [(0.0, 0.0), (62.0, 62.0), (-62.0, -62.0), (80.0, 62.0),
                                              (-0.5, -0.5), (None, None)])
def test_vertical_speed_edges(vspeed, expected):
    assert _one(rid.encode_location(31.0, -110.0, vspeed_mps=vspeed)).vspeed_mps == expected


@pytest.mark.parametrize("alt, expected", [(-999.5, -999.5), (0.0, 0.0), (31767.0, 31767.0), (None, None),
                                           (-1000.0, None)])  # -1000 m is the "unknown" value
def test_altitude_edges(alt, expected):
    loc = _one(rid.encode_location(31.0, -110.0, alt_geo_m=alt, alt_baro_m=alt, height_m=alt))
    assert loc.alt_geo_m == expected and loc.alt_baro_m == expected and loc.height_m == expected


@pytest.mark.parametrize("lat, lon", [(90.0, 180.0), (-90.0, -180.0), (0.0000001, 0.0), (31.3456789, -110.9876543)])
def test_latlon_edges(lat, lon):
    loc = _one(rid.encode_location(lat, lon))
    assert loc.lat == pytest.approx(lat, abs=1e-7) and loc.lon == pytest.approx(lon, abs=1e-7)


def test_unknown_position_and_timestamp():
    loc = _one(rid.encode_location(None, None, timestamp_s=None))
    assert loc.lat is None and loc.lon is None and loc.timestamp_s is None
    assert _one(rid.encode_location(1.0, 1.0, timestamp_s=3600.0)).timestamp_s == 3600.0
    assert _one(rid.encode_location(1.0, 1.0, timestamp_s=0.0)).timestamp_s == 0.0


def test_encoders_refuse_out_of_range_values():
    with pytest.raises(ValueError, match="latitude"):
        rid.encode_location(91.0, 0.0)
    with pytest.raises(ValueError, match="altitude"):
        rid.encode_location(1.0, 1.0, alt_geo_m=40000.0)
    with pytest.raises(ValueError, match="at most 20"):
        rid.encode_basic_id("X" * 21)
    with pytest.raises(ValueError, match="1..9"):
        rid.encode_pack([rid.encode_self_id("x")] * 10)


# ---------------------------------------------------------------------------------------------
# round trips of every message type
# ---------------------------------------------------------------------------------------------
@settings(max_examples=150, deadline=None)
@given(lat=st.floats(-90, 90), lon=st.floats(-180, 180), alt=st.floats(-999.5, 31767),
       speed=st.floats(0, 254.25), direction=st.integers(0, 359), vs=st.floats(-62, 62),
       ts=st.floats(0, 3600), status=st.integers(0, 4), h_acc=st.integers(0, 12), v_acc=st.integers(0, 6))
def test_location_round_trip(lat, lon, alt, speed, direction, vs, ts, status, h_acc, v_acc):
    if abs(lat) < 1e-7 and abs(lon) < 1e-7:
        lat = 1.0  # (0, 0) means "unknown"
    loc = _one(rid.encode_location(lat, lon, alt_geo_m=alt, speed_mps=speed, direction_deg=direction,
                                   vspeed_mps=vs, timestamp_s=ts, status=status, h_accuracy=h_acc,
                                   v_accuracy=v_acc))
    assert loc.lat == pytest.approx(lat, abs=5.1e-8) and loc.lon == pytest.approx(lon, abs=5.1e-8)
    assert loc.alt_geo_m == pytest.approx(alt, abs=0.26)
    assert loc.speed_mps == pytest.approx(speed, abs=0.38)
    assert loc.direction_deg == direction
    assert loc.vspeed_mps == pytest.approx(vs, abs=0.26)
    assert loc.timestamp_s == pytest.approx(ts, abs=0.051)
    assert (loc.status, loc.h_accuracy, loc.v_accuracy) == (status, h_acc, v_acc)


@settings(max_examples=60, deadline=None)
@given(uas_id=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20),
       id_type=st.integers(0, 4), ua_type=st.integers(0, 15), version=st.sampled_from([0, 1, 2]))
def test_basic_id_round_trip(uas_id, id_type, ua_type, version):
    b = _one(rid.encode_basic_id(uas_id, id_type, ua_type, version))
    assert (b.uas_id, b.id_type, b.ua_type, b.version) == (uas_id, id_type, ua_type, version)


@settings(max_examples=60, deadline=None)
@given(lat=st.floats(-90, 90), lon=st.floats(1e-3, 180), loc_type=st.sampled_from(list(OperatorLocationType)),
       alt=st.floats(-999.5, 31767), radius=st.integers(0, 255), count=st.integers(0, 65535),
       t=st.integers(int(rid.ODID_EPOCH) + 1, int(rid.ODID_EPOCH) + 2**31))
def test_system_round_trip(lat, lon, loc_type, alt, radius, count, t):
    s = _one(rid.encode_system(lat, lon, operator_alt_geo_m=alt, operator_location_type=loc_type,
                               area_count=count, area_radius_m=radius * 10.0, timestamp=t))
    assert rid.OPERATOR_LOCATION_TYPES[s.operator_location_type] == loc_type
    assert s.operator_lat == pytest.approx(lat, abs=5.1e-8) and s.operator_lon == pytest.approx(lon, abs=5.1e-8)
    assert s.operator_alt_geo_m == pytest.approx(alt, abs=0.26)
    assert (s.area_count, s.area_radius_m, s.timestamp) == (count, radius * 10.0, t)


def test_pack_round_trip_keeps_order_and_types():
    parts = [rid.encode_basic_id("SERIAL1"), rid.encode_location(31.0, -110.0), rid.encode_self_id("hi"),
             rid.encode_system(31.0, -110.1), rid.encode_operator_id("OP1"), rid.encode_auth_page(0, b"x")]
    pack = rid.encode_pack(parts)
    assert len(pack) == 3 + 25 * len(parts) and pack[0] == 0xF2 and pack[1] == 25 and pack[2] == len(parts)
    msgs = decode_message(pack)
    assert [type(m) for m in msgs] == [rid.BasicID, rid.Location, rid.SelfID, rid.System, rid.OperatorID,
                                       rid.AuthPage]
    # a pack padded with zeros to its maximum size (as broadcast) decodes the same
    assert decode_message(pack + bytes(50)) == msgs


# ---------------------------------------------------------------------------------------------
# invalid values are rejected with their reason
# ---------------------------------------------------------------------------------------------
def _patched(msg: bytes, offset: int, fmt: str, value) -> bytes:
    b = bytearray(msg)
    struct.pack_into(fmt, b, offset, value)
    return bytes(b)


def test_rejects_with_reasons():
    loc = rid.encode_location(31.0, -110.0, timestamp_s=10.0)
    assert _reason(_patched(loc, 5, "<i", 950_000_000)) == "lat_out_of_range"
    assert _reason(_patched(loc, 9, "<i", -1_850_000_000)) == "lon_out_of_range"
    assert _reason(_patched(loc, 21, "<H", 40000)) == "bad_timestamp"
    assert _reason(_patched(loc, 2, "<B", 200) if loc[1] & 2 else _patched(
        _patched(loc, 1, "<B", loc[1] | 2), 2, "<B", 200)) == "bad_direction"
    assert _reason(_patched(loc, 19, "<B", 13)) == "bad_accuracy"
    assert _reason(bytes([0x62]) + bytes(24)) == "unknown_message_type"
    assert _reason(bytes([0x13]) + loc[1:]) == "unsupported_version"
    assert _reason(loc[:24]) == "bad_length"
    assert _reason(loc + b"\0") == "bad_length"
    assert _reason(bytes([0x02, 0x92]) + b"X" * 20 + bytes(3)) == "bad_id_type"
    assert _reason(bytes([0x02, 0x12]) + b"\xff" * 20 + bytes(3)) == "bad_uas_id"
    system = rid.encode_system(31.0, -110.0)
    assert _reason(_patched(system, 1, "<B", 3)) == "bad_operator_location_type"
    assert _reason(_patched(system, 2, "<i", 910_000_000)) == "operator_lat_out_of_range"
    pack = rid.encode_pack([loc, system])
    assert _reason(_patched(pack, 1, "<B", 24)) == "bad_pack"
    assert _reason(_patched(pack, 2, "<B", 10)) == "bad_pack"
    assert _reason(_patched(pack, 2, "<B", 3)) == "bad_pack"  # says 3, carries 2
    assert _reason(bytes([0xF2, 25, 1]) + pack[:25]) == "bad_pack"  # nested pack


def test_decoder_counts_rejects_and_keeps_going():
    dec = RemoteIDDecoder(sensor="rx", reference_time=T0)
    good = rid.encode_pack([rid.encode_basic_id("GOOD1"), rid.encode_location(31.0, -110.0, timestamp_s=800.0)])
    bad_lat = _patched(rid.encode_location(31.0, -110.0), 5, "<i", 950_000_000)
    lines = [good.hex(), "zz", bad_lat.hex(), (bytes([0x72]) + bytes(24)).hex(), "", good.hex()]
    out = [o for line in lines for o in dec.decode(line.encode())]
    assert [o.ident for o in out] == ["GOOD1", "GOOD1"]
    assert dec.stats.rejected == {"bad_hex": 1, "lat_out_of_range": 1, "unknown_message_type": 1}
    assert dec.stats.messages == len(lines)


# ---------------------------------------------------------------------------------------------
# time: tenths of seconds since the hour, resolved against the receive time
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("since_hour, reference, expected", [
    (800.0, T0, T0),
    (0.5, 1699999199.0, 1699999200.5),  # received just before the hour, sent just after it
    (3599.5, 1699999201.0, 1699999199.5),  # received just after the hour, sent just before it
    (None, T0, T0),
])
def test_resolve_time(since_hour, reference, expected):
    assert rid.resolve_time(since_hour, reference) == pytest.approx(expected)


# ---------------------------------------------------------------------------------------------
# the capture file: hex lines with receive time and MAC, aggregated per sender
# ---------------------------------------------------------------------------------------------
def test_capture_file_to_observations():
    dec = decoder_class("remoteid")(sensor="rid-rx-1")
    lines = (DATA / "capture.hex").read_bytes().splitlines()
    obs = [o for line in lines for o in dec.decode(line)]
    assert dec.stats.rejected == {"bad_hex": 1}
    assert len(obs) == 8
    by_id = {}
    for o in obs:
        by_id.setdefault(o.ident, []).append(o)
    assert set(by_id) == {"1596F351234567890ABC", "1581F4XFB00123456789"}
    first = by_id["1596F351234567890ABC"][0]
    assert first.source == SourceKind.REMOTE_ID and first.cls == ObjectClass.UAS and first.sensor == "rid-rx-1"
    assert first.time == pytest.approx(T0 - 0.2)  # the drone's own time, 0.2 s before reception
    assert first.position.lat == pytest.approx(31.33) and first.position.lon == pytest.approx(-110.95)
    assert first.position.alt_m == 1300.0 and first.position.sigma_h_m == 5.0 and first.position.sigma_v_m == 5.0
    assert first.velocity.north == pytest.approx(11.0) and first.velocity.up == 0.5
    assert first.operator.lat == pytest.approx(31.329) and first.operator.alt_m == 1250.0
    assert first.operator_location_type == OperatorLocationType.TAKE_OFF
    assert first.attrs["self_id"] == "Survey flight" and first.attrs["operator_id"] == "FIN87astrdge12k8"
    assert first.attrs["ua_type"] == "helicopter_or_multirotor" and first.attrs["height_m"] == 80.0
    assert first.attrs["category_eu"] == "open" and first.attrs["class_eu"] == "class_1"
    assert first.attrs["alt_baro_m"] == 1270.0 and first.attrs["sender"] == "60:60:1F:AA:BB:01"
    # single Location messages later inherit the identity and operator of their sender
    later = by_id["1581F4XFB00123456789"]
    assert len(later) == 4
    assert all(o.operator_location_type == OperatorLocationType.LIVE_GNSS for o in later)
    assert later[-1].position.lat == pytest.approx(31.3403)
    assert later[-1].time == pytest.approx(T0 + 3 - 0.2)
    flat = later[-1].flat()
    assert flat["operator_location_type"] == "live_gnss" and flat["ident"] == "1581F4XFB00123456789"


def test_line_forms_and_reference_time():
    loc = rid.encode_location(31.2, -110.8, timestamp_s=800.0).hex()
    dec = RemoteIDDecoder(reference_time=T0 + 5)
    (a,) = dec.decode(loc.encode())
    (b,) = dec.decode(f"AA:BB:CC:DD:EE:FF {loc}".encode())
    (c,) = dec.decode(f"0x{loc.upper()}".encode())
    (d,) = dec.decode(f"{T0 + 1800 + 1};dev7;{loc}".encode())  # receive time wins over reference_time
    assert a.time == b.time == c.time == pytest.approx(T0)
    assert d.time == pytest.approx(T0 + 3600)
    assert b.attrs["sender"] == "AA:BB:CC:DD:EE:FF" and "sender" not in a.attrs


def test_location_without_position_is_skipped_not_rejected():
    dec = RemoteIDDecoder(reference_time=T0)
    assert list(dec.decode(rid.encode_location(None, None).hex().encode())) == []
    assert dec.stats.skipped == {"position_unknown": 1} and not dec.stats.rejected


# ---------------------------------------------------------------------------------------------
# receiver JSON lines
# ---------------------------------------------------------------------------------------------
def test_receiver_json_lines():
    dec = RemoteIDDecoder(sensor="rx")
    obs = [o for line in (DATA / "receiver.jsonl").read_bytes().splitlines() for o in dec.decode(line)]
    assert [o.ident for o in obs] == ["1596F3TESTSERIAL0001", "1581F5FKD229400BX8AA", "1596F351234567890ABC",
                                      "FIXEDOP0000000000001", "1581F6ESP32MESHDET01", "1748DRAGONSYNC000001"]
    a, b, c, d, e, f = obs
    assert a.time == 1700000000.4 and a.position.alt_m == 1330.5
    assert a.velocity.east == pytest.approx(8.5) and a.velocity.up == -0.5
    assert a.operator.lat == 31.3345 and a.operator.alt_m == 1240.0
    assert a.operator_location_type == OperatorLocationType.LIVE_GNSS
    assert a.attrs["self_id"] == "Inspection" and a.attrs["operator_id"] == "USA-OP-0042"
    assert a.attrs["height_m"] == 95.0
    # nested receiver objects, milliseconds time, take-off operator location
    assert b.time == pytest.approx(1700000001.4) and b.position.lat == 31.3011
    assert b.velocity.north == pytest.approx(-15.25) and b.position.sigma_h_m == 5.0
    assert b.operator_location_type == OperatorLocationType.TAKE_OFF and b.attrs["self_id"] == "Delivery"
    assert b.attrs["alt_baro_m"] == 1380.5
    # a Basic ID heard as hex, then a JSON location from the same MAC (other spelling): one drone;
    # unknown direction (361) and an impossible speed give no velocity
    assert c.attrs["sender"] == "60:60:1F:AA:BB:05" and c.velocity is None
    # numeric strings, an "operator" object and a numeric location type (2 = fixed)
    assert d.position.lat == 31.295 and d.operator.lon == -110.971
    assert d.operator_location_type == OperatorLocationType.FIXED
    # an ESP32 mesh-detect style record (drone_/pilot_ keys, no time: dated on reception); the
    # operator location type is not given, so none is claimed
    assert e.position.lat == 31.3265 and e.position.lon == -110.9385 and e.position.alt_m == 1371.0
    assert e.operator.lat == 31.3251 and e.operator.lon == -110.9399 and e.operator_location_type is None
    assert e.attrs["sender"] == "8C:1F:64:AA:00:01" and e.time > 1.7e9
    # a record nested by message ("Basic ID", "Location/Vector Message", "System Message" whose
    # latitude/longitude are the operator's), with the id type given as text
    assert f.position.lat == 31.3188 and f.operator.lat == 31.3181 and f.operator.lon == -110.9551
    assert f.operator_location_type == OperatorLocationType.LIVE_GNSS and f.attrs["id_type"] == "serial_number"
    assert f.attrs["ua_type"] == "helicopter_or_multirotor" and f.attrs["height_m"] == 60.0
    assert f.attrs["self_id"] == "Wildfire patrol" and f.attrs["operator_id"] == "FAA-OP-77"
    assert f.velocity.east == pytest.approx(-6.0) and f.position.alt_m == 1333.0
    assert dec.stats.skipped == {"position_unknown": 1}
    assert dec.stats.rejected == {"lat_out_of_range": 1}


@pytest.mark.parametrize("value, expected", [
    ("2023-11-14T22:13:20Z", T0), ("2023-11-14T15:13:20.5-07:00", T0 + 0.5), ("1700000000.5", T0 + 0.5),
    (1700000000500, T0 + 0.5), (123456.0, T0 + 99), ("2023-11-14 22:13:20", T0 + 99), ("soon", T0 + 99),
])
def test_json_receive_times(value, expected):
    # ISO 8601 with a zone, UNIX s or ms; an uptime counter or a zone-less time: the reference
    dec = RemoteIDDecoder(reference_time=T0 + 99)
    (o,) = dec.decode(json.dumps({"time": value, "id": "X1", "lat": 31.0, "lon": -110.0}).encode())
    assert o.time == pytest.approx(expected)


@pytest.mark.parametrize("line, reason", [
    (b"{not json", "bad_json"),
    (b"[1, 2]", "bad_json"),
    (b'{"lat": "north", "lon": 1}', "bad_field"),
    (b'{"lat": 31, "lon": 200}', "lon_out_of_range"),
    (b'{"hex": "abc"}', "bad_hex"),
    (b'{"lat": 31, "lon": -110, "operator_lat": 99, "operator_lon": -110}', "operator_lat_out_of_range"),
    (b'{"lat": 31, "lon": -110, "alt": 250000}', "invalid_value"),
])
def test_json_rejects(line, reason):
    dec = RemoteIDDecoder(reference_time=T0)
    assert list(dec.decode(line)) == []
    assert dec.stats.rejected == {reason: 1}


# ---------------------------------------------------------------------------------------------
# fuzzing: nothing raises out of decode(), every bad record is counted, decoding goes on
# ---------------------------------------------------------------------------------------------
_GOOD = rid.encode_pack([rid.encode_basic_id("FUZZ1"), rid.encode_location(31.0, -110.0, timestamp_s=1.0),
                         rid.encode_system(31.0, -110.1)])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    st.binary(max_size=300),
    st.binary(min_size=25, max_size=25).map(lambda b: b.hex().encode()),
    st.binary(min_size=3, max_size=230).map(lambda b: (bytes([0xF2]) + b).hex().encode()),
    st.lists(st.tuples(st.integers(0, len(_GOOD) - 1), st.integers(0, 255)), min_size=1, max_size=6).map(
        lambda edits: bytes(_mutate(_GOOD, edits)).hex().encode()),
    st.dictionaries(st.sampled_from(["lat", "lon", "alt", "mac", "hex", "basic_id", "operator_lat", "operator_lon",
                                     "time", "speed", "direction", "operator_location_type", "Location"]),
                    st.one_of(st.none(), st.floats(allow_nan=True), st.text(max_size=8), st.integers(),
                              st.booleans(), st.lists(st.integers(), max_size=2)), max_size=8).map(
        lambda d: __import__("json").dumps(d).encode()),
))
def test_fuzz_never_raises_and_counts(line):
    dec = RemoteIDDecoder(reference_time=T0)
    out = list(dec.decode(line))
    s = dec.stats
    assert s.messages == 1
    assert len(out) <= 3
    assert out or s.rejected_total >= 0  # nothing raised
    # after any garbage, a valid line still decodes
    (after,) = dec.decode(_GOOD.hex().encode())
    assert after.ident == "FUZZ1"


def _mutate(data: bytes, edits: list[tuple[int, int]]) -> bytearray:
    b = bytearray(data)
    for pos, val in edits:
        b[pos] = val
    return b


# ---------------------------------------------------------------------------------------------
# published example messages (librid's documentation: hex with its decoded values)
# ---------------------------------------------------------------------------------------------
def test_published_location_example():
    loc = _one(bytes.fromhex("12202d3e0420bd5c25401c190d0000c10834084a0339300100"))
    assert loc.version == 2 and loc.status == 2
    assert loc.lat == pytest.approx(62.683472) and loc.lon == pytest.approx(21.974944)
    assert loc.alt_geo_m == 120.5 and loc.alt_baro_m is None  # -1000 m: unknown
    assert loc.height_m == 50.0 and loc.height_type == 0
    assert loc.speed_mps == 15.5 and loc.vspeed_mps == 2.0 and loc.direction_deg == 45.0
    assert (loc.h_accuracy, loc.v_accuracy, loc.speed_accuracy, loc.baro_accuracy) == (10, 4, 3, 0)
    assert loc.timestamp_s == 1234.5 and loc.ts_accuracy_s == pytest.approx(0.1)


def test_published_system_example():
    s = _one(bytes.fromhex("42043412ef23c376a00e01000ac008d0071234086142210d00"))
    assert s.operator_location_type == 0 and s.classification_type == 1
    assert s.operator_lat == pytest.approx(60.287032) and s.operator_lon == pytest.approx(24.539719)
    assert s.area_count == 1 and s.area_radius_m == 100.0
    assert s.area_ceiling_m == 120.0 and s.area_floor_m == 0.0
    assert s.class_eu == 2 and s.category_eu == 1 and s.operator_alt_geo_m == 50.0
    assert s.timestamp == rid.ODID_EPOCH + 220283489


def test_bluetooth_service_data_form():
    # application code 0x0D and a message counter in front of the message, as btmon logs it
    dec = RemoteIDDecoder(reference_time=T0)
    (o,) = dec.decode(b"0d07" + b"12202d3e0420bd5c25401c190d0000c10834084a0339300100")
    assert o.position.lat == pytest.approx(62.683472) and not dec.stats.rejected
