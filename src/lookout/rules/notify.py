"""Notifications: subscribers of :class:`~lookout.rules.alerts.AlertManager` events.

A subscriber is any callable taking an :class:`~lookout.rules.alerts.AlertEvent`:

* in-process callbacks: ``engine.alerts.subscribe(fn)``;
* :class:`WebhookSender`: POSTs each event as JSON to a URL from a background thread, with a
  bounded queue, retries with exponential backoff and jitter, and counters;
* Cursor-on-Target and other share formats plug in the same way (``subscribe(cot_sender)``),
  optionally behind :class:`SeverityFilter`.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time as _time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from lookout.model import Severity
from lookout.rules.alerts import AlertEvent

log = logging.getLogger(__name__)


@dataclass
class SeverityFilter:
    """Pass on only events of some kinds and at least some severity."""

    target: Callable[[AlertEvent], None]
    min_severity: Severity = Severity.INFO
    kinds: frozenset[str] = frozenset({"new", "update", "end"})

    def __call__(self, event: AlertEvent) -> None:
        if event.kind in self.kinds and event.alert.severity.rank >= Severity(self.min_severity).rank:
            self.target(event)


def event_payload(event: AlertEvent) -> dict[str, Any]:
    """The JSON body of a notification: ``{"event": kind, "alert": {...}}``."""
    return {"event": event.kind, "alert": event.alert.to_dict()}


@dataclass
class WebhookStats:
    queued: int = 0
    sent: int = 0
    retries: int = 0
    failed: int = 0  # gave up (retries exhausted or a 4xx answer)
    dropped: int = 0  # queue full: the oldest waiting event was dropped
    last_error: str | None = None
    statuses: dict[int, int] = field(default_factory=dict)


class WebhookSender:
    """POST alert events as JSON to ``url`` with retries, backoff and jitter, off the caller's thread.

    Calling the sender only enqueues (never blocks the pipeline); when the queue is full the oldest
    waiting event is dropped and counted. Failures (connection errors, timeouts, 5xx, 429) are
    retried up to ``max_retries`` times, waiting ``backoff_s * 2**attempt`` (capped at
    ``max_backoff_s``) times a random factor in ``[1 - jitter, 1 + jitter]``; other 4xx answers are
    not retried.
    """

    def __init__(self, url: str, *, max_retries: int = 5, backoff_s: float = 0.5, max_backoff_s: float = 30.0,
                 jitter: float = 0.5, timeout_s: float = 5.0, queue_size: int = 1000,
                 headers: dict[str, str] | None = None, kinds: Iterable[str] = ("new", "update", "end"),
                 transport: httpx.BaseTransport | None = None, seed: int | None = None) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook url must start with http:// or https://, got {url!r}")
        if max_retries < 0 or backoff_s < 0 or not (0 <= jitter <= 1) or queue_size < 1:
            raise ValueError("webhook: max_retries >= 0, backoff_s >= 0, 0 <= jitter <= 1, queue_size >= 1")
        self.url, self.max_retries, self.backoff_s, self.max_backoff_s = url, max_retries, backoff_s, max_backoff_s
        self.jitter, self.kinds = jitter, frozenset(kinds)
        self.stats = WebhookStats()
        self._q: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=queue_size)
        self._rng = random.Random(seed)
        self._client = httpx.Client(timeout=timeout_s, headers=headers, transport=transport)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="lookout-webhook", daemon=True)
        self._thread.start()

    def __call__(self, event: AlertEvent) -> None:
        if event.kind not in self.kinds:
            return
        self.submit(event_payload(event))

    def submit(self, payload: dict[str, Any]) -> None:
        with self._lock:
            while True:
                try:
                    self._q.put_nowait(payload)
                    self.stats.queued += 1
                    return
                except queue.Full:
                    try:
                        self._q.get_nowait()
                        self._q.task_done()
                        self.stats.dropped += 1
                    except queue.Empty:
                        pass

    def delay(self, attempt: int) -> float:
        """Wait before retry number ``attempt`` (0-based): exponential, capped, jittered."""
        base = min(self.max_backoff_s, self.backoff_s * (2 ** attempt))
        return base * self._rng.uniform(1 - self.jitter, 1 + self.jitter)

    def _post(self, payload: dict[str, Any]) -> bool:
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.stats.retries += 1
                if self._stop.wait(self.delay(attempt - 1)):
                    return False
            try:
                r = self._client.post(self.url, json=payload)
            except httpx.HTTPError as exc:
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                continue
            self.stats.statuses[r.status_code] = self.stats.statuses.get(r.status_code, 0) + 1
            if r.status_code < 300:
                return True
            self.stats.last_error = f"HTTP {r.status_code}"
            if 400 <= r.status_code < 500 and r.status_code not in (408, 429):
                return False
        return False

    def _run(self) -> None:
        while True:
            item = self._q.get()
            try:
                if item is None:
                    return
                if self._post(item):
                    self.stats.sent += 1
                else:
                    self.stats.failed += 1
                    log.warning("webhook %s: gave up on an alert event (%s)", self.url, self.stats.last_error)
            finally:
                self._q.task_done()

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until everything queued has been sent or given up; False on timeout."""
        deadline = _time.monotonic() + timeout_s
        while self._q.unfinished_tasks:
            if _time.monotonic() > deadline:
                return False
            _time.sleep(0.01)
        return True

    def close(self, timeout_s: float = 5.0) -> None:
        """Send what is queued (within ``timeout_s``), then stop the thread."""
        self.flush(timeout_s)
        self._stop.set()
        try:
            self._q.put_nowait(None)
        except queue.Full:
            pass
        self._thread.join(timeout_s)
        self._client.close()
