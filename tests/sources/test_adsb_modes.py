"""Mode S core: rs1090 decoding with per-aircraft CPR state and readsb-style sanity checks.

Known values are the pyModeS test vectors (The 1090 MHz Riddle)."""

from __future__ import annotations

import math

import pytest

from lookout.geo import destination, distance_m
from lookout.model import ObjectClass
from lookout.sources.modes import (
    ModeS,
    TickClock,
    crc24,
    encode_airborne_position,
    encode_identification,
    encode_velocity,
    valid_hex,
)

EVEN = "8D40621D58C382D690C8AC2863A7"
ODD = "8D40621D58C386435CC412692AD6"
VEL = "8D485020994409940838175B284F"
IDENT = "8D4840D6202CC371C32CE0576098"
T = 1_457_996_400.0
NEAR = (52.25, 3.9)  # a receiver near the test aircraft


def test_global_cpr_pair_even_latest():
    m = ModeS("rx", reference=NEAR, receiver_relative=False)
    assert m.frame(ODD, T) is None  # first of a pair: no position yet
    assert m.stats.skipped["cpr_pending"] == 1
    obs = m.frame(EVEN, T + 2)
    assert obs is not None and obs.attrs["cpr"] == "global"
    assert obs.position.lat == pytest.approx(52.2572, abs=1e-4)
    assert obs.position.lon == pytest.approx(3.9194, abs=1e-4)
    assert obs.ident == "40621d"
    assert obs.position.alt_m == pytest.approx(38000 * 0.3048)
    assert obs.attrs["alt_kind"] == "baro" and obs.attrs["alt_baro_ft"] == 38000


def test_global_cpr_pair_odd_latest():
    m = ModeS("rx", reference=NEAR, receiver_relative=False)
    m.frame(EVEN, T)
    obs = m.frame(ODD, T + 1)
    assert (obs.position.lat, obs.position.lon) == pytest.approx((52.26578, 3.93891), abs=1e-5)


def test_pair_too_far_apart_in_time_is_not_paired():
    m = ModeS("rx", reference=NEAR, receiver_relative=False)
    m.frame(ODD, T)
    assert m.frame(EVEN, T + 11) is None
    assert m.stats.skipped["cpr_pending"] == 2


def test_local_cpr_relative_to_receiver():
    m = ModeS("rx", reference=NEAR)  # default range 300 km <= 180 NM: receiver-relative allowed
    obs = m.frame(EVEN, T)
    assert obs.attrs["cpr"] == "local_receiver"
    assert (obs.position.lat, obs.position.lon) == pytest.approx((52.2572, 3.9194), abs=1e-4)
    # pyModeS position_with_ref vectors, reference (49.0, 6.0)
    m2 = ModeS("rx", reference=(49.0, 6.0))
    a = m2.frame("8D40058B58C901375147EFD09357", T)
    assert (a.position.lat, a.position.lon) == pytest.approx((49.82410, 6.06785), abs=1e-5)
    b = ModeS("rx", reference=(49.0, 6.0)).frame("8D40058B58C904A87F402D3B8C59", T)
    assert (b.position.lat, b.position.lon) == pytest.approx((49.81755, 6.08442), abs=1e-5)
    assert a.position.alt_m == pytest.approx(39000 * 0.3048)


def test_velocity_and_identity_attach_to_next_position():
    m = ModeS("rx", reference=(31.33, -110.95))
    assert m.frame(VEL, T) is None and m.stats.skipped["velocity"] == 1
    st = m.aircraft["485020"]
    v = st.velocity
    assert v.speed / 0.514444 == pytest.approx(159.2, abs=0.1)
    assert v.course_deg == pytest.approx(182.88, abs=0.01)
    assert v.up / 0.00508 == pytest.approx(-832, abs=0.5)
    assert st.geo_minus_baro_ft == 550
    assert m.frame(IDENT, T) is None
    assert m.aircraft["4840d6"].callsign == "KLM1023"
    # a position for 485020 now carries that velocity and geometric altitude via geo-minus-baro
    pos = encode_airborne_position("485020", 31.4, -110.9, 10000, odd=False)
    obs = m.frame(pos, T + 1)
    assert obs.velocity is v
    assert obs.attrs["alt_kind"] == "baro+geo_delta"
    assert obs.position.alt_m == pytest.approx((10000 + 550) * 0.3048)


def test_identity_callsign_and_category_on_observation():
    m = ModeS("rx", reference=(31.33, -110.95))
    m.frame(encode_identification("a0f1b2", "CBP217", category=7), T)
    obs = m.frame(encode_airborne_position("a0f1b2", 31.35, -110.96, 1500, odd=True), T + 0.5)
    assert obs.callsign == "CBP217" and obs.cls == ObjectClass.ROTORCRAFT


