"""A sector fusion worker: bus -> tracker -> rules -> store, acknowledged after the commit.

``FusionWorker(bus, store, partition, "s0").run()`` consumes ``obs.*.s0`` (observations routed to
the sector and tracks handed to it) through a durable JetStream consumer, in stream order, and
runs :meth:`lookout.pipeline.Pipeline.step` in steps of ``step_s`` seconds of observation time,
between the handoffs in and out of :class:`~lookout.scale.coordinator.HandoffCoordinator`.

No data lost, nothing duplicated, across a crash (``SIGKILL``) and restart:

* after each step the worker writes observations (idempotent by id), tracks (upsert by id,
  points by id and time) and alerts (upsert by id); every ``checkpoint_s`` seconds (and when
  idle or stopping) it writes a checkpoint of its tracker and rules state with the stream
  sequence it covers (store meta ``scale.checkpoint.<sector>``, versioned JSON, see
  :mod:`lookout.scale.checkpoint`), then acknowledges the messages up to that sequence (ack-all);
* on start it loads the checkpoint and restarts its durable consumer right after that
  sequence; steps are cut by observation time in stream order, so re-running the messages after
  the checkpoint repeats the same steps and produces the same track ids and alerts;
* alert ids are derived from the worker's state (not random), so a replayed alert episode
  overwrites its earlier row instead of adding a new one.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import secrets
import time as _time
from dataclasses import dataclass, field
from typing import Any

from lookout.bus import AGENT, HANDOFF, TICK, Message, batch_id, handoff_subject, tracks_subject
from lookout.bus.base import ALERTS_SUBJECT
from lookout.config import WorkerConfig
from lookout.model import Alert, Observation, Track, TrackPoint
from lookout.pipeline import Pipeline
from lookout.rules import RuleEngine, build_default_engine
from lookout.scale.checkpoint import CheckpointError, WorkerState, checkpoint_json, checkpoint_key, load_checkpoint
from lookout.scale.coordinator import HandoffCoordinator
from lookout.scale.partition import Partition
from lookout.stages import MessageBus
from lookout.store.base import Store
from lookout.tracking import Tracker, TrackerConfig

log = logging.getLogger(__name__)

__all__ = ["CheckpointError", "FusionWorker", "GatheredWrites", "WorkerState", "WorkerStats", "checkpoint_key",
           "tune_gc"]


def tune_gc() -> None:
    """Garbage-collector settings for a long-running worker process: the objects alive after
    start-up are frozen out of the collector's scans, and young objects are collected every
    50,000 allocations instead of every 700. A worker allocates many short-lived records per
    step while its tracker and rule state stays large, so the default thresholds make it spend
    a third of its time in collections that find next to nothing (see benchmarks/scale.py)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


@dataclass
class WorkerStats:
    sector: str
    observations: int = 0
    steps: int = 0
    messages: int = 0
    redelivered_skipped: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    handoffs_out: int = 0
    handoffs_in: int = 0
    merged: int = 0
    agent_fixes_in: int = 0  # agent fixes from other sectors, given to the rules
    tracks_written: int = 0
    alerts_written: int = 0
    last_seq: int = 0
    resumed_from: int = 0
    checkpoints: int = 0
    checkpoint_bytes: int = 0
    elapsed_s: float = 0.0
    first_message_at: float | None = None  # wall clock (time.time()) of the first message handled
    last_step_at: float | None = None  # wall clock of the end of the last step
    last_write_at: float | None = None  # wall clock of the last store write
    last_obs_step_at: float | None = None  # wall clock of the end of the last step with observations
    last_obs_write_at: float | None = None  # wall clock of the last store write holding observations
    busy_cpu_s: float = 0.0  # CPU seconds from the first message to the end of the run (start-up excluded)


