"""ADS-B decoding on a real capture, without a receiver position, against independent decoders.

``tests/data/adsb-real/short_flights.csv`` (rs1090's test capture, MIT; see the README there):
486 timestamped frames of seven aircraft near Atlanta, about 2,500 km from the packaged Nogales
sector. ``expected_positions.csv`` holds the positions pyModeS (a separate implementation,
run by ``make_expected.py``) decodes from it; rs1090's own stateful position decoding is a
second independent reference. The same frames are framed as AVR and Beast here.
"""

from __future__ import annotations

import csv
import json
import random
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import rs1090

from lookout.geo import distance_m
from lookout.sources import decoder_class
from lookout.sources.beast import encode_frame
from lookout.sources.modes import ModeS, encode_airborne_position

REAL = Path(__file__).parents[1] / "data" / "adsb-real"
NOGALES = (31.33, -110.95)


@pytest.fixture(scope="module")
def capture() -> list[tuple[float, str]]:
    rows = []
    with open(REAL / "short_flights.csv") as f:
        for t, frame in csv.reader(f):
            rows.append((float(t), frame))
    return rows


@pytest.fixture(scope="module")
def expected() -> dict[str, np.ndarray]:
    """pyModeS's fixes per aircraft: rows of (time, lat, lon)."""
    by = defaultdict(list)
    with open(REAL / "expected_positions.csv") as f:
        for r in csv.DictReader(f):
            by[r["icao"]].append((float(r["time"]), float(r["lat"]), float(r["lon"])))
    return {k: np.array(v) for k, v in by.items()}


def _raw(capture):
    dec = decoder_class("raw")(sensor="rx")
    return dec, dec.decode_batch([f"{t!r},{f}".encode() for t, f in capture])


def _track_at(fixes: np.ndarray, t: float) -> tuple[float, float]:
    """The independent track at ``t``: interpolated between fixes, extrapolated along the first
    or last fixes outside them."""
    ts = fixes[:, 0]
    if ts[0] <= t <= ts[-1] or len(ts) == 1:
        return float(np.interp(t, ts, fixes[:, 1])), float(np.interp(t, ts, fixes[:, 2]))
    a, b = (0, min(3, len(ts) - 1)) if t < ts[0] else (max(0, len(ts) - 4), len(ts) - 1)
    w = (t - ts[a]) / (ts[b] - ts[a])
    return (float(fixes[a, 1] + w * (fixes[b, 1] - fixes[a, 1])),
            float(fixes[a, 2] + w * (fixes[b, 2] - fixes[a, 2])))


def test_no_reference_positions_match_pymodes(capture, expected):
    dec, obs = _raw(capture)
    assert dec.modes.reference is None
    assert dec.stats.rejected == {}
    mine = defaultdict(list)
    for o in obs:
        mine[o.ident].append((o.time, o.position.lat, o.position.lon))
    # >= 95 % of the independent decoder's fixes matched within 50 m (same aircraft, nearest time)
    n = matched = 0
    for icao, fixes in expected.items():
        for t, lat, lon in fixes:
            n += 1
            if mine[icao]:
                mt, mlat, mlon = min(mine[icao], key=lambda m: abs(m[0] - t))
                matched += abs(mt - t) < 0.5 and distance_m(lat, lon, mlat, mlon) <= 50.0
    assert n == 130 and matched / n >= 0.95, (matched, n)
    # no Lookout position more than 2 km from the independent track
    worst = max(distance_m(o.position.lat, o.position.lon, *_track_at(expected[o.ident], o.time))
                for o in obs if o.ident in expected)
    assert worst < 2_000.0
    # every position far from the Nogales sector: where the aircraft were (Atlanta)
    lats = [o.position.lat for o in obs]
    lons = [o.position.lon for o in obs]
    assert 33.0 < min(lats) and max(lats) < 34.6 and -85.2 < min(lons) and max(lons) < -83.6
    assert all(distance_m(la, lo, *NOGALES) > 2_000_000 for la, lo in zip(lats, lons))


def test_every_position_equals_rs1090s_own_decode(capture):
    """rs1090's stateful decode (its own CPR code, also without a reference) of the same frames."""
    ts = [t for t, _ in capture]
    ref = {}
    for (t, f), m in zip(capture, rs1090.decode([f for _, f in capture], ts)):
        if m and m.get("latitude") is not None:
            ref[(f[2:8].lower(), t)] = (m["latitude"], m["longitude"])
    _, obs = _raw(capture)
    assert len(obs) == len(ref) == 163
    for o in obs:
        assert distance_m(o.position.lat, o.position.lon, *ref[(o.ident, o.time)]) < 1.0


