"""Output stage of the multi-sensor tracker: track states as :class:`~lookout.model.Track` records.

Positions are converted to WGS-84 for all requested tracks at once; ``alt_m`` is None while no
sensor measured height. The class comes from the observations' class votes (Remote ID ->
``uas``; ADS-B -> an aircraft class), else from speed.
"""

from __future__ import annotations

import numpy as np

from lookout.geo import LocalFrame
from lookout.model import AIR_CLASSES, GeoPoint, ObjectClass, Track, TrackStatus, Velocity, most_restrictive
from lookout.tracking.config import TrackerConfig
from lookout.tracking.state import TrackMeta, TrackStates


class TrackOutput:
    """Builds the :class:`~lookout.model.Track` records of the tracks in ``states``."""

    def __init__(self, cfg: TrackerConfig, frame: LocalFrame, states: TrackStates) -> None:
        self.cfg = cfg
        self.frame = frame
        self.states = states

    def classify(self, m: TrackMeta, speed: float) -> ObjectClass:
        if m.cls_votes:
            cls, _ = max(m.cls_votes.items(), key=lambda kv: (kv[1], str(kv[0])))
            if "adsb" in m.sources and cls not in AIR_CLASSES:
                return ObjectClass.FIXED_WING
            return cls
        if speed > self.cfg.fixed_wing_speed_mps:
            return ObjectClass.FIXED_WING
        return ObjectClass.UNKNOWN

    def tracks(self, idx: list[int], status: TrackStatus | None = None) -> list[Track]:
        """:class:`~lookout.model.Track` records of the tracks ``idx`` (WGS-84; status from their
        confirmation unless given)."""
        if not idx:
            return []
        st = self.states
        ix = np.array(idx)
        xc, Pc = st.combined(ix)
        lat, lon, alt = self.frame.to_geodetic(xc[:, 0], xc[:, 1], xc[:, 2])
        # every numeric field at once, as Python floats
        lat_l = np.atleast_1d(lat).tolist()
        lon_l = np.atleast_1d(lon).tolist()
        alt_l = np.clip(np.atleast_1d(alt), -999.0, 99_999.0).tolist()
        v = np.clip(xc[:, 3:6], -1999.0, 1999.0)
        ve_l, vn_l, vu_l = v[:, 0].tolist(), v[:, 1].tolist(), v[:, 2].tolist()
        speed_l = np.hypot(v[:, 0], v[:, 1]).tolist()
        has_alt_l = (np.sqrt(np.maximum(Pc[:, 2, 2], 0.0)) < 0.5 * self.cfg.init_alt_sigma).tolist()
        sig_h_l = np.sqrt(np.maximum(0.5 * (Pc[:, 0, 0] + Pc[:, 1, 1]), 0.0)).tolist()
        t_l = st.t[ix].tolist()
        out = []
        for i, k in enumerate(idx):
            m = st.meta[k]
            out.append(Track(
                id=m.id, time=t_l[i],
                position=GeoPoint(lat_l[i], lon_l[i], alt_l[i] if has_alt_l[i] else None),
                velocity=Velocity(ve_l[i], vn_l[i], vu_l[i]),
                sigma_h_m=sig_h_l[i],
                status=status or (TrackStatus.CONFIRMED if m.confirmed else TrackStatus.TENTATIVE),
                cls=self.classify(m, speed_l[i]), identities=dict(m.identities), sources=sorted(m.sources),
                sensors=sorted(m.sensors), label=most_restrictive(m.labels), first_time=m.first_time,
                updates=m.updates, operator=m.operator,
                attrs={a: dict(v) if isinstance(v, dict) else v for a, v in m.attrs.items()},
            ))
        return out