class GatheredWrites:
    """The worker's store as the pipeline's record sink (:class:`lookout.stages.RecordSink`):
    writes are gathered over consecutive steps and written by :meth:`flush` (each idempotent by
    id); the records of the current step are kept apart for publishing on the bus."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.observations: list[Observation] = []
        self.tracks: list[Track] = []
        self.alerts: list[Alert] = []
        self.step_tracks: list[Track] = []
        self.step_alerts: list[Alert] = []
        self.flushed_at = _time.monotonic()
        self.last_write_at: float | None = None  # wall clock of the last store write
        self.last_obs_write_at: float | None = None  # ... of the last one holding observations

    def begin_step(self) -> None:
        self.step_tracks, self.step_alerts = [], []

    def write_observations(self, observations: list[Observation]) -> None:
        self.observations += observations

    def write_tracks(self, tracks: list[Track]) -> None:
        self.tracks += tracks
        self.step_tracks += tracks

    def write_alerts(self, alerts: list[Alert]) -> None:
        self.alerts += alerts
        self.step_alerts += alerts

    def pending(self) -> int:
        return len(self.observations) + len(self.tracks)

    def flush(self) -> None:
        wrote = had_obs = False
        if self.observations:
            self.store.write_observations(self.observations)
            self.observations, wrote, had_obs = [], True, True
        if self.tracks:
            self.store.write_tracks(self.tracks)
            self.tracks, wrote = [], True
        if self.alerts:
            self.store.write_alerts(self.alerts)
            self.alerts, wrote = [], True
        self.flushed_at = _time.monotonic()
        if wrote:
            self.last_write_at = _time.time()
            if had_obs:
                self.last_obs_write_at = self.last_write_at

    def history(self, track_id: str) -> list[TrackPoint]:
        """The stored points of a track, after writing what was gathered."""
        self.flush()
        return self.store.track_history(track_id)


class FusionWorker:
    """One sector's fusion worker (see the module docstring).

    ``rules``: run the default rule engine (border crossings, zones, ...) on the tracks;
    ``publish``: publish track states on ``tracks.<sector>`` and alerts on ``alerts`` for
    live views (``lookout serve-bus``).
    """

    def __init__(self, bus: MessageBus, store: Store, partition: Partition, sector: str,
                 config: WorkerConfig | None = None, tracker_config: TrackerConfig | None = None,
                 rules: bool = True, publish: bool = True) -> None:
        if sector not in partition.ids:
            raise ValueError(f"unknown sector {sector!r}: this partition has {partition.ids}")
        self.bus, self.store, self.partition, self.sector = bus, store, partition, sector
        self.cfg = config or WorkerConfig()
        self.tracker_config = tracker_config or TrackerConfig()
        self.use_rules, self.publish = rules, publish
        self.state: WorkerState | None = None
        self.stats = WorkerStats(sector)
        self._unacked: Message | None = None  # the last complete message not acknowledged yet
        self._dirty = False  # state changed since the last checkpoint
        #: store writes gathered over consecutive steps (written before any checkpoint/ack)
        self.writes = GatheredWrites(store)
        self._checkpointed_at = _time.monotonic()

    # -- state ---------------------------------------------------------------------------
    def _rules(self) -> RuleEngine:
        return build_default_engine(self.partition.sector)

    def _fresh(self) -> WorkerState:
        epoch = secrets.token_hex(2)
        tracker = Tracker(self.tracker_config, self.partition.sector.frame, id_prefix=f"{self.sector}-{epoch}-")
        return WorkerState(self.sector, epoch, tracker, self._rules() if self.use_rules else None)

    def load_state(self) -> WorkerState:
        """The state of the sector's checkpoint in the store, or a fresh one; raises
        :class:`CheckpointError` for a checkpoint that cannot be restored."""
        raw = self.store.get_meta(checkpoint_key(self.sector))
        if raw is None:
            return self._fresh()
        return load_checkpoint(raw, self.sector, self.tracker_config, self.partition.sector.frame,
                               self._rules if self.use_rules else None)

    def _wire(self, st: WorkerState) -> None:
        """The step's parts over the state: handoffs, and the pipeline (store writes gathered,
        the tracker, the rules as the sector sees them)."""
        self.coordinator = HandoffCoordinator(st, self.partition, self.writes.history)
        self.pipeline = Pipeline(self.writes, tracker=st.tracker, rules=self.coordinator.rules, keep_seen=False)

    def _checkpoint(self) -> None:
        assert self.state is not None
        raw = checkpoint_json(self.state)
        self.store.set_meta(checkpoint_key(self.sector), raw)
        self.stats.checkpoints += 1
        self.stats.checkpoint_bytes = len(raw)
        self._checkpointed_at = _time.monotonic()

    async def _commit(self) -> None:
        """Checkpoint the state, then acknowledge every message it covers."""
        self._flush()
        if not self._dirty:
            return
        self._checkpoint()
        self._dirty = False
        if self._unacked is not None:
            await self._unacked.ack()
            self._unacked = None

    def _flush(self) -> None:
        """Write the gathered observations, track states and alerts (each idempotent by id)."""
        self.writes.flush()
        self.stats.last_write_at = self.writes.last_write_at
        self.stats.last_obs_write_at = self.writes.last_obs_write_at

    # -- run -----------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event | None = None, max_idle_s: float | None = None,
                  max_messages: int | None = None) -> WorkerStats:
        """Consume until ``stop`` is set, ``max_idle_s`` passes without a message, or
        ``max_messages`` were handled; returns the statistics."""
        t0 = _time.monotonic()
        st = self.state = self.load_state()
        self._wire(st)
        self.stats.resumed_from = st.last_seq
        sub = await self.bus.subscribe(f"obs.*.{self.sector}", durable=f"fusion-{self.sector}",
                                       start_seq=st.last_seq + 1, ack_all=True)
        pending: list[tuple[Message, int, int, Any]] = []  # (message, record index, records in it, item)
        seen = st.last_seq  # highest stream sequence taken in so far
        resume = (st.last_seq + 1, st.part)  # a batch the checkpoint covers in part: skip its first records
        last_msg_at = _time.monotonic()
        cpu0: float | None = None
        step = self.cfg.step_s
        try:
            while stop is None or not stop.is_set():
                msgs = await sub.fetch(self.cfg.batch, timeout=min(self.cfg.idle_flush_s, 0.5))
                now = _time.monotonic()
                if not msgs:
                    if pending and now - last_msg_at >= self.cfg.idle_flush_s:
                        await self._step(pending)
                        pending = []
                    self._flush()  # input is quiet: no reason to hold writes back
                    if self._dirty and now - last_msg_at >= self.cfg.idle_flush_s:
                        await self._commit()
                    if max_idle_s is not None and now - last_msg_at >= max_idle_s and not pending:
                        break
                    continue
                last_msg_at = now
                if self.stats.first_message_at is None:
                    self.stats.first_message_at = _time.time()
                    cpu0 = _time.process_time()
                for msg in msgs:
                    self.stats.messages += 1
                    if msg.seq <= seen:  # covered by the checkpoint, or a redelivery of one held in a step
                        self.stats.redelivered_skipped += 1
                        continue
                    seen = msg.seq
                    items = self._parse(msg)
                    n = len(items)
                    for k in range(resume[1] if msg.seq == resume[0] else 0, n):
                        item = items[k]
                        t = item.time if isinstance(item, Observation) else (
                            item[1] if isinstance(item, tuple) and item[0] == "tick" else
                            item[1].time if isinstance(item, tuple) and item[0] == "agent" else None)
                        if t is not None:  # steps are half-open windows [end - step_s, end)
                            if st.window_end is None:
                                st.window_end = (math.floor(t / step) + 1) * step
                            elif t >= st.window_end:
                                if pending:
                                    await self._step(pending)
                                    pending = []
                                st.window_end = (math.floor(t / step) + 1) * step
                        pending.append((msg, k, n, item))
                if len(msgs) < sub.asked:
                    self._flush()  # caught up with the stream: nothing more to gather writes with
                if max_messages is not None and self.stats.messages >= max_messages:
                    break
            if pending:
                await self._step(pending)
            await self._commit()
        finally:
            await sub.close()
            self.stats.elapsed_s = _time.monotonic() - t0
            if cpu0 is not None:
                self.stats.busy_cpu_s = _time.process_time() - cpu0
        return self.stats

    def _reject(self, msg: Message, reason: str, exc: Exception) -> None:
        assert self.state is not None
        self.state.rejected[reason] += 1
        self.stats.rejected[reason] = self.stats.rejected.get(reason, 0) + 1
        log.warning("sector %s: message %d on %s rejected (%s): %s", self.sector, msg.seq, msg.subject, reason, exc)

    def _parse(self, msg: Message) -> list[Any]:
        """The message's items (observations, a tick, a handoff; None for a rejected record);
        a batch gives one item per record, an empty or unreadable message one None."""
        kind = msg.subject.split(".")[1] if msg.subject.count(".") >= 2 else ""
        try:
            recs = msg.records()
        except Exception as exc:  # noqa: BLE001 - a bad message is counted, logged and skipped
            self._reject(msg, "bad handoff" if kind == HANDOFF else "bad observation", exc)
            return [None]
        out: list[Any] = []
        for rec in recs:
            try:
                if kind == TICK:
                    out.append(("tick", float(rec["time"])))
                elif kind == HANDOFF:
                    if not isinstance(rec, dict) or "id" not in rec:
                        raise ValueError("handoff without a track id")
                    out.append(("handoff", rec))
                elif kind == AGENT:  # another sector's agent fix: for the rules only
                    if not isinstance(rec, dict):
                        raise ValueError("not a JSON object")
                    out.append(("agent", Observation.from_dict(rec)))
                elif not isinstance(rec, dict):
                    raise ValueError("not a JSON object")
                else:
                    out.append(Observation.from_dict(rec))
            except Exception as exc:  # noqa: BLE001 - a bad record is counted, logged and skipped
                self._reject(msg, "bad handoff" if kind == HANDOFF else "bad observation", exc)
                out.append(None)
        return out or [None]

    async def _step(self, items: list[tuple[Message, int, int, Any]]) -> None:
        st = self.state
        assert st is not None
        obs = [it for *_, it in items if isinstance(it, Observation)]
        handoffs = [it[1] for *_, it in items if isinstance(it, tuple) and it[0] == "handoff"]
        agents = [it[1] for *_, it in items if isinstance(it, tuple) and it[0] == "agent"]
        if st.window_end is None:  # no observation or tick yet: a handoff's time starts the clock
            ts = [h["t"] for h in handoffs if isinstance(h.get("t"), (int, float)) and math.isfinite(h["t"])]
            if ts:
                st.window_end = (math.floor(max(ts) / self.cfg.step_s) + 1) * self.cfg.step_s
        T = None if st.window_end is None else float(st.window_end)
        w = self.writes
        w.begin_step()
        # 1. adopt tracks handed to this sector (before the step's observations gate on them),
        #    with their rule state and open alert episodes
        w.write_tracks(self.coordinator.adopt(handoffs))
        # 2. the pipeline: observations stored (gathered), tracked, the rules run (agent fixes
        #    relayed from other sectors are for the rules only)
        if st.rules is not None and agents:
            st.rules.observe(agents)
        if T is not None:
            self.pipeline.step(T, obs)
        # 3. hand off the confirmed tracks that moved into another sector, with their rule state
        #    and open alert episodes (they continue there under the same alert ids)
        handed = self.coordinator.hand_off(T) if T is not None else []
        tracks_out, alerts = w.step_tracks, w.step_alerts
        if _time.monotonic() - w.flushed_at >= self.cfg.store_flush_s or w.pending() >= 50_000:
            self._flush()
        # 4. bus: handoffs (de-duplicated by id and time), live tracks and alerts
        pubs: list[tuple[str, Any, str | None]] = [
            (handoff_subject(dest), p, f"handoff:{p['id']}:{p['t']!r}") for dest, p in handed]
        if self.publish:  # one message for the step's track states, one for its alerts
            if tracks_out:
                pubs.append((tracks_subject(self.sector), tracks_out,
                             batch_id(f"tracks:{self.sector}", (f"{t.id}@{t.time!r}:{t.status}" for t in tracks_out))))
            if alerts:
                pubs.append((ALERTS_SUBJECT, alerts,
                             batch_id("alerts", (f"{a.id}@{a.updated!r}:{a.state}:{a.end!r}" for a in alerts))))
        if pubs:
            await self.bus.publish_many(pubs)
        # 5. checkpoint, then acknowledge everything up to the step's last complete message (a
        #    batch cut by the step is covered up to its record ``part``)
        last, k, n, _ = items[-1]
        if k == n - 1:
            st.last_seq, st.part = last.seq, 0
            self._unacked = last
        else:
            st.last_seq, st.part = last.seq - 1, k + 1
            done = [m for m, k2, n2, _ in items if k2 == n2 - 1]
            if done:
                self._unacked = done[-1]
        st.steps += 1
        st.observations += len(obs)
        self._dirty = True
        if _time.monotonic() - self._checkpointed_at >= self.cfg.checkpoint_s:
            await self._commit()
        s = self.stats
        s.steps += 1
        s.observations += len(obs)
        s.agent_fixes_in += len(agents)
        s.tracks_written += len(tracks_out)
        s.alerts_written += len(alerts)
        s.handoffs_out, s.handoffs_in, s.merged = st.handoffs_out, st.handoffs_in, st.merged
        s.last_seq = st.last_seq
        s.last_step_at = _time.time()
        if obs:
            s.last_obs_step_at = s.last_step_at
