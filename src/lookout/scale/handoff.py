"""Track ids that are unique across workers, and track handoff between sector workers.

A worker's tracker names its tracks ``<sector>-<epoch>-T000001`` (:class:`SectorTracker`), so
ids never collide between workers or between runs. When a confirmed track's estimate moves into
another sector, its worker exports the full filter state and bookkeeping (:func:`export_track`),
removes it from its own tracker and publishes it on ``obs.handoff.<dest>``; the receiving worker
adopts it with its original id (:func:`adopt_track`). If the receiver already started its own
track on the same object (observations in the new sector can arrive before the handoff), the
two are merged: the receiver keeps its newer state under the original id and its own short-lived
track is recorded as deleted with ``attrs["merged_into"]``.

These functions reach into :class:`~lookout.tracking.Tracker`'s state arrays (``x``, ``P``,
``mu``, ``t``) and per-track bookkeeping (``meta``), which is the state a handoff must carry.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import fields
from typing import Any

import numpy as np

from lookout.model import GeoPoint, Track, TrackStatus
from lookout.tracking import Tracker, TrackerConfig
from lookout.tracking.filters import combine
from lookout.tracking.tracker import _Meta

_SET_FIELDS = ("sources", "sensors", "labels")
_META_FIELDS = {f.name for f in fields(_Meta)}


class SectorTracker(Tracker):
    """A :class:`Tracker` whose new track ids start with ``id_prefix``."""

    def __init__(self, config: TrackerConfig | None = None, frame=None, id_prefix: str = "") -> None:
        super().__init__(config, frame)
        self.id_prefix = id_prefix

    def _new_track(self, meas, T, ident=None):  # noqa: ANN001 - same signature as Tracker._new_track
        k = super()._new_track(meas, T, ident)
        self.meta[k].id = self.id_prefix + self.meta[k].id
        return k


def _index(tracker: Tracker, track_id: str) -> int | None:
    for k, m in enumerate(tracker.meta):
        if m.id == track_id:
            return k
    return None


def _rebuild_idents(tracker: Tracker) -> None:
    tracker.by_ident = {}
    for k, m in enumerate(tracker.meta):
        for kind, val in m.identities.items():
            if kind != "callsign":
                tracker.by_ident[(kind, val)] = k


def drop_tracks(tracker: Tracker, ks: list[int]) -> None:
    """Remove tracks from a tracker without reporting them deleted (they live on elsewhere)."""
    if not ks:
        return
    keep = np.ones(len(tracker.meta), dtype=bool)
    keep[ks] = False
    tracker.x, tracker.P, tracker.mu, tracker.t = tracker.x[keep], tracker.P[keep], tracker.mu[keep], tracker.t[keep]
    tracker.meta = [m for k, m in enumerate(tracker.meta) if keep[k]]
    _rebuild_idents(tracker)


def export_track(tracker: Tracker, track_id: str) -> dict[str, Any]:
    """The handoff payload of one track (JSON-serialisable)."""
    k = _index(tracker, track_id)
    if k is None:
        raise KeyError(f"no track {track_id!r} in this tracker")
    m = tracker.meta[k]
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
    f = tracker.frame
    return {
        "id": m.id, "t": float(tracker.t[k]), "x": tracker.x[k].tolist(), "P": tracker.P[k].tolist(),
        "mu": tracker.mu[k].tolist(), "meta": meta, "frame": [f.lat0, f.lon0, f.alt0],
        "track": tracker._tracks([k])[0].to_dict(),
    }


def _meta_from(d: dict[str, Any]) -> _Meta:
    kw = {k: v for k, v in d.items() if k in _META_FIELDS}
    for name in _SET_FIELDS:
        kw[name] = set(kw.get(name) or ())
    kw["cls_votes"] = Counter(kw.get("cls_votes") or {})
    if kw.get("operator") is not None:
        kw["operator"] = GeoPoint(**kw["operator"])
    if kw.get("last_noncoop") is None:
        kw["last_noncoop"] = -math.inf
    return _Meta(**kw)


def adopt_track(tracker: Tracker, payload: dict[str, Any], merge_m: float = 1500.0,
                slack_s: float = 30.0) -> tuple[str, list[Track]]:
    """Adopt a handed-off track; returns its id and the receiver's own tracks merged into it
    (their final state, status ``deleted``, ``attrs["merged_into"]`` set, for the store).

    A local track is the same object when it holds one of the handed-off track's identities
    (ICAO24, Remote ID, MMSI), or when it started after the handed track's last update (less
    ``slack_s``) within ``merge_m`` of the handed track's predicted position."""
    try:
        tid = str(payload["id"])
        x = np.asarray(payload["x"], dtype=float)
        P = np.asarray(payload["P"], dtype=float)
        mu = np.asarray(payload["mu"], dtype=float)
        t = float(payload["t"])
        meta = _meta_from(dict(payload["meta"], id=tid))
        frame = payload["frame"]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed handoff payload: {exc!r}") from None
    f = tracker.frame
    if not np.allclose(frame, [f.lat0, f.lon0, f.alt0]):
        raise ValueError(f"handoff of {tid} is in frame {frame}, this tracker's frame is "
                         f"{[f.lat0, f.lon0, f.alt0]}: workers must share the sector frame")
    r, D = tracker.x.shape[1], tracker.x.shape[2]
    if x.shape != (r, D) or P.shape != (r, D, D):  # a different filter set-up: keep the combined moment
        xc, Pc = combine(x.reshape(1, -1, D), P.reshape(1, -1, D, D), mu.reshape(1, -1))
        x, P, mu = np.repeat(xc, r, 0), np.repeat(Pc, r, 0), tracker.mu0.copy()
    if _index(tracker, tid) is not None:
        return tid, []  # a repeated handoff
    # the receiver's own track(s) on the same object
    idents = {(kd, v) for kd, v in meta.identities.items() if kd != "callsign"}
    same = [k for k, m in enumerate(tracker.meta)
            if any((kd, v) in idents for kd, v in m.identities.items())]
    if not same and len(tracker.meta):
        xc, _ = combine(tracker.x, tracker.P, tracker.mu)
        xa = (mu[:, None] * x).sum(0)
        pred = xa[:2] + xa[3:5] * (tracker.t - t)[:, None]
        d = np.hypot(*(xc[:, :2] - pred).T)
        cand = [k for k in np.argsort(d).tolist()
                if d[k] < merge_m and tracker.meta[k].first_time >= t - slack_s]
        same = cand[:1]
    replaced: list[Track] = []
    if same:
        k = same[0]
        local = tracker.meta[k]
        if local.confirmed:
            old = tracker._tracks([k], status=TrackStatus.DELETED)[0]
            old.attrs["merged_into"] = tid
            replaced.append(old)
        if tracker.t[k] < t:  # the handed state is newer: take it
            tracker.x[k], tracker.P[k], tracker.mu[k], tracker.t[k] = x, P, mu, t
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
        tracker.x = np.concatenate([tracker.x, x[None]])
        tracker.P = np.concatenate([tracker.P, P[None]])
        tracker.mu = np.concatenate([tracker.mu, mu[None]])
        tracker.t = np.append(tracker.t, t)
        meta.touched = False
        meta.born = getattr(tracker, "_batch_no", 0)
        tracker.meta.append(meta)
    _rebuild_idents(tracker)
    return tid, replaced