def test_avr_and_beast_framings_give_the_raw_positions(capture):
    _, raw = _raw(capture)
    want = [(o.ident, o.position.lat, o.position.lon) for o in raw]
    t0 = capture[0][0]
    ticks = [5_000_000 + round((t - t0) * 12_000_000) for t, _ in capture]
    avr = decoder_class("avr")()
    obs = avr.decode_batch([f"@{tk:012X}{f};".encode() for tk, (_, f) in zip(ticks, capture)])
    assert [(o.ident, o.position.lat, o.position.lon) for o in obs] == want
    beast = decoder_class("beast")()
    stream = b"".join(encode_frame(f, tk, 0x90) for tk, (_, f) in zip(ticks, capture))
    obs = [o for k in range(0, len(stream), 4096) for o in beast.decode(stream[k:k + 4096])]
    assert [(o.ident, o.position.lat, o.position.lon) for o in obs] == want
    assert avr.stats.rejected == beast.stats.rejected == {}


def test_a_far_away_receiver_position_rejects_instead_of_inventing_positions(capture):
    """A receiver position the user gives is range-checked: every airborne position of the
    Atlanta aircraft is out of range of a receiver at Nogales. (The one surface frame can only
    be decoded against the receiver given, so it lands where that receiver says.)"""
    dec = decoder_class("raw")(reference=NOGALES)
    obs = dec.decode_batch([f"{t!r},{f}".encode() for t, f in capture])
    assert [o.ident for o in obs] == ["a426e0"] and obs[0].attrs["on_ground"]
    assert dec.stats.rejected == {"out_of_range": 176}
    # given near the flights, the same capture decodes as without one
    near = decoder_class("raw")(reference=(33.75, -84.39))
    got = near.decode_batch([f"{t!r},{f}".encode() for t, f in capture])
    assert len(got) >= 163 and near.stats.rejected == {}


def test_merged_feed_of_two_receivers(capture, expected):
    """A feed merged from two receivers: every frame twice, the copy up to 0.3 s late, so times
    are not in order. Positions decode as from one receiver, nothing is rejected."""
    rng = random.Random(5)
    rows = capture + [(t + rng.uniform(0.0, 0.3), f) for t, f in capture]
    rows.sort(key=lambda r: r[0] + rng.uniform(-0.05, 0.05))  # slightly out of order
    dec = decoder_class("raw")()
    obs = dec.decode_batch([f"{t!r},{f}".encode() for t, f in rows])
    assert dec.stats.rejected == {} and len(obs) >= 2 * 163 - 20
    worst = max(distance_m(o.position.lat, o.position.lon, *_track_at(expected[o.ident], o.time))
                for o in obs if o.ident in expected)
    assert worst < 2_000.0


def test_local_and_global_decodes_that_disagree_are_rejected_and_counted():
    """The aircraft's reliable last position is one latitude zone (about 680 km) off, as a wrong
    CPR decode is: the local decode of a new frame against it lands right next to it (so it
    passes the speed check) but disagrees with the global decode of the fresh pair. The
    position is rejected and counted, and the aircraft recovers from pairs."""
    from lookout.sources.modes import cpr_encode, cpr_local

    m = ModeS("rx")
    t0 = 1_750_000_000.0
    lat, lon = 48.85, 2.35  # over Paris
    assert m.frame(encode_airborne_position("39a1b2", lat, lon, 35000, odd=False), t0) is None  # waits
    ac = m.aircraft["39a1b2"]
    y, x = cpr_encode(lat, lon + 0.001, odd=True)
    ac.lat, ac.lon = cpr_local(y, x, True, False, lat + 360.0 / 59.0, lon)  # the same frame, one zone north
    ac.pos_time, ac.reliable = t0, 2
    assert distance_m(ac.lat, ac.lon, lat, lon) > 600_000
    assert m.frame(encode_airborne_position("39a1b2", lat, lon + 0.001, 35000, odd=True), t0 + 0.5) is None
    assert m.stats.rejected == {"cpr_inconsistent": 1}
    assert ac.reliable == 0
    # two agreeing global decodes replace the wrong position
    out = [m.frame(encode_airborne_position("39a1b2", lat, lon + 0.001 * i, 35000, odd=bool(i % 2)), t0 + 0.5 * i)
           for i in range(2, 6)]
    good = [o for o in out if o is not None]
    assert good and all(distance_m(o.position.lat, o.position.lon, lat, lon) < 1_000 for o in good)
    assert good[-1].attrs["cpr"] == "global"


