"""The one-way flow in one process: observations -> tracker -> rules -> store -> live hub.

:class:`Pipeline` is what ``lookout demo`` and ``lookout serve`` run. Every component is
optional except the store, so the same loop serves a store-only ingest, a tracking run without
rules, or the full picture.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from lookout.model import Alert, Observation, SourceKind, Track, TrackUpdates
from lookout.store.base import Store

log = logging.getLogger(__name__)


@dataclass
class PipelineStats:
    steps: int = 0
    observations: Counter = field(default_factory=Counter)  # by source kind
    track_ids: set[str] = field(default_factory=set)  # every confirmed track seen
    tracks_deleted: int = 0
    alerts: dict[str, Alert] = field(default_factory=dict)  # latest state by id
    last_time: float | None = None


class Pipeline:
    """Run observations through tracking and rules into the store and the live hub.

    ``tracker`` has ``update(time, observations) -> TrackUpdates``; ``rules`` has
    ``observe(observations)`` (agent positions etc.) and ``evaluate(updates) -> list`` of alert
    events with an ``alert`` attribute; ``hub`` has ``publish(time, tracks, deleted, alerts)``.
    """

    def __init__(
        self,
        store: Store,
        tracker: Any | None = None,
        rules: Any | None = None,
        hub: Any | None = None,
        on_alert: Callable[[Alert], None] | None = None,
    ) -> None:
        self.store = store
        self.tracker = tracker
        self.rules = rules
        self.hub = hub
        self.on_alert = on_alert
        self.stats = PipelineStats()

    def step(self, time: float, observations: Iterable[Observation]) -> TrackUpdates:
        """Process the observations of one step ending at ``time``."""
        obs = list(observations)
        st = self.stats
        st.steps += 1
        st.last_time = time
        for o in obs:
            st.observations[str(o.source)] += 1
        if obs:
            self.store.write_observations(obs)

        updates = TrackUpdates(time=time)
        if self.tracker is not None:
            updates = self.tracker.update(time, [o for o in obs if o.source != SourceKind.BLUE_FORCE])
        changed: list[Track] = list(updates.updated) + list(updates.deleted)
        if changed:
            self.store.write_tracks(changed)
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
                st.alerts[a.id] = a
                if self.on_alert is not None:
                    self.on_alert(a)
        if self.hub is not None:
            self.hub.publish(time, list(updates.updated), [t.id for t in updates.deleted], alerts)
        return updates
