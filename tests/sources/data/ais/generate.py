"""Write ``sample.nmea`` (run from the repository root:
``.venv/bin/python tests/sources/data/ais/generate.py``).

Published example sentences (the AIVDM/AIVDO protocol decoding guide and pyais' documentation,
with their known decoded values) mixed with sentences encoded by pyais for the vessels the
tests follow, plus the faults a real feed has: a bad checksum, an orphan fragment, noise.
"""

from __future__ import annotations

from functools import reduce
from pathlib import Path

from pyais.encode import encode_dict

HERE = Path(__file__).parent


def checksum(body: str) -> str:
    """The NMEA checksum of ``body``: its characters XORed, as two hex digits."""
    return f"{reduce(lambda a, c: a ^ ord(c), body, 0):02X}"


def tag(body: str) -> str:
    """An NMEA 4.0 tag block with its checksum."""
    return "\\" + body + "*" + checksum(body) + "\\"


def nmea(body: str) -> str:
    """A sentence with its checksum."""
    return "!" + body + "*" + checksum(body)


def main() -> None:
    lines = [
        # published: type 1, MMSI 366053209, 37.802118 N 122.341618 W, COG 219.3, heading 1
        "1700000000.0 !AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*5C",
        # published: type 5 in two fragments, MMSI 351759000 EVER DIADEM, call sign 3FOF8, cargo (70)
        "!AIVDM,2,1,1,A,55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8,0*1C",
        "!AIVDM,2,2,1,A,88888888880,2*25",
        # published: type 18 class B, MMSI 423302100, 40.005283 N 53.010997 E, SOG 1.4, COG 177
        tag("s:rcv1,c:1700000100") + "!AIVDM,1,1,,A,B6CdCm0t3`tba35f@V9faHi7kP06,0*58",
    ]
    # EVER DIADEM's next position: it now carries the static data above
    lines += [f"1700000200.0 {s}" for s in encode_dict(
        {"type": 1, "mmsi": 351759000, "lat": 31.7, "lon": -116.65, "speed": 12.5, "course": 90.0, "heading": 91,
         "accuracy": 1, "status": 0}, radio_channel="A", talker_id="AI", sentence_type="VDM")]
    # a class B vessel: static data report parts A and B (type 24), then its position (type 18)
    lines += encode_dict({"type": 24, "mmsi": 338123456, "partno": 0, "shipname": "SEA TURTLE"}, radio_channel="B",
                         talker_id="AI", sentence_type="VDM")
    lines += encode_dict({"type": 24, "mmsi": 338123456, "partno": 1, "ship_type": 37, "callsign": "WDA1234"},
                         radio_channel="B", talker_id="AI", sentence_type="VDM")
    lines += [f"2023-11-14T22:20:00Z,{s}" for s in encode_dict(
        {"type": 18, "mmsi": 338123456, "lat": 31.6, "lon": -116.7, "speed": 5.0, "course": 180.0, "heading": 511,
         "accuracy": 0}, radio_channel="B", talker_id="AI", sentence_type="VDM")]
    # type 19 (extended class B with name and type), type 27 (long range)
    lines += encode_dict({"type": 19, "mmsi": 338000777, "lat": 31.5, "lon": -116.8, "speed": 20.0, "course": 45.0,
                          "shipname": "PATROL 7", "ship_type": 55}, radio_channel="A", talker_id="AI",
                         sentence_type="VDM")
    lines += encode_dict({"type": 27, "mmsi": 338000888, "lat": 31.4, "lon": -116.9, "speed": 8, "course": 270},
                         radio_channel="A", talker_id="AI", sentence_type="VDM")
    # own ship (AIVDO), position not available (lat 91) -> skipped
    lines += encode_dict({"type": 1, "mmsi": 367000111, "lat": 91.0, "lon": 181.0}, radio_channel="A",
                         talker_id="AI", sentence_type="VDO")
    # faults: bad checksum, an orphan second fragment, line noise
    lines += ["!AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*5D", nmea("AIVDM,2,2,7,A,88888888880,2"), "$GPGGA,garbage"]
    (HERE / "sample.nmea").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
