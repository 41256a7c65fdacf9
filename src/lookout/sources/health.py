"""Sensor health: per sensor, last seen, message rate, decode errors by kind, clock offset, silence.

:class:`SensorHealth` is a registry fed by the ingest loop (or any source runner) and read by
the API (``snapshot() -> list[dict]``, one dict per sensor). It is thread-safe.

* ``rate_per_s``: messages per second over a sliding window (``window_s``, per-second buckets);
* ``errors``: decode rejections by reason, from the decoder's :class:`DecodeStats`;
* ``clock_offset_s``: median of (receive time - sensor time) over the last ``offset_samples``
  observations; positive when the sensor's clock (or its data) lags the wall clock;
* ``silent``: nothing heard for more than ``silent_after_s`` seconds (or never heard).
"""

from __future__ import annotations

import statistics
import threading
import time as _time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lookout.sources.base import DecodeStats


@dataclass
class _Sensor:
    sensor: str
    format: str | None = None
    first_seen: float | None = None
    last_seen: float | None = None
    last_time: float | None = None
    messages: int = 0
    accepted: int = 0
    buckets: deque = field(default_factory=deque)  # (second, count)
    offsets: deque = field(default_factory=lambda: deque(maxlen=101))
    errors: dict[str, int] = field(default_factory=dict)
    transport: dict[str, Any] | None = None


class SensorHealth:
    """Registry of sensor health, one entry per sensor id."""

    def __init__(self, silent_after_s: float = 30.0, window_s: float = 60.0, offset_samples: int = 101,
                 clock: Callable[[], float] = _time.time) -> None:
        if silent_after_s <= 0 or window_s <= 0:
            raise ValueError("silent_after_s and window_s must be > 0")
        self.silent_after_s = silent_after_s
        self.window_s = window_s
        self.offset_samples = offset_samples
        self.clock = clock
        self._sensors: dict[str, _Sensor] = {}
        self._lock = threading.Lock()

    def _get(self, sensor: str) -> _Sensor:
        s = self._sensors.get(sensor)
        if s is None:
            s = self._sensors[sensor] = _Sensor(sensor, offsets=deque(maxlen=self.offset_samples))
        return s

    def register(self, sensor: str, format: str | None = None) -> None:
        """Make a sensor known before it is heard (it shows as silent until it is)."""
        with self._lock:
            s = self._get(sensor)
            s.format = format or s.format

    def heard(self, sensor: str, n: int = 1, now: float | None = None) -> None:
        """``n`` messages from ``sensor`` received at ``now`` (wall clock)."""
        if n <= 0:
            return
        now = self.clock() if now is None else now
        sec = int(now)
        with self._lock:
            s = self._get(sensor)
            if s.first_seen is None:
                s.first_seen = now
            s.last_seen = now
            s.messages += n
            b = s.buckets
            if b and b[-1][0] == sec:
                b[-1] = (sec, b[-1][1] + n)
            else:
                b.append((sec, n))
            self._trim(b, now)

    def observed(self, sensor: str, sensor_time: float, now: float | None = None) -> None:
        """An observation with sensor time ``sensor_time`` received at ``now``: clock offset sample."""
        now = self.clock() if now is None else now
        with self._lock:
            s = self._get(sensor)
            s.accepted += 1
            s.last_time = sensor_time
            s.offsets.append(now - sensor_time)

    def update_stats(self, sensor: str, stats: DecodeStats, format: str | None = None,
                     transport: dict[str, Any] | None = None) -> None:
        """Copy a decoder's error counters (and optionally its transport's counters)."""
        with self._lock:
            s = self._get(sensor)
            s.errors = dict(stats.rejected)
            if format:
                s.format = format
            if transport is not None:
                s.transport = dict(transport)

    def _trim(self, b: deque, now: float) -> None:
        cutoff = now - self.window_s
        while b and b[0][0] < cutoff:
            b.popleft()

    def snapshot(self, now: float | None = None) -> list[dict[str, Any]]:
        """One dict per sensor: ``sensor, format, last_seen, age_s, messages, accepted, rate_per_s,
        errors, errors_total, clock_offset_s, silent`` (plus ``transport`` counters when known)."""
        now = self.clock() if now is None else now
        out = []
        with self._lock:
            for s in self._sensors.values():
                self._trim(s.buckets, now)
                span = self.window_s
                if s.first_seen is not None:
                    span = min(self.window_s, max(now - s.first_seen, 1.0))
                rate = sum(c for _, c in s.buckets) / span if s.buckets else 0.0
                age = None if s.last_seen is None else max(0.0, now - s.last_seen)
                d = {
                    "sensor": s.sensor, "format": s.format, "last_seen": s.last_seen, "age_s": age,
                    "messages": s.messages, "accepted": s.accepted, "rate_per_s": rate,
                    "errors": dict(s.errors), "errors_total": sum(s.errors.values()),
                    "clock_offset_s": statistics.median(s.offsets) if s.offsets else None,
                    "last_time": s.last_time,
                    "silent": age is None or age > self.silent_after_s,
                }
                if s.transport is not None:
                    d["transport"] = dict(s.transport)
                out.append(d)
        out.sort(key=lambda d: d["sensor"])
        return out

    def silent(self, now: float | None = None) -> list[str]:
        """Ids of silent sensors."""
        return [d["sensor"] for d in self.snapshot(now) if d["silent"]]
