"""A live CoT feed for one agency, fed like the live hub: ``publish(time, tracks, deleted, alerts)``.

Every step goes through :func:`lookout.share.releasability.filter_tracks` /
:func:`filter_alerts` for the feed's agency, becomes CoT events, and is sent by a background
thread (a bounded queue: a slow or absent TAK server costs old steps, never the pipeline's
time). Tracks that end, or stop being releasable, get a ``t-x-d-d`` delete event.
Use :class:`Tee` to publish one pipeline into the live hub and any number of feeds.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable
from typing import Any

from lookout.model import Alert, Track
from lookout.share import cot
from lookout.share.releasability import OPEN, Agency, filter_alerts, filter_tracks
from lookout.share.transport import CotSender

log = logging.getLogger(__name__)


class CotFeed:
    """Stream the live picture as CoT to one endpoint, filtered for one agency.

    ``sender``: a :class:`CotSender`; ``agency``: whose releasability applies (``OPEN``: all);
    ``protobuf``: send TAK Protocol Version 1 (stream framing for TCP/TLS, mesh for UDP)
    instead of XML; ``auth``: an :class:`lookout.auth.AuthStore` to audit what the feed sent
    (one entry per connection change / error, not per event) and transport errors.
    """

    def __init__(self, sender: CotSender, agency: Agency = OPEN, stale_s: float = 30.0, protobuf: bool = False,
                 auth: Any = None, operators: bool = True, queue_size: int = 256) -> None:
        self.sender = sender
        self.agency = agency
        self.stale_s = stale_s
        self.protobuf = protobuf
        self.auth = auth
        self.operators = operators
        self._sent_uids: set[str] = set()
        self._q: queue.Queue = queue.Queue(maxsize=queue_size)
        self.dropped = 0
        self.steps = 0
        self.events = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"cot-out {sender.endpoint}", daemon=True)
        self._thread.start()
        if auth is not None:
            prev = sender.on_error

            def on_error(msg: str) -> None:
                auth.audit(f"cot-out:{sender.endpoint}", agency.name, "cot.error", str(sender.endpoint),
                           outcome="error", detail={"error": msg})
                if prev is not None:
                    prev(msg)

            sender.on_error = on_error
            auth.audit(f"cot-out:{sender.endpoint}", agency.name, "cot.feed", str(sender.endpoint),
                       detail={"labels": sorted(agency.labels), "protobuf": protobuf})

    def encode(self, time: float, tracks: list[Track], deleted: Iterable[str | Track] = (),
               alerts: Iterable[Alert] = ()) -> list[bytes]:
        """The CoT events this agency receives for one step (XML or protobuf)."""
        rel = filter_tracks(tracks, self.agency)
        rel_ids = {t.id for t in rel}
        withheld = [t.id for t in tracks if t.id not in rel_ids]
        gone = [d if isinstance(d, str) else d.id for d in deleted] + withheld
        events: list[bytes] = []
        for t in rel:
            events.append(cot.to_bytes(cot.track_element(t, self.stale_s)))
            self._sent_uids.add(cot.UID_PREFIX + t.id)
            if self.operators:
                op = cot.operator_element(t, self.stale_s)
                if op is not None:
                    events.append(cot.to_bytes(op))
                    self._sent_uids.add(f"{cot.UID_PREFIX}{t.id}-operator")
        for a in filter_alerts(list(alerts), self.agency):
            ev = cot.alert_element(a)
            if ev is not None:
                events.append(cot.to_bytes(ev))
        for tid in gone:
            for uid in (cot.UID_PREFIX + tid, f"{cot.UID_PREFIX}{tid}-operator"):
                if uid in self._sent_uids:
                    self._sent_uids.discard(uid)
                    events.append(cot.to_bytes(cot.delete_element(uid, time)))
        if self.protobuf:
            mesh = self.sender.endpoint.scheme == "udp"
            events = [cot.to_protobuf(e, mesh=mesh) for e in events]
        return events

    def publish(self, time: float, tracks: list[Track], deleted: Iterable[str | Track] = (),
                alerts: Iterable[Alert] = ()) -> None:
        """One pipeline step (any thread; never blocks: a full queue drops its oldest step)."""
        events = self.encode(time, list(tracks), deleted, alerts)
        self.steps += 1
        if not events:
            return
        while True:
            try:
                self._q.put_nowait(events)
                return
            except queue.Full:
                try:
                    self._q.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass

    def publish_alerts(self, alerts: Iterable[Alert]) -> None:
        self.publish(0.0, [], [], alerts)

    def _run(self) -> None:
        while not self._stop.is_set() or not self._q.empty():
            try:
                events = self._q.get(timeout=0.1)
            except queue.Empty:
                continue
            self.events += self.sender.send(events)
            self._q.task_done()

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until queued steps are sent (or ``timeout``)."""
        import time as _t

        end = _t.monotonic() + timeout
        while self._q.unfinished_tasks and _t.monotonic() < end:
            _t.sleep(0.01)

    def close(self) -> None:
        self.flush(2.0)
        self._stop.set()
        self._thread.join(timeout=2.0)
        self.sender.close()


class Tee:
    """Publish one pipeline into several hubs/feeds (``Pipeline(store, hub=Tee(live, feed))``)."""

    def __init__(self, *targets: Any) -> None:
        self.targets = [t for t in targets if t is not None]

    def publish(self, time: float, tracks: list[Track], deleted: Iterable[str | Track] = (),
                alerts: Iterable[Alert] = ()) -> None:
        tracks, deleted, alerts = list(tracks), list(deleted), list(alerts)
        for t in self.targets:
            try:
                t.publish(time, tracks, deleted, alerts)
            except Exception:  # noqa: BLE001 - one failing consumer must not stop the others
                log.exception("publish to %r failed", t)

    def publish_alerts(self, alerts: Iterable[Alert]) -> None:
        alerts = list(alerts)
        for t in self.targets:
            if hasattr(t, "publish_alerts"):
                t.publish_alerts(alerts)

    def __getattr__(self, name: str) -> Any:  # e.g. .time, .snapshot of the first (the live hub)
        return getattr(self.targets[0], name)
