"""The pipeline tracker: multi-sensor :class:`~lookout.model.Observation` lists in,
:class:`~lookout.model.TrackUpdates` out.

State: 3-D nearly-constant velocity in the sector's local ENU frame (``[e, n, u, ve, vn, vu]``),
one Gaussian per track (or one per model with ``imm=True``), kept as arrays over all tracks;
per-track bookkeeping (identities, sources, labels, class votes) sits in a parallel list.

Each :meth:`Tracker.update` processes its observations in time order, in batches of one
sensor at one time:

1. tracks are predicted to the batch time; an observation older than a track's state (but
   within ``late_tolerance_s`` of the newest time seen) updates it as an out-of-sequence
   measurement; older ones are counted (``stats.dropped_late``) and dropped;
2. observations carrying an ICAO24 (ADS-B) or Remote ID serial go straight to the track holding
   that identity. A new identity is first offered to a coinciding non-cooperative (radar,
   camera, report) track within ``fusion_max_m``: the two are fused and the distance between
   the reported position and the non-cooperative estimate is kept in
   ``track.attrs["remote_id_offset_m"]`` (``"adsb_offset_m"`` for ADS-B), with the reported
   ``remote_id_position`` ``{lat, lon}`` and its ``remote_id_sigma_m``. While a fused
   track has non-cooperative support, a cooperative report outside the gate updates only
   that offset, never the state, so a lying Remote ID cannot drag the track;
3. the other observations are gated (grid pre-gate, then Mahalanobis with the EKF
   linearisation of each sensor's measurement model) and assigned by GNN (confirmed tracks
   first, tentative tracks on the measurements left) or JPDA; the
   unassigned ones start tentative tracks (camera bearings cannot: they update confirmed
   tracks only, and the unassociated ones are counted);
4. M-of-N confirmation is clocked by the revisits of the sensor that started the track (its
   period learnt from the updates, so rotating radars whose plots each carry their own time
   work); identity tracks confirm after ``ident_confirm_hits`` reports; confirmed tracks are
   deleted after ``max_coast_s`` without update or when their position sigma grows past
   ``max_sigma_m``; a cooperative-only track that coincides with a non-cooperative track is
   merged into it.

Every track also carries ``attrs["source_times"]``: the latest observation time per source kind.
Blue-force observations (own agents) are skipped and counted: they are not targets.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from lookout.geo import LocalFrame
from lookout.model import (
    AIR_CLASSES,
    GeoPoint,
    ObjectClass,
    Observation,
    SourceKind,
    Track,
    TrackStatus,
    TrackUpdates,
    Velocity,
    most_restrictive,
)
from lookout.tracking.association import gnn_two_stage, grid_pairs, jpda_weights
from lookout.tracking.config import TrackerConfig
from lookout.tracking.filters import (
    Innovation,
    MeasurementModel,
    PolarModel,
    PositionModel,
    combine,
    cv_predict_rows,
    imm_mix,
    kalman_update,
    polar_to_local_many,
)
from lookout.tracking.position import TrackerStats, format_track_id

#: identity kind of each cooperative source
IDENT_KIND = {SourceKind.ADSB: "icao24", SourceKind.REMOTE_ID: "remote_id", SourceKind.AIS: "mmsi"}
OFFSET_ATTR = {"icao24": "adsb_offset_m", "remote_id": "remote_id_offset_m", "mmsi": "ais_offset_m"}
NONCOOP_SOURCES = frozenset({SourceKind.RADAR, SourceKind.CAMERA, SourceKind.REPORT})
D = 6  # state dimension
_BRUTE_PAIRS = 4096  # pre-gate by direct distances up to this many track-measurement pairs
_NO_EL_SIGMA = math.radians(10.0)  # elevation sigma of a radar plot without elevation


@dataclass
class _Meas:
    """One observation prepared for the filter."""

    obs: Observation
    key: tuple  # measurement model signature
    z: np.ndarray
    R: np.ndarray
    point: np.ndarray | None  # ENU position estimate (3,), None for bearings
    point_cov: np.ndarray | None
    site: np.ndarray | None = None
    rot: np.ndarray | None = None


@dataclass
class _Meta:
    """Per-track bookkeeping beside the state arrays."""

    id: str
    first_time: float
    scan_sensor: str
    identities: dict[str, str] = field(default_factory=dict)
    sources: set[str] = field(default_factory=set)
    sensors: set[str] = field(default_factory=set)
    labels: set[str] = field(default_factory=set)
    cls_votes: Counter = field(default_factory=Counter)
    operator: GeoPoint | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    confirmed: bool = False
    hist: int = 1
    age: int = 1
    flag: bool = False  # updated since its last M-of-N clock
    last_clock: float = 0.0
    last_by_sensor: dict[str, float] = field(default_factory=dict)
    updates: int = 1
    last_update: float = 0.0
    last_noncoop: float = -math.inf
    touched: bool = False  # updated in the current update() call
    born: int = 0  # batch number of its birth


_SET_FIELDS = ("sources", "sensors", "labels")
_META_FIELDS = tuple(f.name for f in fields(_Meta))


def _meta_from(d: dict[str, Any]) -> _Meta:
    """A track's bookkeeping from the ``meta`` dict of :meth:`Tracker.export_track`."""
    kw = {k: v for k, v in d.items() if k in _META_FIELDS}
    for name in _SET_FIELDS:
        kw[name] = set(kw.get(name) or ())
    kw["cls_votes"] = Counter({ObjectClass(c): float(w) for c, w in (kw.get("cls_votes") or {}).items()})
    if kw.get("operator") is not None:
        kw["operator"] = GeoPoint(**kw["operator"])
    if kw.get("last_noncoop") is None:
        kw["last_noncoop"] = -math.inf
    if not isinstance(kw.get("identities", {}), dict) or not isinstance(kw.get("attrs", {}), dict):
        raise ValueError("identities and attrs must be objects")
    return _Meta(**kw)


