"""Route observations to their sectors and publish them on the bus."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

from lookout.bus import Bus, obs_subject, tick_subject
from lookout.model import Observation
from lookout.scale.partition import Partition


class Publisher:
    """Publishes observations on ``obs.<source>.<sector>`` (message id = observation id, so a
    re-publication is dropped by the bus) and, each time the observation time passes a whole
    ``tick_s``, a tick ``obs.tick.<sector>`` to every sector (message id ``tick:<sector>:<t>``,
    so several publishers' ticks count once)."""

    def __init__(self, bus: Bus, partition: Partition, tick_s: float = 1.0, chunk: int = 2000) -> None:
        self.bus, self.partition, self.tick_s, self.chunk = bus, partition, tick_s, chunk
        self.counts: Counter = Counter()
        self.next_tick: float | None = None
        self.ticks = 0

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

    async def publish(self, observations: Iterable[Observation]) -> Counter:
        counts: Counter = Counter()
        batch: list = []
        for o in observations:
            batch += self._ticks(o.time)
            sec = self.partition.route(o)
            counts[sec] += 1
            batch.append((obs_subject(str(o.source), sec), o, o.id))
            if len(batch) >= self.chunk:
                await self.bus.publish_many(batch)
                batch = []
        if batch:
            await self.bus.publish_many(batch)
        self.counts.update(counts)
        return counts

    async def tick(self, t: float) -> None:
        """Publish ticks up to time ``t`` (a live publisher calls this when its input is quiet)."""
        b = self._ticks(t)
        if b:
            await self.bus.publish_many(b)


async def publish_observations(bus: Bus, partition: Partition, observations: Iterable[Observation],
                               chunk: int = 2000, final_tick: bool = True) -> Counter:
    """Publish observations (in time order) with ticks; with ``final_tick`` a last tick a few
    seconds after the last observation lets every sector finish its steps and handoffs.
    Returns the observation counts per sector."""
    pub = Publisher(bus, partition, chunk=chunk)
    last = None
    obs = list(observations)
    counts = await pub.publish(obs)
    if obs:
        last = max(o.time for o in obs)
    if final_tick and last is not None:
        for dt in (1.0, 2.0, 3.0):
            await pub.tick(last + dt)
    return counts
