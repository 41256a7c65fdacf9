"""Camera model: pixels -> bearing/elevation in the local ENU frame -> ground positions.

Pinhole intrinsics (focal lengths and principal point in pixels, optional radial/tangential
distortion through OpenCV) and a pose (site position and yaw/pitch/roll) either fixed (a mast)
or per frame from platform telemetry (:class:`PoseTrack`).

Camera axes follow OpenCV: x right, y down, z along the optical axis. Pose angles: ``yaw_deg``
is the optical axis azimuth, clockwise from true north; ``pitch_deg`` is its elevation above the
horizontal (negative looking down); ``roll_deg`` rotates the image clockwise about the axis.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lookout.geo import LocalFrame
from lookout.model import GeoPoint, Observation, PolarMeasurement, SourceKind


@dataclass(frozen=True)
class CameraIntrinsics:
    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    dist: tuple[float, ...] = ()  # OpenCV distortion coefficients (k1, k2, p1, p2[, k3])

    @classmethod
    def from_fov(cls, width: int, height: int, hfov_deg: float) -> CameraIntrinsics:
        """Square pixels, principal point at the centre, horizontal field of view ``hfov_deg``."""
        f = (width / 2) / math.tan(math.radians(hfov_deg) / 2)
        return cls(width, height, f, f, (width - 1) / 2, (height - 1) / 2)

    @property
    def ifov_deg(self) -> float:
        """Angular size of one pixel at the centre (instantaneous field of view)."""
        return math.degrees(1.0 / self.fx)

    def normalise(self, u, v) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates -> normalised image coordinates (undistorted when ``dist`` set)."""
        u, v = np.asarray(u, float), np.asarray(v, float)
        if self.dist and any(self.dist):
            import cv2

            k = np.array([[self.fx, 0, self.cx], [0, self.fy, self.cy], [0, 0, 1]], float)
            pts = np.stack([u.ravel(), v.ravel()], axis=1).reshape(-1, 1, 2)
            und = cv2.undistortPoints(pts, k, np.asarray(self.dist, float)).reshape(-1, 2)
            return und[:, 0].reshape(u.shape), und[:, 1].reshape(v.shape)
        return (u - self.cx) / self.fx, (v - self.cy) / self.fy


@dataclass(frozen=True)
class CameraPose:
    site: GeoPoint
    yaw_deg: float
    pitch_deg: float = 0.0
    roll_deg: float = 0.0

    def rotation(self) -> np.ndarray:
        """Matrix taking camera-frame vectors (x right, y down, z forward) to ENU."""
        yaw, pitch, roll = (math.radians(a) for a in (self.yaw_deg, self.pitch_deg, self.roll_deg))
        # forward, right and down unit vectors of the un-rolled camera in ENU
        fwd = np.array([math.sin(yaw) * math.cos(pitch), math.cos(yaw) * math.cos(pitch), math.sin(pitch)])
        right = np.array([math.cos(yaw), -math.sin(yaw), 0.0])
        down = np.cross(fwd, right)  # completes a right-handed (right, down, forward) basis
        # roll about the optical axis
        cr, sr = math.cos(roll), math.sin(roll)
        right_r = cr * right + sr * down
        down_r = -sr * right + cr * down
        return np.stack([right_r, down_r, fwd], axis=1)


@dataclass
class PoseTrack:
    """Per-frame platform pose from telemetry (``time, lat, lon, alt_m, yaw_deg, pitch_deg, roll_deg``)."""

    times: np.ndarray
    values: np.ndarray  # (N, 6): lat, lon, alt, yaw, pitch, roll
    _cols: tuple[str, ...] = field(default=("lat", "lon", "alt_m", "yaw_deg", "pitch_deg", "roll_deg"), repr=False)

    @classmethod
    def from_csv(cls, path: str | Path) -> PoseTrack:
        rows = []
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            need = {"time", "lat", "lon", "alt_m", "yaw_deg", "pitch_deg", "roll_deg"}
            missing = need - set(reader.fieldnames or [])
            if missing:
                raise ValueError(f"{path}: telemetry CSV lacks columns {sorted(missing)}")
            for i, r in enumerate(reader, start=2):
                try:
                    rows.append([float(r[c])
                                 for c in ("time", "lat", "lon", "alt_m", "yaw_deg", "pitch_deg", "roll_deg")])
                except ValueError as exc:
                    raise ValueError(f"{path}: line {i}: {exc}") from None
        if not rows:
            raise ValueError(f"{path}: telemetry CSV has no rows")
        a = np.asarray(rows)
        order = np.argsort(a[:, 0])
        return cls(a[order, 0], a[order, 1:])

    def at(self, t: float) -> CameraPose:
        v = [np.interp(t, self.times, self.values[:, i]) for i in range(6)]
        # yaw interpolated on the circle
        yaw = math.degrees(math.atan2(np.interp(t, self.times, np.sin(np.radians(self.values[:, 3]))),
                                      np.interp(t, self.times, np.cos(np.radians(self.values[:, 3])))))
        return CameraPose(GeoPoint(float(v[0]), float(v[1]), float(v[2])), yaw % 360.0, float(v[4]), float(v[5]))


