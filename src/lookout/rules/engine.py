"""The rule engine: track updates in, alert events out.

:class:`RuleEngine` wires the parts: the :class:`~lookout.rules.table.TrackTable` (the latest
state of every live track in flat arrays, positions in the sector's ENU frame), one rule per
enabled entry of the rules file (the kinds in :mod:`lookout.rules.kinds`, each running over all
the tracks of a step at once), the :class:`~lookout.rules.alerts.AlertManager` that turns the
rules' hits into deduplicated alert episodes, the sector handoff of a track's rule state
(:mod:`lookout.rules.handoff`) and the engine's checkpoint (:mod:`lookout.rules.checkpoint`).
"""

from __future__ import annotations

import logging
import math
import time as _time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from lookout.model import Alert, ObjectClass, Observation, Track, TrackUpdates, Zone
from lookout.rules.alerts import AlertEvent, AlertManager, Hit
from lookout.rules.config import OperatorLocatedRule, RulesConfig
from lookout.rules.context import RuleContext
from lookout.rules.handoff import RuleHandoff
from lookout.rules.kinds import RULE_KINDS, OperatorLocator, ZoneRuleImpl
from lookout.rules.rule import Rule, Step
from lookout.rules.table import TrackTable
from lookout.stages import ZoneSource

log = logging.getLogger(__name__)


