"""Fuzzing the ADS-B parsers (hypothesis, bounded): random and mutated input never raises out
of a decoder, every line is accounted for (accepted, rejected with a reason, or skipped), and a
stream with garbage in the middle keeps decoding after it."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lookout.sources.aircraft_json import AircraftJsonDecoder
from lookout.sources.avr import AvrDecoder
from lookout.sources.beast import BeastDecoder
from lookout.sources.raw import RawDecoder
from lookout.sources.sbs import SbsDecoder

DATA = Path(__file__).parent / "data" / "adsb"
LINES = {
    "raw": [ln for ln in (DATA / "flights.raw.csv").read_bytes().split(b"\n") if ln][1:80],
    "avr": [ln for ln in (DATA / "flights.avr").read_bytes().split(b"\n") if ln][:80],
    "sbs": [ln for ln in (DATA / "flights.sbs").read_bytes().split(b"\n") if ln][:80],
}
LINE_DECODERS = {"raw": RawDecoder, "avr": AvrDecoder, "sbs": SbsDecoder}
BEAST = (DATA / "flights.beast").read_bytes()[:3000]
AJSON = (DATA / "aircraft.json").read_bytes()
FUZZ = settings(max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
# shared decoders (state carries across examples, like a long-running stream)
_LINE = {k: cls(reference=(31.33, -110.95)) for k, cls in LINE_DECODERS.items()}


def _outcomes(dec) -> int:
    s = dec.stats
    return s.accepted + s.rejected_total + sum(s.skipped.values())


def _mutate(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    b = bytearray(data)
    for pos, val in edits:
        if b:
            b[pos % len(b)] = val
    return bytes(b)


edits = st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=6)


def _feed(dec, data: bytes, cut: int) -> None:
    """Decode ``data`` in chunks of ``cut`` bytes, then flush (nothing may raise)."""
    for i in range(0, len(data), cut):
        list(dec.decode(data[i:i + cut]))
    list(dec.flush())


@FUZZ
@given(fmt=st.sampled_from(sorted(LINE_DECODERS)), data=st.binary(max_size=300))
def test_line_decoders_random_bytes(fmt, data):
    dec = _LINE[fmt]
    before = _outcomes(dec)
    list(dec.decode(data))
    assert _outcomes(dec) == before + 1  # exactly one outcome per line, with a reason


@FUZZ
@given(fmt=st.sampled_from(sorted(LINE_DECODERS)), idx=st.integers(0, 78), edits=edits)
def test_line_decoders_mutated_lines(fmt, idx, edits):
    dec = _LINE[fmt]
    before = _outcomes(dec)
    list(dec.decode(_mutate(LINES[fmt][idx], edits)))
    assert _outcomes(dec) == before + 1


@FUZZ
@given(text=st.text(alphabet="0123456789ABCDEFabcdef,.*@<;MSG-~ :/", max_size=120))
def test_line_decoders_plausible_alphabet(text):
    for dec in _LINE.values():
        before = _outcomes(dec)
        list(dec.decode(text.encode()))
        assert _outcomes(dec) == before + 1


@FUZZ
@given(data=st.binary(max_size=2000), cut=st.integers(1, 64))
def test_beast_random_bytes(data, cut):
    dec = BeastDecoder()
    _feed(dec, data, cut)
    assert len(dec._buf) == 0


@FUZZ
@given(edits=edits, cut=st.integers(1, 512))
def test_beast_mutated_stream(edits, cut):
    dec = BeastDecoder()
    data = _mutate(BEAST, edits)
    _feed(dec, data, cut)
    assert dec.stats.messages > 0


@FUZZ
@given(data=st.binary(max_size=2000), cut=st.integers(1, 300))
def test_aircraft_json_random_bytes(data, cut):
    dec = AircraftJsonDecoder()
    _feed(dec, data, cut)
    if data.strip():
        assert dec.stats.rejected_total + dec.stats.accepted + sum(dec.stats.skipped.values()) >= 1


@FUZZ
@given(edits=edits, cut=st.integers(16, 4000))
def test_aircraft_json_mutated(edits, cut):
    dec = AircraftJsonDecoder()
    data = _mutate(AJSON, edits)
    _feed(dec, data, cut)
    assert dec.stats.messages >= 1


@settings(max_examples=8, deadline=5000)
@given(garbage=st.binary(min_size=1, max_size=500))
def test_garbage_in_the_middle_keeps_decoding(garbage):
    half = 40
    for fmt, cls in LINE_DECODERS.items():
        lines = LINES[fmt]
        clean = cls(reference=(31.33, -110.95))
        n_clean = len(list(clean.decode_all(lines)))
        dec = cls(reference=(31.33, -110.95))
        stream = b"\n".join(lines[:half]) + b"\n" + garbage + b"\n" + b"\n".join(lines[half:]) + b"\n"
        got = [o for ln in stream.split(b"\n") if ln for o in dec.decode(ln)]
        # the garbage may at most cost the line it shares nothing with; never what follows
        assert len(got) >= n_clean - 1, fmt
    whole = (DATA / "flights.beast").read_bytes()
    k = len(whole) // 2
    k = whole.index(b"\x1a3", k)
    clean = list(BeastDecoder().decode_all([whole]))
    dec = BeastDecoder()
    got = list(dec.decode_all([whole[:k], garbage, whole[k:]]))
    assert len(got) >= len(clean) - 2
    snaps = AJSON.split(b"\n{")
    dec = AircraftJsonDecoder()
    got = list(dec.decode_all([snaps[0] + b"\n" + garbage + b"\n{" + b"\n{".join(snaps[1:])]))
    assert len(got) >= 24 - 4  # at most the snapshot the garbage was glued to


def _escaped_stream() -> bytes:
    """The test capture's frames again, with counters and signal levels full of 0x1a (escaped)."""
    from lookout.sources.beast import encode_frame
    from lookout.sources.modes import encode_velocity

    out = [encode_frame(encode_velocity("a1b2c3", 200 + k, 90), ticks=0x1A1A0000001A + k * 0x1A00, signal=0x1A)
           for k in range(20)]
    out.append(bytes([0x1A, 0x31]) + b"\x00" * 6 + b"\x1a\x1a" + b"\x12\x34")  # Mode A/C
    return BEAST + b"".join(out)


