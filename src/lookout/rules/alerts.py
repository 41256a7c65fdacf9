"""Alert episodes and their lifecycle, in one place.

A rule reports *hits*: "this condition holds for this subject now" (a subject is a track, a
track in a zone, a Remote ID serial...). The :class:`AlertManager` turns hits into episodes:

* the first hit of a subject opens an episode: one :class:`lookout.model.Alert`, event ``new``;
* further hits update the same alert (event ``update``, at most every ``update_interval_s``
  unless the severity or the tracks change);
* the episode ends (event ``end``, ``Alert.end`` set) once the condition has been evaluated false
  for ``clear_after_s`` (time hysteresis, on top of the rules' spatial hysteresis), or its track
  was deleted.

Operators move alerts through ``new -> acknowledged -> resolved`` with :meth:`acknowledge` and
:meth:`resolve`; a wrong move raises :class:`AlertStateError` saying why. Subscribers (callables
taking an :class:`AlertEvent`) hear every event; one failing subscriber is logged and counted and
never stops the others or the pipeline.
"""

from __future__ import annotations

import copy
import logging
import time as _time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from lookout.model import Alert, AlertState, GeoPoint, Severity, most_restrictive
from lookout.stages import AlertStore

log = logging.getLogger(__name__)

EventKind = Literal["new", "update", "end"]


@dataclass(slots=True)
class AlertEvent:
    """Something happened to an alert: opened (``new``), changed (``update``) or ended (``end``).

    ``alert`` is a snapshot of the alert as of this event (later changes do not show in it).
    """

    kind: EventKind
    alert: Alert

    @classmethod
    def of(cls, kind: EventKind, alert: Alert) -> AlertEvent:
        snap = copy.copy(alert)
        snap.track_ids = list(alert.track_ids)
        snap.evidence = dict(alert.evidence)
        return cls(kind, snap)


@dataclass(slots=True)
class Hit:
    """A rule's finding for one subject at one time."""

    key: tuple  # (rule name, subject...) - one episode per key
    track_ids: list[str]
    severity: Severity
    message: str | None  # None: "still holds, nothing new" (a keep-alive of an open episode)
    position: GeoPoint | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    start: float | None = None  # when the condition began (e.g. interpolated crossing time)
    operator: GeoPoint | None = None


class AlertNotFound(KeyError):
    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0])


class AlertStateError(ValueError):
    """An acknowledge/resolve that the alert's state does not allow."""


@dataclass(slots=True)
class _Episode:
    alert: Alert
    primary: str  # track id whose updates count as evaluations
    last_hit: float
    false_since: float | None = None
    last_sent: float = 0.0


Subscriber = Callable[[AlertEvent], None]


