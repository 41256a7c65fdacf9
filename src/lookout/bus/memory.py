"""The in-process bus (the embedded default): one ordered log per stream, in memory.

It keeps the NATS JetStream semantics the workers rely on -- stream sequences, durable
consumers that resume at their acknowledgement floor, duplicate publications dropped by
message id -- so the same worker code runs embedded and distributed. ``memory://NAME`` buses
of one process with the same NAME share their streams.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from lookout.bus.base import Bus, BusError, Message, Subscription, encode, subject_matches

#: stream name -> subject patterns it captures
STREAMS = {"OBS": ("obs.>",), "TRACKS": ("tracks.>",), "ALERTS": ("alerts", "alerts.>")}
DEDUP_WINDOW = 200_000  # message ids remembered per stream
MAX_MSGS = 1_000_000  # messages kept per stream (the oldest go first, like a JetStream limit)


@dataclass
class _Stream:
    name: str
    subjects: tuple[str, ...]
    log: list[tuple[str, bytes, str | None]] = field(default_factory=list)  # seq = base + index
    base: int = 1  # sequence of log[0]
    max_msgs: int = MAX_MSGS
    ids: OrderedDict = field(default_factory=OrderedDict)
    durables: dict[str, int] = field(default_factory=dict)  # durable -> ack floor (last acked seq)
    waiters: list[asyncio.Future] = field(default_factory=list)

    @property
    def last_seq(self) -> int:
        return self.base + len(self.log) - 1

    def append(self, item: tuple[str, bytes, str | None]) -> int:
        self.log.append(item)
        excess = len(self.log) - self.max_msgs
        if excess > self.max_msgs // 4:  # trim in chunks: amortised O(1)
            del self.log[:excess]
            self.base += excess
        return self.last_seq

    def wake(self) -> None:
        for w in self.waiters:
            if not w.done():
                w.set_result(None)
        self.waiters.clear()


class _Shared:
    def __init__(self) -> None:
        self.streams = {n: _Stream(n, s) for n, s in STREAMS.items()}

    def stream_for(self, subject: str) -> _Stream:
        for st in self.streams.values():
            if any(subject_matches(p, subject) for p in st.subjects):
                return st
        raise BusError(f"no stream captures subject {subject!r} (use obs.<source>.<sector>, tracks.<sector> "
                       "or alerts)")


_REGISTRY: dict[str, _Shared] = {}


class MemorySubscription(Subscription):
    def __init__(self, stream: _Stream, pattern: str, cursor: int, durable: str | None, ack_all: bool) -> None:
        self.stream, self.pattern, self.cursor = stream, pattern, cursor
        self.durable, self.ack_all = durable, ack_all
        self.closed = False

    def _acker(self, seq: int):
        async def ack() -> None:
            if self.durable is not None:
                d = self.stream.durables
                if self.ack_all or seq == d.get(self.durable, 0) + 1:
                    d[self.durable] = max(d.get(self.durable, 0), seq)
        return ack

    async def fetch(self, max_messages: int = 256, timeout: float = 1.0) -> list[Message]:
        self.asked = max_messages
        st = self.stream
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.closed:
            out = []
            self.cursor = max(self.cursor, st.base - 1)  # messages past retention are gone
            while self.cursor < st.last_seq and len(out) < max_messages:
                subject, data, mid = st.log[self.cursor - st.base + 1]
                self.cursor += 1
                if subject_matches(self.pattern, subject):
                    out.append(Message(subject, data, self.cursor, mid, 1, self._acker(self.cursor)))
            if out:
                return out
            left = deadline - loop.time()
            if left <= 0:
                return []
            w = loop.create_future()
            st.waiters.append(w)
            try:
                await asyncio.wait_for(w, left)
            except TimeoutError:
                return []
        return []

    async def close(self) -> None:
        self.closed = True


class MemoryBus(Bus):
    """``memory://`` or ``memory://NAME`` (shared by name within the process)."""

    def __init__(self, url: str = "memory://", prefix: str = "") -> None:
        self.url = url
        self.name = (url.split("://", 1)[1] if "://" in url else "") + "|" + prefix
        self._shared: _Shared | None = None

    async def connect(self) -> None:
        self._shared = _REGISTRY.setdefault(self.name, _Shared())

    async def close(self) -> None:
        self._shared = None

    def _s(self) -> _Shared:
        if self._shared is None:
            raise BusError("memory bus is not connected (call connect() first)")
        return self._shared

    async def publish(self, subject: str, record: Any, msg_id: str | None = None) -> int:
        st = self._s().stream_for(subject)
        if msg_id is not None:
            if msg_id in st.ids:
                return 0
            st.ids[msg_id] = st.last_seq + 1
            if len(st.ids) > DEDUP_WINDOW:
                st.ids.popitem(last=False)
        seq = st.append((subject, encode(record), msg_id))
        st.wake()
        return seq

    async def subscribe(self, subject: str, durable: str | None = None, start_seq: int | None = None,
                        ack_all: bool = False, new_only: bool = False) -> Subscription:
        st = self._s().stream_for(subject.replace("*", "x").replace(">", "x"))
        if start_seq is not None:
            cursor = max(start_seq - 1, 0)
            if durable is not None:
                st.durables[durable] = cursor
        elif new_only:
            cursor = st.last_seq
        elif durable is not None:
            cursor = st.durables.setdefault(durable, 0)
        else:
            cursor = 0
        return MemorySubscription(st, subject, cursor, durable, ack_all)

    async def delete(self) -> None:
        _REGISTRY.pop(self.name, None)
        self._shared = None

    def stream_length(self, stream: str) -> int:
        return len(self._s().streams[stream].log)

    def set_limit(self, max_msgs: int) -> None:
        """Messages kept per stream (tests; the default is :data:`MAX_MSGS`)."""
        for st in self._s().streams.values():
            st.max_msgs = max_msgs