class RuleEngine:
    """Evaluate configured rules over track updates; episodes and lifecycle in :attr:`alerts`."""

    def __init__(self, rules_config: RulesConfig, context: RuleContext, alerts: AlertManager | None = None) -> None:
        self.config = rules_config
        self.context = context
        self.alerts = alerts or AlertManager()
        self.table = TrackTable(context)
        self.rules: list[Rule] = []
        self.operator: OperatorLocator | None = None
        for cfg in rules_config.rules:
            if not cfg.enabled:
                continue
            if isinstance(cfg, OperatorLocatedRule):
                self.operator = OperatorLocator(cfg, self)
                continue
            self.rules.append(RULE_KINDS[cfg.type](cfg, self))
        self._clear = {r.name: r.cfg.clear_after_s for r in self.rules}
        self._interval = {r.name: r.cfg.update_interval_s for r in self.rules}
        self.handoff = RuleHandoff(self)
        self.steps = 0
        self.last_step_s = 0.0
        self.rule_errors: Counter = Counter()  # rule name -> evaluations that raised (logged)
        self.webhooks: list = []  # WebhookSenders subscribed from the rules file (close() them)
        #: a store whose zones the engine follows (see :meth:`sync_zones`)
        self.zone_store: ZoneSource | None = None
        self.zone_refresh_s = 10.0
        self._zone_sig = {(z.id, z.version) for z in context.zones.zones}
        self._zones_checked = -math.inf

    # -- inputs ----------------------------------------------------------------------------------
    def observe(self, observations: Iterable[Observation]) -> int:
        """Take agent positions (blue-force fixes, reporters) from a step's observations."""
        return self.context.update_agents(observations)

    def set_zones(self, zones: Iterable[Zone]) -> None:
        """Swap the zones (a new version was loaded); zone rules restart their in/out state.
        Raises ValueError (and keeps the old zones) when a rule names a zone id that is missing."""
        zones = list(zones)
        known = {z.id for z in zones}
        zone_rules = [r for r in self.rules if isinstance(r, ZoneRuleImpl)]
        for r in zone_rules:
            missing = [z for z in r.cfg.zones if z not in known]
            if missing:
                raise ValueError(f"rule {r.name!r} names unknown zone ids {missing}; known: {sorted(known)}")
        self.context.set_zones(zones)
        self._zone_sig = {(z.id, z.version) for z in zones}
        for r in zone_rules:
            r.rebuild_zones()

    def sync_zones(self) -> bool:
        """Pick up zone changes from :attr:`zone_store` (new versions, additions, deletions);
        True when the zones changed. ``evaluate`` calls it every ``zone_refresh_s`` of track time."""
        if self.zone_store is None:
            return False
        zones = self.zone_store.zones()
        if {(z.id, z.version) for z in zones} == self._zone_sig:
            return False
        try:
            self.set_zones(zones)
        except ValueError as exc:
            log.warning("zones from the store not applied: %s", exc)
            return False
        return True

    def subscribe(self, fn: Callable[[AlertEvent], None]) -> Callable[[], None]:
        return self.alerts.subscribe(fn)

    # -- a track moving to another engine (sector handoff, see lookout.rules.handoff) -------------
    def export_track(self, track_id: str) -> dict[str, Any]:
        """What this engine knows of one track, as JSON-able data (positions as latitude/longitude):
        its counters, each rule's state and its open alert episodes. Another engine takes it over
        with :meth:`adopt_track`, so the track's alerts and half-built findings continue there
        instead of ending here and starting afresh there. The track stays here (see
        :meth:`release_track`)."""
        return self.handoff.export(track_id)

    def release_track(self, track_id: str) -> None:
        """Drop a track that continues in another engine: its state and open episodes go without
        ending them (no ``end`` event)."""
        self.handoff.release(track_id)

    def adopt_track(self, track_id: str, state: Any) -> list[Alert]:
        """Take over a track's state from :meth:`export_track` of another engine; returns the
        alerts of the episodes taken over (they continue here under their ids). The rules' state
        is restored when the track first reaches :meth:`evaluate`. A malformed state is logged
        and left out, whole or in part (never raised: the track is tracked either way)."""
        return self.handoff.adopt(track_id, state)

    # -- the whole engine's state (see lookout.rules.checkpoint) ------------------------------------
    def checkpoint(self) -> dict[str, Any]:
        """The engine's state as versioned JSON-able data, exactly: an engine built from the same
        rules file and zones continues from it (:meth:`load_checkpoint`) as this one would."""
        from lookout.rules.checkpoint import engine_state

        return engine_state(self)

    def load_checkpoint(self, state: Any) -> None:
        """Continue from :meth:`checkpoint` (of an engine of the same rules, zones and sector);
        raises :class:`~lookout.rules.checkpoint.EngineStateError` on a malformed or foreign state."""
        from lookout.rules.checkpoint import load_engine_state

        load_engine_state(self, state)

    def close(self, timeout_s: float = 5.0) -> None:
        """Flush and stop the webhook senders."""
        for w in self.webhooks:
            w.close(timeout_s)

    # -- the step ----------------------------------------------------------------------------------
    def evaluate(self, updates: TrackUpdates) -> list[AlertEvent]:
        t0 = _time.perf_counter()
        t = updates.time
        self.context.time = t
        if self.zone_store is not None and t - self._zones_checked >= self.zone_refresh_s:
            self._zones_checked = t
            self.sync_zones()
        by_id: dict[str, Track] = {}
        for tr in list(updates.confirmed) + list(updates.updated):
            if tr.cls == ObjectClass.AGENT:
                v = tr.velocity
                self.context.update_agent(tr.identities.get("callsign") or tr.id, tr.time, tr.position.lat,
                                          tr.position.lon, v.east if v else 0.0, v.north if v else 0.0,
                                          tr.position.alt_m)
                continue
            by_id[tr.id] = tr
        deleted = {tr.id for tr in updates.deleted}
        for tid in deleted:
            by_id.pop(tid, None)
        tracks = list(by_id.values())
        slots = self.table.upsert(tracks) if tracks else np.empty(0, dtype=np.intp)
        if self.handoff.pending:
            self.handoff.drop(deleted)
            if tracks:
                self.handoff.restore(tracks, slots)
        step = Step(self, t, slots)
        hits: list[Hit] = []
        for r in self.rules:
            try:
                hits.extend(r.evaluate(step))
            except Exception:  # noqa: BLE001 - one failing rule never stops the others or the pipeline
                self.rule_errors[r.name] += 1
                if self.rule_errors[r.name] <= 5:
                    log.exception("rule %s failed at t=%s", r.name, t)
        if self.operator is not None and hits:
            self.operator.attach(hits)
        events = self.alerts.apply(t, hits, set(by_id), deleted, self._clear, self._interval)
        if deleted:
            freed = self.table.remove(deleted)
            ids = list(deleted)
            for r in self.rules:
                r.forget(freed, ids)
        self.steps += 1
        self.last_step_s = _time.perf_counter() - t0
        return events
