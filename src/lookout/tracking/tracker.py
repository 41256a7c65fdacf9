"""The pipeline tracker: multi-sensor :class:`~lookout.model.Observation` lists in,
:class:`~lookout.model.TrackUpdates` out.

State: 3-D nearly-constant velocity in the sector's local ENU frame (``[e, n, u, ve, vn, vu]``),
one Gaussian per track (or one per model with ``imm=True``), kept as arrays over all tracks;
per-track bookkeeping (identities, sources, labels, class votes) sits in a parallel list.

The tracker is a wiring of stages over arrays (Stone Soup style), each in its own module:
:mod:`~lookout.tracking.state` (state arrays, lazy prediction), :mod:`~lookout.tracking.measurements`
(observations converted for the filter), :mod:`~lookout.tracking.gating`,
:mod:`~lookout.tracking.association` (GNN, JPDA weights), :mod:`~lookout.tracking.updater`
((E)KF and JPDA updates), :mod:`~lookout.tracking.identity` (identity fusion),
:mod:`~lookout.tracking.lifecycle` (births, M-of-N, expiry), :mod:`~lookout.tracking.handoff`
and :mod:`~lookout.tracking.output`.

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
from typing import Any

import numpy as np

from lookout.geo import LocalFrame
from lookout.model import Observation, SourceKind, Track, TrackUpdates
from lookout.tracking.association import gnn_select
from lookout.tracking.config import TrackerConfig
from lookout.tracking.gating import mahalanobis_gate, pregate
from lookout.tracking.handoff import Handoff
from lookout.tracking.identity import IdentityFusion, is_cooperative
from lookout.tracking.lifecycle import Lifecycle
from lookout.tracking.measurements import Meas, MeasurementPreparer
from lookout.tracking.output import TrackOutput
from lookout.tracking.state import TrackMeta, TrackStates
from lookout.tracking.stats import TrackerStats
from lookout.tracking.updater import Updater


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
        self.stats = TrackerStats()
        self.time: float | None = None  # newest observation / update time seen
        self.states = st = TrackStates(cfg)
        self.measurements = MeasurementPreparer(cfg, frame)
        self.updater = Updater(cfg, st)
        self.output = TrackOutput(cfg, frame, st)
        self.lifecycle = Lifecycle(cfg, st, self.output, self.stats, id_prefix)
        self.identity = IdentityFusion(cfg, st, self.updater, self.lifecycle, self.stats)
        self.handoff = Handoff(st, frame, self.output, self.lifecycle)

    # ------------------------------------------------------------------ state (read-only views)
    def __len__(self) -> int:
        return len(self.states)

    @property
    def stats(self) -> TrackerStats:
        return self._stats

    @stats.setter
    def stats(self, stats: TrackerStats) -> None:
        """Replace the counters (a restored checkpoint): every stage counts into the new ones."""
        self._stats = stats
        if hasattr(self, "lifecycle"):
            self.lifecycle.stats = self.identity.stats = stats

    # ------------------------------------------------------------------ checkpoints
    def bookkeeping(self) -> dict[str, Any]:
        """The tracker-wide state that decides what comes next, beside the tracks themselves
        (JSON-serialisable): ``time`` (the newest step), ``next_id`` (the number of the next
        track id), ``periods`` (each sensor's learnt revisit period) and ``stats`` (the counters).
        A restart restores it with :meth:`restore_bookkeeping` after adopting the tracks."""
        return {"time": self.time, "next_id": self.lifecycle.next_number, "periods": dict(self.lifecycle.period),
                "stats": self.stats.as_dict()}

    def restore_bookkeeping(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`bookkeeping`: every stage carries on from the restored clock,
        track number, revisit periods and counters. ``ValueError`` (or ``KeyError`` /
        ``TypeError``) for a malformed state, nothing changed then."""
        t = state["time"]
        time = None if t is None else float(t)
        if time is not None and not math.isfinite(time):
            raise ValueError(f"bookkeeping time must be finite, got {t!r}")
        next_id = int(state["next_id"])
        if next_id < 1:
            raise ValueError(f"next track number must be >= 1, got {next_id}")
        periods = {str(k): float(v) for k, v in state["periods"].items()}
        if not all(math.isfinite(v) and v > 0 for v in periods.values()):
            raise ValueError("revisit periods must be finite and positive")
        stats = TrackerStats(**{str(k): int(v) for k, v in state["stats"].items()})
        self.time, self.lifecycle.next_number, self.lifecycle.period, self.stats = time, next_id, periods, stats

    @property
    def meta(self) -> list[TrackMeta]:
        return self.states.meta

    @property
    def x(self) -> np.ndarray:
        return self.states.x

    @property
    def P(self) -> np.ndarray:
        return self.states.P

    @property
    def mu(self) -> np.ndarray:
        return self.states.mu

    @property
    def t(self) -> np.ndarray:
        return self.states.t

    # ------------------------------------------------------------------ public
    def update(self, time: float, observations: list[Observation]) -> TrackUpdates:
        """Process ``observations`` (times up to ``time``) and report what changed."""
        if not math.isfinite(time):
            raise ValueError(f"update time must be finite, got {time!r}")
        st, life = self.states, self.lifecycle
        life.deleted = []
        for m in st.meta:
            m.touched = False
        was_confirmed = {m.id for m in st.meta if m.confirmed}
        newest = self.time if self.time is not None else -math.inf
        accepted = self._accept(observations, newest)
        meas = self.measurements.prepare(accepted)  # every measurement of the step converted at once
        i, n = 0, len(accepted)
        while i < n:  # batches: one sensor at one time
            t0, s0 = accepted[i].time, accepted[i].sensor
            j = i + 1
            while j < n and accepted[j].time == t0 and accepted[j].sensor == s0:
                j += 1
            self._batch(t0, s0, meas[i:j])
            i = j
        if accepted:
            st.predict_to(accepted[-1].time)
        self.time = max(newest, float(time), accepted[-1].time if accepted else -math.inf)
        self.identity.merge_cooperative(self.time)
        life.expire(self.time)
        updated = self.output.tracks([k for k, m in enumerate(st.meta) if m.confirmed and m.touched])
        confirmed = [trk for trk in updated if trk.id not in was_confirmed]
        return TrackUpdates(time=float(self.time), confirmed=confirmed, updated=updated, deleted=life.deleted)

    def tracks(self, confirmed_only: bool = True) -> list[Track]:
        """Current tracks (confirmed only by default)."""
        return self.output.tracks([k for k, m in enumerate(self.meta) if m.confirmed or not confirmed_only])

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
        xc, _ = self.states.combined(a)
        dt = np.maximum(T - self.states.t[a], 0.0)
        lat, lon, _ = self.frame.to_geodetic(xc[:, 0] + xc[:, 3] * dt, xc[:, 1] + xc[:, 4] * dt, xc[:, 2])
        return [self.meta[k].id for k in ix], np.atleast_1d(lat), np.atleast_1d(lon)

    def export_track(self, track_id: str, with_track: bool = True) -> dict[str, Any]:
        """The full state of one track (:meth:`lookout.tracking.handoff.Handoff.export_track`;
        ``with_track=False`` leaves out its ``Track`` view, which :meth:`adopt_track` does not
        need); ``KeyError`` for an unknown id. The track stays in this tracker (see :meth:`release_tracks`)."""
        return self.handoff.export_track(track_id, with_track=with_track)

    def has_track(self, track_id: str) -> bool:
        """True when this tracker holds a track with this id."""
        return self.states.index(track_id) is not None

    def release_tracks(self, track_ids) -> int:
        """Remove tracks without reporting them deleted (they continue in another tracker);
        returns how many were removed. Unknown ids are ignored."""
        return self.handoff.release_tracks(track_ids)

    def adopt_track(self, state: dict[str, Any], merge_m: float = 1500.0,
                    slack_s: float = 30.0) -> tuple[str, list[Track]]:
        """Take over a track exported by another tracker, keeping its id; returns the id and this
        tracker's own confirmed tracks merged into it
        (:meth:`lookout.tracking.handoff.Handoff.adopt_track`)."""
        return self.handoff.adopt_track(state, merge_m=merge_m, slack_s=slack_s)

    # ------------------------------------------------------------------ one step
    def _accept(self, observations: list[Observation], newest: float) -> list[Observation]:
        """The observations to track, in time order: blue force and too-late ones are counted and skipped."""
        accepted = []
        late = newest - self.cfg.late_tolerance_s
        for o in observations:
            self.stats.observations += 1
            if o.source == SourceKind.BLUE_FORCE:
                self.stats.skipped_blue_force += 1
            elif o.time < late:
                self.stats.dropped_late += 1
            else:
                accepted.append(o)
        accepted.sort(key=lambda o: (o.time, o.sensor))
        return accepted

    def _batch(self, T: float, sensor: str, meas: list[Meas]) -> None:
        """One sensor at one time: identities first, then gating and association of the rest."""
        self.lifecycle.batch_no += 1
        if self.states.r > 1:
            self.states.predict_to(T)
        coop, anon = [], []
        for m in meas:
            (coop if is_cooperative(m) else anon).append(m)
        if coop:
            self.identity.cooperative(coop, T)
        if anon:
            self._associate(anon, T)
        self.lifecycle.clock(sensor, T)

    def _associate(self, meas: list[Meas], T: float) -> None:
        """Gate, associate (GNN or JPDA) and update; the measurements left start tentative tracks."""
        cfg, st, life = self.cfg, self.states, self.lifecycle
        n, nm = len(st), len(meas)
        confirmed = st.confirmed_mask() if n and any(m.point is None for m in meas) else None
        xc, Pc = st.horizontal_at(T)
        ti, mi = pregate(cfg, xc, Pc, confirmed, meas)
        if st.r == 1 and len(ti):
            st.predict_to(T, ti)
        g = mahalanobis_gate(cfg, self.updater.innovation, meas, ti, mi, T)
        used = np.zeros(nm, dtype=bool)
        if len(g.ti) and cfg.association == "gnn":
            miss = np.full(n, -np.inf)
            np.maximum.at(miss, g.ti, g.gate + g.logdet)
            if confirmed is None:
                confirmed = st.confirmed_mask()
            sel = gnn_select(g.ti, g.mi, g.d2 + g.logdet, miss, confirmed, n, nm)
            at, am = g.ti[sel], g.mi[sel]
            if st.r == 1:  # the gating innovations are those of the update: apply the chosen ones
                self.updater.apply_gated(g, sel)
            else:
                mkeys = [m.key for m in meas]
                for key in {mkeys[j] for j in am.tolist()}:
                    s = [i for i in range(len(at)) if mkeys[am[i]] == key]
                    self.updater.apply(key, [meas[am[i]] for i in s], at[s], T)
            hits = zip(at.tolist(), am.tolist())
            used[am] = True
        elif len(g.ti):
            hits = self.updater.jpda(meas, g.ti, g.mi, g.d2, g.logdet, T)
            used[g.mi] = True
        else:
            hits = ()
        for k, j in hits:
            life.hit(k, meas[j].obs, T)
        gated = np.zeros(nm, dtype=bool)
        gated[g.mi] = True
        self.stats.gated_out += int((~gated).sum())
        births = []
        for j in np.flatnonzero(~used).tolist():
            if meas[j].point is None:
                self.stats.unassociated_bearings += 1
            else:
                births.append(meas[j])
        if births:
            life.new_tracks(births, T)
