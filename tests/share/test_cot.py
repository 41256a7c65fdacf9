"""CoT out (types, schema, takproto) and CoT in (blue force, ATAK reports, hostile input)."""

from __future__ import annotations

from pathlib import Path

import pytest
import takproto
import xmlschema

from lookout.model import Alert, AlertState, GeoPoint, ObjectClass, Severity, SourceKind, Track, Velocity
from lookout.share import cot
from lookout.share.cot import CotDecoder, CotError, event_to_observation, parse_event

SCHEMA = xmlschema.XMLSchema(Path(__file__).with_name("cot_event.xsd"))
T = 1_793_628_000.0
V = Velocity(3.0, 4.0, 0.0)


def trk(cls, ids=None, attrs=None, tid="T000847", alt=1500.0, v=V, label="PUBLIC", operator=None):
    return Track(id=tid, time=T, position=GeoPoint(31.3412345, -110.9387654, alt), velocity=v, sigma_h_m=12.5,
                 cls=cls, identities=ids or {}, sources=["radar", "remote_id"], sensors=["radar-1"], label=label,
                 attrs=attrs or {}, operator=operator)


@pytest.mark.parametrize("cls, ids, attrs, expected", [
    (ObjectClass.UAS, {"remote_id": "1581F5FJD239C00DW22E"}, {}, "a-u-A-M-H-Q"),
    (ObjectClass.UAS, {}, {"ua_type": "aeroplane"}, "a-u-A-M-F-Q"),
    (ObjectClass.FIXED_WING, {"icao24": "a1b2c3", "callsign": "N123AB"}, {}, "a-n-A-C-F"),
    (ObjectClass.FIXED_WING, {}, {}, "a-u-A-C-F"),
    (ObjectClass.ROTORCRAFT, {}, {}, "a-u-A-C-H"),
    (ObjectClass.ROTORCRAFT, {"icao24": "ac82ec"}, {}, "a-n-A-C-H"),
    (ObjectClass.SURVEILLANCE_AIRCRAFT, {"icao24": "0d0abc"}, {}, "a-u-A-M-F-R"),
    (ObjectClass.GROUND_VEHICLE, {}, {}, "a-u-G-E-V"),
    (ObjectClass.PERSON, {}, {}, "a-u-G"),
    (ObjectClass.AGENT, {"agent": "agent-12"}, {}, "a-f-G-U-C"),
    (ObjectClass.UAS, {}, {"affiliation": "h"}, "a-h-A-M-H-Q"),
])
def test_types(cls, ids, attrs, expected):
    t = trk(cls, ids, attrs)
    assert cot.cot_type(t) == expected
    assert cot.class_from_type(expected) == cls  # and back, for reports coming in


def test_track_event_fields_schema_and_takproto():
    t = trk(ObjectClass.UAS, {"remote_id": "1581F5FJD239C00DW22E"}, label="REL-MX",
            operator=GeoPoint(31.30, -110.95, 1200.0))
    events = cot.track_events(t, stale_s=30.0)
    assert len(events) == 2
    for ev in events:
        SCHEMA.validate(ev.decode().split("\n", 1)[1])
    x = parse_event(events[0])
    assert (x.uid, x.type, x.how) == ("lookout-T000847", "a-u-A-M-H-Q", "m-f")
    assert x.time == T and x.start == T and x.stale == T + 30
    assert (x.lat, x.lon, x.hae, x.ce) == (31.3412345, -110.9387654, 1500.0, 12.5)
    assert x.course == pytest.approx(36.9) and x.speed == pytest.approx(5.0)
    assert x.callsign == "1581F5FJD239C00DW22E" and "remote_id=1581F5FJD239C00DW22E" in x.remarks
    assert "label REL-MX" in x.remarks and x.access == "REL-MX"
    # an independent TAK-side parser: takproto reads the XML ...
    m = takproto.parse_proto(bytearray(events[0])).cotEvent
    assert (m.uid, m.type, m.lat, m.hae) == ("lookout-T000847", "a-u-A-M-H-Q", 31.3412345, 1500.0)
    assert m.detail.contact.callsign == "1581F5FJD239C00DW22E" and m.detail.track.speed == pytest.approx(5.0)
    assert m.sendTime == int(T * 1000) and m.staleTime == int((T + 30) * 1000)
    # ... and its protobuf encodings (stream and mesh) decode to the same event
    for mesh in (False, True):
        pb = cot.to_protobuf(events[0], mesh=mesh)
        assert pb[:1] == b"\xbf"
        back = takproto.parse_proto(bytearray(pb)).cotEvent
        assert back.uid == m.uid and back.detail.track.course == pytest.approx(36.9)
        assert parse_event(pb).type == "a-u-A-M-H-Q"
    op = parse_event(events[1])
    assert op.uid == "lookout-T000847-operator" and op.type == "a-u-G" and op.parent_uid == "lookout-T000847"


