"""Run a decoder over a transport: the ingest loop behind ``lookout ingest``.

:class:`Ingest` joins a format (by registry name), a SOURCE (:func:`~lookout.sources.transport.open_source`),
optional replay pacing, bounds (messages, seconds) and a :class:`~lookout.sources.health.SensorHealth`
registry, and yields Observations::

    run = Ingest("sbs", "tcp://127.0.0.1:30003", sensor="rx-nogales", max_seconds=60)
    for obs in run:
        ...
    print(run.summary.as_dict())

Replay pacing (``replay_speed``): observations are released at their recorded pace divided by
the speed (2.0 = twice as fast), measured from the first one; ``None`` or ``0`` is as fast as
possible. Pacing uses the observations' own times, so it works for every format that carries
time (raw, SBS, aircraft.json, Beast/AVR with MLAT counters, ...). Live sources are never paced.
"""

from __future__ import annotations

import inspect
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lookout.model import DEFAULT_LABEL, Observation
from lookout.sources.base import Decoder, DecodeStats, decoder_class
from lookout.sources.health import SensorHealth
from lookout.sources.transport import FileSource, Source, TransportStats, open_source

#: lines decoded per batch when a file is read (a batch is one library call for raw/AVR)
BATCH_LINES = 512


class Pacer:
    """Sleep so that times ``t`` are released at ``speed`` times their recorded pace."""

    def __init__(self, speed: float | None, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, max_sleep_s: float = 0.25,
                 stopped: Callable[[], bool] | None = None) -> None:
        if speed is not None and (speed < 0 or speed != speed):
            raise ValueError(f"replay speed must be >= 0, got {speed!r}")
        self.speed = speed or None
        self.clock, self.sleep = clock, sleep
        self.max_sleep_s = max_sleep_s
        self.stopped = stopped or (lambda: False)
        self._t0: float | None = None
        self._w0 = 0.0

    def wait(self, t: float) -> None:
        if self.speed is None:
            return
        if self._t0 is None:
            self._t0, self._w0 = t, self.clock()
            return
        target = self._w0 + (t - self._t0) / self.speed
        while not self.stopped():
            left = target - self.clock()
            if left <= 0:
                return
            self.sleep(min(left, self.max_sleep_s))


def merge_stats(stats: list[DecodeStats]) -> DecodeStats:
    out = DecodeStats()
    for s in stats:
        out.accepted += s.accepted
        out.messages += s.messages
        out.rejected.update(s.rejected)
        out.skipped.update(s.skipped)
        if s.last_seen is not None and (out.last_seen is None or s.last_seen > out.last_seen):
            out.last_seen = s.last_seen
        if s.last_time is not None and (out.last_time is None or s.last_time > out.last_time):
            out.last_time = s.last_time
    return out


@dataclass
class IngestSummary:
    format: str
    source: str
    sensor: str
    observations: int = 0
    stats: DecodeStats = field(default_factory=DecodeStats)
    transport: TransportStats = field(default_factory=TransportStats)
    elapsed_s: float = 0.0
    stopped_by: str = "end of input"

    def as_dict(self) -> dict[str, Any]:
        return {"format": self.format, "source": self.source, "sensor": self.sensor,
                "observations": self.observations, "decoder": self.stats.as_dict(),
                "transport": self.transport.as_dict(), "elapsed_s": round(self.elapsed_s, 3),
                "stopped_by": self.stopped_by}


def make_decoder(fmt: str, sensor: str | None = None, label: str = DEFAULT_LABEL, **options) -> Decoder:
    """A decoder by format name; ``options`` go to its constructor (unknown ones are an error)."""
    cls = decoder_class(fmt)
    params = inspect.signature(cls.__init__).parameters
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    unknown = [k for k in options if k not in params and not accepts_any]
    if unknown:
        allowed = [k for k in params if k not in ("self", "sensor", "label")]
        raise ValueError(f"format {fmt!r} has no option(s) {unknown}; it accepts: {allowed or 'none'}")
    return cls(sensor=sensor, label=label, **options)


