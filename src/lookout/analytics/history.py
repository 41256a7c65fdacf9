"""Read an ADS-B history file into :class:`~lookout.analytics.missions.PointHistory` chunks.

Formats: ``sbs`` (SBS-1 BaseStation lines) and ``raw`` (``timestamp,hex`` Mode S frames) go
through the registered source decoders (:func:`lookout.sources.decoder_class`); ``jsonl`` is
Observation JSON lines, either the full ``Observation.to_dict()`` form (with a ``position``
object) or the flat form (``time, source, sensor, ident, lat, lon, alt_m, callsign``).

A file is read in chunks of :data:`CHUNK_LINES` lines (:func:`iter_history`), so a history
of any size goes through :class:`~lookout.analytics.missions.MissionStream` in bounded memory;
:func:`read_history` gives it whole. No receiver position is assumed: positions are kept
wherever they are (the range check applies only with a ``reference``).

Nothing raises on a bad record: every rejected line is counted by reason in
:class:`ReadStats` and reading goes on.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lookout.analytics.missions import PointHistory
from lookout.model import Observation

log = logging.getLogger(__name__)

FORMATS = ("sbs", "raw", "jsonl")


@dataclass
class ReadStats:
    lines: int = 0
    positions: int = 0
    rejected: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {"lines": self.lines, "positions": self.positions, "rejected": dict(self.rejected)}


def guess_format(path: str | Path) -> str:
    """The format a file name suggests (``.sbs``/``.csv`` with ``MSG,`` lines, ``.jsonl``/``.json``)."""
    name = str(path).lower()
    if name.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    if name.endswith(".sbs"):
        return "sbs"
    with _open_binary(Path(path)) as f:
        head = f.read(4096)
    first = next((ln.strip() for ln in head.splitlines() if ln.strip() and not ln.startswith(b"#")), b"")
    if first.startswith(b"{"):
        return "jsonl"
    if first[:4] in (b"MSG,", b"SEL,", b"AIR,", b"ID,", b"STA,", b"CLK,"):
        return "sbs"
    return "raw"


def _flat_row(d: dict, stats: ReadStats):
    """(ident, time, lat, lon, alt, callsign) from a JSON object, or None with a counted reason."""
    if "position" in d:
        try:
            o = Observation.from_dict(d)
        except (TypeError, ValueError) as exc:
            stats.rejected[f"invalid observation: {str(exc)[:60]}"] += 1
            return None
        if o.position is None:
            stats.rejected["no position"] += 1
            return None
        if not o.ident:
            stats.rejected["no ident"] += 1
            return None
        p = o.position
        return o.ident, o.time, p.lat, p.lon, p.alt_m, o.callsign, (o.attrs or {}).get("aircraft_type")
    ident = d.get("ident")
    if not ident:
        stats.rejected["no ident"] += 1
        return None
    vals = {}
    for key, lo, hi in (("time", 0.0, 1e10), ("lat", -90.0, 90.0), ("lon", -180.0, 180.0)):
        v = d.get(key)
        if v is None:
            stats.rejected[f"no {key}"] += 1
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not lo <= v <= hi:
            stats.rejected[f"bad {key}"] += 1
            return None
        vals[key] = float(v)
    alt = d.get("alt_m")
    if alt is not None and (isinstance(alt, bool) or not isinstance(alt, (int, float)) or not math.isfinite(alt)):
        alt = None
    return str(ident).lower(), vals["time"], vals["lat"], vals["lon"], alt, d.get("callsign"), d.get("aircraft_type")


#: lines per chunk of :func:`iter_history` (bounded memory for histories of any size)
CHUNK_LINES = 200_000


def iter_history(lines: Iterable[bytes | str], fmt: str, reference: tuple[float, float] | None = None,
                 max_range_m: float | None = None, stats: ReadStats | None = None,
                 chunk_lines: int | None = None) -> Iterator[PointHistory]:
    """Parse ``lines`` of format ``fmt`` (``sbs``, ``raw`` or ``jsonl``) into PointHistory chunks
    of the positions of up to ``chunk_lines`` (default :data:`CHUNK_LINES`) lines each, counting
    into ``stats``.

    ``reference`` (lat, lon) is a receiver position for the ADS-B decoders (``sbs``, ``raw``):
    with one, positions farther than ``max_range_m`` (default 300 km) from it are rejected;
    without one (the default) positions are kept wherever they are (raw frames are decoded
    globally from their CPR pairs).
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    chunk_lines = CHUNK_LINES if chunk_lines is None else chunk_lines
    if chunk_lines < 1:
        raise ValueError(f"chunk_lines must be >= 1, got {chunk_lines!r}")
    stats = stats if stats is not None else ReadStats()
    if fmt == "jsonl":
        parse = _jsonl_chunk
    else:
        from lookout.sources import decoder_class

        kwargs = {}
        if reference is not None:
            kwargs["reference"] = reference
        if max_range_m is not None:
            kwargs["max_range_m"] = max_range_m
        dec = decoder_class(fmt)(sensor=f"{fmt}-file", **kwargs)

        def parse(chunk: list, stats: ReadStats) -> PointHistory:
            return _decoded_chunk(dec, chunk, stats)
    chunk: list = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= chunk_lines:
            yield parse(chunk, stats)
            chunk = []
    if chunk:
        yield parse(chunk, stats)
    if fmt != "jsonl":
        stats.rejected.update(dec.stats.rejected)  # the decoder's reasons, counted over all chunks
    if stats.rejected:
        log.info("read_history: %d positions from %d lines; rejected %s", stats.positions, stats.lines,
                 dict(stats.rejected))