@dataclass
class CameraModel:
    """Intrinsics plus a fixed pose or a pose track."""

    intrinsics: CameraIntrinsics
    pose: CameraPose | None = None
    pose_track: PoseTrack | None = None

    def pose_at(self, t: float | None) -> CameraPose:
        if self.pose_track is not None and t is not None:
            return self.pose_track.at(t)
        if self.pose is None:
            raise ValueError("camera has no pose (give a fixed pose or a telemetry pose track)")
        return self.pose

    def pixel_to_enu_dir(self, u, v, t: float | None = None) -> np.ndarray:
        """Unit direction vectors (..., 3) in the ENU frame at the camera site."""
        x, y = self.intrinsics.normalise(u, v)
        ray = np.stack([x, y, np.ones_like(x)], axis=-1)
        d = ray @ self.pose_at(t).rotation().T
        return d / np.linalg.norm(d, axis=-1, keepdims=True)

    def pixel_to_bearing(self, u, v, t: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Pixel -> (azimuth deg clockwise from north, elevation deg)."""
        d = self.pixel_to_enu_dir(u, v, t)
        az = np.degrees(np.arctan2(d[..., 0], d[..., 1])) % 360.0
        el = np.degrees(np.arctan2(d[..., 2], np.hypot(d[..., 0], d[..., 1])))
        return az, el

    def bearing_to_pixel(self, az_deg, el_deg, t: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Inverse of :meth:`pixel_to_bearing` (no distortion); points behind the camera get NaN."""
        az, el = np.radians(np.asarray(az_deg, float)), np.radians(np.asarray(el_deg, float))
        d = np.stack([np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)], axis=-1)
        c = d @ self.pose_at(t).rotation()  # ENU -> camera (rotation is orthonormal)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(c[..., 2] > 1e-9, c[..., 2], np.nan)
            k = self.intrinsics
            return k.cx + k.fx * c[..., 0] / z, k.cy + k.fy * c[..., 1] / z

    def pixel_to_ground(self, u, v, t: float | None = None, ground_alt_m: float | None = None,
                        dem=None) -> np.ndarray:
        """Intersect pixel rays with the ground: flat at ``ground_alt_m`` (m HAE), or a DEM.

        ``dem`` is a callable ``(lat, lon) -> ground alt (m HAE)``; the ray is marched and refined by
        bisection. Returns (..., 3) lat, lon, alt; rays that never reach the ground get NaN.
        """
        pose = self.pose_at(t)
        frame = LocalFrame(pose.site.lat, pose.site.lon, pose.site.alt_m or 0.0)
        d = self.pixel_to_enu_dir(u, v, t)
        if dem is None:
            if ground_alt_m is None:
                raise ValueError("give ground_alt_m (flat terrain) or a dem")
            h = (pose.site.alt_m or 0.0) - ground_alt_m
            with np.errstate(divide="ignore", invalid="ignore"):
                s = np.where(d[..., 2] < -1e-9, h / -d[..., 2], np.nan)
        else:
            s = self._march_dem(frame, d, dem)
        p = d * s[..., None]
        lat, lon, alt = frame.to_geodetic(p[..., 0], p[..., 1], p[..., 2])
        return np.stack([np.asarray(lat), np.asarray(lon), np.asarray(alt)], axis=-1)

    @staticmethod
    def _march_dem(frame: LocalFrame, d: np.ndarray, dem, max_range: float = 30_000.0,
                   step: float = 25.0) -> np.ndarray:
        flat = d.reshape(-1, 3)
        out = np.full(len(flat), np.nan)
        ranges = np.arange(step, max_range + step, step)
        for i, di in enumerate(flat):
            pts = ranges[:, None] * di[None, :]
            lat, lon, alt = frame.to_geodetic(pts[:, 0], pts[:, 1], pts[:, 2])
            below = alt - np.asarray([dem(a, b) for a, b in zip(lat, lon)]) <= 0
            if not below.any():
                continue
            j = int(np.argmax(below))
            lo, hi = (ranges[j - 1] if j else 0.0), ranges[j]
            for _ in range(30):
                mid = 0.5 * (lo + hi)
                la, lo_, al = frame.to_geodetic(*(mid * di))
                if al - dem(la, lo_) <= 0:
                    hi = mid
                else:
                    lo = mid
            out[i] = 0.5 * (lo + hi)
        return out.reshape(d.shape[:-1])

    def observation(self, t: float, u: float, v: float, sensor: str, confidence: float | None = None,
                    cls=None, label: str = "US-ONLY", attrs: dict | None = None,
                    sigma_px: float = 0.7) -> Observation:
        """A bearing/elevation camera Observation for the pixel (u, v) at time ``t``."""
        az, el = self.pixel_to_bearing(u, v, t)
        pose = self.pose_at(t)
        sig = max(sigma_px * self.intrinsics.ifov_deg, 1e-4)
        return Observation(
            time=t, source=SourceKind.CAMERA, sensor=sensor,
            measurement=PolarMeasurement(site=pose.site, azimuth_deg=float(az), elevation_deg=float(el),
                                         sigma_az_deg=sig, sigma_el_deg=sig),
            cls=cls, cls_confidence=confidence, label=label, attrs=attrs or {},
        )
