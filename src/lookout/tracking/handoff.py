"""Handoff stage of the multi-sensor tracker: tracks exported from one tracker and adopted by
another sharing its frame (the scale-out workers hand tracks between sectors this way).

An exported track is a JSON-serialisable dict: ``id``, ``t`` (state time), ``x`` ``(r, 6)``
ENU state per model, ``P`` ``(r, 6, 6)``, ``mu`` ``(r,)``, ``meta`` (identities, sources,
sensors, labels, class votes, counters, attrs), ``frame`` ``[lat0, lon0, alt0]`` and ``track``
(the :class:`~lookout.model.Track` as ``to_dict``).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np

from lookout.geo import LocalFrame
from lookout.model import GeoPoint, ObjectClass, Track, TrackStatus
from lookout.tracking.filters import combine
from lookout.tracking.lifecycle import Lifecycle
from lookout.tracking.output import TrackOutput
from lookout.tracking.state import META_FIELDS, SET_FIELDS, D, TrackMeta, TrackStates


def meta_from(d: dict[str, Any]) -> TrackMeta:
    """A track's bookkeeping from the ``meta`` dict of :meth:`Tracker.export_track`."""
    kw = {k: v for k, v in d.items() if k in META_FIELDS}
    for name in SET_FIELDS:
        kw[name] = set(kw.get(name) or ())
    kw["cls_votes"] = Counter({ObjectClass(c): float(w) for c, w in (kw.get("cls_votes") or {}).items()})
    if kw.get("operator") is not None:
        kw["operator"] = GeoPoint(**kw["operator"])
    if kw.get("last_noncoop") is None:
        kw["last_noncoop"] = -math.inf
    if not isinstance(kw.get("identities", {}), dict) or not isinstance(kw.get("attrs", {}), dict):
        raise ValueError("identities and attrs must be objects")
    return TrackMeta(**kw)


class Handoff:
    """Export, release and adoption of the tracks in ``states``."""

    def __init__(self, states: TrackStates, frame: LocalFrame, output: TrackOutput, lifecycle: Lifecycle) -> None:
        self.states = states
        self.frame = frame
        self.output = output
        self.lifecycle = lifecycle

    def export_track(self, track_id: str, with_track: bool = True) -> dict[str, Any]:
        """The full state of one track as a JSON-serialisable dict, for :meth:`adopt_track` by
        another tracker sharing this frame: ``id``, ``t`` (state time), ``x`` ``(r, 6)`` ENU
        state per model, ``P`` ``(r, 6, 6)``, ``mu`` ``(r,)``, ``meta`` (identities, sources,
        sensors, labels, class votes, counters, attrs), ``frame`` ``[lat0, lon0, alt0]`` and
        ``track`` (the :class:`~lookout.model.Track` as ``to_dict``; left out when not
        ``with_track``: the state alone restores the track). Raises ``KeyError`` for an
        unknown id. The track stays in this tracker (see :meth:`release_tracks`)."""
        st = self.states
        k = st.index(track_id)
        if k is None:
            raise KeyError(f"no track {track_id!r} in this tracker")
        m = st.meta[k]
        meta: dict[str, Any] = {}
        for name in META_FIELDS:
            v = getattr(m, name)
            if name in SET_FIELDS:
                v = sorted(v)
            elif name == "cls_votes":
                v = {str(c): float(w) for c, w in v.items()}
            elif name == "operator":
                v = None if v is None else {"lat": v.lat, "lon": v.lon, "alt_m": v.alt_m}
            elif isinstance(v, float) and not math.isfinite(v):
                v = None
            meta[name] = v
        f = self.frame
        out = {
            "id": m.id, "t": float(st.t[k]), "x": st.x[k].tolist(), "P": st.P[k].tolist(),
            "mu": st.mu[k].tolist(), "meta": meta, "frame": [f.lat0, f.lon0, f.alt0],
        }
        if with_track:
            out["track"] = self.output.tracks([k])[0].to_dict()
        return out

    def release_tracks(self, track_ids) -> int:
        """Remove tracks without reporting them deleted (they continue in another tracker);
        returns how many were removed. Unknown ids are ignored."""
        st = self.states
        ids = set(track_ids)
        drop = [k for k, m in enumerate(st.meta) if m.id in ids]
        if drop:
            keep = np.ones(len(st.meta), dtype=bool)
            keep[drop] = False
            st.keep(keep)
        return len(drop)

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
        st = self.states
        try:
            tid = str(state["id"])
            x = np.asarray(state["x"], dtype=float)
            P = np.asarray(state["P"], dtype=float)
            mu = np.asarray(state["mu"], dtype=float)
            t = float(state["t"])
            meta = meta_from(dict(state["meta"], id=tid))
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
        r = st.r
        if x.shape != (r, D):  # a different filter set-up: keep the combined moment
            xc, Pc = combine(x[None], P[None], mu[None])
            x, P, mu = np.repeat(xc, r, 0), np.repeat(Pc, r, 0), st.mu0.copy()
        if st.index(tid) is not None:
            return tid, []  # a repeated handoff
        idents = {(kd, v) for kd, v in meta.identities.items() if kd != "callsign"}
        same = [k for k, m in enumerate(st.meta) if any((kd, v) in idents for kd, v in m.identities.items())]
        if not same and len(st.meta):
            xc, _ = combine(st.x, st.P, st.mu)
            xa = (mu[:, None] * x).sum(0)
            pred = xa[:2] + xa[3:5] * (st.t - t)[:, None]
            d = np.hypot(*(xc[:, :2] - pred).T)
            cand = [k for k in np.argsort(d).tolist() if d[k] < merge_m and st.meta[k].first_time >= t - slack_s]
            same = cand[:1]
        replaced: list[Track] = []
        if same:
            k = same[0]
            local = st.meta[k]
            if local.confirmed:
                old = self.output.tracks([k], status=TrackStatus.DELETED)[0]
                old.attrs["merged_into"] = tid
                replaced.append(old)
            if st.t[k] < t:  # the adopted state is newer: take it
                st.x[k], st.P[k], st.mu[k], st.t[k] = x, P, mu, t
            local.id = tid
            local.first_time = min(meta.first_time, local.first_time)
            local.identities = {**meta.identities, **local.identities}
            for name in SET_FIELDS:
                getattr(local, name).update(getattr(meta, name))
            local.cls_votes.update(meta.cls_votes)
            local.attrs = {**meta.attrs, **local.attrs}
            local.updates += meta.updates
            local.last_noncoop = max(local.last_noncoop, meta.last_noncoop)
            local.operator = local.operator or meta.operator
            local.confirmed = local.confirmed or meta.confirmed
            local.touched = True
        else:
            meta.touched = False
            meta.born = self.lifecycle.batch_no
            st.append(x[None], P[None], mu[None], np.array([t]), [meta])
        st.rebuild_idents()
        return tid, replaced
