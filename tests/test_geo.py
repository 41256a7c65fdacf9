import numpy as np
import pytest

from lookout.geo import LocalFrame, approx_distance_m, bearing_deg, destination, distance_m, enu_to_polar, polar_to_enu


@pytest.fixture
def frame():
    return LocalFrame(31.33, -110.95, 1200.0)


def test_origin_maps_to_zero(frame):
    e, n, u = frame.to_enu(31.33, -110.95, 1200.0)
    assert abs(e) < 1e-6 and abs(n) < 1e-6 and abs(u) < 1e-6


def test_enu_wgs84_round_trip_under_1mm_over_50km(frame):
    rng = np.random.default_rng(1)
    e = rng.uniform(-50_000, 50_000, 2000)
    n = rng.uniform(-50_000, 50_000, 2000)
    u = rng.uniform(-200, 12_000, 2000)
    lat, lon, alt = frame.to_geodetic(e, n, u)
    e2, n2, u2 = frame.to_enu(lat, lon, alt)
    err = np.sqrt((e - e2) ** 2 + (n - n2) ** 2 + (u - u2) ** 2)
    assert err.max() < 1e-3


def test_wgs84_enu_round_trip_scalar(frame):
    lat, lon, alt = frame.to_geodetic(35_000.0, -35_000.0, 500.0)
    e, n, u = frame.to_enu(lat, lon, alt)
    assert isinstance(e, float)
    assert (e, n, u) == pytest.approx((35_000.0, -35_000.0, 500.0), abs=1e-3)


def test_enu_distance_agrees_with_geodesic(frame):
    # 10 km due east on the tangent plane ~ 10 km geodesic (earth curvature drops ~8 m of height)
    sea_level = LocalFrame(31.33, -110.95, 0.0)
    lat, lon, _ = sea_level.to_geodetic(10_000.0, 0.0, 0.0)
    d = distance_m(31.33, -110.95, lat, lon)
    assert d == pytest.approx(10_000.0, abs=1.0)
    assert bearing_deg(31.33, -110.95, lat, lon) == pytest.approx(90.0, abs=0.1)


def test_destination_inverts_distance():
    lat, lon = destination(31.33, -110.95, 45.0, 25_000.0)
    assert distance_m(31.33, -110.95, lat, lon) == pytest.approx(25_000.0, abs=1e-3)
    assert bearing_deg(31.33, -110.95, lat, lon) == pytest.approx(45.0, abs=1e-6)


def test_polar_round_trip():
    rng = np.random.default_rng(2)
    e, n, u = rng.uniform(-2e4, 2e4, 100), rng.uniform(-2e4, 2e4, 100), rng.uniform(0, 3e3, 100)
    r, az, el = enu_to_polar(e, n, u)
    assert np.all((az >= 0) & (az < 360))
    e2, n2, u2 = polar_to_enu(r, az, el)
    assert np.allclose([e, n, u], [e2, n2, u2], atol=1e-6)


def test_azimuth_convention_clockwise_from_north():
    assert enu_to_polar(0.0, 1.0, 0.0)[1] == pytest.approx(0.0)
    assert enu_to_polar(1.0, 0.0, 0.0)[1] == pytest.approx(90.0)
    assert enu_to_polar(0.0, -1.0, 0.0)[1] == pytest.approx(180.0)
    assert enu_to_polar(-1.0, 0.0, 0.0)[1] == pytest.approx(270.0)


def test_approx_distance_within_0_6_percent_of_the_geodesic():
    rng = np.random.default_rng(3)
    for _ in range(300):
        lat1, lon1 = rng.uniform(-70, 70), rng.uniform(-180, 180)
        lat2, lon2 = destination(lat1, lon1, rng.uniform(0, 360), rng.uniform(1.0, 400_000.0))
        d = distance_m(lat1, lon1, lat2, lon2)
        assert approx_distance_m(lat1, lon1, lat2, lon2) == pytest.approx(d, rel=6e-3)
