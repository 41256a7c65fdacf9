"""Raw Mode S captures as ``timestamp,hex`` CSV lines (the form pyModeS and traffic write).

``1700000000.123,8D40621D58C382D690C8AC2863A7`` -- UNIX seconds, then the frame in hex. A header
line (``timestamp,rawmsg``) and blank or ``#`` comment lines are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

from lookout.model import DEFAULT_LABEL, Observation
from lookout.sources.base import Decoder, register
from lookout.sources.modes import ModeSDecoderBase


@register("raw")
class RawDecoder(ModeSDecoderBase, Decoder):
    """``timestamp,hex`` lines -> ADS-B position Observations (see :mod:`lookout.sources.modes`)."""

    def __init__(self, sensor: str | None = None, label: str = DEFAULT_LABEL, *,
                 reference: tuple[float, float] | None = None, max_range_m: float = 300_000.0,
                 max_speed_kt: float = 1000.0) -> None:
        super().__init__(sensor, label)
        self._init_modes(reference, max_range_m, max_speed_kt)

    def _decode(self, data: bytes) -> Iterator[Observation]:
        line = data.strip()
        if not line or line[:1] == b"#":
            self.stats.skip("blank")
            return
        ts, sep, frame = line.partition(b",")
        if not sep:
            self.stats.reject("bad_line", repr(line[:80]))
            return
        try:
            t = float(ts)
        except ValueError:
            if ts.strip().lower() in (b"timestamp", b"ts", b"time"):
                self.stats.skip("header")
            else:
                self.stats.reject("bad_timestamp", repr(line[:80]))
            return
        if not 0.0 < t < 1.0e10:
            self.stats.reject("bad_timestamp", repr(line[:80]))
            return
        frame = frame.split(b",", 1)[0].strip()
        try:
            hexstr = frame.decode("ascii")
        except UnicodeDecodeError:
            self.stats.reject("bad_hex", repr(line[:80]))
            return
        obs = self.modes.frame(hexstr, t)
        if obs is not None:
            yield obs