class AlertManager:
    """Episode state (dedup, hysteresis), the lifecycle and the subscribers."""

    def __init__(self, store: AlertStore | None = None, max_closed: int = 10_000) -> None:
        #: a :class:`lookout.store.base.Store`; acknowledge/resolve write through to it
        self.store = store
        self.max_closed = max_closed
        self._open: dict[tuple, _Episode] = {}
        self._kept: set[tuple] = set()
        self._alerts: dict[str, Alert] = {}  # every alert still held, by id
        self._subscribers: list[Subscriber] = []
        self.subscriber_errors = 0

    # -- subscribers -----------------------------------------------------------------------
    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        """Call ``fn(event)`` for every event; returns a function that unsubscribes."""
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn) if fn in self._subscribers else None

    def _emit(self, events: list[AlertEvent]) -> None:
        for ev in events:
            for fn in list(self._subscribers):
                try:
                    fn(ev)
                except Exception:  # noqa: BLE001 - a subscriber never breaks the pipeline
                    self.subscriber_errors += 1
                    log.exception("alert subscriber %r failed on %s %s", fn, ev.kind, ev.alert.id)

    # -- episodes (called by the rule engine) ----------------------------------------------
    def apply(self, time: float, hits: list[Hit], evaluated: set[str], deleted: set[str],
              clear_after: dict[str, float], update_interval: dict[str, float]) -> list[AlertEvent]:
        """Fold one step's hits into the episodes; returns (and emits) the events.

        ``evaluated``: ids of tracks evaluated this step (a missing hit for an episode whose
        primary track was evaluated counts towards ending it); ``deleted``: ids of tracks deleted
        (their episodes end now); ``clear_after`` / ``update_interval``: per rule name.
        """
        events: list[AlertEvent] = []
        seen, self._kept = self._kept, set()  # keys kept alive during this step count as hits
        for h in hits:
            seen.add(h.key)
            ep = self._open.get(h.key)
            if ep is None:
                if h.message is None:
                    continue
                a = Alert(rule=h.key[0], severity=h.severity, message=h.message,
                          start=h.start if h.start is not None else time, track_ids=list(h.track_ids),
                          position=h.position, operator=h.operator, evidence=dict(h.evidence),
                          label=_label(h.labels))
                a.updated = time
                a.evidence.setdefault("raised_at", time)
                # each episode re-sends on its own phase of the update interval, so episodes
                # opened together (a zone full of tracks, a file of zones loaded) do not all
                # fall due in the same step
                phase = (zlib.crc32(repr(h.key).encode()) % 1024) / 1024.0 * update_interval.get(h.key[0], 1.0)
                self._open[h.key] = _Episode(alert=a, primary=h.track_ids[0] if h.track_ids else "",
                                             last_hit=time, last_sent=time - phase)
                self._alerts[a.id] = a
                events.append(AlertEvent.of("new", a))
                continue
            a = ep.alert
            ep.last_hit, ep.false_since = time, None
            if h.message is None:
                continue
            changed = h.severity.rank > a.severity.rank or any(t not in a.track_ids for t in h.track_ids)
            if h.severity.rank > a.severity.rank:
                a.severity = h.severity  # an episode only escalates
            for t in h.track_ids:
                if t not in a.track_ids:
                    a.track_ids.append(t)
            a.message, a.position, a.updated = h.message, h.position, time
            if h.operator is not None:
                a.operator = h.operator
            raised = a.evidence.get("raised_at")
            a.evidence.update(h.evidence)
            a.evidence["raised_at"] = raised
            a.label = _label(h.labels + [a.label])
            if changed or time - ep.last_sent >= update_interval.get(h.key[0], 1.0):
                ep.last_sent = time
                events.append(AlertEvent.of("update", a))
        for key, ep in list(self._open.items()):
            if key in seen:
                continue
            if ep.primary in deleted:
                events.append(self._end(key, time, "track deleted"))
            elif ep.primary in evaluated:
                if ep.false_since is None:
                    ep.false_since = time
                if time - ep.false_since >= clear_after.get(key[0], 0.0) - 1e-9:
                    events.append(self._end(key, time, "condition cleared"))
        self._prune()
        self._emit(events)
        return events

    def due(self, key: tuple, time: float, interval: float, severity: Severity | None = None) -> bool:
        """Does a hit for ``key`` need its full content now? (No open episode, an update is due,
        or the severity rises.) When not, a rule may send a keep-alive hit (``message=None``)."""
        ep = self._open.get(key)
        if ep is None or time - ep.last_sent >= interval:
            return True
        return severity is not None and severity.rank > ep.alert.severity.rank

    def keep_alive(self, key: tuple, time: float, interval: float, severity: Severity | None = None) -> bool:
        """The cheap path for a condition that still holds: when the episode ``key`` is open and
        no update is due (see :meth:`due`), note it as held at ``time`` and return True (no hit
        needed); otherwise return False and the rule sends a full :class:`Hit`."""
        ep = self._open.get(key)
        if ep is None or time - ep.last_sent >= interval or (
                severity is not None and severity.rank > ep.alert.severity.rank):
            return False
        ep.last_hit, ep.false_since = time, None
        self._kept.add(key)
        return True

    def _end(self, key: tuple, time: float, why: str) -> AlertEvent:
        ep = self._open.pop(key)
        a = ep.alert
        a.end = ep.last_hit
        a.updated = time
        a.evidence["ended"] = why
        return AlertEvent.of("end", a)

    def _prune(self) -> None:
        if len(self._alerts) <= self.max_closed + len(self._open):
            return
        open_ids = {ep.alert.id for ep in self._open.values()}
        closed = sorted((a for a in self._alerts.values() if a.id not in open_ids), key=lambda a: a.updated or 0)
        for a in closed[: len(self._alerts) - self.max_closed - len(open_ids)]:
            del self._alerts[a.id]

    # -- a track moving to another engine ----------------------------------------------------
    def export_track(self, track_id: str) -> list[dict[str, Any]]:
        """The open episodes of track ``track_id`` (its primary track) as JSON-able data."""
        return [_episode_out(k, ep) for k, ep in self._open.items() if ep.primary == track_id]

    def release_track(self, track_id: str) -> list[Alert]:
        """Drop the open episodes of track ``track_id`` without ending them (they continue in
        another engine); returns their alerts."""
        out = []
        for k in [k for k, ep in self._open.items() if ep.primary == track_id]:
            a = self._open.pop(k).alert
            self._alerts.pop(a.id, None)
            out.append(a)
        self._kept = {k for k in self._kept if k in self._open}
        return out

    def adopt_episodes(self, track_id: str, episodes: Any) -> list[Alert]:
        """Continue episodes exported by another engine (:meth:`export_track`) under their alert
        ids; an episode whose key is already open here, or that is malformed, is left out (logged)."""
        out = []
        for e in episodes if isinstance(episodes, list) else []:
            try:
                key, ep = _episode_in(e, track_id)
            except Exception as exc:  # noqa: BLE001 - the track is adopted either way
                log.warning("episode of handed-over track %s not adopted: %r", track_id, exc)
                continue
            if key in self._open or ep.alert.id in self._alerts:
                continue
            self._open[key] = ep
            self._alerts[ep.alert.id] = ep.alert
            out.append(ep.alert)
        return out

    # -- a checkpoint of the engine ------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Every open episode, in order, as JSON-able data (closed alerts are not kept: they are
        in the store); :meth:`load_state` continues them."""
        return {"open": [_episode_out(k, ep) for k, ep in self._open.items()],
                "subscriber_errors": self.subscriber_errors}

    def load_state(self, state: dict[str, Any]) -> None:
        """Take over :meth:`state` (replacing the episodes held); raises on a malformed state."""
        items = [_episode_in(e, "") for e in state["open"]]
        self._open = dict(items)
        self._alerts = {ep.alert.id: ep.alert for _, ep in items}
        self._kept = set()
        self.subscriber_errors = int(state["subscriber_errors"])

    def end_all(self, time: float, why: str = "engine stopped") -> list[AlertEvent]:
        events = [self._end(k, time, why) for k in list(self._open)]
        self._emit(events)
        return events

    # -- lifecycle (operators) ---------------------------------------------------------------
    def get(self, alert_id: str) -> Alert:
        a = self._alerts.get(alert_id)
        if a is None and self.store is not None:
            a = self.store.alert(alert_id)
            if a is not None:
                self._alerts[a.id] = a
        if a is None:
            raise AlertNotFound(f"no alert with id {alert_id!r}")
        return a

    def acknowledge(self, alert_id: str, by: str, time: float | None = None) -> Alert:
        """``new -> acknowledged``; records who and when."""
        if not by or not str(by).strip():
            raise ValueError("acknowledge needs the name of who acknowledges")
        a = self.get(alert_id)
        if a.state == AlertState.ACKNOWLEDGED:
            raise AlertStateError(f"alert {alert_id} is already acknowledged (by {a.acknowledged_by})")
        if a.state == AlertState.RESOLVED:
            raise AlertStateError(f"alert {alert_id} is resolved (by {a.resolved_by}); it cannot be acknowledged")
        a.state, a.acknowledged_by = AlertState.ACKNOWLEDGED, str(by)
        a.acknowledged_at = time if time is not None else _time.time()
        return self._changed(a)

    def resolve(self, alert_id: str, by: str, time: float | None = None) -> Alert:
        """``new | acknowledged -> resolved``; records who and when. An episode still open stays
        open (so the same condition does not raise a fresh alert) and ends when it clears."""
        if not by or not str(by).strip():
            raise ValueError("resolve needs the name of who resolves")
        a = self.get(alert_id)
        if a.state == AlertState.RESOLVED:
            raise AlertStateError(f"alert {alert_id} is already resolved (by {a.resolved_by})")
        a.state, a.resolved_by = AlertState.RESOLVED, str(by)
        a.resolved_at = time if time is not None else _time.time()
        return self._changed(a)

    def _changed(self, a: Alert) -> Alert:
        if self.store is not None:
            self.store.write_alerts([a])
        self._emit([AlertEvent.of("update", a)])
        return a

    # -- queries -----------------------------------------------------------------------------
    def active(self) -> list[Alert]:
        """Alerts of open episodes, oldest first."""
        return sorted((ep.alert for ep in self._open.values()), key=lambda a: a.start)

    def alerts(self, state: AlertState | str | None = None, rule: str | None = None) -> list[Alert]:
        """Every alert held (open and recent closed), oldest first."""
        out = [a for a in self._alerts.values()
               if (state is None or a.state == AlertState(state)) and (rule is None or a.rule == rule)]
        return sorted(out, key=lambda a: a.start)

    def open_keys(self) -> list[tuple]:
        return list(self._open)


def _episode_out(key: tuple, ep: _Episode) -> dict[str, Any]:
    return {"key": list(key), "alert": ep.alert.to_dict(), "primary": ep.primary, "last_hit": ep.last_hit,
            "false_since": ep.false_since, "last_sent": ep.last_sent}


def _episode_in(e: Any, track_id: str) -> tuple[tuple, _Episode]:
    """:func:`_episode_out` back; raises on a malformed episode."""
    key = tuple(e["key"])
    a = Alert.from_dict(e["alert"])
    ep = _Episode(alert=a, primary=str(e.get("primary") or track_id), last_hit=float(e["last_hit"]),
                  false_since=None if e.get("false_since") is None else float(e["false_since"]),
                  last_sent=float(e.get("last_sent") or 0.0))
    if not key or any(isinstance(x, (list, dict)) for x in key):
        raise ValueError(f"bad episode key {e['key']!r}")
    return key, ep


def _label(labels: list[str]) -> str:
    return most_restrictive(labels)