class Ingest:
    """Decode one SOURCE with one format; iterate for Observations, then read :attr:`summary`."""

    def __init__(self, fmt: str, source: str | Source, *, sensor: str | None = None, label: str = DEFAULT_LABEL,
                 decoder_options: dict[str, Any] | None = None, replay_speed: float | None = None,
                 max_messages: int | None = None, max_seconds: float | None = None,
                 health: SensorHealth | None = None, source_options: dict[str, Any] | None = None) -> None:
        self.fmt = fmt
        self.decoder_options = dict(decoder_options or {})
        self.label = label
        self.decoder = make_decoder(fmt, sensor, label, **self.decoder_options)
        self.sensor = self.decoder.sensor
        if isinstance(source, Source):
            self.source = source
        else:
            self.source = open_source(source, self.decoder.framing, **(source_options or {}))
        self.replay_speed = replay_speed
        self.max_messages = max_messages
        self.max_seconds = max_seconds
        self.health = health
        self._decoders: dict[str, Decoder] = {}
        self.summary = IngestSummary(fmt, self.source.url, self.sensor)
        if health is not None:
            health.register(self.sensor, fmt)

    def _decoder_for(self, channel: str) -> Decoder:
        if not (self.source.multi_channel and self.decoder.framing == "bytes"):
            return self.decoder
        d = self._decoders.get(channel)
        if d is None:
            d = self.decoder if not self._decoders else make_decoder(self.fmt, self.sensor, self.label,
                                                                     **self.decoder_options)
            self._decoders[channel] = d
        return d

    def _all_stats(self) -> DecodeStats:
        decs = list(self._decoders.values()) or [self.decoder]
        if self.decoder not in decs:
            decs.append(self.decoder)
        return merge_stats([d.stats for d in decs])

    def __iter__(self) -> Iterator[Observation]:
        src, health, sensor = self.source, self.health, self.sensor
        t_start = time.monotonic()
        if self.max_seconds is not None:
            src.deadline = t_start + self.max_seconds
        pacer = Pacer(None if src.live else self.replay_speed, stopped=lambda: src.stopped)
        summ = self.summary
        max_msgs = self.max_messages
        seen_msgs = 0
        next_health = 0.0
        # a file of lines is decoded in batches (one library call per batch for the formats
        # that have a batch path); a live source of lines a received chunk at a time (its
        # complete lines, as one batch, as soon as it arrives); standard input (which may be a
        # pipe from a live feed) and byte streams record by record: nothing waits to fill a batch
        batching = (isinstance(src, FileSource) and str(src.path) != "-" and not src.live
                    and self.decoder.framing == "lines")
        chunked = src.live and self.decoder.framing == "lines"
        pending: list[bytes] = []

        def emit(dec: Decoder, obs_list) -> Iterator[Observation]:
            for obs in obs_list:
                pacer.wait(obs.time)
                summ.observations += 1
                if health is not None:
                    health.observed(sensor, obs.time)
                yield obs

        try:
            for channel, rec in (src.record_chunks() if chunked else src.records()):
                if rec is not None:
                    dec = self._decoder_for(channel)
                    before = dec.stats.messages
                    if chunked:  # rec: the lines of one received chunk
                        if max_msgs is not None and len(rec) > max_msgs - seen_msgs:
                            rec = rec[:max_msgs - seen_msgs]
                        yield from emit(dec, dec.decode_batch(rec))
                    elif batching:
                        pending.append(rec)
                        room = BATCH_LINES if max_msgs is None else min(BATCH_LINES, max_msgs - seen_msgs)
                        if len(pending) < room and not src.stopped:
                            continue
                        batch, pending = pending, []
                        yield from emit(dec, dec.decode_batch(batch))
                    else:
                        yield from emit(dec, dec.decode(rec))
                    n = dec.stats.messages - before
                    seen_msgs += n
                    if health is not None:
                        health.heard(sensor, n)
                    if max_msgs is not None and seen_msgs >= max_msgs:
                        summ.stopped_by = f"--max-messages {max_msgs}"
                        break
                if src.stopped:
                    summ.stopped_by = "--max-seconds" if self.max_seconds is not None else "stopped"
                    break
                if health is not None and time.monotonic() >= next_health:
                    next_health = time.monotonic() + 1.0
                    health.update_stats(sensor, self._all_stats(), self.fmt, src.stats.as_dict())
            else:
                if src.stopped and src.live:
                    summ.stopped_by = "--max-seconds" if self.max_seconds is not None else "stopped"
            if pending:  # the last partial batch (or one cut short by a stop)
                before = self.decoder.stats.messages
                yield from emit(self.decoder, self.decoder.decode_batch(pending))
                pending = []
                if health is not None:
                    health.heard(sensor, self.decoder.stats.messages - before)
            for dec in list(self._decoders.values()) or [self.decoder]:
                for obs in dec.flush():
                    summ.observations += 1
                    yield obs
        finally:
            src.close()
            summ.stats = self._all_stats()
            summ.transport = src.stats
            summ.elapsed_s = time.monotonic() - t_start
            if health is not None:
                health.update_stats(sensor, summ.stats, self.fmt, src.stats.as_dict())


def format_summary(summary: IngestSummary) -> str:
    """A short human-readable summary (what ``lookout ingest`` prints to stderr)."""
    st = summary.stats
    lines = [f"{summary.format} from {summary.source} (sensor {summary.sensor}): "
             f"{summary.observations} observations from {st.messages} messages "
             f"in {summary.elapsed_s:.2f} s ({summary.stopped_by})"]
    lines.append(f"  accepted: {st.accepted}")
    if st.rejected:
        lines.append(f"  rejected: {st.rejected_total} (" + ", ".join(
            f"{k} {v}" for k, v in Counter(st.rejected).most_common()) + ")")
    else:
        lines.append("  rejected: 0")
    if st.skipped:
        lines.append("  no position (skipped): " + ", ".join(f"{k} {v}" for k, v in st.skipped.most_common()))
    tr = summary.transport
    extra = [f"{k} {v}" for k, v in (("oversized lines", tr.oversized), ("connects", tr.connects),
                                       ("disconnects", tr.disconnects), ("dropped", tr.dropped)) if v]
    extra += [f"{k} {v}" for k, v in tr.errors.items()]
    lines.append(f"  transport: {tr.bytes} bytes, {tr.records} records" + (", " + ", ".join(extra) if extra else ""))
    return "\n".join(lines)
