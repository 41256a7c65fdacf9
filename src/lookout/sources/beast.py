"""Beast binary, the port-30005 feed of readsb/dump1090 (and Mode-S Beast receivers).

A frame is ``0x1a``, a type byte, a 6-byte big-endian 12 MHz MLAT counter, a signal-level byte
and the message: type ``'1'`` Mode A/C (2 bytes), ``'2'`` Mode S short (7 bytes), ``'3'`` Mode S
long (14 bytes). A ``0x1a`` inside a frame is sent doubled (``0x1a 0x1a``). The decoder keeps a
buffer across chunks and resynchronises on the next ``0x1a <type>`` after garbage or a broken
frame; each skipped run of bytes is counted as a rejection.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

from lookout.model import DEFAULT_LABEL, Observation
from lookout.sources.base import Decoder, register
from lookout.sources.modes import ModeSDecoderBase, TickClock

ESC = 0x1A
_LENGTHS = {0x31: 2, 0x32: 7, 0x33: 14}  # '1', '2', '3': message bytes after counter + signal
MAX_BUFFER = 1 << 20
#: frames decoded together (as a file's batch of lines): smaller working sets are faster
FRAMES_PER_CALL = 512
#: signal level byte -> dBFS (rounded to 0.1 dB), as ``attrs["rssi_dbfs"]``
_RSSI_DBFS = [0.0] + [round(20 * math.log10(s / 255.0), 1) for s in range(1, 256)]
#: the attributes a frame's signal level gives its Observations (shared: they are only read)
_RSSI_ATTRS: list[dict | None] = [None] + [{"rssi_dbfs": v} for v in _RSSI_DBFS[1:]]
_ANY = rb"[^\x1a]"  # a body byte that needs no escape
_UNIT = rb"(?:[^\x1a]|\x1a\x1a)"  # one body byte, 0x1a escaped as 0x1a 0x1a
#: one complete frame: (short body, long body), still escaped, or (None, None) for Mode A/C;
#: the first alternative of each is the common case of a body without a 0x1a
_FRAME_RE = re.compile(rb"\x1a(?:1(?:" + _ANY + rb"{9}|" + _UNIT + rb"{9})|2(" + _ANY + rb"{14}|" + _UNIT
                       + rb"{14})|3(" + _ANY + rb"{21}|" + _UNIT + rb"{21}))")


def escape(data: bytes) -> bytes:
    """Double every 0x1a (Beast escaping)."""
    return data.replace(b"\x1a", b"\x1a\x1a")


def encode_frame(frame_hex: str, ticks: int = 0, signal: int = 0x80) -> bytes:
    """One Beast frame for a Mode S frame given in hex (short or long)."""
    msg = bytes.fromhex(frame_hex)
    kind = {7: 0x32, 14: 0x33, 2: 0x31}.get(len(msg))
    if kind is None:
        raise ValueError(f"a Beast frame carries 2, 7 or 14 message bytes, got {len(msg)}")
    body = (ticks & 0xFFFFFFFFFFFF).to_bytes(6, "big") + bytes([signal & 0xFF]) + msg
    return bytes([ESC, kind]) + escape(body)


@register("beast")
class BeastDecoder(ModeSDecoderBase, Decoder):
    """Beast byte stream -> ADS-B position Observations (see :mod:`lookout.sources.modes`)."""

    framing = "bytes"
    counts_records = True

    def __init__(self, sensor: str | None = None, label: str = DEFAULT_LABEL, *,
                 reference: tuple[float, float] | None = None, max_range_m: float = 300_000.0,
                 max_speed_kt: float = 1000.0) -> None:
        super().__init__(sensor, label)
        self._init_modes(reference, max_range_m, max_speed_kt)
        self.clock = TickClock()
        self._buf = bytearray()

    def _garbage(self, n: int) -> None:
        if n > 0:
            self.stats.messages += 1
            self.stats.reject("garbage", f"{n} bytes skipped")

    def _decode(self, data: bytes) -> Iterator[Observation]:
        buf = self._buf
        buf += data
        n = len(buf)
        i = 0
        hexes: list[str] = []
        ticks: list[int] = []
        attrs: list[dict | None] = []
        n_frames = 0
        mode_ac = 0
        find = buf.find
        lengths = _LENGTHS
        match = _FRAME_RE.match
        rssi = _RSSI_ATTRS
        from_bytes = int.from_bytes
        while True:
            # fast path: complete, well-formed frames back to back, matched one after the other
            # by the regex engine (the byte-by-byte loop below gives the same frames)
            m = match(buf, i)
            while m is not None:
                n_frames += 1
                i = m.end()
                short, long = m.groups()
                body = long or short
                if body is None:
                    mode_ac += 1
                else:
                    if ESC in body:
                        body = body.replace(b"\x1a\x1a", b"\x1a")
                    ticks.append(from_bytes(body[:6], "big"))
                    attrs.append(rssi[body[6]])
                    hexes.append(body[7:].hex())
                m = match(buf, i)
            j = find(ESC, i)
            if j < 0:
                self._garbage(n - i)
                i = n
                break
            if j > i:
                self._garbage(j - i)
                i = j
            if n - i < 2:
                break  # need the type byte
            kind = buf[i + 1]
            length = lengths.get(kind)
            if length is None:
                # '\x1a\x1a' outside a frame or an unknown type: skip the escape byte
                self._garbage(1 if kind == ESC else 2)
                i += 1 if kind == ESC else 2
                continue
            need = 7 + length
            end = i + 2 + need
            chunk = bytes(buf[i + 2:end])
            if len(chunk) < need:
                if ESC in chunk and _broken(chunk):
                    k = _broken(chunk)
                    self._garbage(2 + k)
                    i += 2 + k
                    continue
                break  # incomplete: wait for more bytes
            if ESC in chunk:
                body, used, bad = _unescape(buf, i + 2, need)
                if bad is not None:
                    self._garbage(bad - i)
                    i = bad
                    continue
                if body is None:
                    break  # incomplete
                end = i + 2 + used
            else:
                body = chunk
            i = end
            n_frames += 1
            if kind == 0x31:
                mode_ac += 1
                continue
            ticks.append(from_bytes(body[:6], "big"))
            attrs.append(rssi[body[6]])
            hexes.append(body[7:].hex())
        self.stats.messages += n_frames
        if mode_ac:
            self.stats.skipped["mode_ac"] += mode_ac
        del buf[:i]
        if len(buf) > MAX_BUFFER:
            self._garbage(len(buf))
            buf.clear()
        if hexes:
            times = self.clock.to_unix_many(ticks)
            frames = self.modes.frames
            for k in range(0, len(hexes), FRAMES_PER_CALL):  # a chunk may hold thousands
                yield from frames(hexes[k:k + FRAMES_PER_CALL], times[k:k + FRAMES_PER_CALL],
                                  attrs[k:k + FRAMES_PER_CALL])

    def _flush(self) -> Iterator[Observation]:
        if self._buf:
            self.stats.messages += 1
            self.stats.reject("truncated", f"{len(self._buf)} bytes at end of stream")
            self._buf.clear()
        return iter(())


def _broken(chunk: bytes) -> int:
    """Offset (within a frame body) of a lone 0x1a that starts a new frame, or 0."""
    k = 0
    n = len(chunk)
    while k < n:
        if chunk[k] == ESC:
            if k + 1 >= n:
                return 0
            if chunk[k + 1] != ESC:
                return k
            k += 2
        else:
            k += 1
    return 0


def _unescape(buf: bytearray, start: int, need: int) -> tuple[bytes | None, int, int | None]:
    """Unescape ``need`` body bytes from ``buf[start:]``: (body, bytes used, None), (None, 0, None)
    when incomplete, or (None, 0, offset) of a lone 0x1a (a new frame: this one is broken)."""
    out = bytearray()
    k = start
    n = len(buf)
    while len(out) < need:
        if k >= n:
            return None, 0, None
        b = buf[k]
        if b == ESC:
            if k + 1 >= n:
                return None, 0, None
            if buf[k + 1] != ESC:
                return None, 0, k
            k += 2
        else:
            k += 1
        out.append(b)
    return bytes(out), k - start, None
