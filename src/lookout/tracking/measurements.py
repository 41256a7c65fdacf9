"""Measurement stage of the multi-sensor tracker: observations converted for the filter.

Every observation of a step becomes a :class:`Meas`: its measurement vector and covariance in
the model's space (position models in the tracker's ENU frame; radar and camera polar models
in the sensor's own frame), a model signature ``key`` grouping measurements one update can take
together, and, where a range is known, a point estimate in the tracker's frame for gating and
track births. Conversions are done for the whole step at once (one geodetic to ENU call for
every position, one vectorised polar conversion for every radar plot).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lookout.geo import LocalFrame
from lookout.model import GeoPoint, Observation
from lookout.tracking.config import TrackerConfig
from lookout.tracking.filters import MeasurementModel, PolarModel, PositionModel, polar_to_local_many
from lookout.tracking.state import D

_NO_EL_SIGMA = math.radians(10.0)  # elevation sigma of a radar plot without elevation


@dataclass
class Meas:
    """One observation prepared for the filter."""

    obs: Observation
    key: tuple  # measurement model signature
    z: np.ndarray
    R: np.ndarray
    point: np.ndarray | None  # ENU position estimate (3,), None for bearings
    point_cov: np.ndarray | None
    site: np.ndarray | None = None
    rot: np.ndarray | None = None



def measurement_model(key: tuple, meas: list[Meas]) -> MeasurementModel:
    """The measurement model of signature ``key`` for the measurements ``meas`` (one per pair)."""
    if key[0] == "pos":
        return PositionModel(key[1], D)
    return PolarModel(key[1], np.array([m.site for m in meas]), np.array([m.rot for m in meas]))


class MeasurementPreparer:
    """Converts observations to :class:`Meas` in the frame ``frame`` (sensor sites cached)."""

    def __init__(self, cfg: TrackerConfig, frame: LocalFrame) -> None:
        self.cfg = cfg
        self.frame = frame
        self._sites: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    def site(self, site: GeoPoint) -> tuple[np.ndarray, np.ndarray]:
        key = (site.lat, site.lon, site.alt_m or 0.0)
        if key not in self._sites:
            e, n, u = self.frame.to_enu(site.lat, site.lon, key[2])
            rot = self.frame.rotation_to(LocalFrame(*key))
            self._sites[key] = (np.array([e, n, u]), rot)
        return self._sites[key]

    def prepare(self, obs: list[Observation]) -> list[Meas]:
        """Measurements of ``obs`` (any sensors and times), converted together: one geodetic to
        ENU conversion for every position, one vectorised polar conversion for every radar plot."""
        cfg = self.cfg
        frame = self.frame
        pos_i = [i for i, o in enumerate(obs) if o.position is not None]
        enu = None
        if pos_i:
            ps = [obs[i].position for i in pos_i]
            lat = np.array([p.lat for p in ps])
            lon = np.array([p.lon for p in ps])
            alt = np.array([p.alt_m if p.alt_m is not None else frame.alt0 for p in ps])
            enu = np.column_stack(frame.to_enu(lat, lon, alt)).tolist()
        rng_i = [i for i, o in enumerate(obs) if o.position is None and o.measurement.range_m is not None]
        pts: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        if rng_i:
            ms = [obs[i].measurement for i in rng_i]
            sites = [self.site(m.site) for m in ms]
            el = [m.elevation_deg for m in ms]
            sel = [(m.sigma_el_deg if m.sigma_el_deg else m.sigma_az_deg) if m.elevation_deg is not None else None
                   for m in ms]
            p_site, c_site = polar_to_local_many(
                np.array([m.range_m for m in ms]), np.radians([m.azimuth_deg for m in ms]),
                np.array([math.radians(e) if e is not None else 0.0 for e in el]),
                np.array([m.sigma_range_m for m in ms]), np.radians([m.sigma_az_deg for m in ms]),
                np.array([math.radians(v) if v is not None else _NO_EL_SIGMA for v in sel]))
            site = np.array([st[0] for st in sites])
            rot = np.array([st[1] for st in sites])
            point = site + np.einsum("nji,nj->ni", rot, p_site)
            pcov = np.swapaxes(rot, 1, 2) @ c_site @ rot
            for j, i in enumerate(rng_i):
                pts[i] = (point[j], pcov[j])
        # position measurements: values per observation in lists, matrices built for all at once
        use_vel = cfg.use_reported_velocity
        pos_rows = []  # (idx, z, var, point variances)
        for i in pos_i:
            o = obs[i]
            p = o.position
            e = enu[len(pos_rows)]
            has_alt = p.alt_m is not None
            sv = p.sigma_v_m if p.sigma_v_m else 1.5 * p.sigma_h_m
            sh2 = p.sigma_h_m ** 2
            if has_alt:
                idx, z, var = (0, 1, 2), e[:], [sh2, sh2, sv ** 2]
            else:
                idx, z, var = (0, 1), e[:2], [sh2, sh2]
            if o.velocity is not None and use_vel:
                v = o.velocity
                if has_alt:
                    idx += (3, 4, 5)
                    z += [v.east, v.north, v.up]
                else:
                    idx += (3, 4)
                    z += [v.east, v.north]
                var += [cfg.velocity_sigma ** 2] * (len(idx) - len(var))
            pos_rows.append((idx, z, var + [0.0] * (6 - len(var)),
                             [sh2, sh2, sv ** 2 if has_alt else cfg.init_alt_sigma ** 2]))
        if pos_rows:
            R_all = np.array([r[2] for r in pos_rows])[:, :, None] * np.eye(6)  # diagonal, padded
            pc_all = np.array([r[3] for r in pos_rows])[:, :, None] * np.eye(3)
            pt_all = np.array(enu)
        out, k = [], 0
        for i, o in enumerate(obs):
            if o.position is not None:
                idx, z, _, _ = pos_rows[k]
                L = len(idx)
                out.append(Meas(o, ("pos", idx), np.array(z), R_all[k, :L, :L], pt_all[k], pc_all[k]))
                k += 1
            else:
                m = o.measurement
                site, rot = self.site(m.site)
                comps, z, sig = [], [], []
                if m.range_m is not None:
                    comps.append("range"), z.append(m.range_m), sig.append(m.sigma_range_m)
                comps.append("az"), z.append(math.radians(m.azimuth_deg)), sig.append(math.radians(m.sigma_az_deg))
                if m.elevation_deg is not None:
                    comps.append("el"), z.append(math.radians(m.elevation_deg))
                    sig.append(math.radians(m.sigma_el_deg if m.sigma_el_deg else m.sigma_az_deg))
                point, pc = pts.get(i, (None, None))
                sg = np.array(sig)
                out.append(Meas(o, ("polar", tuple(comps)), np.array(z), np.diag(sg * sg), point, pc,
                                 site, rot))
        return out
