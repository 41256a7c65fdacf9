"""The one-way flow in one process: observations -> tracker -> rules -> store -> live hub.

:class:`Pipeline` is what ``lookout demo`` and ``lookout serve`` run, and what a scale-out
worker (:mod:`lookout.scale.worker`) runs for each step of its sector. Every stage is optional
except the store, so the same loop serves a store-only ingest, a tracking run without rules, or
the full picture. The stages are typed by their interfaces in :mod:`lookout.stages`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from lookout.model import Alert, Observation, SourceKind, Track, TrackUpdates
from lookout.stages import LiveSink, RecordSink, RuleStage, TrackerStage

log = logging.getLogger(__name__)


@dataclass
class PipelineStats:
    steps: int = 0
    observations: Counter = field(default_factory=Counter)  # by source kind
    track_ids: set[str] = field(default_factory=set)  # every confirmed track seen (when kept)
    tracks_deleted: int = 0
    alerts: dict[str, Alert] = field(default_factory=dict)  # latest state by id (when kept)
    last_time: float | None = None


class Pipeline:
    """Run observations through tracking and rules into the store and the live hub.

    ``keep_seen``: keep every track id and the latest state of every alert in :attr:`stats`
    (the demo's summary); a long-running worker turns it off and keeps the counts only.
    """

    def __init__(
        self,
        store: RecordSink,
        tracker: TrackerStage | None = None,
        rules: RuleStage | None = None,
        hub: LiveSink | None = None,
        on_alert: Callable[[Alert], None] | None = None,
        keep_seen: bool = True,
    ) -> None:
        self.store = store
        self.tracker = tracker
        self.rules = rules
        self.hub = hub
        self.on_alert = on_alert
        self.keep_seen = keep_seen
        self.stats = PipelineStats()

    def step(self, time: float, observations: Iterable[Observation]) -> TrackUpdates:
        """Process the observations of one step ending at ``time``."""
        obs = list(observations)
        st = self.stats
        st.steps += 1
        st.last_time = time
        st.observations.update(str(o.source) for o in obs)
        if obs:
            self.store.write_observations(obs)

        updates = TrackUpdates(time=time)
        if self.tracker is not None:
            updates = self.tracker.update(time, [o for o in obs if o.source != SourceKind.BLUE_FORCE])
        changed: list[Track] = list(updates.updated) + list(updates.deleted)
        if changed:
            self.store.write_tracks(changed)
        if self.keep_seen:
            st.track_ids.update(t.id for t in updates.updated)
        st.tracks_deleted += len(updates.deleted)

        alerts: list[Alert] = []
        if self.rules is not None:
            self.rules.observe(obs)
            for ev in self.rules.evaluate(updates):
                alerts.append(ev.alert)
        if alerts:
            self.store.write_alerts(alerts)
            for a in alerts:
                if self.keep_seen:
                    st.alerts[a.id] = a
                if self.on_alert is not None:
                    self.on_alert(a)
        if self.hub is not None:
            self.hub.publish(time, list(updates.updated), [t.id for t in updates.deleted], alerts)
        return updates
