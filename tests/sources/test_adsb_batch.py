"""The batch paths of the ADS-B decoders: ``decode_batch`` gives exactly what ``decode`` gives
line by line (same observations, same counts), and Lookout's CPR arithmetic on the raw values
rs1090 returns equals rs1090's own position decoding."""

from __future__ import annotations

import numpy as np
import pytest
import rs1090

from lookout.sources import decoder_class
from lookout.sources.modes import (
    cpr_global,
    cpr_local,
    cpr_nl,
    encode_airborne_position,
    encode_surface_position,
    encode_velocity,
)

REF = (31.3, -110.9)


def _lines(path):
    return [ln for ln in path.read_bytes().split(b"\n") if ln]


def _mangled(lines: list[bytes], kind: str) -> list[bytes]:
    """The capture with bad records mixed in: every reason a line can be refused for."""
    bad = {
        "raw": [b"timestamp,rawmsg", b"# comment", b"", b"1700000001.0", b"abc,8D40621D58C382D690C8AC2863A7",
                b"1700000001.0,8D40621D58C382D690C8AC2863A8", b"1700000001.0,8D40621D58C382D690C8AC2863",
                b"1700000001.0,ZZ40621D58C382D690C8AC2863A7", b"1700000001.0,5D4840D6202CC3",
                b"-5,8D40621D58C382D690C8AC2863A7", b"1700000001.0,\xff\xfe", b"1e99,8D40621D58C382D690C8AC2863A7"],
        "avr": [b"", b"*8D40621D58C382D690C8AC2863A8;", b"@ZZZZZZZZZZZZ8D40621D58C382D690C8AC2863A7;",
                b"*5D4840D6202CC3;", b"garbage", b"\xff\xfe;", b"@00000000"],
    }[kind]
    out = []
    for i, ln in enumerate(lines):
        out.append(ln)
        if i % 7 == 3:
            out.append(bad[(i // 7) % len(bad)])
    return out


def _rows(obs, t0=0.0):
    rows = []
    for o in obs:
        f = o.flat()
        f.pop("id")
        f["time"] = round(f["time"] - t0, 6)
        f["attrs"] = o.attrs
        f["cls"] = o.cls
        rows.append(f)
    return rows


@pytest.mark.parametrize("fmt,name", [("raw", "flights.raw.csv"), ("avr", "flights.avr"),
                                      ("avr", "flights_plain.avr")])
def test_batch_equals_line_by_line(adsb_data, fmt, name):
    lines = _mangled(_lines(adsb_data / name), fmt)
    one = decoder_class(fmt)(reference=REF)
    obs1 = [o for ln in lines for o in one.decode(ln)]
    many = decoder_class(fmt)(reference=REF)
    obs2 = []
    for k in range(0, len(lines), 97):  # batches that cut the stream anywhere
        obs2 += many.decode_batch(lines[k:k + 97])
    assert len(obs1) > 20
    if name == "flights_plain.avr":  # no counters: times are the wall clock at decoding
        for rows in (_rows(obs1), _rows(obs2)):
            for r in rows:
                r.pop("time")
        assert _rows(obs1) and [dict(r, time=0) for r in _rows(obs1)] == [dict(r, time=0) for r in _rows(obs2)]
    else:
        t1 = getattr(getattr(one, "clock", None), "_t0", 0.0) or 0.0
        t2 = getattr(getattr(many, "clock", None), "_t0", 0.0) or 0.0
        assert _rows(obs1, t1) == _rows(obs2, t2)
    s1, s2 = one.stats.as_dict(), many.stats.as_dict()
    for key in ("accepted", "messages", "rejected", "skipped"):
        assert s1[key] == s2[key], key
    assert sum(s1["rejected"].values()) >= 5  # the mangled lines were refused, with reasons


def test_sbs_batch_equals_line_by_line(adsb_data):
    lines = _lines(adsb_data / "flights.sbs")
    lines = [x for i, ln in enumerate(lines)
             for x in ((ln, b"MSG,3,1,1,ZZZZZZ,1,2025/01/01,00:00:00.000") if i % 9 == 4 else (ln,))]
    one, many = decoder_class("sbs")(reference=REF), decoder_class("sbs")(reference=REF)
    obs1 = [o for ln in lines for o in one.decode(ln)]
    obs2 = many.decode_batch(lines[:100]) + many.decode_batch(lines[100:])
    assert len(obs1) > 20 and _rows(obs1) == _rows(obs2)
    rejected_one, rejected_many = one.stats.as_dict()["rejected"], many.stats.as_dict()["rejected"]
    bad = sum(1 for ln in lines if ln.startswith(b"MSG,3,1,1,ZZZZZZ"))  # the short lines added above
    assert rejected_one == rejected_many == {"short_line": bad}


def test_beast_chunking_does_not_change_observations(adsb_data):
    data = (adsb_data / "flights.beast").read_bytes()
    whole = decoder_class("beast")(reference=REF)
    obs1 = whole.decode_batch([data])
    pieces = decoder_class("beast")(reference=REF)
    obs2 = [o for k in range(0, len(data), 333) for o in pieces.decode(data[k:k + 333])]
    assert len(obs1) > 20
    assert _rows(obs1, whole.clock._t0) == _rows(obs2, pieces.clock._t0)
    assert whole.stats.messages == pieces.stats.messages


def test_one_bad_frame_in_a_batch_costs_only_itself():
    frames = [encode_velocity("a1b2c3", 300, 90), "8D40621D58C382D690C8AC2863A8",  # bad CRC
              encode_airborne_position("a1b2c3", 31.4, -110.8, 20000, odd=False),
              encode_airborne_position("a1b2c3", 31.4, -110.8, 20000, odd=True)]
    dec = decoder_class("raw")(reference=REF)
    obs = dec.decode_batch([f"{1.7e9 + i:.1f},{f}".encode() for i, f in enumerate(frames)])
    assert [o.attrs["cpr"] for o in obs] == ["local_receiver", "global"]
    assert dec.stats.rejected["bad_crc"] == 1 and dec.stats.accepted == 2
    assert obs[1].velocity is not None and abs(obs[1].velocity.east - 300 * 1852 / 3600) < 1.0


def test_cpr_nl_table_edges():
    assert cpr_nl(0.0) == 59 and cpr_nl(10.47) == 59 and cpr_nl(10.4705) == 58
    assert cpr_nl(-45.0) == cpr_nl(45.0) == 42 and cpr_nl(86.9) == 2 and cpr_nl(87.0) == 1 and cpr_nl(90.0) == 1


def test_cpr_arithmetic_equals_rs1090():
    rng = np.random.default_rng(11)
    n_checked = n_none = 0
    for _ in range(300):
        lat, lon = float(rng.uniform(-86, 86)), float(rng.uniform(-180, 180))
        if rng.random() < 0.4:  # near a longitude-zone edge (pairs across it have no solution)
            lat = float(rng.choice([10.4704713, 29.91135686, 59.95459277, -44.19454951, 86.9999, -87.0]))
            lat += float(rng.normal(0, 0.002))
        even = encode_airborne_position("abcdef", lat, lon, 10000, odd=False)
        odd = encode_airborne_position("abcdef", lat + 0.001, lon + 0.001, 10000, odd=True)
        me, mo = rs1090.decode(even), rs1090.decode(odd)
        for latest_odd, pair in ((True, [even, odd]), (False, [odd, even])):
            want = rs1090.decode(pair, [0.0, 1.0])[-1]
            got = cpr_global(me["lat_cpr"], me["lon_cpr"], mo["lat_cpr"], mo["lon_cpr"], latest_odd)
            assert got == ((want["latitude"], want["longitude"]) if "latitude" in want else None)
            n_none += got is None
        ref = (lat + float(rng.uniform(-1, 1)), lon + float(rng.uniform(-1, 1)))
        for frame, m in ((even, me), (odd, mo)):
            want = rs1090.decode(frame, reference=ref)
            got = cpr_local(m["lat_cpr"], m["lon_cpr"], m["parity"] == "odd", False, *ref)
            assert got == (want["latitude"], want["longitude"])
        sref = (lat + float(rng.uniform(-0.3, 0.3)), lon + float(rng.uniform(-0.3, 0.3)))
        for is_odd in (False, True):
            sf = encode_surface_position("abcdef", lat, lon, odd=is_odd)
            m = rs1090.decode(sf)
            want = rs1090.decode(sf, reference=sref)
            assert cpr_local(m["lat_cpr"], m["lon_cpr"], is_odd, True, *sref) == (want["latitude"], want["longitude"])
        n_checked += 1
    assert n_checked == 300 and n_none > 0


def test_trusted_constructor_builds_the_same_record_as_the_validating_one():
    from lookout.model import GeoPosition, ObjectClass, Observation, SourceKind, Velocity

    v = Velocity(10.0, -5.0, 1.0)
    fast = Observation.trusted(1.7e9, SourceKind.ADSB, "rx", 31.5, -110.9, 1200.0, 12.0, velocity=v, ident="abc123",
                               callsign="N1", cls_hint=ObjectClass.FIXED_WING, label="REL-MX", attrs={"df": 17})
    slow = Observation(time=1.7e9, source=SourceKind.ADSB, sensor="rx",
                       position=GeoPosition(31.5, -110.9, 1200.0, 12.0), velocity=v, ident="abc123", callsign="N1",
                       cls=ObjectClass.FIXED_WING, label="REL-MX", attrs={"df": 17})
    assert fast.id != slow.id and fast.id.startswith("o-")
    fast.id = slow.id
    assert fast == slow and fast.to_dict() == slow.to_dict()
    with pytest.raises(ValueError):  # the normal constructor still validates
        GeoPosition(91.0, 0.0)


@pytest.mark.parametrize("fmt,name", [("raw", "flights.raw.csv"), ("sbs", "flights.sbs")])
def test_file_ingest_in_batches_equals_line_by_line(adsb_data, fmt, name):
    from lookout.sources.replay import Ingest

    run = Ingest(fmt, adsb_data / name, decoder_options={"reference": REF})
    got = list(run)
    dec = decoder_class(fmt)(reference=REF)
    want = [o for ln in _lines(adsb_data / name) for o in dec.decode(ln)]
    assert len(got) > 20 and _rows(got) == _rows(want)
    assert run.summary.stats.messages == dec.stats.messages and run.summary.stats.accepted == len(want)
    capped = Ingest(fmt, adsb_data / name, decoder_options={"reference": REF}, max_messages=300)
    list(capped)
    assert capped.summary.stats.messages == 300  # a batch never runs past --max-messages


def test_standard_input_is_decoded_line_by_line(adsb_data, monkeypatch):
    """stdin may be a pipe from a live feed: no observation may wait for a batch to fill."""
    import io
    import sys

    from lookout.sources.replay import Ingest

    data = (adsb_data / "flights.raw.csv").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    run = Ingest("raw", "-", decoder_options={"reference": REF})
    calls = []
    orig = run.decoder.decode_batch
    monkeypatch.setattr(run.decoder, "decode_batch", lambda recs: calls.append(len(recs)) or orig(recs))
    got = list(run)
    assert len(got) == 360 and calls == []


@pytest.mark.parametrize("fmt,name", [("raw", "flights.raw.csv"), ("avr", "flights.avr"),
                                      ("avr", "flights_plain.avr")])
def test_plain_batches_parsed_at_once_equal_line_by_line(adsb_data, fmt, name, monkeypatch):
    """A batch of plain lines is parsed in one scan (no per-line parse); the result is what the
    line-by-line path gives, line endings, extra columns and the other AVR forms included."""
    lines = [ln for ln in _lines(adsb_data / name) if not ln.startswith(b"timestamp")]
    if name == "flights.avr":
        # the signal-level form and frames without a counter mixed in
        lines = [b"<" + ln[1:13] + b"C8" + ln[13:] if i % 4 == 1 else ln for i, ln in enumerate(lines)]
        lines += [b"*" + ln[13:] for ln in lines[:40] if ln[:1] == b"@"]
    one = decoder_class(fmt)(reference=REF)
    obs1 = [o for ln in lines for o in one.decode(ln)]
    many = decoder_class(fmt)(reference=REF)
    calls = []
    orig = many._parse
    monkeypatch.setattr(many, "_parse", lambda *a: calls.append(1) or orig(*a))
    obs2 = []
    for k in range(0, len(lines), 128):
        obs2 += many.decode_batch(lines[k:k + 128])
    assert calls == [] and len(obs1) > 20
    r1, r2 = _rows(obs1, getattr(getattr(one, "clock", None), "_t0", 0.0) or 0.0), \
        _rows(obs2, getattr(getattr(many, "clock", None), "_t0", 0.0) or 0.0)
    if fmt == "avr":  # frames without a counter are timed by the wall clock at decoding
        t1, t2 = [r.pop("time") for r in r1], [r.pop("time") for r in r2]
        assert max(abs(a - b) for a, b in zip(t1, t2)) < 0.5
    assert r1 == r2
    for key in ("accepted", "messages", "rejected", "skipped"):
        assert one.stats.as_dict()[key] == many.stats.as_dict()[key], key


def test_a_batch_with_one_odd_line_is_parsed_line_by_line():
    good = b"1700000000.5," + encode_velocity("a1b2c3", 300, 90).encode()
    for odd in (b"1700000000.5, " + good[13:], b"1e9," + good[13:], b"0," + good[13:], b"x\ny", b"1\n2", b"\xff",
                good + b"\r", good + b",-12.5", b"1700000000.5,", b",", b"1.5", b"A,B", b".",
                b"1700000000.6,1700000000.7," + good[13:]):  # with b"1.5" before it: columns shifted
        for batch in ([good, odd, good], [good, b"1.5", odd, good]):
            dec = decoder_class("raw")(reference=REF)
            got = dec.decode_batch(batch)
            ref = decoder_class("raw")(reference=REF)
            want = [o for ln in batch for o in ref.decode(ln)]
            assert _rows(got) == _rows(want)
            assert dec.stats.as_dict()["rejected"] == ref.stats.as_dict()["rejected"]
            assert dec.stats.as_dict()["skipped"] == ref.stats.as_dict()["skipped"], odd
