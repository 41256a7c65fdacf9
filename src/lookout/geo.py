"""Geodesy in one place: WGS-84 <-> local ENU, sensor polar <-> ENU, geodesic distance.

Every other module converts through here. Functions take scalars or numpy arrays and return
the same shape (vectorised through pyproj and numpy).

The local frame is the standard East-North-Up tangent plane at an origin on the WGS-84
ellipsoid; conversions go through Earth-centred Earth-fixed (ECEF) coordinates, so they are
exact (sub-millimetre) at any distance, not a flat-earth approximation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from pyproj import Geod, Transformer

GEOD = Geod(ellps="WGS84")
_LLA_TO_ECEF = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
_ECEF_TO_LLA = Transformer.from_crs("EPSG:4978", "EPSG:4979", always_xy=True)


def _arr(x):
    return np.asarray(x, dtype=float)


def _out(x, like):
    return x if np.ndim(like) else float(x)


@dataclass(frozen=True)
class LocalFrame:
    """A local East-North-Up frame with its origin at ``lat0, lon0, alt0`` (WGS-84, HAE)."""

    lat0: float
    lon0: float
    alt0: float = 0.0

    @cached_property
    def _origin_ecef(self) -> np.ndarray:
        return np.array(_LLA_TO_ECEF.transform(self.lon0, self.lat0, self.alt0))

    @cached_property
    def _rot(self) -> np.ndarray:
        """Rotation matrix from ECEF deltas to ENU (rows: east, north, up)."""
        lat, lon = np.radians(self.lat0), np.radians(self.lon0)
        sl, cl, sp, cp = np.sin(lon), np.cos(lon), np.sin(lat), np.cos(lat)
        return np.array([[-sl, cl, 0.0], [-sp * cl, -sp * sl, cp], [cp * cl, cp * sl, sp]])

    def to_enu(self, lat, lon, alt=None):
        """WGS-84 (degrees, metres HAE) -> (east, north, up) metres in this frame."""
        lat_a, lon_a = _arr(lat), _arr(lon)
        alt_a = np.zeros_like(lat_a) if alt is None else np.broadcast_to(_arr(alt), lat_a.shape)
        x, y, z = _LLA_TO_ECEF.transform(lon_a, lat_a, alt_a)
        d = np.stack([np.asarray(x) - self._origin_ecef[0], np.asarray(y) - self._origin_ecef[1],
                      np.asarray(z) - self._origin_ecef[2]])
        e, n, u = np.tensordot(self._rot, d, axes=1)
        return _out(e, lat), _out(n, lat), _out(u, lat)

    def to_geodetic(self, east, north, up=None):
        """(east, north, up) metres in this frame -> WGS-84 (lat, lon degrees, alt metres HAE)."""
        e_a, n_a = _arr(east), _arr(north)
        u_a = np.zeros_like(e_a) if up is None else np.broadcast_to(_arr(up), e_a.shape)
        enu = np.stack([e_a, n_a, u_a])
        d = np.tensordot(self._rot.T, enu, axes=1)
        lon, lat, alt = _ECEF_TO_LLA.transform(d[0] + self._origin_ecef[0], d[1] + self._origin_ecef[1],
                                                d[2] + self._origin_ecef[2])
        return _out(np.asarray(lat), east), _out(np.asarray(lon), east), _out(np.asarray(alt), east)

    def rotation_to(self, other: LocalFrame) -> np.ndarray:
        """Rotation taking ENU vectors of this frame into ``other`` (velocities, covariances)."""
        return other._rot @ self._rot.T


def enu_to_polar(east, north, up):
    """ENU offsets -> (range m, azimuth deg clockwise from north, elevation deg)."""
    e, n, u = _arr(east), _arr(north), _arr(up)
    horiz = np.hypot(e, n)
    rng = np.hypot(horiz, u)
    az = np.degrees(np.arctan2(e, n)) % 360.0
    el = np.degrees(np.arctan2(u, horiz))
    return _out(rng, east), _out(az, east), _out(el, east)


def polar_to_enu(range_m, azimuth_deg, elevation_deg):
    """(range, azimuth, elevation) -> ENU offsets from the sensor (straight-line propagation)."""
    r, az, el = _arr(range_m), np.radians(_arr(azimuth_deg)), np.radians(_arr(elevation_deg))
    ce = np.cos(el)
    e, n, u = r * ce * np.sin(az), r * ce * np.cos(az), r * np.sin(el)
    return _out(e, range_m), _out(n, range_m), _out(u, range_m)


def distance_m(lat1, lon1, lat2, lon2):
    """Geodesic distance on the WGS-84 ellipsoid, metres."""
    _, _, d = GEOD.inv(lon1, lat1, lon2, lat2)
    return d


_R_MEAN_M = 6_371_008.8


def approx_distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine, mean Earth radius) distance in metres, scalars only.

    Within 0.6 % of the WGS-84 geodesic and many times cheaper: for plausibility checks
    on hot paths (receiver range, implied speed), never for measurement.
    """
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) * 0.5) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) * 0.5) ** 2
    return 2.0 * _R_MEAN_M * math.asin(min(1.0, math.sqrt(a)))


_M_PER_DEG = _R_MEAN_M * math.pi / 180.0
_HALF_RAD = math.pi / 360.0


def within_m(lat1: float, lon1: float, lat2: float, lon2: float, limit_m: float) -> bool:
    """``approx_distance_m(lat1, lon1, lat2, lon2) <= limit_m``, decided cheaply when it can be.

    Within 6 degrees of each other and 80 degrees of the equator, an equirectangular estimate
    (cosine of the mean latitude) is never below the haversine and at most 0.2 % above it: it
    decides the clear cases (inside by more than 0.1 %, outside by more than 2 %) with one
    cosine and no square root; the haversine decides the rest. Scalars only, for hot paths."""
    dlat = lat2 - lat1
    dlon = lon2 - lon1
    if -6.0 <= dlat <= 6.0 and -6.0 <= dlon <= 6.0 and -80.0 <= lat1 <= 80.0 and -80.0 <= lat2 <= 80.0:
        x = dlon * math.cos((lat1 + lat2) * _HALF_RAD)
        d2 = (dlat * dlat + x * x) * (_M_PER_DEG * _M_PER_DEG)
        lim2 = limit_m * limit_m
        if d2 <= lim2 * 0.998:  # 0.999 ** 2 rounded down
            return True
        if d2 > lim2 * 1.0405:  # 1.02 ** 2 rounded up
            return False
    return approx_distance_m(lat1, lon1, lat2, lon2) <= limit_m


def bearing_deg(lat1, lon1, lat2, lon2):
    """Initial geodesic azimuth from point 1 to point 2, degrees clockwise from north."""
    az, _, _ = GEOD.inv(lon1, lat1, lon2, lat2)
    return np.mod(az, 360.0) if np.ndim(az) else float(az % 360.0)


def destination(lat, lon, azimuth_deg, distance):
    """The point reached going ``distance`` metres along the geodesic with initial ``azimuth_deg``."""
    lon2, lat2, _ = GEOD.fwd(lon, lat, azimuth_deg, distance)
    return lat2, lon2
