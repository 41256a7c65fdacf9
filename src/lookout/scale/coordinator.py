"""Tracks crossing between sector workers: adopting those handed to this sector, handing off
those that left it, and the sector's rule engine as the pipeline sees it.

A worker's step (:mod:`lookout.scale.worker`) is :meth:`HandoffCoordinator.adopt` (tracks handed
to this sector, before the step's observations gate on them), then
:meth:`lookout.pipeline.Pipeline.step` (store, tracker, rules), then
:meth:`HandoffCoordinator.hand_off` (confirmed tracks whose estimate moved into another sector).

A handed-over track keeps its id, its rule state and its open alert episodes: the payload on
``obs.handoff.<dest>`` is :meth:`~lookout.tracking.Tracker.export_track` plus ``rules``
(:meth:`~lookout.rules.engine.RuleEngine.export_track`, each episode with the alert id it was
published under). A track the receiver had already started on the same object is merged into
the handed one: its stored points are rewritten under the handed id, and it ends in the
receiver's rules (:class:`SectorRules`).

Alert ids: the rule engine's ids are per process; :class:`SectorRules` publishes each episode
under an id derived from the worker's state (sector, epoch, a counter), so a step replayed
after a restart publishes the same ids, and a handed-over episode keeps its published id.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from lookout.model import Alert, GeoPoint, Observation, Track, TrackPoint, TrackUpdates, Velocity
from lookout.rules.alerts import AlertEvent
from lookout.scale.checkpoint import WorkerState
from lookout.scale.partition import Partition

log = logging.getLogger(__name__)


class HandoffCoordinator:
    """Handoffs in and out of one sector worker (see the module docstring).

    ``history(track_id)``: the stored points of a track (the worker writes what it gathered
    first); the coordinator keeps its counters in the worker's :class:`WorkerState`."""

    def __init__(self, state: WorkerState, partition: Partition,
                 history: Callable[[str], list[TrackPoint]]) -> None:
        self.state, self.partition, self.history = state, partition, history
        self.rules = SectorRules(state) if state.rules is not None else None

    def adopt(self, handoffs: Iterable[dict[str, Any]]) -> list[Track]:
        """Take over the handed tracks, with their rule state and open alert episodes; returns
        the track states to write: the points of this sector's own tracks on the same objects
        rewritten under the handed ids, and those tracks' final (deleted) states."""
        st = self.state
        tracker = st.tracker
        out: list[Track] = []
        for h in handoffs:
            held = isinstance(h.get("id"), str) and tracker.has_track(h["id"])
            try:
                tid, replaced = tracker.adopt_track(h)
            except ValueError as exc:
                st.rejected["bad handoff"] += 1
                log.warning("sector %s: handoff rejected: %s", st.sector, exc)
                continue
            st.handoffs_in += 1
            st.merged += len(replaced)
            if st.rules is not None and not held and "rules" in h:
                rs = h["rules"]
                published = {e["alert"].get("id"): e.get("published_id")
                             for e in (rs.get("episodes") or [] if isinstance(rs, dict) else [])
                             if isinstance(e, dict) and isinstance(e.get("alert"), dict)}
                for a in st.rules.adopt_track(tid, rs):
                    pid = published.get(a.id)
                    if isinstance(pid, str):
                        st.alert_ids[a.id] = pid  # the episode keeps its published alert id
            for old in replaced:  # this sector's own track on the object: its points join the handed id
                out.extend(self._history_as(old, tid))
            out.extend(replaced)
            if self.rules is not None:
                self.rules.merged.extend(replaced)
        return out

    def hand_off(self, T: float) -> list[tuple[str, dict[str, Any]]]:
        """Release the confirmed tracks whose estimate, predicted to ``T``, lies in another
        sector; returns ``(destination sector, payload)`` for each (their open episodes go with
        them and continue there under the same alert ids)."""
        st = self.state
        tracker = st.tracker
        handed: list[tuple[str, dict[str, Any]]] = []
        for tid, dest in self._leaving(T):
            p = tracker.export_track(tid)
            if st.rules is not None:
                rs = st.rules.export_track(tid)
                for e in rs["episodes"]:
                    e["published_id"] = st.alert_ids.pop(e["alert"]["id"], None)
                st.rules.release_track(tid)
                p["rules"] = rs
            handed.append((dest, p))
        if handed:
            tracker.release_tracks([p["id"] for _, p in handed])
            st.handoffs_out += len(handed)
        return handed

    def _leaving(self, T: float) -> list[tuple[str, str]]:
        """Confirmed tracks (id, destination sector) whose estimate, predicted to ``T``, lies in another sector."""
        ids, lat, lon = self.state.tracker.positions_at(T)
        out = []
        for i, tid in enumerate(ids):
            dest = self.partition.sector_of(float(lat[i]), float(lon[i]))
            if dest != self.state.sector:
                out.append((tid, dest))
        return out

    def _history_as(self, old: Track, new_id: str) -> list[Track]:
        """The stored points of ``old`` as states of track ``new_id`` (written before its newer state)."""
        out = []
        for p in self.history(old.id):
            v = None
            if p.speed_mps is not None and p.course_deg is not None:
                c = math.radians(p.course_deg)
                v = Velocity(p.speed_mps * math.sin(c), p.speed_mps * math.cos(c), 0.0)
            out.append(Track(id=new_id, time=p.time, position=GeoPoint(p.lat, p.lon, p.alt_m), velocity=v,
                             sigma_h_m=old.sigma_h_m, cls=old.cls, identities=dict(old.identities),
                             sources=list(old.sources), sensors=list(old.sensors), label=old.label,
                             first_time=old.first_time, attrs={"rewritten_from": old.id}))
        return out


class SectorRules:
    """The sector's rule engine as the pipeline's rule stage (:class:`lookout.stages.RuleStage`):
    tracks merged into handed-over ones end in it, and alerts come out under the ids they are
    published with (see the module docstring)."""

    def __init__(self, state: WorkerState) -> None:
        assert state.rules is not None
        self.state = state
        self.engine = state.rules
        #: this step's tracks merged into handed-over ones (they end here, their episodes with them)
        self.merged: list[Track] = []

    def observe(self, observations: Iterable[Observation]) -> int:
        return self.engine.observe(observations)

    def evaluate(self, updates: TrackUpdates) -> list[AlertEvent]:
        if self.merged:
            updates = TrackUpdates(time=updates.time, confirmed=updates.confirmed, updated=updates.updated,
                                   deleted=list(updates.deleted) + self.merged)
            self.merged = []
        return [AlertEvent(ev.kind, self._published(ev.alert)) for ev in self.engine.evaluate(updates)]

    def _published(self, a: Alert) -> Alert:
        st = self.state
        aid = st.alert_ids.get(a.id)
        if aid is None:
            st.alerts_made += 1
            key = f"{st.sector}|{st.epoch}|{st.alerts_made}|{a.rule}|{a.start!r}|{','.join(a.track_ids)}"
            aid = st.alert_ids[a.id] = "a-" + hashlib.sha1(key.encode()).hexdigest()[:16]
        out = replace(a, id=aid, track_ids=list(a.track_ids), evidence=dict(a.evidence))
        if a.end is not None:
            st.alert_ids.pop(a.id, None)
        return out
