"""AIS NMEA sentences through pyais: published examples with their known values, multi-part
assembly, static data attached to later positions, times, faults and fuzzing."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lookout.model import ObjectClass, SourceKind
from lookout.sources import decoder_class
from lookout.sources.ais import KNOT, AISDecoder

DATA = Path(__file__).parent / "data" / "ais"
TYPE1 = b"!AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*5C"
TYPE5 = [b"!AIVDM,2,1,1,A,55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8,0*1C",
         b"!AIVDM,2,2,1,A,88888888880,2*25"]


def _all(dec, lines):
    return [o for line in lines for o in dec.decode(line)]


def test_sample_file():
    dec = decoder_class("ais")(sensor="ais-coast-1", reference_time=1700000999.0)
    obs = _all(dec, (DATA / "sample.nmea").read_bytes().splitlines())
    assert dec.stats.rejected == {"bad_checksum": 1, "orphan_fragment": 1, "bad_sentence": 1}
    assert dec.stats.skipped == {"static_data": 3, "position_not_available": 1}
    assert [o.ident for o in obs] == ["366053209", "423302100", "351759000", "338123456", "338000777", "338000888"]
    a, b, c, d, e, f = obs
    # published type 1 with its known values; the leading timestamp dates it
    assert a.source == SourceKind.AIS and a.sensor == "ais-coast-1" and a.cls == ObjectClass.VESSEL
    assert a.time == 1700000000.0
    assert a.position.lat == pytest.approx(37.802118) and a.position.lon == pytest.approx(-122.341618)
    assert a.attrs["cog_deg"] == 219.3 and a.attrs["heading_deg"] == 1 and a.attrs["sog_kn"] == 0.0
    assert a.attrs["nav_status"] == "RestrictedManoeuverability" and a.velocity.speed == 0.0
    # published type 18 dated by the tag block's c: field
    assert b.time == 1700000100.0 and b.position.lat == pytest.approx(40.005283)
    assert b.position.lon == pytest.approx(53.010997) and b.position.sigma_h_m == 5.0  # high accuracy flag
    assert b.velocity.speed == pytest.approx(1.4 * KNOT) and b.velocity.course_deg == pytest.approx(177.0)
    # the published type 5 (two fragments) names the vessel of a later position report
    assert c.callsign == "3FOF8" and c.attrs["name"] == "EVER DIADEM" and c.attrs["ship_type"] == 70
    assert c.attrs["ship_type_name"] == "cargo" and c.attrs["imo"] == 9134270 and c.attrs["destination"] == "NEW YORK"
    assert c.velocity.east == pytest.approx(12.5 * KNOT) and c.time == 1700000200.0
    # type 24 parts A and B, then type 18 dated by an ISO 8601 prefix
    assert d.callsign == "WDA1234" and d.attrs["name"] == "SEA TURTLE" and d.attrs["ship_type_name"] == "pleasure_craft"
    assert d.time == 1700000400.0 and d.position.sigma_h_m == 15.0 and "heading_deg" not in d.attrs
    # type 19 carries its own name and type; type 27 is coarse (1/10 minute)
    assert e.attrs["name"] == "PATROL 7" and e.attrs["ship_type_name"] == "law_enforcement" and e.time == 1700000999.0
    assert f.attrs["msg_type"] == 27 and f.position.sigma_h_m > 50 and f.velocity.course_deg == pytest.approx(270.0)
    assert f.flat()["ident"] == "338000888"


def test_multipart_fragments_interleaved_by_channel():
    dec = AISDecoder(reference_time=1700000000.0)
    other = b"!AIVDM,2,1,1,B,55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8,0*1F"
    assert _all(dec, [TYPE5[0], other, TYPE5[1]]) == []
    assert dec.static[351759000]["callsign"] == "3FOF8"
    assert dec.stats.skipped == {"static_data": 1} and not dec.stats.rejected
    assert len(dec._pending) == 1  # channel B's set is still waiting for its second fragment


def test_incomplete_multipart_is_counted():
    dec = AISDecoder(reference_time=1700000000.0)
    _all(dec, [TYPE5[0], TYPE5[0], TYPE5[1]])  # the first set never got its second fragment
    assert dec.stats.rejected == {"incomplete_multipart": 1}
    assert dec.static[351759000]["name"] == "EVER DIADEM"


def test_reference_time_and_wall_clock():
    (o,) = AISDecoder(reference_time=1700000123.5).decode(TYPE1)
    assert o.time == 1700000123.5
    (o,) = AISDecoder().decode(TYPE1)
    assert o.time > 1.7e9


@pytest.mark.parametrize("line, reason", [
    (b"!AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*00", "bad_checksum"),
    (b"\\c:1700000000*00\\" + TYPE1, "bad_tag_block_checksum"),
    (b"yesterday " + TYPE1, "bad_timestamp"),
    (b"!AIVDM,1,1,,B", "bad_sentence"),
])
def test_rejects(line, reason):
    dec = AISDecoder()
    assert list(dec.decode(line)) == []
    assert dec.stats.rejected == {reason: 1}


def _mutate(data: bytes, edits):
    b = bytearray(data)
    for pos, val in edits:
        b[pos % len(b)] = val
    return bytes(b)


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.binary(max_size=120),
    st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), min_size=1, max_size=4).map(
        lambda e: _mutate(TYPE1, e)),
    st.lists(st.tuples(st.integers(0, 200), st.integers(32, 126)), min_size=1, max_size=4).map(
        lambda e: _mutate(TYPE5[0], e)),
    st.text(alphabet="!AIVDM,0123456789ABCDEFabc\\*:;`@", max_size=90).map(str.encode),
))
def test_fuzz(line):
    dec = AISDecoder(reference_time=1700000000.0)
    list(dec.decode(line))
    assert dec.stats.messages == 1
    # decoding goes on after garbage (a pending fragment may be replaced and counted)
    (o,) = dec.decode(TYPE1)
    assert o.ident == "366053209"
