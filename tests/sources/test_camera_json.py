"""Camera detections as JSON lines: bearings from a site or geolocated points, classes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lookout.model import ObjectClass, SourceKind
from lookout.sources import decoder_class
from lookout.sources.camera import CameraDecoder

DATA = Path(__file__).parent / "data" / "camera"


def test_detections_file():
    dec = decoder_class("camera")(site={"lat": 31.2, "lon": -110.8, "alt_m": 1100.0})
    obs = [o for line in (DATA / "detections.jsonl").read_bytes().splitlines() for o in dec.decode(line)]
    assert dec.stats.rejected == {"confidence_out_of_range": 1, "partial_position": 1}
    a, b, c, d = obs
    assert a.source == SourceKind.CAMERA and a.sensor == "cam-3" and a.position is None
    m = a.measurement
    assert m.range_m is None and m.azimuth_deg == 212.5 and m.elevation_deg == 4.2
    assert m.site.lat == 31.33 and m.sigma_az_deg == 0.5 and m.sigma_el_deg == 0.5
    assert a.cls == ObjectClass.UAS and a.cls_confidence == 0.87
    assert a.attrs == {"class_name": "drone", "confidence": 0.87, "track_id": "c3-17", "band": "ir"}
    assert b.measurement is None and b.position.lat == 31.341 and b.position.sigma_h_m == 25.0
    assert b.position.alt_m == 1300.0 and b.cls == ObjectClass.GROUND_VEHICLE and b.attrs["bbox"] == [10, 20, 50, 40]
    # no site in the record: the configured one; a negative bearing is normalised
    assert c.measurement.site.lat == 31.2 and c.measurement.azimuth_deg == 350.0 and c.measurement.elevation_deg is None
    assert c.cls == ObjectClass.PERSON
    # a laser-rangefinder range is kept with its uncertainty
    assert d.measurement.range_m == 1500.0 and d.measurement.sigma_range_m == 15.0
    assert d.cls == ObjectClass.PERSON
    assert d.flat()["azimuth_deg"] == 90.0


def test_unknown_class_keeps_the_name():
    dec = CameraDecoder(site=(31.0, -110.0, 1000.0))
    (o,) = dec.decode(b'{"time": 1700000000, "bearing_deg": 5, "class": "tumbleweed", "confidence": 0.3}')
    assert o.cls is None and o.cls_confidence is None and o.attrs["class_name"] == "tumbleweed"


@pytest.mark.parametrize("line, reason", [
    (b'{"time": 1700000000, "class": "drone"}', "missing_bearing"),
    (b'{"bearing_deg": 5}', "missing_time"),
    (b'{"time": 1700000000, "bearing_deg": 5, "site": {"lat": 31}}', "missing_lon"),
    (b'{"time": 1700000000, "bearing_deg": 500}', "bearing_deg_out_of_range"),
])
def test_rejects(line, reason):
    dec = CameraDecoder(site=(31.0, -110.0, 1000.0))
    assert list(dec.decode(line)) == []
    assert dec.stats.rejected == {reason: 1}


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["time", "bearing_deg", "elevation_deg", "site", "lat", "lon", "class",
                                        "confidence", "range_m", "bbox", "sigma_m"]),
                       st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(),
                                 st.text(max_size=6), st.lists(st.floats(), max_size=5)), max_size=10)
       .map(lambda d: json.dumps(d).encode()) | st.binary(max_size=100))
def test_fuzz(line):
    dec = CameraDecoder(site=(31.0, -110.0, 1000.0))
    out = list(dec.decode(line))
    assert len(out) + dec.stats.rejected_total == (1 if line.strip() else 0)  # decoded or counted
    (ok,) = dec.decode(b'{"time": 1700000000, "bearing_deg": 5}')
    assert ok.measurement.azimuth_deg == 5