def test_alert_delete_and_unknown_values_schema():
    a = Alert(rule="border_crossing", severity=Severity.HIGH, message="UAS crossed northbound", start=T,
              track_ids=["T1"], position=GeoPoint(31.33, -110.94, None), label="US-ONLY", id="a-1")
    ev = cot.alert_event(a)
    SCHEMA.validate(ev.decode().split("\n", 1)[1])
    x = parse_event(ev)
    assert x.type == "b-m-p-s-m" and x.uid == "lookout-alert-a-1" and x.hae is None
    assert "[HIGH] border_crossing: UAS crossed northbound (new)" in x.remarks
    a.state = AlertState.RESOLVED
    assert parse_event(cot.alert_event(a)).stale == x.time  # resolved: stale at once
    assert cot.alert_event(Alert(rule="r", severity="low", message="m", start=T)) is None  # no position
    d = cot.to_bytes(cot.delete_element("lookout-T1", T))
    SCHEMA.validate(d.decode().split("\n", 1)[1])
    assert parse_event(d).type == "t-x-d-d"
    still = trk(ObjectClass.UNKNOWN, v=None, alt=None, tid="T2")
    still.sigma_h_m = 0.0
    e2 = cot.track_event(still)
    SCHEMA.validate(e2.decode().split("\n", 1)[1])
    p = parse_event(e2)
    assert p.hae is None and p.ce is None and p.course is None and p.type == "a-u-G"


ATAK_SELF = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<event version="2.0" uid="ANDROID-589520ccfcd20f01" type="a-f-G-U-C" how="h-e" time="2026-11-02T14:00:05.120Z"
 start="2026-11-02T14:00:05.120Z" stale="2026-11-02T14:06:05.120Z"><point lat="31.3355" lon="-110.9411" hae="1190.2"
 ce="9.9" le="9999999.0"/><detail><takv os="29" version="4.10.0" device="SAMSUNG SM-G975U" platform="ATAK-CIV"/>
<contact endpoint="*:-1:stcp" callsign="BORDER-12"/><__group role="Team Member" name="Cyan"/>
<track course="271.5" speed="1.4"/><status battery="88"/></detail></event>"""

ATAK_MARKER = b"""<event version="2.0" uid="9c1d6b6e-0e0b-4d8a-9a55-3f0c2d1e4b77" type="a-h-A-M-H-Q" how="h-g-i-g-o"
 time="2026-11-02T14:01:00Z" start="2026-11-02T14:01:00Z" stale="2026-11-03T14:01:00Z"><point lat="31.3302"
 lon="-110.9488" hae="9999999.0" ce="9999999.0" le="9999999.0"/><detail><contact callsign="H.14.010100"/>
<link uid="ANDROID-589520ccfcd20f01" production_time="2026-11-02T14:01:00Z" type="a-f-G-U-C"
 parent_callsign="BORDER-12" relation="p-p"/><remarks>quadcopter heading north, low</remarks></detail></event>"""


def test_cot_in_blue_force_and_reports():
    bf = event_to_observation(parse_event(ATAK_SELF), label="REL-MX", sensor="tak")
    assert bf.source == SourceKind.BLUE_FORCE and bf.cls == ObjectClass.AGENT
    assert bf.ident == "ANDROID-589520ccfcd20f01" and bf.callsign == "BORDER-12" and bf.label == "REL-MX"
    assert bf.position.sigma_h_m == 9.9 and bf.position.alt_m == 1190.2 and bf.attrs["team"] == "Cyan"
    assert bf.time == pytest.approx(1793628005.12)
    assert bf.velocity.course_deg == pytest.approx(271.5) and bf.velocity.speed == pytest.approx(1.4)
    rep = event_to_observation(parse_event(ATAK_MARKER))
    assert rep.source == SourceKind.REPORT and rep.cls == ObjectClass.UAS
    assert rep.attrs["reporter"] == "BORDER-12" and rep.attrs["text"].startswith("quadcopter")
    assert rep.position.alt_m is None and rep.position.sigma_h_m == 50.0
    # Lookout's own events echoed back by a TAK server, pings and machine tracks are not reports
    assert event_to_observation(parse_event(cot.track_event(trk(ObjectClass.UAS)))) is None
    ping = b'<event version="2.0" uid="p" type="t-x-c-t" how="h-g-i-g-o" time="2026-11-02T14:00:00Z" ' \
           b'start="2026-11-02T14:00:00Z" stale="2026-11-02T14:00:20Z">' \
           b'<point lat="0" lon="0" hae="0" ce="9999999" le="9999999"/></event>'
    assert event_to_observation(parse_event(ping)) is None


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<event version="2.0" uid="x" type="a-f-G" how="h-e" time="2026-11-02T14:00:00Z" start="2026-11-02T14:00:00Z"
 stale="2026-11-02T14:05:00Z"><point lat="31" lon="-110" hae="0" ce="1" le="1"
/><detail><remarks>&lol3;</remarks></detail></event>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<event version="2.0" uid="x" type="a-f-G" how="h-e" time="2026-11-02T14:00:00Z" start="2026-11-02T14:00:00Z"
 stale="2026-11-02T14:05:00Z"><point lat="31" lon="-110" hae="0" ce="1" le="1"
/><detail><remarks>&x;</remarks></detail></event>"""


