"""The interfaces between the stages: what each stage of the one-way flow offers the next.

``sources -> tracking -> rules -> store -> live views / sharing``, with the bus between them when
the flow is spread over processes. These are structural (:class:`typing.Protocol`): a stage
implements one by having its methods, not by inheriting from it, so a test double, an adapter
(a scale-out worker's buffered store writes) and the real stage are interchangeable.
:class:`lookout.pipeline.Pipeline` and the scale-out worker are typed with them, and mypy checks
that the real stages conform (the ``TYPE_CHECKING`` block at the end; ``pyproject.toml``).

This module depends on :mod:`lookout.model` only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from lookout.model import Alert, Observation, Track, TrackUpdates, Zone

if TYPE_CHECKING:
    import numpy as np

    from lookout.bus.base import Subscription


class ObservationSource(Protocol):
    """One wire format in, observations out (:class:`lookout.sources.base.Decoder`): a record
    that cannot be decoded is counted and skipped, never raised."""

    def decode(self, data: bytes) -> Iterator[Observation]: ...

    def decode_batch(self, records: list[bytes]) -> list[Observation]: ...

    def flush(self) -> Iterator[Observation]: ...


class TrackerStage(Protocol):
    """Observations of one step in, what changed out (:class:`lookout.tracking.Tracker`)."""

    def update(self, time: float, observations: list[Observation]) -> TrackUpdates: ...


class HandoffTracker(TrackerStage, Protocol):
    """A tracker whose tracks can move to another tracker (a sector handoff) and whose state
    can be checkpointed track by track."""

    def tracks(self, confirmed_only: bool = True) -> list[Track]: ...

    def track_ids(self, confirmed_only: bool = True) -> list[str]: ...

    def positions_at(self, T: float, confirmed_only: bool = True) -> tuple[list[str], np.ndarray, np.ndarray]: ...

    def export_track(self, track_id: str) -> dict[str, Any]: ...

    def release_tracks(self, track_ids: Iterable[str]) -> int: ...

    def adopt_track(self, state: dict[str, Any], merge_m: float = ...,
                    slack_s: float = ...) -> tuple[str, list[Track]]: ...

    def has_track(self, track_id: str) -> bool: ...


class AlertEventLike(Protocol):
    """Something that happened to an alert (:class:`lookout.rules.alerts.AlertEvent`)."""

    @property
    def kind(self) -> str: ...

    @property
    def alert(self) -> Alert: ...


class RuleStage(Protocol):
    """Track updates in, alert events out (:class:`lookout.rules.RuleEngine`); ``observe`` takes
    the positions of own agents from a step's observations and returns how many it took."""

    def observe(self, observations: Iterable[Observation]) -> int: ...

    def evaluate(self, updates: TrackUpdates) -> Sequence[AlertEventLike]: ...


class RecordSink(Protocol):
    """Where a step's records are written (a :class:`lookout.store.base.Store`, or writes
    gathered for one): each write is idempotent by record id."""

    def write_observations(self, observations: list[Observation]) -> object: ...

    def write_tracks(self, tracks: list[Track]) -> object: ...

    def write_alerts(self, alerts: list[Alert]) -> object: ...


class ZoneSource(Protocol):
    """The store a rule engine follows for zone changes (latest version of each zone)."""

    def zones(self) -> list[Zone]: ...


class AlertStore(Protocol):
    """The store an alert manager writes operators' changes to and reads older alerts from."""

    def write_alerts(self, alerts: list[Alert]) -> object: ...

    def alert(self, alert_id: str) -> Alert | None: ...


class LiveSink(Protocol):
    """A live view fed step by step (:class:`lookout.api.live.LiveHub`, a CoT feed): the tracks
    that changed, the ids of those deleted, the alerts."""

    def publish(self, time: float, tracks: list[Track], deleted: list[str], alerts: list[Alert]) -> Any: ...


class MessageBus(Protocol):
    """Subjects between processes (:class:`lookout.bus.base.Bus`): durable, acknowledged
    subscriptions and batched publishing of ``(subject, record, message id)``."""

    async def publish_many(self, items: Iterable[tuple[str, Any, str | None]]) -> int: ...

    async def subscribe(self, subject: str, durable: str | None = None, start_seq: int | None = None,
                        ack_all: bool = False, new_only: bool = False) -> Subscription: ...


if TYPE_CHECKING:  # the real stages conform: mypy checks these assignments
    from lookout.api.live import LiveHub
    from lookout.bus.base import Bus
    from lookout.rules.alerts import AlertEvent
    from lookout.rules.engine import RuleEngine
    from lookout.share.feed import Tee
    from lookout.sources.base import Decoder
    from lookout.store.base import Store
    from lookout.tracking import Tracker

    def _conformance(decoder: Decoder, tracker: Tracker, engine: RuleEngine, event: AlertEvent, store: Store,
                     hub: LiveHub, tee: Tee, bus: Bus) -> None:
        _source: ObservationSource = decoder
        _tracker: HandoffTracker = tracker
        _rules: RuleStage = engine
        _event: AlertEventLike = event
        _sink: RecordSink = store
        _zones: ZoneSource = store
        _alerts: AlertStore = store
        _hub: LiveSink = hub
        _tee: LiveSink = tee
        _bus: MessageBus = bus
