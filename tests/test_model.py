import json
import math

import pytest

from lookout.model import (
    Alert,
    GeoPoint,
    GeoPosition,
    Observation,
    PolarMeasurement,
    SourceKind,
    Track,
    Velocity,
    Zone,
    most_restrictive,
)


def _adsb():
    return Observation(time=1.7e9, source="adsb", sensor="adsb-1", ident="a1b2c3",
                       position=GeoPosition(31.4, -110.9, 3000.0, sigma_h_m=15.0),
                       velocity=Velocity(100.0, 0.0), label="PUBLIC")


def test_observation_json_round_trip():
    o = _adsb()
    d = json.loads(json.dumps(o.to_dict()))
    o2 = Observation.from_dict(d)
    assert o2 == o
    assert o2.source is SourceKind.ADSB


def test_polar_observation_round_trip_and_flat():
    m = PolarMeasurement(site=GeoPoint(31.35, -110.95, 1250.0), azimuth_deg=370.0, elevation_deg=2.0,
                         range_m=5000.0, sigma_range_m=20.0, sigma_az_deg=0.5)
    assert m.azimuth_deg == pytest.approx(10.0)
    o = Observation(time=1.7e9, source=SourceKind.RADAR, sensor="radar-1", measurement=m, label="US-ONLY")
    assert Observation.from_dict(json.loads(json.dumps(o.to_dict()))) == o
    flat = o.flat()
    assert flat["range_m"] == 5000.0 and flat["source"] == "radar" and "lat" in flat and "site_lat" in flat


@pytest.mark.parametrize("kwargs, msg", [
    (dict(position=None), "exactly one"),
    (dict(time=math.nan), "time"),
    (dict(sensor=""), "sensor"),
    (dict(source="sonar"), "sonar"),
])
def test_observation_validation(kwargs, msg):
    base = dict(time=1.7e9, source="adsb", sensor="s", position=GeoPosition(31.0, -110.0))
    base.update(kwargs)
    with pytest.raises(ValueError, match=msg):
        Observation(**base)


def test_geoposition_rejects_bad_values():
    with pytest.raises(ValueError, match="lat"):
        GeoPosition(91.0, 0.0)
    with pytest.raises(ValueError, match="sigma_h_m"):
        GeoPosition(0.0, 0.0, sigma_h_m=0.0)
    with pytest.raises(ValueError, match="sigma_range_m"):
        PolarMeasurement(site=GeoPoint(0, 0), azimuth_deg=1.0, range_m=10.0)


def test_velocity_course_and_speed():
    v = Velocity(east=10.0, north=-10.0)
    assert v.speed == pytest.approx(math.sqrt(200))
    assert v.course_deg == pytest.approx(135.0)


def test_track_alert_zone_round_trip():
    t = Track(id="T1", time=1.7e9, position=GeoPoint(31.3, -110.9, 1300.0), velocity=Velocity(3, 4),
              identities={"remote_id": "1581F5FJD123"}, sources=["radar", "remote_id"], label="REL-MX")
    assert Track.from_dict(json.loads(json.dumps(t.to_dict()))) == t
    assert t.point().speed_mps == pytest.approx(5.0)
    a = Alert(rule="border_crossing", severity="high", message="x", start=1.7e9, track_ids=["T1"],
              position=GeoPoint(31.3, -110.9))
    assert Alert.from_dict(json.loads(json.dumps(a.to_dict()))) == a
    z = Zone(id="z", name="site", kind="no_drone", geometry={"type": "Point", "coordinates": [-110.9, 31.3]})
    assert Zone.from_dict(z.to_dict()) == z
    with pytest.raises(ValueError, match="geometry type"):
        Zone(id="z", name="x", kind="custom", geometry={"type": "Circle", "coordinates": []})


def test_most_restrictive_label():
    assert most_restrictive([]) == "PUBLIC"
    assert most_restrictive(["PUBLIC", "REL-MX"]) == "REL-MX"
    assert most_restrictive(["REL-MX", "US-ONLY", "PUBLIC"]) == "US-ONLY"


def test_flat_form_of_a_radar_plot_gives_its_position():
    from lookout.geo import distance_m

    site = GeoPoint(31.35, -110.95, 1300.0)
    m = PolarMeasurement(site=site, azimuth_deg=90.0, elevation_deg=0.0, range_m=5000.0, sigma_range_m=10.0)
    flat = Observation(time=1.7e9, source="radar", sensor="r", measurement=m).flat()
    assert distance_m(31.35, -110.95, flat["lat"], flat["lon"]) == pytest.approx(5000.0, rel=1e-3)
    assert flat["alt_m"] == pytest.approx(1300.0 + 2.0, abs=1.0)  # earth curvature over 5 km
    cam = PolarMeasurement(site=site, azimuth_deg=90.0, elevation_deg=1.0)
    assert "lat" not in Observation(time=1.7e9, source="camera", sensor="c", measurement=cam).flat()
