"""A sector fusion worker: bus -> tracker -> rules -> store, acknowledged after the commit.

``FusionWorker(bus, store, partition, "s0").run()`` consumes ``obs.*.s0`` (observations routed to
the sector and tracks handed to it) through a durable JetStream consumer, in stream order, and
runs the same loop as :class:`lookout.pipeline.Pipeline` in steps of ``step_s`` seconds of
observation time.

No data lost, nothing duplicated, across a crash (``SIGKILL``) and restart:

* after each step the worker writes observations (idempotent by id), tracks (upsert by id,
  points by id and time) and alerts (upsert by id); every ``checkpoint_s`` seconds (and when
  idle or stopping) it writes a checkpoint of its tracker and rules state with the stream
  sequence it covers (store meta ``scale.checkpoint.<sector>``), then acknowledges the messages
  up to that sequence (ack-all);
* on start it loads the checkpoint and restarts its durable consumer right after that
  sequence; steps are cut by observation time in stream order, so re-running the messages after
  the checkpoint repeats the same steps and produces the same track ids and alerts;
* alert ids are derived from the worker's state (not random), so a replayed alert episode
  overwrites its earlier row instead of adding a new one.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import hashlib
import logging
import math
import pickle
import secrets
import time as _time
import zlib
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any


from lookout.bus import AGENT, HANDOFF, TICK, Bus, Message, batch_id, handoff_subject, tracks_subject
from lookout.bus.base import ALERTS_SUBJECT
from lookout.config import WorkerConfig
from lookout.model import Alert, GeoPoint, Observation, Track, TrackUpdates, Velocity
from lookout.scale.partition import Partition
from lookout.store.base import Store
from lookout.tracking import Tracker, TrackerConfig

log = logging.getLogger(__name__)

CHECKPOINT_VERSION = 2


def tune_gc() -> None:
    """Garbage-collector settings for a long-running worker process: the objects alive after
    start-up are frozen out of the collector's scans, and young objects are collected every
    50,000 allocations instead of every 700. A worker allocates many short-lived records per
    step while its tracker and rule state stays large, so the default thresholds make it spend
    a third of its time in collections that find next to nothing (see benchmarks/scale.py)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def checkpoint_key(sector: str) -> str:
    return f"scale.checkpoint.{sector}"


@dataclass
class WorkerState:
    """Everything a worker must keep across a restart (pickled into the checkpoint)."""

    sector: str
    epoch: str
    tracker: Tracker
    rules: Any | None
    last_seq: int = 0  # stream sequence covered by this state
    part: int = 0  # records of message last_seq + 1 (a batch) covered too
    window_end: float | None = None
    alert_ids: dict[str, str] = field(default_factory=dict)  # rule-engine alert id -> stored id
    alerts_made: int = 0
    steps: int = 0
    observations: int = 0
    rejected: Counter = field(default_factory=Counter)
    handoffs_out: int = 0
    handoffs_in: int = 0
    merged: int = 0
    version: int = CHECKPOINT_VERSION


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


class CheckpointError(RuntimeError):
    pass