class Tracker:
    """Multi-sensor multi-target tracker (see the module docstring).

    ``tr = Tracker(TrackerConfig(), frame=sector.frame)``; ``tr.update(time, observations)``
    returns the :class:`~lookout.model.TrackUpdates` of that step; ``tr.stats`` counts.
    ``id_prefix`` is put before every new track id (``"s0-1a2b-"`` gives ``s0-1a2b-T000001``).
    """

    id_prefix: str = ""

    def __init__(self, config: TrackerConfig | None = None, frame: LocalFrame | None = None,
                 id_prefix: str = "") -> None:
        if not isinstance(id_prefix, str):
            raise TypeError(f"id_prefix must be a string, got {id_prefix!r}")
        self.id_prefix = id_prefix
        if frame is None:
            from lookout.sector import load_sector

            frame = load_sector().frame
        self.cfg = cfg = config or TrackerConfig()
        self.frame = frame
        self.r = 2 if cfg.imm else 1
        qh = [cfg.q_h, cfg.q_h, cfg.q_v]
        self.q = np.array([qh] + ([[v * cfg.imm_q_factor for v in qh]] if cfg.imm else []))
        self.mu0 = np.array([0.9, 0.1]) if cfg.imm else np.array([1.0])
        self.x = np.zeros((0, self.r, D))
        self.P = np.zeros((0, self.r, D, D))
        self.mu = np.zeros((0, self.r))
        self.t = np.zeros(0)
        self.meta: list[_Meta] = []
        self.by_ident: dict[tuple[str, str], int] = {}
        self.stats = TrackerStats()
        self.time: float | None = None  # newest observation / update time seen
        self._next = 1
        self._sites: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._deleted: list[Track] = []
        self._batch_no = 0
        self._period: dict[str, float] = {}  # revisit period of each sensor, learnt from updates

    # ------------------------------------------------------------------ public
    def __len__(self) -> int:
        return len(self.meta)

    def update(self, time: float, observations: list[Observation]) -> TrackUpdates:
        """Process ``observations`` (times up to ``time``) and report what changed."""
        if not math.isfinite(time):
            raise ValueError(f"update time must be finite, got {time!r}")
        cfg = self.cfg
        self._deleted = []
        for m in self.meta:
            m.touched = False
        was_confirmed = {m.id for m in self.meta if m.confirmed}
        newest = self.time if self.time is not None else -math.inf
        accepted = []
        for o in observations:
            self.stats.observations += 1
            if o.source == SourceKind.BLUE_FORCE:
                self.stats.skipped_blue_force += 1
            elif o.time < newest - cfg.late_tolerance_s:
                self.stats.dropped_late += 1
            else:
                accepted.append(o)
        accepted.sort(key=lambda o: (o.time, o.sensor))
        meas = self._prepare(accepted)  # every measurement of the step converted at once
        i, n = 0, len(accepted)
        while i < n:
            t0, s0 = accepted[i].time, accepted[i].sensor
            j = i + 1
            while j < n and accepted[j].time == t0 and accepted[j].sensor == s0:
                j += 1
            self._batch(t0, s0, meas[i:j])
            i = j
        if accepted:
            self._predict_to(accepted[-1].time)
        self.time = max(newest, float(time), accepted[-1].time if accepted else -math.inf)
        self._merge_cooperative()
        self._expire(self.time)
        confirmed, updated = [], []
        idx = [k for k, m in enumerate(self.meta) if m.confirmed and m.touched]
        for trk in self._tracks(idx):
            updated.append(trk)
            if trk.id not in was_confirmed:
                confirmed.append(trk)
        return TrackUpdates(time=float(self.time), confirmed=confirmed, updated=updated, deleted=self._deleted)

    def tracks(self, confirmed_only: bool = True) -> list[Track]:
        """Current tracks (confirmed only by default)."""
        return self._tracks([k for k, m in enumerate(self.meta) if m.confirmed or not confirmed_only])

    # ------------------------------------------------------------------ handoff between trackers
    def track_ids(self, confirmed_only: bool = True) -> list[str]:
        """Ids of the current tracks (confirmed only by default), in the tracker's order."""
        return [m.id for m in self.meta if m.confirmed or not confirmed_only]

    def positions_at(self, T: float, confirmed_only: bool = True) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Track ids and their horizontal positions (WGS-84 ``lat``, ``lon`` arrays) extrapolated
        at constant velocity to time ``T`` (a track newer than ``T`` stays where it is). The
        tracker's state is not changed."""
        ix = [k for k, m in enumerate(self.meta) if m.confirmed or not confirmed_only]
        if not ix:
            return [], np.zeros(0), np.zeros(0)
        a = np.array(ix)
        xc, _ = combine(self.x[a], self.P[a], self.mu[a])
        dt = np.maximum(T - self.t[a], 0.0)
        lat, lon, _ = self.frame.to_geodetic(xc[:, 0] + xc[:, 3] * dt, xc[:, 1] + xc[:, 4] * dt, xc[:, 2])
        return [self.meta[k].id for k in ix], np.atleast_1d(lat), np.atleast_1d(lon)

    def _index(self, track_id: str) -> int | None:
        for k, m in enumerate(self.meta):
            if m.id == track_id:
                return k
        return None

    def export_track(self, track_id: str) -> dict[str, Any]:
        """The full state of one track as a JSON-serialisable dict, for :meth:`adopt_track` by
        another tracker sharing this frame: ``id``, ``t`` (state time), ``x`` ``(r, 6)`` ENU
        state per model, ``P`` ``(r, 6, 6)``, ``mu`` ``(r,)``, ``meta`` (identities, sources,
        sensors, labels, class votes, counters, attrs), ``frame`` ``[lat0, lon0, alt0]`` and
        ``track`` (the :class:`~lookout.model.Track` as ``to_dict``). Raises ``KeyError`` for an
        unknown id. The track stays in this tracker (see :meth:`release_tracks`)."""
        k = self._index(track_id)
        if k is None:
            raise KeyError(f"no track {track_id!r} in this tracker")
        m = self.meta[k]
        meta: dict[str, Any] = {}
        for name in _META_FIELDS:
            v = getattr(m, name)
            if name in _SET_FIELDS:
                v = sorted(v)
            elif name == "cls_votes":
                v = {str(c): float(w) for c, w in v.items()}
            elif name == "operator":
                v = None if v is None else {"lat": v.lat, "lon": v.lon, "alt_m": v.alt_m}
            elif isinstance(v, float) and not math.isfinite(v):
                v = None
            meta[name] = v
        f = self.frame
        return {
            "id": m.id, "t": float(self.t[k]), "x": self.x[k].tolist(), "P": self.P[k].tolist(),
            "mu": self.mu[k].tolist(), "meta": meta, "frame": [f.lat0, f.lon0, f.alt0],
            "track": self._tracks([k])[0].to_dict(),
        }

    def has_track(self, track_id: str) -> bool:
        """True when this tracker holds a track with this id."""
        return self._index(track_id) is not None

    def release_tracks(self, track_ids) -> int:
        """Remove tracks without reporting them deleted (they continue in another tracker);
        returns how many were removed. Unknown ids are ignored."""
        ids = set(track_ids)
        drop = [k for k, m in enumerate(self.meta) if m.id in ids]
        if drop:
            keep = np.ones(len(self.meta), dtype=bool)
            keep[drop] = False
            self.x, self.P, self.mu, self.t = self.x[keep], self.P[keep], self.mu[keep], self.t[keep]
            self.meta = [m for k, m in enumerate(self.meta) if keep[k]]
            self._rebuild_idents()
        return len(drop)

    def _rebuild_idents(self) -> None:
        self.by_ident = {}
        for k, m in enumerate(self.meta):
            for kind, val in m.identities.items():
                if kind != "callsign":
                    self.by_ident[(kind, val)] = k

    def adopt_track(self, state: dict[str, Any], merge_m: float = 1500.0,
                    slack_s: float = 30.0) -> tuple[str, list[Track]]:
        """Take over a track exported by another tracker (:meth:`export_track`), keeping its id.

        Returns the id and this tracker's own confirmed tracks merged into it (their final
        state, status ``deleted``, ``attrs["merged_into"]`` set). A local track is the same
        object when it holds one of the adopted track's identities (ICAO24, Remote ID, MMSI),
        or when it started after the adopted track's state time (less ``slack_s``) within
        ``merge_m`` of its predicted position; the newer state of the two continues under the
        adopted id. Adopting an id already held is a no-op. A malformed state or another
        frame raises ``ValueError``."""
        try:
            tid = str(state["id"])
            x = np.asarray(state["x"], dtype=float)
            P = np.asarray(state["P"], dtype=float)
            mu = np.asarray(state["mu"], dtype=float)
            t = float(state["t"])
            meta = _meta_from(dict(state["meta"], id=tid))
            frame = state["frame"]
            if x.ndim != 2 or x.shape[-1] != D or P.shape != x.shape + (D,) or mu.shape != x.shape[:1]:
                raise ValueError(f"state shapes x {x.shape}, P {P.shape}, mu {mu.shape}")
            if not (np.isfinite(x).all() and np.isfinite(P).all() and np.isfinite(mu).all() and math.isfinite(t)):
                raise ValueError("non-finite state")
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed handoff payload: {exc!r}") from None
        f = self.frame
        if not np.allclose(frame, [f.lat0, f.lon0, f.alt0]):
            raise ValueError(f"handoff of {tid} is in frame {frame}, this tracker's frame is "
                             f"{[f.lat0, f.lon0, f.alt0]}: trackers must share the frame")
        r = self.r
        if x.shape != (r, D):  # a different filter set-up: keep the combined moment
            xc, Pc = combine(x[None], P[None], mu[None])
            x, P, mu = np.repeat(xc, r, 0), np.repeat(Pc, r, 0), self.mu0.copy()
        if self._index(tid) is not None:
            return tid, []  # a repeated handoff
        idents = {(kd, v) for kd, v in meta.identities.items() if kd != "callsign"}
        same = [k for k, m in enumerate(self.meta) if any((kd, v) in idents for kd, v in m.identities.items())]
        if not same and len(self.meta):
            xc, _ = combine(self.x, self.P, self.mu)
            xa = (mu[:, None] * x).sum(0)
            pred = xa[:2] + xa[3:5] * (self.t - t)[:, None]
            d = np.hypot(*(xc[:, :2] - pred).T)
            cand = [k for k in np.argsort(d).tolist() if d[k] < merge_m and self.meta[k].first_time >= t - slack_s]
            same = cand[:1]
        replaced: list[Track] = []
        if same:
            k = same[0]
            local = self.meta[k]
            if local.confirmed:
                old = self._tracks([k], status=TrackStatus.DELETED)[0]
                old.attrs["merged_into"] = tid
                replaced.append(old)
            if self.t[k] < t:  # the adopted state is newer: take it
                self.x[k], self.P[k], self.mu[k], self.t[k] = x, P, mu, t
            local.id = tid
            local.first_time = min(meta.first_time, local.first_time)
            local.identities = {**meta.identities, **local.identities}
            for name in _SET_FIELDS:
                getattr(local, name).update(getattr(meta, name))
            local.cls_votes.update(meta.cls_votes)
            local.attrs = {**meta.attrs, **local.attrs}
            local.updates += meta.updates
            local.last_noncoop = max(local.last_noncoop, meta.last_noncoop)
            local.operator = local.operator or meta.operator
            local.confirmed = local.confirmed or meta.confirmed
            local.touched = True
        else:
            self.x = np.concatenate([self.x, x[None]])
            self.P = np.concatenate([self.P, P[None]])
            self.mu = np.concatenate([self.mu, mu[None]])
            self.t = np.append(self.t, t)
            meta.touched = False
            meta.born = self._batch_no
            self.meta.append(meta)
        self._rebuild_idents()
        return tid, replaced

    # ------------------------------------------------------------------ measurement preparation
    def _site(self, site: GeoPoint) -> tuple[np.ndarray, np.ndarray]:
        key = (site.lat, site.lon, site.alt_m or 0.0)
        if key not in self._sites:
            e, n, u = self.frame.to_enu(site.lat, site.lon, key[2])
            rot = self.frame.rotation_to(LocalFrame(*key))
            self._sites[key] = (np.array([e, n, u]), rot)
        return self._sites[key]

    def _prepare(self, obs: list[Observation]) -> list[_Meas]:
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
            sites = [self._site(m.site) for m in ms]
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
                out.append(_Meas(o, ("pos", idx), np.array(z), R_all[k, :L, :L], pt_all[k], pc_all[k]))
                k += 1
            else:
                m = o.measurement
                site, rot = self._site(m.site)
                comps, z, sig = [], [], []
                if m.range_m is not None:
                    comps.append("range"), z.append(m.range_m), sig.append(m.sigma_range_m)
                comps.append("az"), z.append(math.radians(m.azimuth_deg)), sig.append(math.radians(m.sigma_az_deg))
                if m.elevation_deg is not None:
                    comps.append("el"), z.append(math.radians(m.elevation_deg))
                    sig.append(math.radians(m.sigma_el_deg if m.sigma_el_deg else m.sigma_az_deg))
                point, pc = pts.get(i, (None, None))
                sg = np.array(sig)
                out.append(_Meas(o, ("polar", tuple(comps)), np.array(z), np.diag(sg * sg), point, pc,
                                 site, rot))
        return out

    # ------------------------------------------------------------------ filtering helpers
    def _predict_to(self, T: float, tix=None) -> None:
        """Predict tracks (all, or those of ``tix``) whose state is older than ``T`` to ``T``.

        A single-model filter predicts lazily: only the tracks a batch gates on are predicted to
        its time (NCV predictions compose, so one prediction over several batches equals the
        chain); every track is brought to the step's last batch time at the end of
        :meth:`update`. The IMM mixes at every prediction, so it predicts every track per batch."""
        if tix is None:
            sel = np.flatnonzero(self.t < T)
        else:
            tix = np.unique(np.asarray(tix, dtype=np.int64))
            sel = tix[self.t[tix] < T]
        if not len(sel):
            return
        dt = T - self.t[sel]
        x, P = self.x[sel], self.P[sel]
        if self.r > 1:
            x, P, self.mu[sel] = imm_mix(x, P, self.mu[sel], 1.0 - np.exp(-self.cfg.imm_switch_rate * dt))
        self.x[sel], self.P[sel] = cv_predict_rows(x, P, dt[:, None], self.q)
        self.t[sel] = T

    @staticmethod
    def _model(key: tuple, meas: list[_Meas]) -> MeasurementModel:
        if key[0] == "pos":
            return PositionModel(key[1], D)
        return PolarModel(key[1], np.array([m.site for m in meas]), np.array([m.rot for m in meas]))

    @staticmethod
    def _horizontal_d2(inn) -> float:
        """Mahalanobis distance of the east/north part of a position innovation (first pair)."""
        y2, S2 = inn.y[0, :2], inn.S[0, :2, :2]
        return float(y2 @ np.linalg.solve(S2, y2))

    def _innov(self, key, meas: list[_Meas], tix: np.ndarray, T: float, combined: bool = True):
        """Innovations of tracks ``tix`` against ``meas`` (pairwise, same length)."""
        lag = np.maximum(self.t[tix] - T, 0.0)
        z = np.array([m.z for m in meas])
        R = np.array([m.R for m in meas])
        if combined:
            xc, Pc = combine(self.x[tix], self.P[tix], self.mu[tix])
            return self._model(key, meas).innovation(xc, Pc, z, R, self.q[0], lag)
        # per model: flatten pairs x models
        r = self.r
        x = self.x[tix].reshape(-1, D)
        P = self.P[tix].reshape(-1, D, D)
        rep = [m for m in meas for _ in range(r)]
        q = np.tile(self.q, (len(tix), 1))
        inn = self._model(key, rep).innovation(x, P, np.repeat(z, r, 0), np.repeat(R, r, 0), q,
                                                np.repeat(lag, r))
        return inn, x, P

    def _apply(self, key, meas: list[_Meas], tix: np.ndarray, T: float) -> None:
        """Kalman/EKF update of tracks ``tix`` (unique) with ``meas`` (one each)."""
        if not len(tix):
            return
        xn, Pn, ll = self._updated(key, meas, tix, T)
        self.x[tix], self.P[tix] = xn, Pn
        if self.r > 1:
            w = self.mu[tix] * np.exp(ll - ll.max(axis=1, keepdims=True))
            self.mu[tix] = w / w.sum(axis=1, keepdims=True)

    def _updated(self, key, meas, tix, T):
        inn, x, P = self._innov(key, meas, tix, T, combined=False)
        xn, Pn = kalman_update(x, P, inn)
        r = self.r
        return xn.reshape(-1, r, D), Pn.reshape(-1, r, D, D), inn.loglik.reshape(-1, r)

    # ------------------------------------------------------------------ track bookkeeping
    def _hit(self, k: int, o: Observation, T: float) -> None:
        m = self.meta[k]
        m.flag = m.touched = True
        m.updates += 1
        m.last_update = max(m.last_update, T)
        self._revisit(m, o.sensor, T)
        if not m.confirmed and o.sensor != m.scan_sensor and o.source == SourceKind.RADAR:
            # a track started by a sparse source (an agent report) is clocked by the radar that follows it
            mine, theirs = self._period.get(m.scan_sensor), self._period.get(o.sensor)
            if mine is None or (theirs is not None and mine > 3.0 * theirs):
                m.scan_sensor, m.last_clock = o.sensor, T
        self._note(m, o)

    def _note(self, m: _Meta, o: Observation) -> None:
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

    def _new_track(self, meas: _Meas, T: float, ident: tuple[str, str] | None = None) -> int:
        return self._new_tracks([meas], T, ident)

    def _new_tracks(self, births: list[_Meas], T: float, ident: tuple[str, str] | None = None) -> int:
        """Start a tentative track at each measurement (one array append for all); returns the
        index of the last one."""
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
        self.x = np.concatenate([self.x, np.broadcast_to(x[:, None], (nb, self.r, D))])
        self.P = np.concatenate([self.P, np.broadcast_to(P[:, None], (nb, self.r, D, D))])
        self.mu = np.concatenate([self.mu, np.broadcast_to(self.mu0, (nb, self.r))])
        self.t = np.concatenate([self.t, np.full(nb, T)])
        for ms in births:
            o = ms.obs
            meta = _Meta(id=self.id_prefix + format_track_id(self._next), first_time=T, scan_sensor=o.sensor,
                         last_update=T, last_clock=T, last_by_sensor={o.sensor: T})
            self._next += 1
            meta.touched = True  # the birth hit is already in hist
            self._note(meta, o)
            if ident is not None:
                meta.identities[ident[0]] = ident[1]
                self.by_ident[ident] = len(self.meta)
            meta.confirmed = cfg.confirm_m <= 1 if ident is None else cfg.ident_confirm_hits <= 1
            meta.born = self._batch_no
            self.meta.append(meta)
            self.stats.tracks_created += 1
            if meta.confirmed:
                self.stats.tracks_confirmed += 1
        return len(self.meta) - 1

    def _remove(self, drop: list[int], merged_into: dict[int, str] | None = None) -> None:
        if not drop:
            return
        merged_into = merged_into or {}
        ds = set(drop)
        for k in drop:
            m = self.meta[k]
            if m.confirmed:
                trk = self._tracks([k], status=TrackStatus.DELETED)[0]
                if k in merged_into:
                    trk.attrs["merged_into"] = merged_into[k]
                self._deleted.append(trk)
        keep = np.array([k not in ds for k in range(len(self.meta))], dtype=bool)
        self.x, self.P, self.mu, self.t = self.x[keep], self.P[keep], self.mu[keep], self.t[keep]
        self.meta = [m for k, m in enumerate(self.meta) if keep[k]]
        self._rebuild_idents()

    # ------------------------------------------------------------------ one batch: one sensor, one time
    def _batch(self, T: float, sensor: str, meas: list[_Meas]) -> None:
        self._batch_no += 1
        if self.r > 1:
            self._predict_to(T)
        coop = [m for m in meas if m.obs.ident and m.obs.source in IDENT_KIND and m.obs.position is not None]
        anon = [m for m in meas if not (m.obs.ident and m.obs.source in IDENT_KIND and m.obs.position is not None)]
        if coop:
            self._cooperative(coop, T)
        if anon:
            self._associate(anon, T)
        self._clock(sensor, T)

    def _cooperative(self, coop: list[_Meas], T: float) -> None:
        cfg = self.cfg
        pending: dict[tuple, list[tuple[int, _Meas]]] = {}
        gate_inn: dict[int, Innovation] = {}  # id(measurement) -> its gate innovation
        for ms in coop:
            o = ms.obs
            kind = IDENT_KIND[SourceKind(o.source)]
            ident = (kind, o.ident.strip().lower() if kind == "icao24" else o.ident.strip())
            k = self.by_ident.get(ident)
            if k is None:
                k = self._fusion_candidate(ms, ident[0], T)
                if k is None:
                    self._new_track(ms, T, ident)
                    continue
                self.meta[k].identities[ident[0]] = ident[1]
                self.by_ident[ident] = k
                self.stats.identity_fusions += 1
            self._predict_to(T, [k])
            m = self.meta[k]
            supported = T - m.last_noncoop <= cfg.max_coast_s
            if supported:
                xc, _ = combine(self.x[k:k + 1], self.P[k:k + 1], self.mu[k:k + 1])
                m.attrs[OFFSET_ATTR[ident[0]]] = round(float(np.hypot(*(ms.point[:2] - xc[0, :2]))), 1)
                if ident[0] == "remote_id":
                    m.attrs["remote_id_position"] = {"lat": o.position.lat, "lon": o.position.lon}
                    m.attrs["remote_id_sigma_m"] = o.position.sigma_h_m
                inn = self._innov(ms.key, [ms], np.array([k]), T)
                if inn.d2[0] > cfg.gate(len(ms.z)) and self._horizontal_d2(inn) > cfg.gate(2):
                    # a cooperative report whose position disagrees with the sensors' track: evidence,
                    # not state (a lying Remote ID). A disagreement in height or velocity alone is
                    # not that: barometric and radar-derived heights differ by hundreds of metres.
                    self._note(m, o)
                    m.attrs["identity_inconsistent"] = True
                    continue
                m.attrs["identity_inconsistent"] = False
                gate_inn[id(ms)] = inn
            pending.setdefault(ms.key, []).append((k, ms))
        applied: set[int] = set()
        for key, items in pending.items():
            while items:  # one update per track per round
                seen, now, later = set(), [], []
                for k, ms in items:
                    (later if k in seen else now).append((k, ms))
                    seen.add(k)
                if self.r == 1:  # a gate innovation of a track not updated since is the update's
                    rest = []
                    for k, ms in now:
                        inn = gate_inn.pop(id(ms), None)
                        if inn is not None and k not in applied:
                            self._apply_innovation(np.array([k]), inn, np.array([0]))
                        else:
                            rest.append((k, ms))
                else:
                    rest = now
                if rest:
                    self._apply(key, [ms for _, ms in rest], np.array([k for k, _ in rest]), T)
                applied.update(k for k, _ in now)
                for k, ms in now:
                    self._hit(k, ms.obs, T)
                    m = self.meta[k]
                    if not m.confirmed and m.updates >= cfg.ident_confirm_hits:
                        m.confirmed = True
                        self.stats.tracks_confirmed += 1
                items = later

    def _fusion_candidate(self, ms: _Meas, kind: str, T: float) -> int | None:
        """The track a new identity of ``kind`` belongs to, if one coincides with the report.

        Candidates hold no identity of that kind and lie within ``fusion_max_m``. A track with
        non-cooperative support (confirmed radar/camera/report track) qualifies on distance
        alone, so that a Remote ID position that lies is still fused and its offset recorded;
        a cooperative-only track (e.g. the ADS-B track of an aircraft also broadcasting Remote
        ID) must also pass the Mahalanobis fusion gate.
        """
        cfg = self.cfg
        if not len(self.meta):
            return None
        self._predict_to(T)
        xc, _ = combine(self.x, self.P, self.mu)
        d = np.hypot(*(xc[:, :2] - ms.point[:2]).T)
        cand = np.flatnonzero(d < cfg.fusion_max_m)
        best, best_score = None, math.inf
        for k in cand.tolist():
            m = self.meta[k]
            if kind in m.identities:
                continue
            if T - m.last_noncoop <= cfg.max_coast_s and m.confirmed:
                score = d[k]
            elif any(kd != "callsign" for kd in m.identities):
                inn = self._innov(ms.key, [ms], np.array([k]), T)
                if inn.d2[0] > cfg.fusion_gate(len(ms.z)):
                    continue
                score = d[k] + cfg.fusion_max_m  # prefer non-cooperative support
            else:
                continue
            if score < best_score:
                best, best_score = k, score
        return best

    def _associate(self, meas: list[_Meas], T: float) -> None:
        cfg = self.cfg
        n, nm = len(self.meta), len(meas)
        ti_l, mi_l = [], []
        if n:
            if self.r == 1:  # lazily predicted: horizontal position and its covariance at T
                dt = np.maximum(T - self.t, 0.0)
                x0, P0 = self.x[:, 0], self.P[:, 0]
                xc = x0[:, :2] + dt[:, None] * x0[:, 3:5]
                d1, d2_ = dt[:, None, None], (dt * dt)[:, None, None]
                Pc = P0[:, :2, :2] + d1 * (P0[:, :2, 3:5] + P0[:, 3:5, :2]) + d2_ * P0[:, 3:5, 3:5]
                Pc[:, 0, 0] += self.q[0, 0] * dt ** 3 / 3.0
                Pc[:, 1, 1] += self.q[0, 1] * dt ** 3 / 3.0
            else:
                xc, Pc = combine(self.x, self.P, self.mu)
            with_pt = [j for j, m in enumerate(meas) if m.point is not None]
            if with_pt:
                pts = np.array([meas[j].point[:2] for j in with_pt])
                a, b, d = Pc[:, 0, 0], Pc[:, 0, 1], Pc[:, 1, 1]
                lmax_t = float((0.5 * (a + d) + np.sqrt(0.25 * (a - d) ** 2 + b * b)).max())
                pcs = np.array([meas[j].point_cov[:2, :2] for j in with_pt])
                a, b, d = pcs[:, 0, 0], pcs[:, 0, 1], pcs[:, 1, 1]
                lmax_m = float((0.5 * (a + d) + np.sqrt(0.25 * (a - d) ** 2 + b * b)).max())
                radius = math.sqrt(cfg.gate(3) * (lmax_t + lmax_m)) * 1.5
                if n * len(with_pt) <= _BRUTE_PAIRS:  # few pairs: every pair within the radius, directly
                    dd = xc[:, None, :2] - pts[None]
                    ti, mj = np.nonzero(np.einsum("tmi,tmi->tm", dd, dd) <= radius * radius)
                else:
                    ti, mj = grid_pairs(xc[:, :2], pts, radius)
                ti_l.append(ti)
                mi_l.append(np.array(with_pt, dtype=np.int64)[mj])
            # bearings (no range) only update confirmed tracks: along a line of sight they would
            # also fit any tentative track at another range and could confirm clutter
            bearings = [j for j, m in enumerate(meas) if m.point is None]
            if bearings:
                cix = np.flatnonzero(np.array([m.confirmed for m in self.meta], dtype=bool))
                for j in bearings:
                    ti_l.append(cix)
                    mi_l.append(np.full(len(cix), j))
        ti = np.concatenate(ti_l) if len(ti_l) > 1 else (ti_l[0] if ti_l else np.zeros(0, dtype=np.int64))
        mi = np.concatenate(mi_l) if len(mi_l) > 1 else (mi_l[0] if mi_l else np.zeros(0, dtype=np.int64))
        if self.r == 1 and len(ti):
            self._predict_to(T, ti)
        # Mahalanobis gate per measurement model
        keep_t, keep_m, d2s, lds, gts = [], [], [], [], []
        cache = []  # per model: (key, innovation of the kept pairs); reused by the update when r == 1
        mkeys = [m.key for m in meas]
        mil = mi.tolist()
        keys = {mkeys[j] for j in mil}
        for key in keys:
            if len(keys) == 1:
                sel = None
                tsel, msel = ti, mi
            else:
                sel = np.flatnonzero(np.array([mkeys[j] == key for j in mil]))
                tsel, msel = ti[sel], mi[sel]
            inn = self._innov(key, [meas[j] for j in msel.tolist()], tsel, T)
            g = cfg.gate(len(meas[int(msel[0])].z))
            ok = inn.d2 < g
            keep_t.append(tsel[ok]), keep_m.append(msel[ok]), d2s.append(inn.d2[ok]), lds.append(inn.logdet[ok])
            gts.append(np.full(int(ok.sum()), g))
            cache.append((key, inn, ok))
        if len(keep_t) == 1:
            ti, mi, d2, logdet, gate = keep_t[0], keep_m[0], d2s[0], lds[0], gts[0]
        elif keep_t:
            ti, mi = np.concatenate(keep_t), np.concatenate(keep_m)
            d2, logdet, gate = np.concatenate(d2s), np.concatenate(lds), np.concatenate(gts)
        else:
            ti = mi = np.zeros(0, dtype=np.int64)
            d2 = logdet = gate = np.zeros(0)
        gated = np.zeros(nm, dtype=bool)
        gated[mi] = True
        used = np.zeros(nm, dtype=bool)
        if len(ti) and cfg.association == "gnn":
            miss = np.full(n, -np.inf)
            np.maximum.at(miss, ti, gate + logdet)
            conf = np.array([m.confirmed for m in self.meta], dtype=bool)
            cost = d2 + logdet
            if len(ti) == 1 or (np.bincount(ti).max() == 1 and np.bincount(mi).max() == 1):
                # no track or measurement in two pairs: GNN keeps every pair cheaper than a miss,
                # confirmed tracks' pairs first (what gnn_two_stage returns for this case)
                c = conf[ti]
                sel = np.concatenate([np.flatnonzero(c), np.flatnonzero(~c)])
                sel = sel[cost[sel] < miss[ti[sel]]]
            else:
                sel = gnn_two_stage(ti, mi, cost, miss, conf, n, nm)
            at, am = ti[sel], mi[sel]
            if self.r == 1:  # the gating innovations are those of the update: apply the chosen ones
                off = 0
                for key, inn, ok in cache:
                    cnt = int(ok.sum())
                    mine = sel[(sel >= off) & (sel < off + cnt)] - off
                    off += cnt
                    if len(mine):
                        pick = np.flatnonzero(ok)[mine]
                        tix = ti[off - cnt + mine]
                        self._apply_innovation(tix, inn, pick)
            else:
                for key in {mkeys[j] for j in am.tolist()}:
                    s = [i for i in range(len(at)) if mkeys[am[i]] == key]
                    self._apply(key, [meas[am[i]] for i in s], at[s], T)
            for k, j in zip(at.tolist(), am.tolist()):
                self._hit(k, meas[j].obs, T)
            used[am] = True
        elif len(ti):
            self._jpda(meas, ti, mi, d2, logdet, T)
            used[mi] = True
        self.stats.gated_out += int((~gated).sum())
        births = []
        for j in np.flatnonzero(~used).tolist():
            if meas[j].point is None:
                self.stats.unassociated_bearings += 1
            else:
                births.append(meas[j])
        if births:
            self._new_tracks(births, T)

    def _apply_innovation(self, tix: np.ndarray, inn: Innovation, pick: np.ndarray) -> None:
        """Kalman update of single-model tracks ``tix`` with the rows ``pick`` of a gating innovation."""
        sub = Innovation(y=inn.y[pick], S=inn.S[pick], Sinv=inn.Sinv[pick], logdet=inn.logdet[pick],
                         d2=inn.d2[pick], K=inn.K[pick])
        xn, Pn = kalman_update(self.x[tix, 0], self.P[tix, 0], sub)
        self.x[tix, 0], self.P[tix, 0] = xn, Pn

    def _jpda(self, meas, ti, mi, d2, logdet, T) -> None:
        """JPDA update: moment-matched mixture of 'missed' and every gated measurement."""
        cfg = self.cfg
        n, nm = len(self.meta), len(meas)
        dims = np.array([len(meas[j].z) for j in mi])
        loglik = -0.5 * (d2 + logdet + dims * np.log(2 * np.pi))
        beta, beta0 = jpda_weights(ti, mi, loglik, n, nm, cfg.pd, cfg.clutter_density)
        xn = np.empty((len(ti), self.r, D))
        Pn = np.empty((len(ti), self.r, D, D))
        for key in {meas[j].key for j in mi.tolist()}:
            s = np.flatnonzero([meas[j].key == key for j in mi.tolist()])
            xn[s], Pn[s], _ = self._updated(key, [meas[j] for j in mi[s]], ti[s], T)
        for k in np.unique(ti).tolist():
            s = np.flatnonzero(ti == k)
            w = np.concatenate([[beta0[k]], beta[s]])[:, None, None]
            xs = np.concatenate([self.x[k][None], xn[s]])  # (h, r, D)
            Ps = np.concatenate([self.P[k][None], Pn[s]])
            xm = (w * xs).sum(0)
            dx = xs - xm
            self.x[k] = xm
            self.P[k] = (w[..., None] * (Ps + dx[..., :, None] * dx[..., None, :])).sum(0)
            j = int(mi[s][np.argmax(beta[s])])
            self._hit(k, meas[j].obs, T)

    def _clock(self, sensor: str, T: float) -> None:
        """M-of-N bookkeeping of the tentative tracks that ``sensor`` clocks, at its batch time ``T``.

        A sensor's scan is not one batch: a rotating radar stamps every plot with its own time.
        Each tentative track is therefore clocked on its own revisits, using the sensor's revisit
        period estimated from the tracks' successive updates: a hit when it was updated at least
        half a period after its last clock, a miss for every period that passed without one.
        """
        cfg = self.cfg
        mask = (1 << cfg.confirm_n) - 1
        period = self._period.get(sensor)
        drop = []
        for k, m in enumerate(self.meta):
            if m.confirmed or m.scan_sensor != sensor or m.born == self._batch_no \
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
            self._remove(drop)

    def _revisit(self, m: _Meta, sensor: str, T: float) -> None:
        """Learn ``sensor``'s revisit period from the interval between two updates of one track."""
        prev = m.last_by_sensor.get(sensor)
        m.last_by_sensor[sensor] = T
        if prev is None or T - prev <= 1e-3:
            return
        iv = T - prev
        p = self._period.get(sensor)
        if p is None:
            self._period[sensor] = iv
        else:  # follows shorter intervals fast, longer ones (missed detections) slowly
            self._period[sensor] = 0.7 * p + 0.3 * iv if iv < p else 0.97 * p + 0.03 * iv

    def _expire(self, now: float) -> None:
        cfg = self.cfg
        if not self.meta:
            return
        _, Pc = combine(self.x, self.P, self.mu)
        sig = np.sqrt(0.5 * (Pc[:, 0, 0] + Pc[:, 1, 1]))
        drop = []
        for k, m in enumerate(self.meta):
            stale = now - m.last_update > cfg.max_coast_s
            if stale or (m.confirmed and sig[k] > cfg.max_sigma_m):
                drop.append(k)
                if m.confirmed:
                    self.stats.tracks_deleted += 1
                else:
                    self.stats.tentative_dropped += 1
        self._remove(drop)

    def _merge_cooperative(self) -> None:
        """Fuse a cooperative-only track into a coinciding confirmed non-cooperative track without identity."""
        cfg = self.cfg
        if len(self.meta) < 2 or self.time is None:
            return
        now = self.time
        coop = [k for k, m in enumerate(self.meta)
                if any(kd != "callsign" for kd in m.identities) and now - m.last_noncoop > cfg.max_coast_s]
        anon = [k for k, m in enumerate(self.meta)
                if m.confirmed and not m.identities and now - m.last_noncoop <= cfg.max_coast_s]
        if not coop or not anon:
            return
        xc, _ = combine(self.x, self.P, self.mu)
        d = np.hypot(*(xc[coop][:, None, :2] - xc[anon][None, :, :2]).transpose(2, 0, 1))
        drop, into, taken = [], {}, set()
        for flat in np.argsort(d, axis=None).tolist():
            i, j = divmod(flat, len(anon))
            if d[i, j] >= cfg.fusion_max_m:
                break
            if i in into or anon[j] in taken:
                continue
            kc, ka = coop[i], anon[j]
            mc, ma = self.meta[kc], self.meta[ka]
            for kind, val in mc.identities.items():
                ma.identities[kind] = val
                if kind in OFFSET_ATTR:
                    ma.attrs[OFFSET_ATTR[kind]] = round(float(d[i, j]), 1)
            ma.sources |= mc.sources
            st = ma.attrs.setdefault("source_times", {})
            for src, tt in mc.attrs.get("source_times", {}).items():
                st[src] = max(st.get(src, -math.inf), tt)
            ma.sensors |= mc.sensors
            ma.labels |= mc.labels
            ma.cls_votes.update(mc.cls_votes)
            ma.operator = ma.operator or mc.operator
            ma.touched = True
            if mc.confirmed and mc.first_time <= ma.first_time:
                # the object keeps the id it has had longest (an aircraft re-acquired by radar
                # stays the same track); the newer radar track's id is the one that ends
                ma.id, mc.id = mc.id, ma.id
                ma.first_time, mc.first_time = mc.first_time, ma.first_time
            into[i] = ma.id
            taken.add(ka)
            drop.append(kc)
            self.stats.identity_fusions += 1
        if drop:
            merged = {coop[i]: tid for i, tid in into.items()}
            for k in drop:
                if self.meta[k].confirmed:
                    self.stats.tracks_deleted += 1
            self._remove(drop, merged)

    # ------------------------------------------------------------------ output
    def _classify(self, m: _Meta, speed: float) -> ObjectClass:
        if m.cls_votes:
            cls, _ = max(m.cls_votes.items(), key=lambda kv: (kv[1], str(kv[0])))
            if "adsb" in m.sources and cls not in AIR_CLASSES:
                return ObjectClass.FIXED_WING
            return cls
        if speed > self.cfg.fixed_wing_speed_mps:
            return ObjectClass.FIXED_WING
        return ObjectClass.UNKNOWN

    def _tracks(self, idx: list[int], status: TrackStatus | None = None) -> list[Track]:
        if not idx:
            return []
        ix = np.array(idx)
        xc, Pc = combine(self.x[ix], self.P[ix], self.mu[ix])
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
        t_l = self.t[ix].tolist()
        out = []
        for i, k in enumerate(idx):
            m = self.meta[k]
            out.append(Track(
                id=m.id, time=t_l[i],
                position=GeoPoint(lat_l[i], lon_l[i], alt_l[i] if has_alt_l[i] else None),
                velocity=Velocity(ve_l[i], vn_l[i], vu_l[i]),
                sigma_h_m=sig_h_l[i],
                status=status or (TrackStatus.CONFIRMED if m.confirmed else TrackStatus.TENTATIVE),
                cls=self._classify(m, speed_l[i]), identities=dict(m.identities), sources=sorted(m.sources),
                sensors=sorted(m.sensors), label=most_restrictive(m.labels), first_time=m.first_time,
                updates=m.updates, operator=m.operator,
                attrs={a: dict(v) if isinstance(v, dict) else v for a, v in m.attrs.items()},
            ))
        return out
