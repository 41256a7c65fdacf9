"""The live picture and its WebSocket fan-out.

The pipeline (any thread) calls :meth:`LiveHub.publish` once per step with the tracks that
changed, the ids of tracks deleted and the alert events. The hub keeps the current picture
(the latest state of every live track) and pushes one JSON message per step to every
subscribed WebSocket client, filtered on the server by area (bounding box) and object class.

``publish`` never blocks on a client: each client has a bounded queue of ready-made messages
and a slow client loses its oldest messages (counted in ``dropped``), never the pipeline's time.
Each step is serialised once for all unfiltered clients (orjson); a filtered client's message
holds the tracks its filter selects (a numpy mask over the step's positions and classes).

Messages (JSON objects, ``type`` first):

Tracks travel in the compact form of :func:`lookout.api.serialize.track_wire` (short keys).

* ``{"type": "snapshot", "time", "tracks": [...], "alerts": []}`` on connect and after every
  filter change: the whole live picture the filter selects (clients replace their state);
* ``{"type": "update", "time", "pub", "tracks": [...], "deleted": [ids], "alerts": [...]}``
  per step; ``deleted`` also lists tracks that left the client's filter; ``pub`` is the
  server's wall-clock time of publication (UNIX seconds), for latency measurement.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time as _time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from lookout.api.serialize import alert_json, track_json, track_wire
from lookout.model import Alert, ObjectClass, Track
from lookout.store.base import BBox

log = logging.getLogger(__name__)



def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


@dataclass(eq=False)
class Subscription:
    """One WebSocket client's filter and queue of outgoing messages."""

    loop: asyncio.AbstractEventLoop
    bbox: BBox | None = None
    classes: frozenset[str] | None = None
    maxlen: int = 64
    queue: deque = field(default_factory=deque)
    event: asyncio.Event = field(default_factory=asyncio.Event)
    sent: set[str] = field(default_factory=set)  # track ids this client currently shows
    dropped: int = 0
    delivered: int = 0
    closed: bool = False

    @property
    def filtered(self) -> bool:
        return self.bbox is not None or self.classes is not None

    def offer(self, message: str) -> None:
        """Queue a message (dropping the oldest when full) and wake the client's sender."""
        if self.closed:
            return
        if len(self.queue) >= self.maxlen:
            self.queue.popleft()
            self.dropped += 1
        self.queue.append(message)
        try:
            self.loop.call_soon_threadsafe(self.event.set)
        except RuntimeError:  # the client's event loop is closed
            self.closed = True

    def take(self) -> list[str]:
        out = []
        while self.queue:
            try:
                out.append(self.queue.popleft())
            except IndexError:
                break
        self.delivered += len(out)
        return out


def parse_classes(values: Iterable[str] | str | None) -> frozenset[str] | None:
    """Class names (a list or a comma-separated string) -> a validated set; ValueError names
    the unknown ones."""
    if values is None:
        return None
    if isinstance(values, str):
        values = values.split(",")
    names = {str(v).strip().lower() for v in values if str(v).strip()}
    if not names:
        return None
    allowed = {str(c) for c in ObjectClass}
    bad = sorted(names - allowed)
    if bad:
        raise ValueError(f"unknown class(es) {bad}; known classes: {sorted(allowed)}")
    return frozenset(names)


