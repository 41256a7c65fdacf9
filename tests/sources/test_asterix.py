"""ASTERIX CAT048/CAT034 through libasterix: published example bytes, round trips, radar
sites, time of day, stream framing and resynchronisation, fuzzing."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lookout.geo import LocalFrame, polar_to_enu
from lookout.sources import decoder_class
from lookout.sources.asterix import (
    NM,
    AsterixDecoder,
    elevation_from_height,
    encode_cat034,
    encode_cat048,
    resolve_time_of_day,
)

DATA = Path(__file__).parent / "data" / "asterix"
T0 = 1700000000.0  # 2023-11-14 22:13:20 UTC
TOD0 = 22 * 3600 + 13 * 60 + 20.0
# The datagram of libasterix's documentation: CAT034 north marker, sector crossing at 0 deg,
# a CAT048 plot at rho 10 NM, theta 45 deg, Mode 3/A 7777, sector crossing at 45 deg (SAC 1, SIC 2).
PUBLISHED = bytes.fromhex("220007c0010201220008d00102020030000c9801020a0020000fff220008d001020220")


# A real Mode S radar target report with its decoded values, published in jASTERIX's test suite
# (CAT048 edition 1.15 record; fields unchanged in 1.32).
JASTERIX_CAT048 = bytes.fromhex(
    "300041fff7020001416deba849ec3fc4213805c820c1ab4cbd4994b5617820038bd9eb2fbfe4006080919f39a004dd50"
    "c8480030a80000400397083c17304020fd")


def _run(dec, data: bytes, chunk: int | None = None):
    if chunk is None:
        return list(dec.decode(data)) + list(dec.flush())
    out = []
    for i in range(0, len(data), chunk):
        out += dec.decode(data[i:i + chunk])
    return out + list(dec.flush())


def test_published_datagram():
    dec = AsterixDecoder(sites={(1, 2): (31.3, -110.9, 1250.0)}, reference_time=T0)
    (o,) = _run(dec, PUBLISHED)
    m = o.measurement
    assert m.range_m == pytest.approx(10 * NM) and m.azimuth_deg == pytest.approx(45.0)
    assert o.attrs["squawk"] == "7777" and o.sensor == "asterix:1/2" and m.site.lat == 31.3
    assert o.attrs["time_source"] == "receive" and o.time == T0  # the example carries no I048/140
    assert dec.stats.skipped == {"cat034": 3} and not dec.stats.rejected
    assert dec.radar_status[(1, 2)]["last_message"] == "sector_crossing"


def test_published_mode_s_target_report():
    dec = AsterixDecoder(site=(31.3, -110.9, 1250.0), reference_time=T0)
    (o,) = _run(dec, JASTERIX_CAT048)
    assert o.sensor == "asterix:0/1"
    assert o.time % 86400 == pytest.approx(4287979 / 128)  # 09:18:19.836 UTC
    assert o.measurement.range_m == pytest.approx(18924 / 256 * NM)  # 73.922 NM
    assert o.measurement.azimuth_deg == pytest.approx(16324 * 360 / 2**16)  # 89.670 deg
    assert o.ident == "ab4cbd" and o.callsign == "RYR5XW"
    assert o.attrs == {"sac": 0, "sic": 1, "flight_level": 370.0, "squawk": "0470", "track_number": 919,
                       "detection_type": "modes_roll_call"}
    assert o.velocity.speed == pytest.approx(2108 * 2**-14 * NM)  # 463.184 kt
    assert o.velocity.course_deg == pytest.approx(5936 * 360 / 2**16)  # 32.607 deg
    assert o.measurement.elevation_deg == pytest.approx(
        elevation_from_height(18924 / 256 * NM, 37000 * 0.3048, 1250.0))


def test_recording_file():
    dec = decoder_class("asterix")(sensor="radar-n", reference_time=T0)
    obs = _run(dec, (DATA / "sample.ast").read_bytes(), chunk=7)
    assert [o.time for o in obs] == [T0 + 0.5, T0 + 0.75, T0 + 4.5]
    a, b, c = obs
    # the site comes from CAT034 I034/120 (24-bit lat/lon: 180/2^23 deg resolution)
    assert a.measurement.site.lat == pytest.approx(31.3, abs=2.2e-5)
    assert a.measurement.site.lon == pytest.approx(-110.9, abs=2.2e-5) and a.measurement.site.alt_m == 1250.0
    assert a.ident == "a1b2c3" and a.callsign == "N512AB" and a.sensor == "radar-n:7/1"
    assert a.measurement.range_m == pytest.approx(20_000.0, abs=NM / 256)
    assert a.measurement.azimuth_deg == pytest.approx(45.0, abs=360 / 2**16)
    assert a.attrs == {"sac": 7, "sic": 1, "flight_level": 100.0, "squawk": "1200", "track_number": 12,
                       "detection_type": "modes_roll_call"}
    assert a.velocity.east == pytest.approx(60.0, abs=0.2) and abs(a.velocity.north) < 0.2
    assert b.ident is None and b.measurement.elevation_deg is None and b.attrs["detection_type"] == "psr"
    assert c.measurement.azimuth_deg == pytest.approx(45.5, abs=0.01)  # after the line noise
    assert dec.stats.skipped == {"cat034": 2, "cat062": 1}
    assert dec.stats.rejected["resync"] >= 1
    assert dec.radar_status[(7, 1)]["site"]["alt_m"] == 1250.0


def test_elevation_from_flight_level_is_geometrically_consistent():
    site_alt = 1250.0
    el = elevation_from_height(20_000.0, 100 * 100 * 0.3048, site_alt)
    # put the target at that elevation through lookout.geo: its height comes back (spherical vs
    # ellipsoidal earth differ by a few metres at 20 km)
    frame = LocalFrame(31.3, -110.9, site_alt)
    _, _, alt = frame.to_geodetic(*polar_to_enu(20_000.0, 45.0, el))
    assert alt == pytest.approx(3048.0, abs=5.0)
    assert elevation_from_height(1000.0, 20_000.0, 0.0) is None  # impossible: higher than the range


def test_configured_and_default_sites_and_unknown_site():
    block = encode_cat048(3, 4, TOD0, 1000.0, 10.0)
    dec = AsterixDecoder(reference_time=T0)
    assert _run(dec, block) == [] and dec.stats.rejected == {"unknown_site": 1}
    (o,) = _run(AsterixDecoder(site=(31.0, -110.0, 900.0), reference_time=T0), block)
    assert o.measurement.site.alt_m == 900.0
    (o,) = _run(AsterixDecoder(sites={(3, 4): [31.5, -111.0]}, site=(31.0, -110.0), reference_time=T0), block)
    assert o.measurement.site.lat == 31.5
    (o,) = _run(AsterixDecoder(sites={"3/4": {"lat": 31.6, "lon": -111.0}}, reference_time=T0), block)
    assert o.measurement.site.lat == 31.6
    with pytest.raises(ValueError, match="SAC/SIC"):
        AsterixDecoder(sites={"3": [31.0, -110.0]})


@pytest.mark.parametrize("tod, reference, expected", [
    (TOD0, T0, T0),
    (10.0, 1700006390.0, 1700006400.0 + 10.0),  # just after midnight, reference just before it
    (86390.0, 1700006410.0, 1700006390.0),  # just before midnight, reference just after it
])
def test_time_of_day(tod, reference, expected):
    assert resolve_time_of_day(tod, reference) == pytest.approx(expected)


@settings(max_examples=60, deadline=None)
@given(rng=st.floats(10.0, 400_000.0), az=st.floats(0.0, 359.99), fl=st.floats(-10.0, 500.0),
       tod=st.floats(0.0, 86399.0), addr=st.integers(0, 0xFFFFFF),
       cs=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=8))
def test_cat048_round_trip(rng, az, fl, tod, addr, cs):
    dec = AsterixDecoder(site=(31.3, -110.9, 1250.0), reference_time=T0)
    (o,) = _run(dec, encode_cat048(9, 9, tod, rng, az, flight_level=fl, address=addr, callsign=cs))
    assert o.measurement.range_m == pytest.approx(rng, abs=NM / 256 / 2 + 1e-6)
    d_az = (o.measurement.azimuth_deg - az + 180) % 360 - 180
    assert abs(d_az) <= 360 / 2**16
    assert o.attrs["flight_level"] == pytest.approx(fl, abs=0.125)
    assert o.ident == f"{addr:06x}" and o.callsign == cs
    assert math.isclose(o.time % 86400, tod, abs_tol=1 / 128) or math.isclose(o.time % 86400, tod + 86400,
                                                                             abs_tol=1 / 128)


def test_garbage_between_blocks_and_truncation():
    good = encode_cat048(1, 1, TOD0, 5000.0, 90.0)
    data = encode_cat034(1, 1, TOD0, site=(31.0, -110.0, 800.0)) + b"\x30\x00" + good + b"\x30\x00\x05\x01" + good \
        + good[:10]
    dec = AsterixDecoder(reference_time=T0)
    obs = _run(dec, data, chunk=5)
    assert len(obs) == 2
    assert dec.stats.rejected["truncated_block"] >= 1


_STREAM = encode_cat034(2, 2, TOD0, site=(31.0, -110.0, 800.0)) + encode_cat048(2, 2, TOD0, 3000.0, 30.0,
                                                                                 flight_level=50.0)


def _mutate(data: bytes, edits):
    b = bytearray(data)
    for pos, val in edits:
        b[pos % len(b)] = val
    return bytes(b)


@settings(max_examples=150, deadline=None)
@given(st.one_of(
    st.binary(max_size=300),
    st.lists(st.tuples(st.integers(0, 500), st.integers(0, 255)), min_size=1, max_size=6).map(
        lambda e: _mutate(_STREAM, e)),
    st.binary(max_size=60).map(lambda b: bytes([48]) + len(b).to_bytes(2, "big") + b),
))
def test_fuzz(data):
    dec = AsterixDecoder(reference_time=T0)
    list(dec.decode(data))
    list(dec.flush())
    assert not dec._buf
    # after garbage and the end of its stream, a fresh stream decodes
    obs = _run(dec, _STREAM)
    assert obs and obs[-1].measurement.range_m == pytest.approx(3000.0, abs=8)


def test_a_block_that_makes_the_library_raise_does_not_stall_the_stream(monkeypatch):
    import lookout.sources.asterix as ast

    good = encode_cat048(1, 1, TOD0, 5000.0, 90.0)
    calls = {"n": 0}
    real = ast.RawDatablock.parse

    def flaky(bits):
        calls["n"] += 1
        if calls["n"] == 1:
            raise AssertionError("library assertion")
        return real(bits)

    monkeypatch.setattr(ast.RawDatablock, "parse", flaky)
    dec = AsterixDecoder(site=(31.0, -110.0, 0.0), reference_time=T0)
    obs = _run(dec, good + good)
    assert len(obs) >= 1 and dec.stats.rejected["bad_block"] == 1
