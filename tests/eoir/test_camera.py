"""Camera model: pixels <-> bearing/elevation, ground intersection, and bearings from detections."""

import math

import numpy as np
import pytest

from lookout.geo import LocalFrame, distance_m
from lookout.model import GeoPoint, SourceKind
from lookout.sim.thermal import render_world
from lookout.sources.eoir import CameraIntrinsics, CameraModel, CameraPose, DetectorConfig, PoseTrack, ThermalDetector

SITE = GeoPoint(31.345, -110.95, 1250.0)


def mast(yaw=150.0, pitch=-2.0, roll=0.0):
    return CameraModel(CameraIntrinsics.from_fov(640, 512, 24.0), CameraPose(SITE, yaw, pitch, roll))


def test_principal_point_looks_along_the_pose():
    cam = mast()
    az, el = cam.pixel_to_bearing(cam.intrinsics.cx, cam.intrinsics.cy)
    assert float(az) == pytest.approx(150.0, abs=1e-9)
    assert float(el) == pytest.approx(-2.0, abs=1e-9)


def test_image_axes_right_is_clockwise_and_down_is_lower():
    cam = mast(pitch=0.0)
    az_r, _ = cam.pixel_to_bearing(cam.intrinsics.cx + 100, cam.intrinsics.cy)
    _, el_d = cam.pixel_to_bearing(cam.intrinsics.cx, cam.intrinsics.cy + 100)
    assert float(az_r) > 150.0
    assert float(el_d) < 0.0
    # the horizontal field of view spans 24 degrees
    az_l, _ = cam.pixel_to_bearing(-0.5, cam.intrinsics.cy)
    az_rr, _ = cam.pixel_to_bearing(639.5, cam.intrinsics.cy)
    assert float(az_rr - az_l) == pytest.approx(24.0, abs=1e-6)


@pytest.mark.parametrize("roll", [0.0, 7.0, -12.0])
def test_pixel_bearing_round_trip(roll):
    cam = mast(roll=roll)
    rng = np.random.default_rng(0)
    u, v = rng.uniform(0, 639, 200), rng.uniform(0, 511, 200)
    az, el = cam.pixel_to_bearing(u, v)
    u2, v2 = cam.bearing_to_pixel(az, el)
    assert np.allclose(u, u2, atol=1e-6) and np.allclose(v, v2, atol=1e-6)


def test_flat_ground_intersection_matches_geometry():
    cam = mast(pitch=-5.0)
    ground = 1200.0  # 50 m below the camera
    p = cam.pixel_to_ground(cam.intrinsics.cx, cam.intrinsics.cy, ground_alt_m=ground)
    d = distance_m(SITE.lat, SITE.lon, p[0], p[1])
    assert d == pytest.approx(50.0 / math.tan(math.radians(5.0)), rel=0.01)
    assert p[2] == pytest.approx(ground, abs=0.5)
    # a ray above the horizon never meets the ground
    up = cam.pixel_to_ground(cam.intrinsics.cx, 0.0, ground_alt_m=ground)
    assert np.isnan(up).all()


def test_dem_intersection_finds_a_hill():
    cam = mast(pitch=-2.0)
    frame = LocalFrame(SITE.lat, SITE.lon, 0.0)

    def dem(lat, lon):  # a ridge 800 m away along the view, rising to the camera's height
        e, n, _ = frame.to_enu(lat, lon, 0.0)
        along = e * math.sin(math.radians(150)) + n * math.cos(math.radians(150))
        return 1200.0 + (60.0 if along > 800 else 0.0)

    p = cam.pixel_to_ground(np.array([cam.intrinsics.cx]), np.array([cam.intrinsics.cy]), dem=dem)[0]
    flat = cam.pixel_to_ground(cam.intrinsics.cx, cam.intrinsics.cy, ground_alt_m=1200.0)
    d_hill = distance_m(SITE.lat, SITE.lon, p[0], p[1])
    d_flat = distance_m(SITE.lat, SITE.lon, flat[0], flat[1])
    assert 790 < d_hill < 830 and d_flat > 1300


def test_moving_platform_pose_from_telemetry(tmp_path):
    csv = tmp_path / "pose.csv"
    csv.write_text("time,lat,lon,alt_m,yaw_deg,pitch_deg,roll_deg\n"
                   "0,31.30,-110.90,1500,350,-10,0\n10,31.31,-110.90,1500,10,-10,0\n")
    cam = CameraModel(CameraIntrinsics.from_fov(640, 512, 30.0), pose_track=PoseTrack.from_csv(csv))
    az, _ = cam.pixel_to_bearing(cam.intrinsics.cx, cam.intrinsics.cy, t=5.0)
    assert float(az) == pytest.approx(0.0, abs=1e-6) or float(az) == pytest.approx(360.0, abs=1e-6)
    assert cam.pose_at(5.0).site.lat == pytest.approx(31.305)
    bad = tmp_path / "bad.csv"
    bad.write_text("time,lat,lon\n0,1,2\n")
    with pytest.raises(ValueError, match="lacks columns"):
        PoseTrack.from_csv(bad)


def test_bearings_from_detections_within_0_2_degrees_of_truth():
    cam = mast()
    truth = {"d1": (146.0, -1.0), "d2": (153.5, -3.2), "v1": (157.0, -4.5), "p1": (141.2, -0.4)}
    sizes = {"d1": (4, 4), "d2": (5, 5), "v1": (10, 6), "p1": (4, 8)}
    seq = render_world(cam, truth, sizes, contrast_sigma=5.0, seed=1)
    dets = ThermalDetector(DetectorConfig(background="none")).detect(seq.frames[0], 0)
    assert len(dets) >= 4
    for az_t, el_t in truth.values():
        obs = [cam.observation(0.0, d.x, d.y, sensor="eoir-1", confidence=d.confidence) for d in dets]
        best = min(obs, key=lambda o: abs(o.measurement.azimuth_deg - az_t) + abs(o.measurement.elevation_deg - el_t))
        assert abs(best.measurement.azimuth_deg - az_t) < 0.2
        assert abs(best.measurement.elevation_deg - el_t) < 0.2
        assert best.source is SourceKind.CAMERA and best.measurement.range_m is None
