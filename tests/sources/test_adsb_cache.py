"""The fast paths of the Mode S decoder give exactly what the slow ones give: the decoded-frame
cache (repeated frames are not sent to rs1090 again) and the equirectangular shortcut of the
range and speed checks (:func:`lookout.geo.within_m`)."""

from __future__ import annotations

import copy
import math
import random

import pytest
import rs1090

from lookout.geo import approx_distance_m, within_m
from lookout.sources import decoder_class, modes
from lookout.sources.modes import (
    ModeS,
    Transponder,
    encode_airborne_position,
    encode_surface_position,
    encode_velocity,
)

REF = (31.3, -110.9)
T0 = 1_790_000_000.0


def _traffic() -> list[tuple[float, str]]:
    """A busy mix: 20 aircraft holding speed and track (their velocity and identification
    frames repeat verbatim), a parked one (surface positions repeat), corrupt repeats."""
    rng = random.Random(7)
    out: list[tuple[float, str]] = []
    planes = [(Transponder(f"a{k:05x}", callsign=f"T{k:03d}"), rng.uniform(31.0, 31.6), rng.uniform(-111.2, -110.6),
               rng.uniform(100, 450), rng.uniform(0, 360)) for k in range(20)]
    bad = encode_velocity("a00001", 250, 90)[:-2] + "00"
    for step in range(60):
        t = T0 + step * 0.5
        for k, (tx, lat0, lon0, gs, trk) in enumerate(planes):
            d = gs * 1852 / 3600 * step * 0.5
            lat = lat0 + d * math.cos(math.radians(trk)) / 111_195.0
            lon = lon0 + d * math.sin(math.radians(trk)) / (111_195.0 * math.cos(math.radians(lat0)))
            for f in tx.frames(t, lat, lon, 20_000 + 100 * k, gs_kt=gs, track_deg=trk):
                out.append((t + k * 1e-3, f))
        out.append((t + 0.1, encode_surface_position("c0ffee", 31.31, -110.91, odd=bool(step % 2))))
        if step % 5 == 0:
            out.append((t + 0.2, bad))
    return out


def _rows(obs):
    return [(o.time, o.ident, o.position.lat, o.position.lon, o.position.alt_m, o.position.sigma_h_m,
             None if o.velocity is None else (o.velocity.east, o.velocity.north, o.velocity.up),
             o.callsign, o.cls, o.attrs) for o in obs]


def _no_cache(monkeypatch):
    """Every frame counts as an airborne position: nothing is cached, every frame is decoded."""
    monkeypatch.setattr(modes, "_AIRBORNE_TC", (True,) * 32)


@pytest.mark.parametrize("batch", [1, 7, 256])
def test_cache_gives_the_uncached_results_and_counts_hits(monkeypatch, batch):
    traffic = _traffic()
    runs = {}
    for cached in (True, False):
        if not cached:
            _no_cache(monkeypatch)
        m = ModeS("rx", reference=REF)
        obs = []
        for k in range(0, len(traffic), batch):
            part = traffic[k:k + batch]
            obs += m.frames([f for _, f in part], [t for t, _ in part])
        runs[cached] = (m, obs)
    (mc, oc), (mu, ou) = runs[True], runs[False]
    assert len(oc) > 500 and _rows(oc) == _rows(ou)
    assert mc.stats.as_dict() == dict(mu.stats.as_dict(), last_seen=mc.stats.last_seen)
    # uncached, a frame repeated within one batch is still decoded only once
    assert mu.decoded + mu.cache_hits == len(traffic) and (batch > 1 or mu.cache_hits == 0)
    # every velocity and identification frame after an aircraft's first, and the parked
    # aircraft's surface positions after its first two, come from the cache
    assert mc.cache_hits > len(traffic) * 0.4
    # a frame is either served from the cache (or an earlier copy in its batch) or decoded
    assert mc.cache_hits + mc.decoded == len(traffic) and mc.decoded < mu.decoded
    assert mc.stats.rejected["bad_crc"] == 12 and mc.stats.skipped["velocity"] == mu.stats.skipped["velocity"]