def test_surface_positions_without_a_receiver_use_the_aircraft_own_position():
    """A landed aircraft's surface frames decode against its own last airborne fix (the
    90-degree surface ambiguity resolved by it); an aircraft only ever heard on the surface,
    with no receiver position, waits (counted)."""
    from lookout.sources.modes import encode_surface_position

    m = ModeS("rx")
    t0 = 1_750_000_000.0
    lat, lon = -33.95, 151.18  # Sydney: southern and eastern hemispheres
    for i in range(4):
        fix = m.frame(encode_airborne_position("7c1234", lat, lon, 1000, odd=bool(i % 2)), t0 + i)
        assert (fix is None) == (i == 0)
    for i in range(4):
        o = m.frame(encode_surface_position("7c1234", lat, lon + 0.0001 * i, odd=bool(i % 2)), t0 + 10 + i)
        assert o is not None and o.attrs["on_ground"]
        assert distance_m(o.position.lat, o.position.lon, lat, lon + 0.0001 * i) < 5.0
    for i in range(2):
        assert m.frame(encode_surface_position("7c9999", lat, lon, odd=bool(i % 2)), t0 + i) is None
    assert m.stats.skipped["surface_no_reference"] == 2
    # with a receiver position, an aircraft only heard on the surface decodes against it, and
    # from the second frame on the surface pair (resolved by the receiver) cross-checks it
    r = ModeS("rx", reference=(lat + 0.1, lon - 0.1))
    got = [r.frame(encode_surface_position("7c8888", lat, lon, odd=bool(i % 2)), t0 + i) for i in range(3)]
    assert [o.attrs["cpr"] for o in got] == ["local_receiver", "global", "global"]
    assert all(distance_m(o.position.lat, o.position.lon, lat, lon) < 5.0 for o in got)


def test_sbs_lines_far_from_the_sector_are_kept_without_a_receiver():
    """BaseStation lines as published: the format's documentation example (UK, 2008) and a
    dump1090 one (California)."""
    lines = [b"MSG,3,496,211,4CA2D6,10057,2008/11/28,14:53:50.594,2008/11/28,14:58:51.153,"
             b",37000,,,51.45735,-1.02826,,,0,0,0,0",
             b"MSG,3,1,1,AAABBB,1,2020/02/01,13:52:02.404,2020/02/01,13:52:02.422,,12900,,,38.61713,-121.85754,,,,,,"]
    dec = decoder_class("sbs")()
    obs = dec.decode_batch(lines)
    assert [(o.ident, o.position.lat, o.position.lon) for o in obs] == [
        ("4ca2d6", 51.45735, -1.02826), ("aaabbb", 38.61713, -121.85754)]
    assert dec.stats.rejected == {}
    ranged = decoder_class("sbs")(reference=NOGALES)
    assert ranged.decode_batch(lines) == [] and ranged.stats.rejected == {"out_of_range": 2}
    with pytest.raises(ValueError, match="reference"):
        decoder_class("sbs")(reference=(95.0, 0.0))


def test_aircraft_json_far_from_the_sector_has_no_range_check():
    """A readsb aircraft.json entry with a real position over Belize (DAL1812, from the readsb
    trace sample of the traffic library, MIT): kept as it is, no receiver position involved."""
    snap = {"now": 1738703622.6, "messages": 1000, "aircraft": [
        {"hex": "ac671b", "type": "adsb_icao", "flight": "DAL1812 ", "alt_baro": 32000, "alt_geom": 33825,
         "gs": 478.6, "track": 327.8, "lat": 16.777359, "lon": -88.036868, "seen_pos": 0.4, "nac_p": 10}]}
    dec = decoder_class("aircraft-json")()
    (o,) = list(dec.decode(json.dumps(snap).encode()))
    assert (o.ident, o.callsign, o.position.lat, o.position.lon) == ("ac671b", "DAL1812", 16.777359, -88.036868)
    assert o.time == pytest.approx(1738703622.2) and dec.stats.rejected == {}
