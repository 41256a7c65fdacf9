"""Lifecycle stage of the multi-sensor tracker: track births, per-update bookkeeping, M-of-N
confirmation clocked by sensor revisits, expiry and removal.

M-of-N confirmation is clocked by the revisits of the sensor that started a track (its period
learnt from the updates, so rotating radars whose plots each carry their own time work);
identity tracks confirm after ``ident_confirm_hits`` reports (:mod:`lookout.tracking.identity`);
tracks are deleted after ``max_coast_s`` without update, confirmed ones also when their position
sigma grows past ``max_sigma_m``. Deleted confirmed tracks are collected in ``deleted`` for the
step's report.
"""

from __future__ import annotations

import math

import numpy as np

from lookout.model import ObjectClass, Observation, SourceKind, Track, TrackStatus
from lookout.tracking.config import TrackerConfig
from lookout.tracking.filters import combine
from lookout.tracking.measurements import Meas
from lookout.tracking.output import TrackOutput
from lookout.tracking.state import D, TrackMeta, TrackStates
from lookout.tracking.stats import TrackerStats, format_track_id

NONCOOP_SOURCES = frozenset({SourceKind.RADAR, SourceKind.CAMERA, SourceKind.REPORT})


def m_of_n(hist: np.ndarray, age: np.ndarray, hit: np.ndarray, confirmed: np.ndarray,
           cfg: TrackerConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """M-of-N confirmation over arrays of tracks after one scan (``age`` already counts it):
    new hit bits (the last ``confirm_n`` scans), the tentative tracks confirmed now (hits in
    ``confirm_m`` of them), and the tentative tracks that can no longer make it."""
    hist = ((hist << 1) | hit) & np.int64((1 << cfg.confirm_n) - 1)
    hits = np.bitwise_count(hist)
    newly = ~confirmed & (hits >= cfg.confirm_m)
    drop = ~confirmed & ~newly & (hits + np.maximum(cfg.confirm_n - age, 0) < cfg.confirm_m)
    return hist, newly, drop


class Lifecycle:
    """Births, bookkeeping, confirmation and deletion of the tracks in ``states``."""

    def __init__(self, cfg: TrackerConfig, states: TrackStates, output: TrackOutput, stats: TrackerStats,
                 id_prefix: str = "") -> None:
        self.cfg = cfg
        self.states = states
        self.output = output
        self.stats = stats
        self.id_prefix = id_prefix
        self.next_number = 1  # of the next new track id
        self.batch_no = 0  # batches processed (one sensor at one time)
        self.period: dict[str, float] = {}  # revisit period of each sensor, learnt from updates
        self.deleted: list[Track] = []  # confirmed tracks deleted in the current step

    def hit(self, k: int, o: Observation, T: float) -> None:
        """Track ``k`` was updated with ``o`` at batch time ``T``."""
        st = self.states
        m = st.meta[k]
        m.flag = m.touched = True
        m.updates += 1
        m.last_update = max(m.last_update, T)
        self.revisit(m, o.sensor, T)
        if not m.confirmed and o.sensor != m.scan_sensor and o.source == SourceKind.RADAR:
            # a track started by a sparse source (an agent report) is clocked by the radar that follows it
            mine, theirs = self.period.get(m.scan_sensor), self.period.get(o.sensor)
            if mine is None or (theirs is not None and mine > 3.0 * theirs):
                m.scan_sensor, m.last_clock = o.sensor, T
        self.note(m, o)

    def note(self, m: TrackMeta, o: Observation) -> None:
        """What ``o`` tells about its track: sources and times, sensors, labels, class votes,
        callsign, Remote ID operator."""
        src = SourceKind(o.source)
        m.sources.add(str(src))
        st = m.attrs.setdefault("source_times", {})
        st[str(src)] = max(st.get(str(src), -math.inf), o.time)
        m.sensors.add(o.sensor)
        m.labels.add(o.label)
        if src in NONCOOP_SOURCES:
            m.last_noncoop = max(m.last_noncoop, o.time)
        if o.cls is not None:
            m.cls_votes[ObjectClass(o.cls)] += o.cls_confidence if o.cls_confidence is not None else 0.6
        if src == SourceKind.REMOTE_ID:
            m.cls_votes[ObjectClass.UAS] += 1.0
        elif src == SourceKind.ADSB:
            m.cls_votes[ObjectClass.FIXED_WING] += 0.3
        if o.callsign:
            m.identities["callsign"] = o.callsign.strip()
        if o.operator is not None:
            m.operator = o.operator
            if o.operator_location_type is not None:
                m.attrs["operator_location_type"] = str(o.operator_location_type)

    def new_tracks(self, births: list[Meas], T: float, ident: tuple[str, str] | None = None) -> int:
        """Start a tentative track at each measurement (one array append for all); returns the
        index of the last one."""
        st = self.states
        cfg = self.cfg
        nb = len(births)
        x = np.zeros((nb, D))
        P = np.zeros((nb, D, D))
        x[:, :3] = [ms.point for ms in births]
        P[:, :3, :3] = [ms.point_cov for ms in births]
        p_vel = np.eye(3) * cfg.velocity_sigma ** 2
        p_novel = np.diag([cfg.init_speed_sigma ** 2] * 2 + [cfg.init_vspeed_sigma ** 2])
        for i, ms in enumerate(births):
            v = ms.obs.velocity
            if v is not None:
                x[i, 3:] = (v.east, v.north, v.up)
                P[i, 3:, 3:] = p_vel
            else:
                P[i, 3:, 3:] = p_novel
        metas = []
        for ms in births:
            o = ms.obs
            meta = TrackMeta(id=self.id_prefix + format_track_id(self.next_number), first_time=T,
                             scan_sensor=o.sensor, last_update=T, last_clock=T, last_by_sensor={o.sensor: T})
            self.next_number += 1
            meta.touched = True  # the birth hit is already in hist
            self.note(meta, o)
            if ident is not None:
                meta.identities[ident[0]] = ident[1]
                st.by_ident[ident] = len(st.meta) + len(metas)
            meta.confirmed = cfg.confirm_m <= 1 if ident is None else cfg.ident_confirm_hits <= 1
            meta.born = self.batch_no
            metas.append(meta)
            self.stats.tracks_created += 1
            if meta.confirmed:
                self.stats.tracks_confirmed += 1
        st.append(np.broadcast_to(x[:, None], (nb, st.r, D)), np.broadcast_to(P[:, None], (nb, st.r, D, D)),
                  np.broadcast_to(st.mu0, (nb, st.r)), np.full(nb, T), metas)
        return len(st.meta) - 1

    def remove(self, drop: list[int], merged_into: dict[int, str] | None = None) -> None:
        """Remove tracks ``drop``; the confirmed ones are reported deleted (with ``merged_into``)."""
        st = self.states
        if not drop:
            return
        merged_into = merged_into or {}
        ds = set(drop)
        for k in drop:
            m = st.meta[k]
            if m.confirmed:
                trk = self.output.tracks([k], status=TrackStatus.DELETED)[0]
                if k in merged_into:
                    trk.attrs["merged_into"] = merged_into[k]
                self.deleted.append(trk)
        st.keep(np.array([k not in ds for k in range(len(st.meta))], dtype=bool))

    def clock(self, sensor: str, T: float) -> None:
        """M-of-N bookkeeping of the tentative tracks that ``sensor`` clocks, at its batch time ``T``.

        A sensor's scan is not one batch: a rotating radar stamps every plot with its own time.
        Each tentative track is therefore clocked on its own revisits, using the sensor's revisit
        period estimated from the tracks' successive updates: a hit when it was updated at least
        half a period after its last clock, a miss for every period that passed without one.
        """
        st = self.states
        cfg = self.cfg
        mask = (1 << cfg.confirm_n) - 1
        period = self.period.get(sensor)
        drop = []
        for k, m in enumerate(st.meta):
            if m.confirmed or m.scan_sensor != sensor or m.born == self.batch_no \
                    or (m.identities and any(kd != "callsign" for kd in m.identities)):
                continue
            gap = T - m.last_clock
            if m.flag:
                if period is not None and gap < 0.5 * period:
                    continue  # a second update within one revisit: counted once, at the next clock
                misses = 0 if period is None else max(int(round(gap / period)) - 1, 0)
                m.hist = ((m.hist << (misses + 1)) | 1) & mask
                m.age += misses + 1
                m.last_clock = T
                m.flag = False
            elif period is not None and gap >= 1.5 * period:
                m.hist = (m.hist << 1) & mask
                m.age += 1
                m.last_clock += period
            else:
                continue
            hits = m.hist.bit_count()
            if hits >= cfg.confirm_m:
                m.confirmed = True
                self.stats.tracks_confirmed += 1
            elif hits + max(cfg.confirm_n - m.age, 0) < cfg.confirm_m:
                drop.append(k)
        if drop:
            self.stats.tentative_dropped += len(drop)
            self.remove(drop)

    def revisit(self, m: TrackMeta, sensor: str, T: float) -> None:
        """Learn ``sensor``'s revisit period from the interval between two updates of one track."""
        prev = m.last_by_sensor.get(sensor)
        m.last_by_sensor[sensor] = T
        if prev is None or T - prev <= 1e-3:
            return
        iv = T - prev
        p = self.period.get(sensor)
        if p is None:
            self.period[sensor] = iv
        else:  # follows shorter intervals fast, longer ones (missed detections) slowly
            self.period[sensor] = 0.7 * p + 0.3 * iv if iv < p else 0.97 * p + 0.03 * iv

    def expire(self, now: float) -> None:
        """Delete the tracks not updated for ``max_coast_s`` and the confirmed ones grown too uncertain."""
        st = self.states
        cfg = self.cfg
        if not st.meta:
            return
        _, Pc = combine(st.x, st.P, st.mu)
        sig = np.sqrt(0.5 * (Pc[:, 0, 0] + Pc[:, 1, 1]))
        drop = []
        for k, m in enumerate(st.meta):
            stale = now - m.last_update > cfg.max_coast_s
            if stale or (m.confirmed and sig[k] > cfg.max_sigma_m):
                drop.append(k)
                if m.confirmed:
                    self.stats.tracks_deleted += 1
                else:
                    self.stats.tentative_dropped += 1
        self.remove(drop)