def _beast_run(data: bytes, cut: int):
    import types

    from lookout.sources import modes

    saved = modes._time
    modes._time = types.SimpleNamespace(time=lambda: 1.7e9)  # the clock anchors at the same time
    try:
        dec = BeastDecoder(reference=(31.33, -110.95))
        obs = [o for i in range(0, len(data), cut) for o in dec.decode(data[i:i + cut])]
        obs += list(dec.flush())
    finally:
        modes._time = saved
    rows = [(o.time, o.ident, o.position.lat, o.position.lon, o.position.alt_m, o.attrs) for o in obs]
    return rows, dec.stats.messages, dict(dec.stats.rejected), dict(dec.stats.skipped)


@FUZZ
@given(edits=edits, cut=st.integers(1, 4000))
def test_beast_regex_scan_equals_byte_by_byte_scan(edits, cut):
    """The regex fast path frames a stream exactly as the byte-by-byte loop does, garbage,
    escapes, broken and split frames included."""
    import re

    from lookout.sources import beast

    data = _mutate(_escaped_stream(), edits)
    fast = _beast_run(data, cut)
    saved = beast._FRAME_RE
    beast._FRAME_RE = re.compile(rb"(?!)")  # never matches: every frame goes the slow way
    try:
        slow = _beast_run(data, cut)
    finally:
        beast._FRAME_RE = saved
    assert fast == slow
    assert fast[1] > 0


_TWEAKS = [b",", b";", b"\r", b" ", b"*", b"@", b"<", b".", b"e", b"", b"0", b"A", b"\n"]


@FUZZ
@given(fmt=st.sampled_from(["raw", "avr"]),
       picks=st.lists(st.tuples(st.integers(0, 78), st.integers(0, 60), st.integers(0, len(_TWEAKS) - 1),
                                st.booleans()), min_size=1, max_size=40))
def test_line_batches_equal_line_by_line(fmt, picks):
    """Batches of lines, plain or slightly wrong in any place, decode exactly as line by line
    (the plain-batch fast paths of raw and AVR must never give another result)."""
    import types

    from lookout.sources import modes

    lines = []
    for idx, pos, tweak, replace in picks:
        ln = LINES[fmt][idx]
        if replace:
            ln = ln[:pos] + _TWEAKS[tweak] + ln[pos + 1:]
        lines.append(ln)
    saved = modes._time
    modes._time = types.SimpleNamespace(time=lambda: 1.7e9)  # frames without a counter: a fixed now
    try:
        one, many = LINE_DECODERS[fmt](reference=(31.33, -110.95)), LINE_DECODERS[fmt](reference=(31.33, -110.95))
        obs1 = [o for ln in lines for o in one.decode(ln)]
        obs2 = many.decode_batch(lines)
    finally:
        modes._time = saved
    rows = [[(o.time, o.ident, o.position.lat, o.position.lon, o.position.alt_m, o.attrs) for o in obs]
            for obs in (obs1, obs2)]
    assert rows[0] == rows[1]
    for key in ("accepted", "messages", "rejected", "skipped"):
        assert one.stats.as_dict()[key] == many.stats.as_dict()[key], key
