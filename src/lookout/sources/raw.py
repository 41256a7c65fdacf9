"""Raw Mode S captures as ``timestamp,hex`` CSV lines (the form pyModeS and traffic write).

``1700000000.123,8D40621D58C382D690C8AC2863A7`` -- UNIX seconds, then the frame in hex. A header
line (``timestamp,rawmsg``) and blank or ``#`` comment lines are skipped.
"""

from __future__ import annotations

from lookout.model import DEFAULT_LABEL
from lookout.sources.base import Decoder, register
from lookout.sources.modes import ModeSLineDecoder

#: what a plain line (``seconds,hex``) holds besides its one comma
_PLAIN_FIELD_BYTES = b"0123456789ABCDEFabcdef."


@register("raw")
class RawDecoder(ModeSLineDecoder, Decoder):
    """``timestamp,hex`` lines -> ADS-B position Observations (see :mod:`lookout.sources.modes`).

    :meth:`decode_batch` decodes a list of lines with one rs1090 call; :meth:`decode` is the
    same code with a batch of one line."""

    def __init__(self, sensor: str | None = None, label: str = DEFAULT_LABEL, *,
                 reference: tuple[float, float] | None = None, max_range_m: float = 300_000.0,
                 max_speed_kt: float = 1000.0) -> None:
        super().__init__(sensor, label)
        self._init_modes(reference, max_range_m, max_speed_kt)

    def _parse_all(self, records: list[bytes], frames: list[str], times: list[float | None]) -> bool:
        """A batch whose every line is plain (``seconds,hex``: two columns, digits only, time in
        range): split at once instead of a parse per line (the same frames and times as
        :meth:`_parse`, which takes any other batch)."""
        data = b"\n".join(records)
        # without the field bytes, plain lines leave exactly one comma each and the newlines
        # between them (no space, sign, NaN, other column or byte)
        if data.translate(None, _PLAIN_FIELD_BYTES) != b",\n" * (len(records) - 1) + b",":
            return False
        parts = data.decode("ascii").replace("\n", ",").split(",")
        try:
            ts = list(map(float, parts[0::2]))
        except ValueError:
            return False
        if not (min(ts) > 0.0 and max(ts) < 1.0e10):
            return False
        frames.extend(parts[1::2])
        times.extend(ts)
        return True

    def _parse(self, line: bytes, frames: list[str], times: list[float | None]) -> None:
        """One line: append its frame and time, or count why it has none."""
        ts, sep, frame = line.partition(b",")
        try:
            t = float(ts)
        except ValueError:
            line = line.strip()
            if not line or line[:1] == b"#":
                self.stats.skip("blank")
            elif not sep:
                self.stats.reject("bad_line", repr(line[:80]))
            elif ts.strip().lower() in (b"timestamp", b"ts", b"time"):
                self.stats.skip("header")
            else:
                self.stats.reject("bad_timestamp", repr(line[:80]))
            return
        if not sep:
            self.stats.reject("bad_line", repr(line.strip()[:80]))
            return
        if not 0.0 < t < 1.0e10:
            self.stats.reject("bad_timestamp", repr(line.strip()[:80]))
            return
        if b"," in frame:
            frame = frame.split(b",", 1)[0]
        try:
            frames.append(frame.strip().decode("ascii"))
        except UnicodeDecodeError:
            self.stats.reject("bad_hex", repr(line.strip()[:80]))
            return
        times.append(t)
