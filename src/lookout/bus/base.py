"""The bus interface: subjects, messages, subscriptions.

Subjects (logical; an implementation may add a namespace prefix):

* ``obs.<source>.<sector>`` -- raw observations of one source kind routed to one fusion sector;
* ``obs.handoff.<sector>`` -- a track handed to ``<sector>`` by its neighbour (same stream as
  the observations, so a worker sees handoffs and observations in one total order);
* ``obs.agent.<sector>`` -- copies of the agent position fixes (blue-force positions, field
  reports' reporter positions) routed to *other* sectors, for their rules only (a drone closing on
  an agent just across a sector boundary); the sector holding the fix gets the original;
* ``obs.tick.<sector>`` -- ``{"time": t}``: the publisher's observation time reached ``t``
  (once a second of data time), so a sector with no observations still steps its tracks
  forward (coasting, deletion, handoff of tracks leaving it);
* ``tracks.<sector>`` -- track states a fusion worker produced;
* ``alerts`` -- alerts (new states of alert episodes).

A message carries one record (a JSON object) or a batch of records (a JSON array, in order):
publishers batch what one source produced for one sector in one tick (a sensor scan), a worker
the track states of one step. :meth:`Message.records` gives the records of either form; a batch
is published, stored, delivered and acknowledged as one message, so the per-message cost of the
bus is paid once per batch instead of once per observation.

Delivery is at least once: a subscriber acknowledges a message after it has committed its
effects to the store; until then the message is delivered again (after a restart, from the
durable consumer's position). Publishers give a message id (the record id) so that the bus drops
a duplicate publication, and stores write idempotently by id so a redelivery never duplicates.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

HANDOFF = "handoff"  # pseudo source of obs.handoff.<sector>
TICK = "tick"  # pseudo source of obs.tick.<sector>: observation time advanced (a clock for quiet sectors)
AGENT = "agent"  # pseudo source of obs.agent.<sector>: agent fixes from other sectors (for rules only)


class BusError(RuntimeError):
    """The bus cannot do what was asked (connection, stream or subject problem)."""


def obs_subject(source: str, sector: str) -> str:
    return f"obs.{source}.{sector}"


def handoff_subject(sector: str) -> str:
    return f"obs.{HANDOFF}.{sector}"


def agent_subject(sector: str) -> str:
    return f"obs.{AGENT}.{sector}"


def tick_subject(sector: str) -> str:
    return f"obs.{TICK}.{sector}"


def tracks_subject(sector: str) -> str:
    return f"tracks.{sector}"


ALERTS_SUBJECT = "alerts"


def check_token(name: str, what: str) -> str:
    """A subject token must be non-empty and free of ``.``, ``*``, ``>`` and whitespace."""
    if not name or any(c in name for c in ".*> \t\r\n"):
        raise ValueError(f"{what} {name!r} is not a valid subject token (no '.', '*', '>' or spaces)")
    return name


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS wildcard matching: ``*`` one token, ``>`` one or more trailing tokens."""
    p, s = pattern.split("."), subject.split(".")
    for i, tok in enumerate(p):
        if tok == ">":
            return len(s) > i
        if i >= len(s) or (tok != "*" and tok != s[i]):
            return False
    return len(p) == len(s)


def encode(record: Any) -> bytes:
    """JSON bytes of an Observation/Track/Alert (the ``to_dict`` form) or of a plain dict."""
    if isinstance(record, (bytes, bytearray)):
        return bytes(record)
    # orjson serialises the record dataclasses (and their enums) natively, much faster than
    # ``to_dict`` (dataclasses.asdict); ``from_dict`` reads the result back
    return orjson.dumps(record, default=_fallback, option=orjson.OPT_SERIALIZE_NUMPY)


def _fallback(value: Any) -> Any:
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def decode(data: bytes) -> Any:
    return orjson.loads(data)


def batch_id(kind: str, keys: Iterable[str]) -> str:
    """A message id for a batch: ``kind`` and a digest of its records' keys (ids), so that
    publishing the same records again in the same batch is dropped as a duplicate."""
    h = hashlib.blake2b(digest_size=12)
    n = 0
    for k in keys:
        h.update(k.encode())
        h.update(b"\n")
        n += 1
    return f"{kind}:{n}:{h.hexdigest()}"


@dataclass
class Message:
    """One delivered message. ``seq`` is its position in its stream (1, 2, ...)."""

    subject: str
    data: bytes
    seq: int
    msg_id: str | None = None
    deliveries: int = 1
    _ack: Callable[[], Awaitable[None]] | None = field(default=None, repr=False)

    def record(self) -> Any:
        """The decoded payload: a record (dict) or, for a batch, a list of records."""
        return decode(self.data)

    def records(self) -> list[Any]:
        """The records this message carries, in order: one, or the elements of a batch."""
        rec = decode(self.data)
        return rec if isinstance(rec, list) else [rec]

    async def ack(self) -> None:
        """Acknowledge (call after the effects are committed). With an ``ack_all``
        subscription, acknowledging a message acknowledges every earlier one too."""
        if self._ack is not None:
            await self._ack()


class Subscription(ABC):
    """Messages of one subject filter, in stream order; iterate or :meth:`fetch` batches.

    ``asked``: how many messages the last :meth:`fetch` asked for (an implementation may ask for
    fewer than ``max_messages`` to bound its memory); fewer received means the subscriber has
    caught up with the stream."""

    asked: int = 0

    @abstractmethod
    async def fetch(self, max_messages: int = 256, timeout: float = 1.0) -> list[Message]:
        """Up to ``max_messages`` messages; an empty list when none came within ``timeout`` s."""

    @abstractmethod
    async def close(self) -> None: ...

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._iter()

    async def _iter(self) -> AsyncIterator[Message]:
        while True:
            for m in await self.fetch(256, 1.0):
                yield m


class Bus(ABC):
    """Publish records to subjects; subscribe with durable, acknowledged consumers."""

    url: str = ""

    @abstractmethod
    async def connect(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def publish(self, subject: str, record: Any, msg_id: str | None = None) -> int:
        """Publish one record; returns its stream sequence (0 when dropped as a duplicate id)."""

    async def publish_many(self, items: Iterable[tuple[str, Any, str | None]]) -> int:
        """Publish ``(subject, record, msg_id)`` items, waiting for every one to be stored;
        returns how many were new (not duplicate ids)."""
        n = 0
        for subject, record, msg_id in items:
            n += await self.publish(subject, record, msg_id) > 0
        return n

    @abstractmethod
    async def subscribe(self, subject: str, durable: str | None = None, start_seq: int | None = None,
                        ack_all: bool = False, new_only: bool = False) -> Subscription:
        """Subscribe to ``subject`` (wildcards allowed).

        ``durable``: a named consumer whose position survives this process (at-least-once:
        unacknowledged messages come again); ``start_seq``: (re)start the consumer at this
        stream sequence; ``ack_all``: acknowledging a message acknowledges all earlier ones;
        ``new_only``: only messages published from now on (live views)."""

    @abstractmethod
    async def delete(self) -> None:
        """Remove this bus's streams and consumers (tests and benchmarks clean up with this)."""

    async def __aenter__(self) -> Bus:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