def test_encoder_matches_published_frames():
    assert encode_identification("4840D6", "KLM1023") == IDENT
    assert encode_airborne_position("40621D", 52.2572021484375, 3.91937255859375, 38000, odd=False) == EVEN
    # the published velocity frame differs only in its IFR capability bit
    mine = encode_velocity("485020", 159.2, 182.88, -832, geo_minus_baro_ft=550)
    assert mine[8:10] == "99" and mine[12:22] == VEL[12:22]
    assert crc24(bytes.fromhex(EVEN[:22])) == int(EVEN[22:], 16)


def test_bad_crc_bad_hex_and_lengths_are_counted_not_raised():
    m = ModeS("rx", reference=NEAR)
    assert m.frame(EVEN[:-1] + "8", T) is None
    assert m.frame("zz" * 14, T) is None  # rs1090 would panic on this: never reaches it
    assert m.frame("8D4840D6", T) is None
    assert m.frame(IDENT + "FF", T) is None
    assert m.stats.rejected == {"bad_crc": 1, "bad_hex": 1, "bad_length": 2}
    assert m.frame("5D4840D6F0BCB8", T) is None  # DF11 all-call: valid, no position
    assert m.stats.skipped["df11"] == 1
    assert not valid_hex("8D 4840D6202CC371C32CE0576098")


def test_out_of_range_rejected():
    m = ModeS("rx", reference=(31.33, -110.95), max_range_m=50_000, receiver_relative=False)
    lat, lon = destination(31.33, -110.95, 90.0, 80_000.0)
    m.frame(encode_airborne_position("abcdef", lat, lon, 20000, odd=False), T)
    assert m.frame(encode_airborne_position("abcdef", lat, lon, 20000, odd=True), T + 1) is None
    assert m.stats.rejected["out_of_range"] == 1


def _track(m, icao, lat, lon, t0, n, gs_mps=100.0, trk=90.0):
    out = []
    for i in range(n):
        la, lo = destination(lat, lon, trk, gs_mps * i)
        out.append(m.frame(encode_airborne_position(icao, float(la), float(lo), 5000, odd=bool(i % 2)), t0 + i))
    return out


def test_implausible_jump_rejected_and_track_continues():
    m = ModeS("rx", reference=(31.33, -110.95))
    obs = _track(m, "a1a1a1", 31.3, -111.0, T, 6)
    assert all(o is not None for o in obs)
    # reliable after two global decodes: the local decode against its own position and the
    # global one of the fresh pair agree
    assert [o.attrs["cpr"] for o in obs][-1] == "global" and m.aircraft["a1a1a1"].reliable == 2
    la, lo = destination(31.3, -111.0, 0.0, 60_000.0)  # 60 km north, one second later
    assert m.frame(encode_airborne_position("a1a1a1", float(la), float(lo), 5000, odd=False), T + 6) is None
    assert m.stats.rejected["implausible_speed"] == 1
    la, lo = destination(31.3, -111.0, 90.0, 100.0 * 7)
    nxt = m.frame(encode_airborne_position("a1a1a1", float(la), float(lo), 5000, odd=True), T + 7)
    assert nxt is not None and distance_m(nxt.position.lat, nxt.position.lon, la, lo) < 20


def test_two_agreeing_global_decodes_replace_a_wrong_position():
    m = ModeS("rx", reference=(31.33, -110.95))
    st = m.aircraft.setdefault("b2b2b2", __import__("lookout.sources.modes", fromlist=["AircraftState"])
                               .AircraftState("b2b2b2"))
    st.lat, st.lon, st.pos_time, st.last_seen = 31.9, -110.2, T, T  # a wrong old position, ~100 km away
    out = _track(m, "b2b2b2", 31.3, -111.0, T + 1, 5)
    assert out[0] is None  # no pair yet; receiver-relative decode fails the speed check
    accepted = [o for o in out if o is not None]
    assert accepted and distance_m(accepted[-1].position.lat, accepted[-1].position.lon,
                                   *destination(31.3, -111.0, 90.0, 400.0)) < 20


def test_sigma_from_nucp():
    m = ModeS("rx", reference=NEAR)
    obs = m.frame(EVEN, T)
    assert obs.attrs["nuc_p"] == 7
    assert obs.position.sigma_h_m == pytest.approx(185.2 / 2.45)


def test_df18_non_icao_address_gets_tilde():
    m = ModeS("rx", reference=(31.33, -110.95))
    f = encode_airborne_position("2d0f11", 31.34, -110.94, 3000, odd=False, df=18)
    f = "%02X" % ((18 << 3) | 1) + f[2:]  # CF=1: non-ICAO address; recompute the parity
    body = bytes.fromhex(f[:22])
    f = (body + crc24(body).to_bytes(3, "big")).hex().upper()
    obs = m.frame(f, T)
    assert obs is not None and obs.ident == "~2d0f11"