class LiveHub:
    """Thread-safe live picture + fan-out to WebSocket subscribers."""

    def __init__(self, queue_size: int = 64) -> None:
        self.queue_size = queue_size
        self._lock = threading.Lock()
        self._tracks: dict[str, Track] = {}  # the live picture
        self._wire: dict[str, dict[str, Any]] = {}  # its stream form
        self._subs: set[Subscription] = set()
        self.time: float | None = None
        self.steps = 0
        #: called as ``f(time, tracks, deleted_ids, alerts)`` after each step (per-agency views)
        self.listeners: list = []

    # -- pipeline side ----------------------------------------------------------------------
    def publish(self, time: float, tracks: list[Track], deleted: Iterable[str | Track] = (),
                alerts: Iterable[Alert] = ()) -> None:
        """Publish one pipeline step (callable from any thread; never blocks on clients)."""
        pub = _time.time()
        tjs = [track_wire(t) for t in tracks]
        del_ids = [d if isinstance(d, str) else d.id for d in deleted]
        alerts = list(alerts)
        ajs = [alert_json(a) for a in alerts]
        n = len(tjs)
        lat = np.fromiter((d["lat"] for d in tjs), float, n)
        lon = np.fromiter((d["lon"] for d in tjs), float, n)
        cls = np.array([d["cls"] for d in tjs], dtype=object) if n else np.empty(0, dtype=object)
        ids = [d["id"] for d in tjs]
        head = f'{{"type":"update","time":{_dumps(time)},"pub":{pub!r},"tracks":'
        all_msg: str | None = None
        with self._lock:
            self.time = time if self.time is None else max(self.time, time)
            self.steps += 1
            for t, d in zip(tracks, tjs):
                self._tracks[t.id] = t
                self._wire[t.id] = d
            for tid in del_ids:
                self._tracks.pop(tid, None)
                self._wire.pop(tid, None)
            dead = []
            for sub in self._subs:
                if sub.closed:
                    dead.append(sub)
                    continue
                sel_alerts = ajs
                if not sub.filtered:
                    if all_msg is None:
                        all_msg = self._message(head, tjs, del_ids, ajs)
                    sub.offer(all_msg)
                    continue
                mask = np.ones(n, dtype=bool)
                if sub.bbox is not None:
                    b = sub.bbox
                    mask &= (lat >= b.min_lat) & (lat <= b.max_lat) & (lon >= b.min_lon) & (lon <= b.max_lon)
                    sel_alerts = [a for a in ajs if a.get("position") is None
                                  or b.contains(a["position"]["lat"], a["position"]["lon"])]
                if sub.classes is not None:
                    mask &= np.isin(cls, list(sub.classes))
                idx = np.flatnonzero(mask)
                chosen = [ids[i] for i in idx]
                left = [ids[i] for i in np.flatnonzero(~mask) if ids[i] in sub.sent]
                gone = [t for t in del_ids if t in sub.sent] + left
                sub.sent.difference_update(gone)
                sub.sent.update(chosen)
                if not chosen and not gone and not sel_alerts:
                    continue
                sub.offer(self._message(head, [tjs[i] for i in idx], gone, sel_alerts))
            for sub in dead:
                self._subs.discard(sub)
        for listener in self.listeners:
            listener(time, tracks, del_ids, alerts)

    def publish_alerts(self, alerts: Iterable[Alert]) -> None:
        """Push alert changes (e.g. an acknowledgement made through the API) to the clients."""
        self.publish(self.time or _time.time(), [], [], alerts)

    @staticmethod
    def _message(head: str, tracks: list[dict], deleted: list[str], alerts: list[dict]) -> str:
        return head + _dumps(tracks) + ',"deleted":' + _dumps(deleted) + ',"alerts":' + _dumps(alerts) + "}"

    # -- reading ----------------------------------------------------------------------------
    def snapshot(self, bbox: BBox | None = None, classes: frozenset[str] | None = None) -> list[dict[str, Any]]:
        """The live tracks that the filter selects, in the API's JSON form (:func:`track_json`)."""
        with self._lock:
            chosen = [t for tid, t in self._tracks.items() if _selects(self._wire[tid], bbox, classes)]
        return [track_json(t) for t in chosen]

    def track(self, track_id: str) -> dict[str, Any] | None:
        """One live track in the API's JSON form, or None."""
        with self._lock:
            t = self._tracks.get(track_id)
        return None if t is None else track_json(t)

    def records(self) -> list[Track]:
        """The live picture as Track records."""
        with self._lock:
            return list(self._tracks.values())

    @property
    def live_tracks(self) -> int:
        """How many tracks the live picture holds."""
        with self._lock:
            return len(self._tracks)

    @property
    def clients(self) -> int:
        with self._lock:
            return sum(1 for s in self._subs if not s.closed)

    # -- client side ------------------------------------------------------------------------
    def subscribe(self, loop: asyncio.AbstractEventLoop, bbox: BBox | None = None,
                  classes: frozenset[str] | None = None) -> Subscription:
        """Register a client; its first queued message is the snapshot its filter selects."""
        sub = Subscription(loop=loop, bbox=bbox, classes=classes, maxlen=self.queue_size)
        with self._lock:
            self._subs.add(sub)
            self._send_snapshot(sub)
        return sub

    def refilter(self, sub: Subscription, bbox: BBox | None, classes: frozenset[str] | None) -> None:
        """Change a client's filter; it gets a fresh snapshot."""
        with self._lock:
            sub.bbox, sub.classes = bbox, classes
            sub.queue.clear()
            self._send_snapshot(sub)

    def unsubscribe(self, sub: Subscription) -> None:
        sub.closed = True
        with self._lock:
            self._subs.discard(sub)

    def _send_snapshot(self, sub: Subscription) -> None:
        chosen = [d for d in self._wire.values() if _selects(d, sub.bbox, sub.classes)]
        sub.sent = {d["id"] for d in chosen}
        msg = '{"type":"snapshot","time":' + _dumps(self.time) + ',"tracks":' + _dumps(chosen) + ',"alerts":[]}'
        sub.offer(msg)


def _selects(d: dict[str, Any], bbox: BBox | None, classes: frozenset[str] | None) -> bool:
    if classes is not None and d["cls"] not in classes:
        return False
    if bbox is not None and not bbox.contains(d["lat"], d["lon"]):
        return False
    return True
