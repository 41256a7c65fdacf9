"""lookout.bus: the message bus between ingest, fusion workers and serving.

``open_bus(url, prefix="")`` gives a :class:`Bus`: ``memory://[NAME]`` (in-process, the
default) or ``nats://host:port`` (NATS JetStream). See :mod:`lookout.bus.base` for subjects
and delivery semantics, ``docs/scale-out.md`` for deployment.
"""

from __future__ import annotations

from lookout.bus.base import (
    AGENT,
    ALERTS_SUBJECT,
    HANDOFF,
    TICK,
    Bus,
    BusError,
    Message,
    Subscription,
    agent_subject,
    batch_id,
    decode,
    encode,
    handoff_subject,
    obs_subject,
    subject_matches,
    tick_subject,
    tracks_subject,
)

__all__ = ["AGENT", "ALERTS_SUBJECT", "HANDOFF", "TICK", "Bus", "BusError", "Message", "Subscription", "agent_subject",
           "batch_id", "decode", "encode", "handoff_subject", "obs_subject", "open_bus", "subject_matches",
           "tick_subject", "tracks_subject"]


def open_bus(url: str = "memory://", prefix: str = "", **options: object) -> Bus:
    """A (not yet connected) bus for ``url``; ``await bus.connect()`` or ``async with``."""
    s = (url or "").strip()
    scheme = s.split("://", 1)[0].lower() if "://" in s else ""
    if scheme == "memory":
        from lookout.bus.memory import MemoryBus

        return MemoryBus(s, prefix)
    if scheme in ("nats", "tls"):
        from lookout.bus.jetstream import JetStreamBus

        return JetStreamBus(s, prefix, **options)  # type: ignore[arg-type]
    raise ValueError(f"unsupported bus URL {url!r}: use memory:// (in-process) or nats://host:port (JetStream)")