def test_tick_clock_keeps_spacing_and_reanchors():
    c = TickClock()
    t1 = c.to_unix(12_000_000, now=1000.0)
    t2 = c.to_unix(18_000_000, now=1000.01)
    assert t1 == 1000.0 and t2 == pytest.approx(1000.5)
    t3 = c.to_unix(5, now=2000.0)  # counter went backwards: receiver restarted
    assert t3 == 2000.0


def test_tick_clock_many_equals_one_by_one(monkeypatch):
    from lookout.sources import modes

    wall = iter(range(1000, 2000, 7))
    monkeypatch.setattr(modes._time, "time", lambda: float(next(wall)))
    ticks = [12_000_000, 18_000_000, 18_000_000, 5, 60_000_000, 5 + 3700 * 12_000_000, 7 + 3700 * 12_000_000]
    one = TickClock()
    expected = [one.to_unix(tk) for tk in ticks[:3]] + [one.to_unix(tk) for tk in ticks[3:]]
    wall = iter(range(1000, 2000, 7))
    many = TickClock()
    got = many.to_unix_many(ticks[:3]) + many.to_unix_many(ticks[3:])
    assert got == expected and (many._t0, many._c0, many._last) == (one._t0, one._c0, one._last)
    assert expected[3] == 1007.0 and expected[5] == 1014.0  # re-anchored: backwards, then a jump of > 1 h


def test_state_is_pruned():
    m = ModeS("rx", reference=(31.33, -110.95))
    m.frame(IDENT, T)
    assert "4840d6" in m.aircraft
    m.frame(VEL, T + 700)
    assert "4840d6" not in m.aircraft and math.isfinite(m.aircraft["485020"].last_seen)


def test_surface_positions_decode_against_the_receiver():
    from lookout.sources.modes import encode_surface_position

    m = ModeS("rx", reference=(31.33, -110.95), receiver_relative=False)
    pts = [destination(31.3335, -110.9402, 0.0, 5.0 * i) for i in range(4)]
    out = [m.frame(encode_surface_position("a7c001", float(la), float(lo), odd=bool(i % 2)), T + i)
           for i, (la, lo) in enumerate(pts)]
    assert all(o is not None for o in out)
    for o, (la, lo) in zip(out, pts):
        assert o.attrs["on_ground"] and o.position.alt_m is None
        assert distance_m(o.position.lat, o.position.lon, la, lo) < 3.0
    # an airborne frame does not pair with a surface one: it decodes locally against the
    # aircraft's own (surface) position
    la, lo = pts[-1]
    air = m.frame(encode_airborne_position("a7c001", float(la), float(lo), 1000, odd=False), T + 4.5)
    assert air is not None and air.attrs["cpr"] == "local"
    assert distance_m(air.position.lat, air.position.lon, la, lo) < 10.0
    # a new aircraft's airborne frame after a surface one waits for an airborne pair
    m.frame(encode_surface_position("a7c003", float(la), float(lo), odd=True), T + 5)
    assert m.frame(encode_airborne_position("a7c003", float(la), float(lo), 1000, odd=False), T + 5.5) is None
    assert m.stats.skipped["cpr_pending"] == 1
    # the receiver range applies on the surface too
    m2 = ModeS("rx", reference=(31.33, -110.95), max_range_m=10_000)
    far = destination(31.33, -110.95, 0.0, 20_000.0)
    assert m2.frame(encode_surface_position("a7c002", float(far[0]), float(far[1]), odd=False), T) is None
    assert m2.stats.rejected["out_of_range"] == 1


def test_transponder_frames_decode_back_to_the_track():
    from lookout.sources.modes import Transponder

    xp = Transponder("a4b3c2", "N512CB", category=1)
    m = ModeS("rx", reference=(31.33, -110.95))
    got = []
    for i in range(20):
        la, lo = destination(31.30, -111.10, 90.0, 56.6 * i * 0.5)
        for f in xp.frames(T + i * 0.5, float(la), float(lo), 5500, gs_kt=110, track_deg=90):
            o = m.frame(f, T + i * 0.5)
            if o is not None:
                got.append((o, la, lo))
    assert len(got) == 20
    assert all(distance_m(o.position.lat, o.position.lon, la, lo) < 10 for o, la, lo in got)
    assert got[-1][0].callsign == "N512CB" and got[-1][0].velocity.course_deg == pytest.approx(90, abs=0.5)
    with pytest.raises(ValueError):
        Transponder("xyz")
