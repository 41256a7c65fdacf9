"""Radar plots as JSON lines: conversion through the geo module, sites, rejects, fuzzing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lookout.geo import LocalFrame, enu_to_polar
from lookout.model import ObjectClass, Observation, SourceKind
from lookout.sources import decoder_class
from lookout.sources.radar_json import RadarJsonDecoder, get_time, parse_class, polar_to_geodetic, to_site

DATA = Path(__file__).parent / "data" / "radar-json"


def _decode(dec, path: Path) -> list[Observation]:
    return [o for line in path.read_bytes().splitlines() for o in dec.decode(line)]


def test_plots_file():
    dec = decoder_class("radar-json")(sensor="radar-x", site={"lat": 31.29, "lon": -110.91, "alt_m": 1200.0})
    obs = _decode(dec, DATA / "plots.jsonl")
    assert len(obs) == 4
    assert dec.stats.rejected == {"range_m_out_of_range": 1, "bad_json": 1, "missing_azimuth_deg": 1,
                                  "lat_out_of_range": 1}
    a, b, c, d = obs
    assert a.source == SourceKind.RADAR and a.sensor == "radar-1" and a.time == 1700000000.25
    m = a.measurement
    assert (m.range_m, m.azimuth_deg, m.elevation_deg) == (5230.0, 123.4, 2.1)
    assert (m.sigma_range_m, m.sigma_az_deg, m.sigma_el_deg) == (12.0, 0.4, 0.8)
    assert m.radial_velocity_mps == -7.5 and m.site.alt_m == 1250.0
    assert a.attrs["rcs_dbsm"] == -18.0 and a.attrs["track_id"] == "17"
    # the plot's geodetic position goes through lookout.geo and comes back to the measurement
    frame = LocalFrame(31.3, -110.9, 1250.0)
    rng, az, el = enu_to_polar(*frame.to_enu(a.attrs["lat"], a.attrs["lon"], a.attrs["alt_m"]))
    assert rng == pytest.approx(5230.0, abs=0.05) and az == pytest.approx(123.4, abs=1e-4)
    assert el == pytest.approx(2.1, abs=1e-4)
    assert b.time == pytest.approx(1700000001.25) and b.measurement.range_m == 5220.0
    # no site in the record: the decoder's configured one; no sensor: the decoder's
    assert c.sensor == "radar-x" and c.measurement.site.lat == 31.29 and c.measurement.elevation_deg is None
    assert c.measurement.sigma_range_m == 15.0 and "alt_m" not in c.attrs
    assert d.cls == ObjectClass.UAS and d.cls_confidence == 0.6 and d.measurement.site.alt_m == 1250.0
    flat = a.flat()
    assert flat["range_m"] == 5230.0 and flat["site_lat"] == 31.3 and flat["source"] == "radar"


def test_missing_site_is_rejected():
    dec = RadarJsonDecoder()
    assert list(dec.decode(b'{"time": 1700000000, "range_m": 100, "azimuth_deg": 3}')) == []
    assert dec.stats.rejected == {"missing_site": 1}


def test_implausible_altitude_is_rejected():
    dec = RadarJsonDecoder(site=(31.3, -110.9, 1200.0))
    line = json.dumps({"time": 1.7e9, "range_m": 190_000.0, "azimuth_deg": 0.0, "elevation_deg": 89.0})
    assert list(dec.decode(line.encode())) == []
    assert dec.stats.rejected == {"implausible_position": 1}


def test_polar_to_geodetic_matches_geo_frame():
    site = to_site((31.3, -110.9, 1250.0))
    lat, lon, alt = polar_to_geodetic(site, 10_000.0, 90.0, 0.0)
    e, n, u = LocalFrame(31.3, -110.9, 1250.0).to_enu(lat, lon, alt)
    assert e == pytest.approx(10_000.0, abs=1e-3) and abs(n) < 1e-3 and abs(u) < 1e-3


@pytest.mark.parametrize("value, expected", [
    (1700000000, 1700000000.0), ("1700000000.5", 1700000000.5), (1700000000123, 1700000000.123),
    ("2023-11-14T22:13:20Z", 1700000000.0), ("2023-11-14T15:13:20-07:00", 1700000000.0),
])
def test_times(value, expected):
    assert get_time({"time": value}) == pytest.approx(expected)


@pytest.mark.parametrize("value", ["yesterday", "2023-11-14T22:13:20", -5, True, [1]])
def test_bad_times(value):
    with pytest.raises(ValueError):
        get_time({"time": value})


@pytest.mark.parametrize("name, cls", [("drone", ObjectClass.UAS), ("UAV", ObjectClass.UAS),
                                       ("Pickup", ObjectClass.GROUND_VEHICLE), ("people", ObjectClass.PERSON),
                                       ("vehicles", ObjectClass.GROUND_VEHICLE), ("helicopter", ObjectClass.ROTORCRAFT),
                                       ("boat", ObjectClass.VESSEL), ("fixed_wing", ObjectClass.FIXED_WING),
                                       ("bird", None), (None, None)])
def test_class_names(name, cls):
    assert parse_class(name) == cls


@settings(max_examples=200, deadline=None)
@given(st.one_of(
    st.binary(max_size=200),
    st.dictionaries(st.sampled_from(["time", "range_m", "azimuth_deg", "elevation_deg", "site", "sensor",
                                     "rcs_dbsm", "sigma_range_m", "class", "radial_velocity_mps"]),
                    st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(),
                              st.text(max_size=6), st.booleans(),
                              st.fixed_dictionaries({"lat": st.floats(-100, 100), "lon": st.floats(-200, 200)})),
                    max_size=10).map(lambda d: json.dumps(d).encode()),
))
def test_fuzz(line):
    dec = RadarJsonDecoder(site=(31.3, -110.9, 1250.0))
    out = list(dec.decode(line))
    assert len(out) + dec.stats.rejected_total == (1 if line.strip() else 0)  # decoded or counted
    (ok,) = dec.decode(b'{"time": 1700000000, "range_m": 1000, "azimuth_deg": 10}')
    assert ok.measurement.range_m == 1000


def test_batch_equals_line_by_line():
    lines = (DATA / "plots.jsonl").read_bytes().splitlines() * 3
    one = RadarJsonDecoder(sensor="r", site=(31.29, -110.91, 1200.0))
    many = RadarJsonDecoder(sensor="r", site=(31.29, -110.91, 1200.0))
    a = [o for line in lines for o in one.decode(line)]
    b = many.decode_batch(lines)
    assert [o.flat() | {"id": None} for o in a] == [o.flat() | {"id": None} for o in b]
    assert [o.attrs for o in a] == [o.attrs for o in b]
    assert one.stats.rejected == many.stats.rejected and one.stats.messages == many.stats.messages
    assert one.stats.accepted == many.stats.accepted == 12
