"""The source adapter interface: bytes or lines of one wire format in, Observations out.

A format is one module with one :class:`Decoder` subclass registered under its format name
(``@register("sbs")``). Decoders never raise into the pipeline: a record that cannot be parsed
or fails validation is counted in :attr:`Decoder.stats` with its reason and skipped, and
decoding goes on with the next record.

Framing: a ``"lines"`` decoder is handed one text line at a time (newline stripped, bytes);
a ``"bytes"`` decoder is handed arbitrary chunks of a byte stream and keeps its own buffer
(Beast, ASTERIX, SAPIENT). Transports (files, TCP, UDP, MQTT) live in
:mod:`lookout.sources.transport` and work with every decoder.
"""

from __future__ import annotations

import logging
import time as _time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from lookout.model import DEFAULT_LABEL, Observation

log = logging.getLogger(__name__)


@dataclass
class DecodeStats:
    """Counters of one decoder: what it accepted and what it rejected, by reason."""

    accepted: int = 0
    rejected: Counter = field(default_factory=Counter)
    messages: int = 0  # records seen (accepted, rejected, or decoded without yielding a position)
    last_seen: float | None = None  # wall-clock time of the last record
    last_time: float | None = None  # sensor time of the last observation
    #: records that were valid but yield no Observation, by reason (e.g. a callsign-only
    #: message, a Mode S reply type that carries no position, a repeated snapshot entry)
    skipped: Counter = field(default_factory=Counter)

    def reject(self, reason: str, detail: str = "") -> None:
        self.rejected[reason] += 1
        if self.rejected[reason] <= 5 or self.rejected[reason] % 10_000 == 0:
            log.debug("rejected (%s) %s", reason, detail[:200])

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def as_dict(self) -> dict:
        return {"accepted": self.accepted, "messages": self.messages, "rejected": dict(self.rejected),
                "skipped": dict(self.skipped), "last_seen": self.last_seen, "last_time": self.last_time}


class Decoder(ABC):
    """Turn one wire format into Observations."""

    name: ClassVar[str] = ""
    framing: ClassVar[str] = "lines"  # "lines" or "bytes"
    #: True when :meth:`_decode` counts ``stats.messages`` itself (one per framed record found in
    #: a byte chunk) instead of one per :meth:`decode` call.
    counts_records: ClassVar[bool] = False

    def __init__(self, sensor: str | None = None, label: str = DEFAULT_LABEL) -> None:
        self.sensor = sensor or self.name
        self.label = label
        self.stats = DecodeStats()

    @abstractmethod
    def _decode(self, data: bytes) -> Iterator[Observation]:
        """Decode one line (``lines`` framing) or chunk (``bytes`` framing). May raise: the
        public :meth:`decode` counts the exception as a rejection."""

    def decode(self, data: bytes) -> Iterator[Observation]:
        """Decode safely: never raises; every failure is counted in :attr:`stats`."""
        if not self.counts_records:
            self.stats.messages += 1
        self.stats.last_seen = _time.time()
        try:
            for obs in self._decode(data):
                self.stats.accepted += 1
                self.stats.last_time = obs.time
                yield obs
        except Exception as exc:  # noqa: BLE001 - a decoder never raises into the pipeline
            self.stats.reject(type(exc).__name__, f"{exc}: {data[:80]!r}")

    def decode_all(self, records: Iterable[bytes]) -> Iterator[Observation]:
        for rec in records:
            yield from self.decode(rec)
        yield from self.flush()

    def decode_batch(self, records: list[bytes]) -> list[Observation]:
        """Decode a batch of records (lines or chunks) at once; never raises. Formats whose
        library decodes in batches override this; the default loops over :meth:`decode`."""
        out: list[Observation] = []
        for rec in records:
            out.extend(self.decode(rec))
        return out

    def _flush(self) -> Iterator[Observation]:
        """End of stream: decode what is left in an internal buffer (``bytes`` framing)."""
        return iter(())

    def flush(self) -> Iterator[Observation]:
        """End of stream, safely: never raises; a truncated last record is counted."""
        try:
            for obs in self._flush():
                self.stats.accepted += 1
                self.stats.last_time = obs.time
                yield obs
        except Exception as exc:  # noqa: BLE001
            self.stats.reject(type(exc).__name__, f"{exc} (at end of stream)")


def rescan_leftover(decoder: Decoder, buf: bytearray, reason: str, tries: int = 64) -> Iterator[Observation]:
    """End of a length-framed byte stream (ASTERIX, SAPIENT): a partial record left in ``buf``
    may be garbage that looked like a header; count it under ``reason``, drop its first octet and
    decode the rest again (bounded), so valid records behind it are not lost."""
    if buf:
        decoder.stats.reject(reason, f"{len(buf)} octets left at end of stream")
    for _ in range(tries):
        if not buf:
            return
        rest = bytes(buf[1:])
        buf.clear()
        yield from decoder._decode(rest)
    buf.clear()


_REGISTRY: dict[str, type[Decoder]] = {}


def register(name: str):
    """Class decorator registering a decoder under a format name."""

    def deco(cls: type[Decoder]) -> type[Decoder]:
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return deco


#: Where each built-in format lives: a decoder module is imported only when its format is used,
#: so a command that reads SBS does not pay for the ASTERIX or AIS libraries. A format added in
#: a new module registers itself with ``@register`` once that module is imported.
FORMAT_MODULES: dict[str, str] = {
    "sbs": "lookout.sources.sbs",
    "avr": "lookout.sources.avr",
    "raw": "lookout.sources.raw",
    "beast": "lookout.sources.beast",
    "aircraft-json": "lookout.sources.aircraft_json",
    "remoteid": "lookout.sources.remoteid",
    "radar-json": "lookout.sources.radar_json",
    "asterix": "lookout.sources.asterix",
    "sapient": "lookout.sources.sapient",
    "ais": "lookout.sources.ais",
    "camera": "lookout.sources.camera",
    "report": "lookout.sources.report",
    "cot": "lookout.sources.cot",
}


def decoder_class(name: str) -> type[Decoder]:
    """The decoder class of a format name (importing its module on first use)."""
    if name not in _REGISTRY and name in FORMAT_MODULES:
        import importlib

        importlib.import_module(FORMAT_MODULES[name])
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown format {name!r}; known: {', '.join(formats())}") from None


def formats() -> list[str]:
    """Every format name: the built-in ones and any registered by an imported module."""
    return sorted(set(FORMAT_MODULES) | set(_REGISTRY))
