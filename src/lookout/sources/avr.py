"""AVR raw hex lines, the port-30002 feed of dump1090/readsb.

* ``*8D4840D6202CC371C32CE0576098;`` -- a frame, no timestamp (received now);
* ``@0000A1B2C3D48D4840D6202CC371C32CE0576098;`` -- 12 hex digits of the receiver's 12 MHz
  MLAT counter, then the frame;
* ``<0000A1B2C3D4FF8D4840D6...;`` -- counter, one signal-level byte, then the frame.

Counter timestamps become UNIX time through :class:`~lookout.sources.modes.TickClock`.
"""

from __future__ import annotations

import re

from lookout.model import DEFAULT_LABEL
from lookout.sources.base import Decoder, register
from lookout.sources.modes import ModeSLineDecoder, TickClock, joined_lines

#: a plain line: ``*``, ``@`` + 12 counter digits or ``<`` + 12 counter + 2 signal digits, the frame
_PLAIN = re.compile(r"^(?:\*|@([0-9A-Fa-f]{12})|<([0-9A-Fa-f]{12})[0-9A-Fa-f]{2})([0-9A-Fa-f]*);?\r?$", re.M)


@register("avr")
class AvrDecoder(ModeSLineDecoder, Decoder):
    """AVR lines -> ADS-B position Observations (see :mod:`lookout.sources.modes`).

    :meth:`decode_batch` decodes a list of lines with one rs1090 call; :meth:`decode` is the
    same code with a batch of one line."""

    def __init__(self, sensor: str | None = None, label: str = DEFAULT_LABEL, *,
                 reference: tuple[float, float] | None = None, max_range_m: float = 300_000.0,
                 max_speed_kt: float = 1000.0) -> None:
        super().__init__(sensor, label)
        self._init_modes(reference, max_range_m, max_speed_kt)
        self.clock = TickClock()

    def _parse_all(self, records: list[bytes], frames: list[str], times: list[float | None]) -> bool:
        """A batch whose every line is plain: one C-level scan instead of a parse per line (the
        same frames and times as :meth:`_parse`)."""
        text = joined_lines(records)
        if text is None:
            return False
        found = _PLAIN.findall(text)
        if len(found) != len(records):
            return False
        stamps = [a or b for a, b, _ in found]
        if all(stamps):
            times.extend(self.clock.to_unix_many([int(s, 16) for s in stamps]))
        else:
            to_unix = self.clock.to_unix
            times.extend([to_unix(int(s, 16)) if s else None for s in stamps])
        frames.extend([f for _, _, f in found])
        return True

    def _parse(self, data: bytes, frames: list[str], times: list[float | None]) -> None:
        """One line: append its frame and time (None = now), or count why it has none."""
        try:
            line = data.strip().decode("ascii")
        except UnicodeDecodeError:
            self.stats.reject("bad_line", repr(data[:80]))
            return
        if not line:
            self.stats.skip("blank")
            return
        if line[-1] == ";":
            line = line[:-1]
        kind = line[:1]
        t = None
        if kind == "*":
            frame = line[1:]
        elif kind == "@" or kind == "<":
            stamp = line[1:13]
            frame = line[13:] if kind == "@" else line[15:]
            try:
                ticks = int(stamp, 16)
            except ValueError:
                self.stats.reject("bad_timestamp", line)
                return
            if len(stamp) != 12 or not stamp.isalnum():
                self.stats.reject("bad_timestamp", line)
                return
            t = self.clock.to_unix(ticks)
        else:
            self.stats.reject("bad_line", line)
            return
        frames.append(frame)
        times.append(t)
