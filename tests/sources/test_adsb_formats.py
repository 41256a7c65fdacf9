"""ADS-B formats end to end on the small captures in data/adsb (see data/adsb/generate.py):
raw CSV, AVR (with/without MLAT counters), Beast, SBS-1 and aircraft.json."""

from __future__ import annotations

import importlib.util
import json

import pytest

from lookout.geo import distance_m
from lookout.model import ObjectClass, Observation
from lookout.sources import decoder_class, formats
from lookout.sources.aircraft_json import AircraftJsonDecoder
from lookout.sources.beast import BeastDecoder, encode_frame
from lookout.sources.sbs import SbsDecoder, format_line


def _gen(adsb_data):
    spec = importlib.util.spec_from_file_location("adsb_generate", adsb_data / "generate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _lines(path):
    return [ln for ln in path.read_bytes().split(b"\n") if ln]


#: the receiver of the generated captures (around Nogales)
RX = (31.33, -110.95)


def _check_truth(gen, obs: list[Observation], tol_m: float, time_offset: float = 0.0):
    by_icao = {ac[0]: ac for ac in gen.AIRCRAFT}
    for o in obs:
        lat, lon, _ = gen.state(by_icao[o.ident], o.time - time_offset)
        assert distance_m(lat, lon, o.position.lat, o.position.lon) < tol_m, o


def test_registry_has_the_adsb_formats():
    assert {"sbs", "avr", "raw", "beast", "aircraft-json"} <= set(formats())
    assert decoder_class("beast").framing == "bytes"


def test_raw_capture(adsb_data):
    gen = _gen(adsb_data)
    dec = decoder_class("raw")(sensor="rx1", reference=RX)
    obs = list(dec.decode_all(_lines(adsb_data / "flights.raw.csv")))
    assert len(obs) == 360  # every genuine position; the injected 50 km jump is rejected
    assert dec.stats.rejected == {"implausible_speed": 1}
    assert dec.stats.skipped["header"] == 1 and dec.stats.skipped["velocity"] == 180
    _check_truth(gen, obs, tol_m=15.0)
    assert {o.ident for o in obs} == {"a4b3c2", "ac82ec", "a0f1b2"}
    jet = [o for o in obs if o.ident == "ac82ec"]
    assert jet[-1].callsign == "AAL1234"
    assert jet[-1].velocity.speed == pytest.approx(450 * 0.514444, rel=0.01)
    assert jet[-1].attrs["alt_kind"] == "baro+geo_delta"
    assert jet[-1].position.alt_m == pytest.approx((35000 - 350) * 0.3048)
    assert all(o.sensor == "rx1" and o.source == "adsb" for o in obs)


def test_avr_with_mlat_counter_keeps_recorded_spacing(adsb_data):
    raw = list(decoder_class("raw")(reference=RX).decode_all(_lines(adsb_data / "flights.raw.csv")))
    dec = decoder_class("avr")(reference=RX)
    obs = list(dec.decode_all(_lines(adsb_data / "flights.avr")))
    assert len(obs) == len(raw) == 360
    offset = obs[0].time - raw[0].time
    for a, b in zip(obs, raw):
        assert a.time - offset == pytest.approx(b.time, abs=1e-3)
        assert (a.position.lat, a.position.lon) == (b.position.lat, b.position.lon)


def test_avr_without_timestamps(adsb_data):
    dec = decoder_class("avr")(reference=RX)
    obs = list(dec.decode_all(_lines(adsb_data / "flights_plain.avr")))
    assert len(obs) == 36 and dec.stats.rejected_total == 0
    _check_truth(_gen(adsb_data), obs[-3:], tol_m=5_000.0, time_offset=obs[-1].time - 1_700_000_009.0)
    dec2 = decoder_class("avr")()
    assert list(dec2.decode(b"*8D4840D6202CC371C32CE0576098")) == []  # no ';' is accepted too
    assert dec2.stats.skipped["identification"] == 1
    list(dec2.decode(b"#8D4840D6202CC371C32CE0576098;"))
    list(dec2.decode(b"@XYZ0A1B2C3D48D4840D6202CC371C32CE0576098;"))
    assert dec2.stats.rejected == {"bad_line": 1, "bad_timestamp": 1}


def test_beast_capture_matches_raw(adsb_data):
    raw = list(decoder_class("raw")(reference=RX).decode_all(_lines(adsb_data / "flights.raw.csv")))
    dec = BeastDecoder(reference=RX)
    obs = list(dec.decode_all([(adsb_data / "flights.beast").read_bytes()]))
    assert len(obs) == 360 and dec.stats.rejected == {"implausible_speed": 1}
    assert dec.stats.messages == 577  # frames, not chunks
    assert [(o.position.lat, o.position.lon) for o in obs] == [(o.position.lat, o.position.lon) for o in raw]
    assert obs[0].attrs["rssi_dbfs"] == pytest.approx(20 * __import__("math").log10(0x90 / 255), abs=0.05)


def test_beast_escapes_and_any_chunking():
    # 0x1a inside the counter, the signal byte and the message must be unescaped
    frames = [encode_frame("8D40621D58C386435CC412692AD6", 0x1A1A0000001A, 0x1A),
              encode_frame("8D40621D58C382D690C8AC2863A7", 0x1A1A0000001A + 24_000_000, 0x1A),
              encode_frame("5D4840D6F0BCB8", 5), bytes([0x1A, 0x31]) + bytes(6) + b"\x10\x12\x34"]
    stream = b"".join(frames)
    assert b"\x1a\x1a" in stream
    for size in (1, 2, 3, 7, 64):
        dec = BeastDecoder(reference=(52.25, 3.9))
        obs = [o for i in range(0, len(stream), size) for o in dec.decode(stream[i:i + size])]
        assert len(obs) == 2, size
        assert (obs[1].position.lat, obs[1].position.lon) == pytest.approx((52.2572, 3.9194), abs=1e-4)
        assert obs[1].time - obs[0].time == pytest.approx(2.0)
        assert dec.stats.rejected_total == 0 and dec.stats.skipped["mode_ac"] == 1
        assert dec.stats.skipped["df11"] == 1


def test_beast_resynchronises_after_garbage_and_broken_frames():
    good = encode_frame("8D4840D6202CC371C32CE0576098", 1)
    broken = encode_frame("8D40621D58C386435CC412692AD6", 2)[:9]  # cut short, then a new frame
    stream = b"\x00\xffjunk" + good + broken + good + b"\x1a\x39zz" + good
    dec = BeastDecoder()
    list(dec.decode(stream))
    list(dec.flush())
    assert dec.stats.skipped["identification"] == 3
    assert dec.stats.rejected["garbage"] >= 3


def test_sbs_capture(adsb_data):
    gen = _gen(adsb_data)
    dec = SbsDecoder(sensor="rx-sbs")
    obs = list(dec.decode_all(_lines(adsb_data / "flights.sbs")))
    assert len(obs) == 360 and dec.stats.rejected_total == 0
    assert dec.stats.skipped == {"msg4": 180, "msg1": 36}
    _check_truth(gen, obs, tol_m=3.0)
    assert obs[0].time == pytest.approx(1_700_000_000.07, abs=1e-6)
    last = obs[-1]
    assert last.callsign and last.velocity is not None and last.attrs["alt_kind"] == "baro"


def test_sbs_fields_checks_and_other_kinds():
    t = 1_700_000_000.0
    dec = SbsDecoder(reference=(31.33, -110.95))
    lines = [format_line(1, "a1b2c3", t, callsign="N123AB"),
             format_line(4, "a1b2c3", t + 0.5, gs_kt=120, track_deg=90, vrate_fpm=-500),
             format_line(6, "a1b2c3", t + 0.6, squawk="1200"),
             format_line(3, "a1b2c3", t + 1, alt_ft=5000, lat=31.35, lon=-110.9),
             format_line(3, "a1b2c3", t + 2, alt_ft=5000, lat=33.35, lon=-110.9),  # 220 km in 1 s
             format_line(3, "~abc123", t + 2, alt_ft=5000, lat=35.5, lon=-110.9),  # 460 km away
             format_line(3, "~abc124", t + 2, lat=31.4, lon=-110.9, on_ground=True),
             "SEL,,496,2286,4CA4E5,27215,2010/02/19,18:06:07.710,2010/02/19,18:06:07.710,RYR1427",
             "MSG,3,1,1,A1B2C3,1,2023/13/14,22:13:20.000,,,,5000,,,31.3,-110.9,,,0,0,0,0",
             "MSG,3,1,1,A1B2C3", "MSG,9,1,1,A1B2C3,1,2023/11/14,22:13:20.000,,,,,,,,,,,,,,",
             "MSG,3,1,1,G1B2C3,1,2023/11/14,22:13:20.000,,,,5000,,,31.3,-110.9,,,0,0,0,0"]
    obs = [o for ln in lines for o in dec.decode(ln.encode())]
    assert len(obs) == 2
    a = obs[0]
    assert (a.ident, a.callsign, a.attrs["squawk"]) == ("a1b2c3", "N123AB", "1200")
    assert a.velocity.course_deg == pytest.approx(90.0) and a.position.alt_m == pytest.approx(1524.0)
    assert a.time == t + 1
    assert obs[1].ident == "~abc124" and obs[1].attrs["on_ground"] and obs[1].position.alt_m is None
    assert dec.stats.rejected == {"implausible_speed": 1, "out_of_range": 1, "bad_time": 1, "short_line": 1,
                                  "bad_msg_type": 1, "bad_hex": 1}
    assert dec.stats.skipped["SEL"] == 1


def test_aircraft_json_snapshots(adsb_data):
    gen = _gen(adsb_data)
    dec = AircraftJsonDecoder(sensor="tar1090")
    obs = list(dec.decode_all([(adsb_data / "aircraft.json").read_bytes()]))
    assert dec.stats.messages == 6 and dec.stats.rejected_total == 0
    assert len(obs) == 6 * 4
    assert dec.stats.skipped == {"no_position": 6, "stale": 6}
    real = [o for o in obs if not o.ident.startswith("~")]
    _check_truth(gen, real, tol_m=1.0)
    first = real[0]
    assert first.time == pytest.approx(1_700_000_005.0 - 0.3)
    assert first.callsign == "N512CB" and first.cls == ObjectClass.FIXED_WING
    assert first.attrs["alt_kind"] == "geometric" and first.position.alt_m == pytest.approx(5150 * 0.3048)
    assert first.position.sigma_h_m == pytest.approx(30.0 / 2.45)
    heli = [o for o in obs if o.ident == "a0f1b2"][0]
    assert heli.cls == ObjectClass.ROTORCRAFT
    tisb = [o for o in obs if o.ident == "~2d0f11"]
    assert len(tisb) == 6 and tisb[0].attrs["on_ground"] and tisb[0].attrs["type"] == "tisb_other"
    # the same snapshot again: nothing new
    again = list(dec.decode_all([(adsb_data / "aircraft.json").read_bytes()]))
    assert again == [] and dec.stats.skipped["repeat"] == 24


def test_aircraft_json_split_in_chunks_and_broken_snapshot(adsb_data):
    text = (adsb_data / "aircraft.json").read_bytes()
    snaps = text.split(b"\n{")
    cut = b'{ "now" : 1700000100.0, "aircraft" : [ {"hex": "a4b3c2", "lat": 3'
    broken = snaps[0] + b"\n" + cut + b"\n{" + b"\n{".join(snaps[1:])
    dec = AircraftJsonDecoder()
    obs = [o for i in range(0, len(broken), 100) for o in dec.decode(broken[i:i + 100])]
    obs += list(dec.flush())
    assert len(obs) == 24 and dec.stats.rejected == {"bad_json": 1}
    one = json.dumps({"now": 1_700_000_000, "aircraft": [{"hex": "abc", "lat": 1, "lon": 2},
                                                          {"hex": "a1b2c3", "lat": 95.0, "lon": 2},
                                                          {"hex": "a1b2c4", "lat": 31.0, "lon": -110.0}]})
    dec2 = AircraftJsonDecoder()
    assert len(list(dec2.decode(one.encode() + b"\n" + b'[1,2]\n{"now": "x", "aircraft": []}\n'))) == 1
    assert dec2.stats.rejected == {"bad_hex": 1, "bad_aircraft": 1, "garbage": 1, "bad_now": 1}