def _jsonl_chunk(chunk: list, stats: ReadStats) -> PointHistory:
    rows, calls, types = [], {}, {}
    for line in chunk:
        stats.lines += 1
        if isinstance(line, bytes):
            line = line.decode("utf-8", "replace")
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            d = json.loads(line)
        except ValueError:
            stats.rejected["bad json"] += 1
            continue
        if not isinstance(d, dict):
            stats.rejected["not an object"] += 1
            continue
        r = _flat_row(d, stats)
        if r is None:
            continue
        rows.append(r[:5])
        if r[5]:
            calls[r[0]] = str(r[5]).strip()
        if r[6]:
            types[r[0]] = str(r[6])
    stats.positions += len(rows)
    return PointHistory.from_records(rows, calls, types)


def _decoded_chunk(dec, chunk: list, stats: ReadStats) -> PointHistory:
    """One chunk of SBS / raw lines through a registered decoder (one ``decode_batch``)."""
    stats.lines += len(chunk)
    recs = [(line.encode() if isinstance(line, str) else line).rstrip(b"\r\n") for line in chunk]
    obs = [o for o in dec.decode_batch(recs) if o.position is not None and o.ident]
    calls = {o.ident: o.callsign.strip() for o in obs if o.callsign}
    stats.positions += len(obs)
    if not obs:
        return PointHistory.empty()
    return PointHistory(
        ident=np.array([o.ident for o in obs], dtype=object), time=np.array([o.time for o in obs]),
        lat=np.array([o.position.lat for o in obs]), lon=np.array([o.position.lon for o in obs]),
        alt=np.array([np.nan if o.position.alt_m is None else o.position.alt_m for o in obs]),
        callsigns=calls)


def read_history(lines: Iterable[bytes | str], fmt: str, reference: tuple[float, float] | None = None,
                 max_range_m: float | None = None) -> tuple[PointHistory, ReadStats]:
    """The whole history of ``lines`` at once (see :func:`iter_history`; for histories too large
    to hold, give its chunks to :class:`~lookout.analytics.missions.MissionStream` instead)."""
    stats = ReadStats()
    parts = list(iter_history(lines, fmt, reference, max_range_m, stats))
    return PointHistory.concat(parts), stats


def _open(path: str | Path, fmt: str | None) -> tuple[Path, str]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    return path, fmt or guess_format(path)


def iter_history_file(path: str | Path, fmt: str | None = None, **kwargs) -> Iterator[PointHistory]:
    """:func:`iter_history` over a file (format guessed from its name/content when ``fmt`` is None;
    gzip-compressed files are read as such)."""
    path, fmt = _open(path, fmt)
    with _open_binary(path) as f:
        yield from iter_history(f, fmt, **kwargs)


def read_history_file(path: str | Path, fmt: str | None = None, **kwargs) -> tuple[PointHistory, ReadStats]:
    """:func:`read_history` over a file (format guessed from its name/content when ``fmt`` is None)."""
    path, fmt = _open(path, fmt)
    with _open_binary(path) as f:
        return read_history(f, fmt, **kwargs)


def _open_binary(path: Path):
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    if gz:
        import gzip

        return gzip.open(path, "rb")
    return open(path, "rb")