@pytest.mark.parametrize("data, reason", [
    (BILLION_LAUGHS, "forbidden_xml"),
    (XXE, "forbidden_xml"),
    (b"<event" + b" a='b'" * 20000 + b"/>", "oversized"),
    (b"<event version='2.0' uid='x' type='a-f-G'><point lat='31' lon='-110'/>", "malformed_xml"),
    (b"<html/>", "not_event"),
    (ATAK_SELF.replace(b'lat="31.3355"', b'lat="131.3"'), "out_of_range"),
    (ATAK_SELF.replace(b'lat="31.3355"', b'lat="nan"'), "bad_number"),
    (ATAK_SELF.replace(b'time="2026-11-02T14:00:05.120Z"', b'time="yesterday"'), "bad_time"),
    (ATAK_SELF.replace(b'time="2026-11-02T14:00:05.120Z"', b'time="2026-13-02T25:00:05.120Z"'), "bad_time"),
    (ATAK_SELF.replace(b'uid="ANDROID-589520ccfcd20f01" ', b""), "missing_field"),
    (b"\xbf\x01\xbf\xff\xff\xff", "malformed_proto"),
    (ATAK_SELF.replace(b'encoding="UTF-8"', b'encoding="TF-8"'), "malformed_xml"),  # found by the fuzz test
])
def test_hostile_input_refused_with_reason(data, reason):
    with pytest.raises(CotError) as ei:
        parse_event(data)
    assert ei.value.reason == reason and ei.value.detail


def test_stream_decoder_resyncs_and_counts():
    big = b"<event uid='big'>" + b"x" * 70_000 + b"</event>"
    pb = cot.to_protobuf(ATAK_SELF.split(b"?>", 1)[1].replace(b"BORDER-12", b"BORDER-13"))
    stream = ATAK_SELF + b"\n" + BILLION_LAUGHS + big + ATAK_MARKER + b"junk</event>" + ATAK_SELF
    dec = CotDecoder(sensor="tak", label="REL-MX")
    obs = []
    for i in range(0, len(stream), 777):  # arbitrary chunking
        obs += list(dec.decode(stream[i:i + 777]))
    obs += list(dec.decode(pb))
    obs += list(dec.flush())
    assert [o.source for o in obs] == [SourceKind.BLUE_FORCE, SourceKind.REPORT, SourceKind.BLUE_FORCE,
                                       SourceKind.BLUE_FORCE]
    assert obs[-1].callsign == "BORDER-13"
    assert dec.stats.rejected["forbidden_xml"] == 1 and dec.stats.rejected["oversized"] >= 1
    # the oversized event's tail and the junk are skipped as garbage up to the next event
    assert dec.stats.rejected["garbage"] == 2 and dec.stats.accepted == 4
    from lookout.sources.base import decoder_class

    assert decoder_class("cot") is CotDecoder


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600), st.integers(0, len(ATAK_SELF) - 1), st.integers(0, 40))
def test_fuzz_parse_refuses_cleanly(junk, at, cut):
    """Garbage and mutated events: parse_event returns an event or raises CotError, nothing else;
    the stream decoder never raises and accounts for every record."""
    for data in (junk, ATAK_SELF[:at] + junk[:cut] + ATAK_SELF[at + cut:], b"\xbf" + junk):
        try:
            ev = parse_event(data)
        except CotError:
            continue
        assert -90 <= ev.lat <= 90 and -180 <= ev.lon <= 180
    dec = CotDecoder()
    out = list(dec.decode(junk + ATAK_SELF + junk[:cut])) + list(dec.flush())
    assert dec.stats.accepted == len(out) <= 2
