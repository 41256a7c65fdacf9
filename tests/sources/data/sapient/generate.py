"""Write ``stream.bin`` (run from the repository root:
``.venv/bin/python tests/sources/data/sapient/generate.py``).

A SAPIENT session as a fusion node receives it over TCP (4-octet little-endian length + a
serialised SapientMessage): a radar node registers, reports its status and location, then
detections by range/bearing and by geodetic location; an EO camera node registers and
reports a geolocated person; a burst of noise sits between two messages.
"""

from __future__ import annotations

from pathlib import Path

from lookout.sources.sapient import detection_message, frame, registration_message, status_message

HERE = Path(__file__).parent
T0 = 1700000000.0
RADAR = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
CAMERA = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def main() -> None:
    msgs = [
        frame(registration_message(RADAR, T0, "C-UAS radar north", "RADAR", short_name="RDR-N",
                                   manufacturer="Example Radars", model="XR-1")),
        frame(status_message(RADAR, T0 + 0.1, 31.3, -110.9, 1250.0, system="OK", mode="surveillance")),
        frame(detection_message(RADAR, T0 + 1.0, "01HF7YAT00RADAR0000000001", range_m=1800.0, azimuth_deg=135.0,
                                elevation_deg=4.0, classification="UAV Rotary Wing", confidence=0.82,
                                velocity_enu=(3.0, -4.0, 0.5))),
        b"\xde\xad\xbe\xef noise \x00\x00",
        frame(detection_message(RADAR, T0 + 2.0, "01HF7YAT00RADAR0000000001", lat=31.289, lon=-110.887,
                                alt_m=1420.0, error_m=12.0, classification="UAV Rotary Wing", confidence=0.85)),
        frame(registration_message(CAMERA, T0 + 2.5, "EO/IR mast 2", "CAMERA")),
        frame(detection_message(CAMERA, T0 + 3.0, "01HF7YAT00CAMERA000000007", lat=31.31, lon=-110.93,
                                classification="Human", confidence=0.6)),
        frame(status_message(RADAR, T0 + 5.0, 31.3, -110.9, 1250.0, system="WARNING", mode="surveillance")),
    ]
    (HERE / "stream.bin").write_bytes(b"".join(msgs))


if __name__ == "__main__":
    main()
