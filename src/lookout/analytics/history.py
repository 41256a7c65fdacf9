"""Read an ADS-B history file into a :class:`~lookout.analytics.missions.PointHistory`.

Formats: ``sbs`` (SBS-1 BaseStation lines) and ``raw`` (``timestamp,hex`` Mode S frames) go
through the registered source decoders (:func:`lookout.sources.decoder_class`); ``jsonl`` is
Observation JSON lines, either the full ``Observation.to_dict()`` form (with a ``position``
object) or the flat form (``time, source, sensor, ident, lat, lon, alt_m, callsign``).

Nothing raises on a bad record: every rejected line is counted by reason in
:class:`ReadStats` and reading goes on.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

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
    with open(path, "rb") as f:
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


def read_history(lines: Iterable[bytes | str], fmt: str, reference: tuple[float, float] | None = None,
                 max_range_m: float | None = None) -> tuple[PointHistory, ReadStats]:
    """Parse ``lines`` of format ``fmt`` (``sbs``, ``raw`` or ``jsonl``).

    ``reference`` (lat, lon) is the receiver position the ADS-B decoders check ranges against
    (default: the packaged sector's origin); ``max_range_m`` their range limit.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    stats = ReadStats()
    rows, calls, types = [], {}, {}
    if fmt == "jsonl":
        for line in lines:
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
    else:
        from lookout.sources import decoder_class

        kwargs = {}
        if reference is not None:
            kwargs["reference"] = reference
        if max_range_m is not None:
            kwargs["max_range_m"] = max_range_m
        dec = decoder_class(fmt)(sensor=f"{fmt}-file", **kwargs)
        for line in lines:
            stats.lines += 1
            data = line.encode() if isinstance(line, str) else line
            for o in dec.decode(data.rstrip(b"\r\n")):
                if o.position is None or not o.ident:
                    continue
                rows.append((o.ident, o.time, o.position.lat, o.position.lon, o.position.alt_m))
                if o.callsign:
                    calls[o.ident] = o.callsign.strip()
        stats.rejected.update(dec.stats.rejected)
    stats.positions = len(rows)
    if stats.rejected:
        log.info("read_history: %d positions from %d lines; rejected %s", stats.positions, stats.lines,
                 dict(stats.rejected))
    return PointHistory.from_records(rows, calls, types), stats


def read_history_file(path: str | Path, fmt: str | None = None, **kwargs) -> tuple[PointHistory, ReadStats]:
    """:func:`read_history` over a file (format guessed from its name/content when ``fmt`` is None)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    fmt = fmt or guess_format(path)
    with open(path, "rb") as f:
        return read_history(f, fmt, **kwargs)
