"""SAPIENT (BSI Flex 335 v2.0): length-prefixed protobuf stream, registration and status as
sensor status, detections as Observations, wire compatibility, faults and fuzzing."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lookout.model import ObjectClass, SourceKind
from lookout.sources import decoder_class
from lookout.sources.sapient import (
    SapientDecoder,
    detection_message,
    frame,
    registration_message,
    sapient_class,
    status_message,
)
from lookout.sources.sapient_proto import sapient_pb2 as pb

DATA = Path(__file__).parent / "data" / "sapient"
T0 = 1700000000.0
RADAR = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
CAMERA = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def _run(dec, data: bytes, chunk: int | None = None):
    out = []
    step = chunk or len(data) or 1
    for i in range(0, len(data), step):
        out += dec.decode(data[i:i + step])
    return out + list(dec.flush())


def test_stream_file():
    dec = decoder_class("sapient")(sensor="sap")
    obs = _run(dec, (DATA / "stream.bin").read_bytes(), chunk=13)
    assert len(obs) == 3
    assert dec.stats.skipped == {"registration": 2, "status_report": 2}
    assert set(dec.stats.rejected) == {"resync"}
    rb, geo, person = obs
    # range/bearing relative to the node's reported location
    assert rb.source == SourceKind.RADAR and rb.sensor == f"sap:{RADAR}" and rb.time == T0 + 1.0
    m = rb.measurement
    assert (m.range_m, m.azimuth_deg, m.elevation_deg) == (1800.0, 135.0, 4.0)
    assert (m.site.lat, m.site.lon, m.site.alt_m) == (31.3, -110.9, 1250.0)
    assert rb.cls == ObjectClass.UAS and rb.cls_confidence == pytest.approx(0.82)
    assert (rb.velocity.east, rb.velocity.north, rb.velocity.up) == (3.0, -4.0, 0.5)
    assert rb.attrs["object_id"] == "01HF7YAT00RADAR0000000001" and rb.attrs["classification"] == ["UAV Rotary Wing"]
    # geodetic detection with its error converted from degrees to metres
    assert geo.position.lat == 31.289 and geo.position.alt_m == 1420.0
    assert geo.position.sigma_h_m == pytest.approx(12.0, rel=1e-6)
    # a camera node's detections are camera observations
    assert person.source == SourceKind.CAMERA and person.cls == ObjectClass.PERSON
    st_radar = dec.sensor_status[RADAR]
    assert st_radar["name"] == "C-UAS radar north" and st_radar["short_name"] == "RDR-N"
    assert st_radar["node_types"] == ["radar"] and st_radar["manufacturer"] == "Example Radars"
    assert st_radar["system"] == "warning" and st_radar["mode"] == "surveillance"
    assert st_radar["last_status"] == T0 + 5.0
    assert st_radar["location"] == {"lat": 31.3, "lon": -110.9, "alt_m": 1250.0}
    assert dec.sensor_status[CAMERA]["node_types"] == ["camera"]


# --- wire compatibility: bytes written by hand from the standard's field numbers ----------------
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _ld(field: int, payload: bytes) -> bytes:
    return _varint((field << 3) | 2) + _varint(len(payload)) + payload


def _dbl(field: int, v: float) -> bytes:
    return _varint((field << 3) | 1) + struct.pack("<d", v)


def _enum(field: int, v: int) -> bytes:
    return _varint(field << 3) + _varint(v)


def test_hand_encoded_detection_report_decodes():
    # SapientMessage: timestamp=1, node_id=2, detection_report=7; DetectionReport: report_id=1,
    # object_id=2, location=6 (Location: x=1, y=2, z=3, coordinate_system=7, datum=8),
    # classification=11 (type=1, confidence=2 float), enu_velocity=19; and an unknown field
    # (24) that a newer edition might add, which must be skipped
    location = _dbl(1, -110.95) + _dbl(2, 31.33) + _dbl(3, 1300.0) + _enum(7, 1) + _enum(8, 1)
    cls = _ld(1, b"Vehicle") + _varint((2 << 3) | 5) + struct.pack("<f", 0.5)
    vel = _dbl(1, 10.0) + _dbl(2, 0.0)
    report = _ld(1, b"r1") + _ld(2, b"o1") + _ld(6, location) + _ld(11, cls) + _ld(19, vel) + _ld(24, b"future")
    msg = _ld(1, _varint(1 << 3) + _varint(int(T0))) + _ld(2, b"node-x") + _ld(7, report)
    dec = SapientDecoder()
    (o,) = _run(dec, struct.pack("<I", len(msg)) + msg)
    assert o.time == T0 and o.sensor == "sapient:node-x"
    assert (o.position.lat, o.position.lon, o.position.alt_m) == (31.33, -110.95, 1300.0)
    assert o.cls == ObjectClass.GROUND_VEHICLE and o.cls_confidence == 0.5 and o.velocity.east == 10.0
    # and our serialisation writes the same field numbers
    again = pb.SapientMessage.FromString(msg).SerializeToString()
    assert pb.SapientMessage.FromString(again).detection_report.location.y == 31.33


def test_units_radians_kilometres_and_subclasses():
    dec = SapientDecoder()
    msgs = [status_message("n", T0, 31.0, -110.0, 1000.0)]
    m = detection_message("n", T0 + 1, "o", azimuth_deg=0.0)
    rb = m.detection_report.range_bearing
    rb.azimuth, rb.elevation, rb.range = 1.5707963267948966, 0.1, 2.5
    rb.azimuth_error, rb.range_error = 0.01, 0.05
    rb.coordinate_system = pb.RANGE_BEARING_COORDINATE_SYSTEM_RADIANS_KM
    c = m.detection_report.classification.add()
    c.type, c.confidence = "Air Vehicle", 0.9
    sub = c.sub_class.add()
    sub.type, sub.confidence, sub.level = "UAV Fixed Wing", 0.8, 1
    msgs.append(m)
    (o,) = _run(dec, b"".join(frame(x) for x in msgs))
    assert o.measurement.azimuth_deg == pytest.approx(90.0) and o.measurement.range_m == pytest.approx(2500.0)
    assert o.measurement.elevation_deg == pytest.approx(5.729578, abs=1e-5)
    assert o.measurement.sigma_az_deg == pytest.approx(0.572958, abs=1e-5) and o.measurement.sigma_range_m == 50.0
    assert o.cls == ObjectClass.UAS and o.attrs["classification"] == ["Air Vehicle", "UAV Fixed Wing"]


@pytest.mark.parametrize("names, cls", [(["UAV Rotary Wing", "Air Vehicle"], ObjectClass.UAS),
                                        (["Air Vehicle"], None), (["Human"], ObjectClass.PERSON),
                                        (["4x4", "Land Vehicle"], ObjectClass.GROUND_VEHICLE),
                                        (["Manned Helicopter"], ObjectClass.ROTORCRAFT), (["Animal"], None)])
def test_class_mapping(names, cls):
    assert sapient_class(names) == cls


def _with(msg, fn):
    fn(msg)
    return msg


@pytest.mark.parametrize("msgs, reason", [
    ([detection_message("n", T0, "o", azimuth_deg=10.0)], "unknown_node_location"),
    ([status_message("n", T0, 31, -110), _with(detection_message("n", T0, "o", azimuth_deg=10.0),
      lambda m: setattr(m.detection_report.range_bearing, "datum", pb.RANGE_BEARING_DATUM_MAGNETIC))],
     "unsupported_bearing_datum"),
    ([_with(detection_message("n", T0, "o", lat=31.0, lon=-110.0), lambda m: setattr(
        m.detection_report.location, "coordinate_system", pb.LOCATION_COORDINATE_SYSTEM_UTM_M))],
     "unsupported_coordinates"),
    ([detection_message("n", T0, "o", lat=95.0, lon=-110.0)], "position_out_of_range"),
    ([detection_message("n", T0, "o")], "missing_location"),
    ([_with(detection_message("n", T0, "o", lat=31.0, lon=-110.0),
            lambda m: setattr(m.timestamp, "seconds", -5))], "bad_time"),
])
def test_rejects(msgs, reason):
    dec = SapientDecoder()
    assert _run(dec, b"".join(frame(m) for m in msgs)) == []
    assert dec.stats.rejected == {reason: 1}


def test_unsupported_content_is_skipped():
    msg = _ld(2, b"node-1") + _ld(8, b"")  # a Task (field 8), not used by Lookout
    dec = SapientDecoder()
    assert _run(dec, struct.pack("<I", len(msg)) + msg) == []
    assert dec.stats.skipped == {"unsupported_content": 1} and not dec.stats.rejected


def test_garbage_and_bad_lengths_resync():
    good = frame(detection_message("n", T0, "o", lat=31.0, lon=-110.0))
    data = b"\xff\xff\xff\x7f" + good + b"\x05\x00\x00\x00\x0a\x01" + good + struct.pack("<I", 10**9) + good
    dec = SapientDecoder()
    obs = _run(dec, data, chunk=3)
    assert len(obs) == 3 and dec.stats.rejected["resync"] >= 2


def test_truncated_tail_is_counted():
    good = frame(detection_message("n", T0, "o", lat=31.0, lon=-110.0))
    dec = SapientDecoder()
    assert len(_run(dec, good + good[:-3])) == 1
    assert dec.stats.rejected["truncated_message"] >= 1


_GOOD = frame(registration_message("fz", T0, "r")) + frame(status_message("fz", T0, 31.0, -110.0)) + frame(
    detection_message("fz", T0, "o", range_m=100.0, azimuth_deg=5.0))


def _mutate(data: bytes, edits):
    b = bytearray(data)
    for pos, val in edits:
        b[pos % len(b)] = val
    return bytes(b)


@settings(max_examples=200, deadline=None)
@given(st.one_of(
    st.binary(max_size=300),
    st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), min_size=1, max_size=6).map(
        lambda e: _mutate(_GOOD, e)),
    st.binary(max_size=80).map(lambda b: struct.pack("<I", len(b)) + b),
))
def test_fuzz(data):
    dec = SapientDecoder()
    _run(dec, data, chunk=17)
    assert not dec._buf
    obs = _run(dec, _GOOD)
    assert obs and obs[-1].measurement.range_m == 100.0


def test_edge_node_over_loopback_tcp():
    """A SAPIENT node serving its session on loopback TCP; Lookout connects, decodes it through
    the shared transport, and stops by itself (bounded in time)."""
    import socket
    import threading

    from lookout.sources.replay import Ingest

    payload = (DATA / "stream.bin").read_bytes()
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(5.0)
    port = srv.getsockname()[1]

    def serve():
        try:
            conn, _ = srv.accept()
        except OSError:
            return
        with conn:
            for i in range(0, len(payload), 100):  # TCP may deliver any chunking
                conn.sendall(payload[i:i + 100])
        srv.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    run = Ingest("sapient", f"tcp://127.0.0.1:{port}", sensor="dmm", max_seconds=1.5)
    obs = list(run)
    thread.join(timeout=5)
    assert [o.sensor for o in obs] == [f"dmm:{RADAR}", f"dmm:{RADAR}", f"dmm:{CAMERA}"]
    assert run.decoder.sensor_status[RADAR]["system"] == "warning"
    assert run.summary.stats.skipped == {"registration": 2, "status_report": 2}


def test_status_report_power_and_status_items():
    msg = status_message("n", T0, 31.0, -110.0, 900.0, system="ERROR", mode="standby")
    sr = msg.status_report
    sr.power.level, sr.power.status = 35, pb.StatusReport.POWERSTATUS_FAULT
    item = sr.status.add()
    item.status_level, item.status_type, item.status_value = (pb.StatusReport.STATUS_LEVEL_WARNING_STATUS,
                                                              pb.StatusReport.STATUS_TYPE_WEATHER, "Raining")
    dec = SapientDecoder()
    assert _run(dec, frame(msg)) == []
    st_n = dec.sensor_status["n"]
    assert st_n["system"] == "error" and st_n["mode"] == "standby"
    assert st_n["power"] == {"level": 35, "status": "fault"}
    assert st_n["status"] == [{"level": "warning_status", "type": "weather", "value": "Raining"}]
    assert dec.node_locations["n"].alt_m == 900.0
