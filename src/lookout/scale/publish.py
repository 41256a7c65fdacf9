"""Route observations to their sectors and publish them on the bus."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

from lookout.bus import Bus, agent_subject, batch_id, obs_subject, tick_subject
from lookout.model import Observation, SourceKind
from lookout.rules.context import agent_fix
from lookout.scale.partition import Partition

_AGENT_SOURCES = (SourceKind.BLUE_FORCE, SourceKind.REPORT)


class Publisher:
    """Publishes observations on ``obs.<source>.<sector>`` and, each time the observation time
    passes a whole ``tick_s``, a tick ``obs.tick.<sector>`` to every sector (message id
    ``tick:<sector>:<t>``, so several publishers' ticks count once).

    Observations go out in batches, one message per source and sector per tick (a sensor scan),
    at most ``batch`` observations each (``batch=1``: one message per observation, its id the
    observation id). A batch's message id is a digest of its observation ids, so re-publishing
    the same input is dropped by the bus; the store writes observations idempotently by id
    whatever the batching. Every batch is published before the tick that follows it, so a
    worker sees a sector's data in tick order.

    An observation carrying an agent's position (a blue-force fix, a field report's reporter
    position) also goes to every other sector as ``obs.agent.<sector>``: their rules then see
    agents across the boundary (a drone closing on an agent in the next sector), while only
    the sector holding the fix stores and tracks it."""

    def __init__(self, bus: Bus, partition: Partition, tick_s: float = 1.0, chunk: int = 2000,
                 batch: int = 500) -> None:
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch!r}")
        self.bus, self.partition, self.tick_s, self.chunk, self.batch = bus, partition, tick_s, chunk, batch
        self.counts: Counter = Counter()
        self.next_tick: float | None = None
        self.ticks = 0
        self.messages = 0
        self.agent_copies = 0

    def _ticks(self, t: float) -> list:
        out = []
        if self.next_tick is None:
            self.next_tick = (math.floor(t / self.tick_s) + 1) * self.tick_s
        elif t >= self.next_tick:
            tick = math.floor(t / self.tick_s) * self.tick_s
            out = [(tick_subject(s), {"time": tick}, f"tick:{s}:{tick!r}") for s in self.partition.ids]
            self.next_tick = tick + self.tick_s
            self.ticks += 1
        return out

    def _item(self, subject: str, obs: list[Observation]) -> tuple:
        # message ids name the subject too: an agent fix's copies for other sectors carry the
        # same observation and must not be dropped as duplicates of the original
        if len(obs) == 1 and self.batch == 1:
            return (subject, obs[0], obs[0].id if not subject.startswith("obs.agent.") else f"{obs[0].id}@{subject}")
        return (subject, obs, batch_id(subject, (o.id for o in obs)))

    async def publish(self, observations: Iterable[Observation]) -> Counter:
        counts: Counter = Counter()
        out: list = []  # (subject, record or batch, msg id), in publication order
        open_: dict[str, list[Observation]] = {}  # subject -> the batch being filled
        size = self.batch
        route = self.partition.route
        ids = self.partition.ids
        many = len(ids) > 1

        def close_all() -> None:
            for subj, obs in open_.items():
                out.append(self._item(subj, obs))
            open_.clear()

        for o in observations:
            ticks = self._ticks(o.time)
            if ticks:  # everything before the tick goes out before it
                close_all()
                out += ticks
            sec = route(o)
            counts[sec] += 1
            subjects = [obs_subject(str(o.source), sec)]
            if many and o.source in _AGENT_SOURCES and agent_fix(o) is not None:
                # the other sectors' rules need the agent's position too (a copy, not stored there)
                subjects += [agent_subject(s) for s in ids if s != sec]
                self.agent_copies += len(ids) - 1
            for subj in subjects:
                b = open_.get(subj)
                if b is None:
                    b = open_[subj] = []
                b.append(o)
                if len(b) >= size:
                    out.append(self._item(subj, b))
                    del open_[subj]
            if len(out) >= self.chunk:
                await self._send(out)
                out = []
        close_all()
        if out:
            await self._send(out)
        self.counts.update(counts)
        return counts

    async def _send(self, items: list) -> None:
        self.messages += len(items)
        await self.bus.publish_many(items)

    async def tick(self, t: float) -> None:
        """Publish ticks up to time ``t`` (a live publisher calls this when its input is quiet)."""
        b = self._ticks(t)
        if b:
            await self._send(b)


async def publish_observations(bus: Bus, partition: Partition, observations: Iterable[Observation],
                               chunk: int = 2000, final_tick: bool = True, batch: int = 500) -> Counter:
    """Publish observations (in time order) with ticks; with ``final_tick`` a last tick a few
    seconds after the last observation lets every sector finish its steps and handoffs.
    Returns the observation counts per sector."""
    pub = Publisher(bus, partition, chunk=chunk, batch=batch)
    last = None
    obs = list(observations)
    counts = await pub.publish(obs)
    if obs:
        last = max(o.time for o in obs)
    if final_tick and last is not None:
        for dt in (1.0, 2.0, 3.0):
            await pub.tick(last + dt)
    return counts