def test_cached_dictionaries_are_not_modified():
    traffic = _traffic()
    m = ModeS("rx", reference=REF)
    m.frames([f for _, f in traffic], [t for t, _ in traffic])
    cached = {**m._cache_old, **m._cache}
    assert cached
    for f, msg in cached.items():
        assert msg == rs1090.decode(f)
    snapshot = copy.deepcopy(cached)
    m.frames([f for _, f in traffic], [t + 100 for t, _ in traffic])
    for f, msg in snapshot.items():
        assert (m._cache.get(f) or m._cache_old.get(f) or msg) == msg


def test_cache_is_bounded():
    m = ModeS("rx", reference=REF)
    m.cache_size = 16
    frames = [encode_velocity(f"b{k:05x}", 200 + k % 50, k % 360) for k in range(500)]
    for k in range(0, 500, 10):
        m.frames(frames[k:k + 10], [T0 + k] * 10)
        assert len(m._cache) <= 16 + 10 and len(m._cache_old) <= 16 + 10
    # the most recent frames are still served from the cache
    hits = m.cache_hits
    m.frames(frames[-5:], [T0 + 600] * 5)
    assert m.cache_hits == hits + 5


def test_airborne_positions_are_never_cached():
    m = ModeS("rx", reference=REF)
    f = encode_airborne_position("a1b2c3", 31.4, -110.8, 20000, odd=False)
    m.frames([f, f], [T0, T0 + 1])  # one batch: decoded once
    m.frame(f, T0 + 2)
    assert f not in m._cache and f not in m._cache_old and m.decoded == 2 and m.cache_hits == 1


@pytest.mark.parametrize("fmt,name", [("raw", "flights.raw.csv"), ("avr", "flights.avr")])
def test_cache_on_the_test_captures(adsb_data, monkeypatch, fmt, name):
    lines = [ln for ln in (adsb_data / name).read_bytes().split(b"\n") if ln]
    cached = decoder_class(fmt)(reference=REF)
    obs_c = [o for k in range(0, len(lines), 64) for o in cached.decode_batch(lines[k:k + 64])]
    _no_cache(monkeypatch)
    plain = decoder_class(fmt)(reference=REF)
    obs_p = [o for k in range(0, len(lines), 64) for o in plain.decode_batch(lines[k:k + 64])]
    t_c = getattr(getattr(cached, "clock", None), "_t0", 0.0) or 0.0
    t_p = getattr(getattr(plain, "clock", None), "_t0", 0.0) or 0.0
    assert len(obs_c) > 20
    assert [(r[0] - t_c,) + r[1:] for r in _rows(obs_c)] == [(r[0] - t_p,) + r[1:] for r in _rows(obs_p)]
    assert cached.modes.cache_hits > 0
    for key in ("accepted", "messages", "rejected", "skipped"):
        assert cached.stats.as_dict()[key] == plain.stats.as_dict()[key]


def test_within_m_equals_the_haversine_comparison():
    rng = random.Random(11)
    for _ in range(50_000):
        lat1, lon1 = rng.uniform(-89.9, 89.9), rng.uniform(-180, 180)
        s = rng.choice([1e-4, 0.01, 0.5, 3.0, 6.0, 9.0])
        lat2, lon2 = max(-90.0, min(90.0, lat1 + rng.uniform(-s, s))), lon1 + rng.uniform(-s, s)
        d = approx_distance_m(lat1, lon1, lat2, lon2)
        for lim in (d * rng.uniform(0.5, 2.0), d * (1 + rng.uniform(-3e-3, 3e-3)), d, 300_000.0, 600.0):
            assert within_m(lat1, lon1, lat2, lon2, lim) == (d <= lim), (lat1, lon1, lat2, lon2, lim)
    # across the antimeridian and near the poles the haversine decides
    assert within_m(10.0, 179.9, 10.0, -179.9, 30_000.0)
    assert within_m(89.0, 0.0, 89.0, 180.0, 250_000.0)