class FusionWorker:
    """One sector's fusion worker (see the module docstring).

    ``rules``: run the default rule engine (border crossings, zones, ...) on the tracks;
    ``publish``: publish track states on ``tracks.<sector>`` and alerts on ``alerts`` for
    live views (``lookout serve-bus``).
    """

    def __init__(self, bus: Bus, store: Store, partition: Partition, sector: str,
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
        # store writes gathered over consecutive steps (written before any checkpoint/ack)
        self._pending_obs: list[Observation] = []
        self._pending_tracks: list[Track] = []
        self._pending_alerts: list[Alert] = []
        self._flushed_at = _time.monotonic()
        self._checkpointed_at = _time.monotonic()

    # -- state ---------------------------------------------------------------------------
    def _fresh(self) -> WorkerState:
        epoch = secrets.token_hex(2)
        tracker = Tracker(self.tracker_config, self.partition.sector.frame, id_prefix=f"{self.sector}-{epoch}-")
        rules = None
        if self.use_rules:
            from lookout.rules import build_default_engine

            rules = build_default_engine(self.partition.sector)
        return WorkerState(self.sector, epoch, tracker, rules)

    def load_state(self) -> WorkerState:
        raw = self.store.get_meta(checkpoint_key(self.sector))
        if raw is None:
            return self._fresh()
        try:
            st = pickle.loads(zlib.decompress(base64.b64decode(raw)))
        except Exception as exc:  # noqa: BLE001
            raise CheckpointError(f"checkpoint {checkpoint_key(self.sector)!r} in the store cannot be read "
                                  f"({exc!r}); delete it to start the sector afresh") from None
        if isinstance(st, WorkerState) and st.version == 1:  # before batches: whole messages only
            st.part, st.version = 0, CHECKPOINT_VERSION
        if not isinstance(st, WorkerState) or st.sector != self.sector or st.version != CHECKPOINT_VERSION:
            raise CheckpointError(f"checkpoint {checkpoint_key(self.sector)!r} is not a version-"
                                  f"{CHECKPOINT_VERSION} state of sector {self.sector}")
        return st

    def _checkpoint(self) -> None:
        raw = zlib.compress(pickle.dumps(self.state, protocol=pickle.HIGHEST_PROTOCOL), 1)
        self.store.set_meta(checkpoint_key(self.sector), base64.b64encode(raw).decode("ascii"))
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
        wrote = had_obs = False
        if self._pending_obs:
            self.store.write_observations(self._pending_obs)
            self._pending_obs, wrote, had_obs = [], True, True
        if self._pending_tracks:
            self.store.write_tracks(self._pending_tracks)
            self._pending_tracks, wrote = [], True
        if self._pending_alerts:
            self.store.write_alerts(self._pending_alerts)
            self._pending_alerts, wrote = [], True
        self._flushed_at = _time.monotonic()
        if wrote:
            self.stats.last_write_at = _time.time()
            if had_obs:
                self.stats.last_obs_write_at = self.stats.last_write_at

    # -- run -----------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event | None = None, max_idle_s: float | None = None,
                  max_messages: int | None = None) -> WorkerStats:
        """Consume until ``stop`` is set, ``max_idle_s`` passes without a message, or
        ``max_messages`` were handled; returns the statistics."""
        t0 = _time.monotonic()
        st = self.state = self.load_state()
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

    def _leaving(self, T: float) -> list[tuple[str, str]]:
        """Confirmed tracks (id, destination sector) whose estimate, predicted to ``T``, lies in another sector."""
        ids, lat, lon = self.state.tracker.positions_at(T)
        out = []
        for i, tid in enumerate(ids):
            dest = self.partition.sector_of(float(lat[i]), float(lon[i]))
            if dest != self.sector:
                out.append((tid, dest))
        return out

    def _history_as(self, old: Track, new_id: str) -> list[Track]:
        """The stored points of ``old`` as states of track ``new_id`` (written before its newer state)."""
        self._flush()
        out = []
        for p in self.store.track_history(old.id):
            v = None
            if p.speed_mps is not None and p.course_deg is not None:
                c = math.radians(p.course_deg)
                v = Velocity(p.speed_mps * math.sin(c), p.speed_mps * math.cos(c), 0.0)
            out.append(Track(id=new_id, time=p.time, position=GeoPoint(p.lat, p.lon, p.alt_m), velocity=v,
                             sigma_h_m=old.sigma_h_m, cls=old.cls, identities=dict(old.identities),
                             sources=list(old.sources), sensors=list(old.sensors), label=old.label,
                             first_time=old.first_time, attrs={"rewritten_from": old.id}))
        return out

    def _alert_copy(self, a: Alert) -> Alert:
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

    async def _step(self, items: list[tuple[Message, int, int, Any]]) -> None:
        st = self.state
        tracker = st.tracker
        obs = [it for *_, it in items if isinstance(it, Observation)]
        handoffs = [it[1] for *_, it in items if isinstance(it, tuple) and it[0] == "handoff"]
        agents = [it[1] for *_, it in items if isinstance(it, tuple) and it[0] == "agent"]
        if st.window_end is None:  # no observation or tick yet: a handoff's time starts the clock
            ts = [h["t"] for h in handoffs if isinstance(h.get("t"), (int, float)) and math.isfinite(h["t"])]
            if ts:
                st.window_end = (math.floor(max(ts) / self.cfg.step_s) + 1) * self.cfg.step_s
        T = None if st.window_end is None else float(st.window_end)
        tracks_out: list[Track] = []
        merged: list[Track] = []
        # 1. adopt tracks handed to this sector (before the step's observations gate on them),
        #    with their rule state and open alert episodes
        for h in handoffs:
            held = isinstance(h.get("id"), str) and tracker.has_track(h["id"])
            try:
                tid, replaced = tracker.adopt_track(h)
            except ValueError as exc:
                st.rejected["bad handoff"] += 1
                log.warning("sector %s: handoff rejected: %s", self.sector, exc)
                continue
            st.handoffs_in += 1
            st.merged += len(replaced)
            if st.rules is not None and not held and "rules" in h:
                published = {e["alert"].get("id"): e.get("published_id")
                             for e in (h["rules"].get("episodes") or [] if isinstance(h["rules"], dict) else [])
                             if isinstance(e, dict) and isinstance(e.get("alert"), dict)}
                for a in st.rules.adopt_track(tid, h["rules"]):
                    if isinstance(published.get(a.id), str):
                        st.alert_ids[a.id] = published[a.id]  # the episode keeps its published alert id
            for old in replaced:  # this sector's own track on the object: its points join the handed id
                tracks_out.extend(self._history_as(old, tid))
            tracks_out.extend(replaced)
            merged.extend(replaced)
        # 2. store the observations (gathered, see _flush), track them, run the rules
        self._pending_obs += obs
        updates = tracker.update(T, obs) if T is not None else TrackUpdates(time=0.0)
        events = []
        if st.rules is not None:
            st.rules.observe(agents + obs if agents else obs)
            seen = updates
            if merged:  # tracks merged into a handed-over one end here (their episodes with them)
                seen = TrackUpdates(time=updates.time, confirmed=updates.confirmed, updated=updates.updated,
                                    deleted=list(updates.deleted) + merged)
            events = list(st.rules.evaluate(seen))
        alerts = [self._alert_copy(ev.alert) for ev in events]  # before a handoff takes their ids along
        # 3. hand off the confirmed tracks that moved into another sector, with their rule state
        #    and open alert episodes (they continue there under the same alert ids)
        handed: list[tuple[str, dict]] = []
        for tid, dest in (self._leaving(T) if T is not None else []):
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
        tracks_out += list(updates.updated) + list(updates.deleted)
        self._pending_tracks += tracks_out
        self._pending_alerts += alerts
        if (_time.monotonic() - self._flushed_at >= self.cfg.store_flush_s
                or len(self._pending_obs) + len(self._pending_tracks) >= 50_000):
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
