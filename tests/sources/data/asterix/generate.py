"""Write ``sample.ast`` (run from the repository root:
``.venv/bin/python tests/sources/data/asterix/generate.py``).

A recording as a radar sends it: a CAT034 north marker with the radar's position (I034/120),
CAT048 target reports (Mode S with address, callsign, flight level, velocity; a primary-only
plot), a CAT034 sector crossing, a CAT062 block the decoder does not use, then the same radar
keeps going after a burst of line noise. Blocks are encoded with libasterix.
"""

from __future__ import annotations

from pathlib import Path

from lookout.sources.asterix import CAT048, encode_cat034, encode_cat048

HERE = Path(__file__).parent
SITE = (31.3, -110.9, 1250.0)
TOD = 22 * 3600 + 13 * 60 + 20.0  # 22:13:20 UTC = 1700000000 on 2023-11-14


def main() -> None:
    blocks = [
        encode_cat034(7, 1, TOD, site=SITE, message_type=1),
        encode_cat048(7, 1, TOD + 0.5, 20_000.0, 45.0, flight_level=100.0, address="a1b2c3", callsign="N512AB",
                      mode3a="1200", speed_mps=60.0, heading_deg=90.0, track_number=12),
        encode_cat048(7, 1, TOD + 0.75, 5_000.0, 200.0, detection_type=1),  # primary-only plot
        encode_cat034(7, 1, TOD + 1.0, message_type=2),
        bytes([62, 0, 6, 0x00, 0x00, 0x00]),  # a CAT062 block: skipped
        b"\x00\xff\x13\x37 line noise \xfe",
        encode_cat048(7, 1, TOD + 4.5, 20_050.0, 45.5, flight_level=100.25, address="a1b2c3", callsign="N512AB"),
    ]
    assert CAT048 is not None
    (HERE / "sample.ast").write_bytes(b"".join(blocks))


if __name__ == "__main__":
    main()
