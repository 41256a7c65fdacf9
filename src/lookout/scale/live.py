"""Feed a :class:`~lookout.api.live.LiveHub` from the bus (``tracks.*`` and ``alerts``)."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from lookout.bus import ALERTS_SUBJECT, Bus
from lookout.model import Alert, Track, TrackStatus

log = logging.getLogger(__name__)


async def bridge(bus: Bus, hub: Any, stop: threading.Event | asyncio.Event, timeout: float = 0.5) -> int:
    """Publish new track and alert states from the bus to ``hub`` until ``stop`` is set;
    returns how many messages it relayed. Bad messages are logged and skipped."""
    await bus.connect()
    subs = [await bus.subscribe("tracks.>", new_only=True), await bus.subscribe(ALERTS_SUBJECT, new_only=True)]
    n = 0
    try:
        while not stop.is_set():
            tracks: list[Track] = []
            deleted: list[str] = []
            alerts: list[Alert] = []
            for i, sub in enumerate(subs):
                for m in await sub.fetch(1000, timeout / 2):
                    try:
                        recs = m.records()  # one record, or a worker step's batch
                    except Exception as exc:  # noqa: BLE001
                        log.warning("live bridge: message %d on %s skipped: %s", m.seq, m.subject, exc)
                        continue
                    for rec in recs:
                        try:
                            if i == 0:
                                t = Track.from_dict(rec)
                                (deleted.append(t.id) if t.status == TrackStatus.DELETED else tracks.append(t))
                            else:
                                alerts.append(Alert.from_dict(rec))
                        except Exception as exc:  # noqa: BLE001
                            log.warning("live bridge: a record of message %d on %s skipped: %s", m.seq, m.subject, exc)
            if tracks or deleted or alerts:
                times = [t.time for t in tracks] + [a.updated or a.start for a in alerts]
                hub.publish(max(times) if times else 0.0, tracks, deleted, alerts)
                n += len(tracks) + len(deleted) + len(alerts)
    finally:
        for s in subs:
            await s.close()
        await bus.close()
    return n
