"""EO/IR to tracker: camera bearings from detected thermal frames plus radar plots give one track."""

import numpy as np

from lookout.geo import LocalFrame, enu_to_polar
from lookout.model import GeoPoint, Observation, PolarMeasurement, SourceKind
from lookout.sim.thermal import render_world
from lookout.sources.eoir import CameraIntrinsics, CameraModel, CameraPose, DetectorConfig, ThermalDetector
from lookout.sources.eoir.pipeline import CameraConfig, detections_to_observations
from lookout.tracking import Tracker, TrackerConfig

ORIGIN = (31.33, -110.95, 1200.0)
T0 = 1793628000.0


def test_camera_bearings_and_radar_plots_fuse_into_one_track():
    frame = LocalFrame(*ORIGIN)
    rng = np.random.default_rng(4)
    radar_site = GeoPoint(*frame.to_geodetic(0.0, 3000.0, 140.0))
    cam_site = GeoPoint(*frame.to_geodetic(1500.0, 0.0, 15.0))
    # a drone flying north-west at 12 m/s, 80 m above ground, seen by both for 60 s
    def drone(t):
        return np.array([2500.0 - 8.5 * t, -1500.0 + 8.5 * t, 80.0])

    cam_e, cam_n, cam_u = frame.to_enu(cam_site.lat, cam_site.lon, cam_site.alt_m)
    r0 = drone(30.0) - np.array([cam_e, cam_n, cam_u])
    _, yaw, pitch = enu_to_polar(*r0)
    camera = CameraConfig("eoir-1", CameraModel(CameraIntrinsics.from_fov(640, 512, 20.0),
                                                CameraPose(cam_site, yaw, pitch)), label="US-ONLY")
    rad_e, rad_n, rad_u = frame.to_enu(radar_site.lat, radar_site.lon, radar_site.alt_m)
    detector = ThermalDetector(DetectorConfig(background="none"))
    tracker = Tracker(TrackerConfig(), frame=frame)
    confirmed = {}
    for k in range(60):
        t = T0 + k
        obs = []
        p = drone(float(k))
        # radar plot every 2 s
        if k % 2 == 0:
            rr, az, el = enu_to_polar(*(p - [rad_e, rad_n, rad_u]))
            obs.append(Observation(time=t, source=SourceKind.RADAR, sensor="radar-1", label="US-ONLY",
                                   measurement=PolarMeasurement(
                                       site=radar_site, range_m=rr + rng.normal(0, 10), sigma_range_m=10.0,
                                       azimuth_deg=az + rng.normal(0, 0.3), sigma_az_deg=0.3,
                                       elevation_deg=el + rng.normal(0, 0.5), sigma_el_deg=0.5)))
        # a thermal frame every second: render the drone where the camera sees it, detect, convert
        _, az_c, el_c = enu_to_polar(*(p - [cam_e, cam_n, cam_u]))
        seq = render_world(camera.model, {"drone": (az_c, el_c)}, {"drone": (5, 5)}, contrast_sigma=6.0, seed=k)
        dets = detector.detect(seq.frames[0], k)
        obs += detections_to_observations(dets, t + 0.5, camera)
        upd = tracker.update(t + 1.0, sorted(obs, key=lambda o: o.time))
        for tr in upd.updated:
            confirmed[tr.id] = tr
    assert len(confirmed) == 1, {tid: tr.sources for tid, tr in confirmed.items()}
    (track,) = confirmed.values()
    assert set(track.sources) >= {"radar", "camera"}
    e, n, u = frame.to_enu(track.position.lat, track.position.lon, track.position.alt_m or 0.0)
    assert np.hypot(e - drone(60.0)[0], n - drone(60.0)[1]) < 60.0
    assert abs(track.velocity.speed - 12.0) < 3.0
