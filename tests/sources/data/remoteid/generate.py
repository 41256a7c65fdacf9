"""Write the Remote ID sample captures of this folder (run from the repository root:
``.venv/bin/python tests/sources/data/remoteid/generate.py``).

``capture.hex``: ``receive time,MAC,hex`` lines as a Wi-Fi/Bluetooth sniffer logs them: two
drones, each sending message packs (Basic ID, Location, System, Self-ID, Operator ID) and
single Location messages, with one corrupted line in the middle.
"""

from __future__ import annotations

from pathlib import Path

from lookout.sources import remoteid as rid

HERE = Path(__file__).parent
T0 = 1700000000.0  # 2023-11-14 22:13:20 UTC: 800 s after the full hour


def main() -> None:
    lines = []
    drones = [
        ("60:60:1F:AA:BB:01", "1596F351234567890ABC", 31.3300, -110.9500, 1300.0, "take_off", 31.3290, -110.9510),
        ("60:60:1F:AA:BB:02", "1581F4XFB00123456789", 31.3400, -110.9300, 1450.0, "live_gnss", 31.3380, -110.9320),
    ]
    for step in range(4):
        t = T0 + step * 1.0
        for mac, serial, lat, lon, alt, op_type, op_lat, op_lon in drones:
            loc = rid.encode_location(lat + step * 0.0001, lon, alt_geo_m=alt, alt_baro_m=alt - 30, height_m=80.0,
                                      speed_mps=11.0, direction_deg=0.0, vspeed_mps=0.5,
                                      timestamp_s=(t - 0.2) % 3600, h_accuracy=10, v_accuracy=4, speed_accuracy=3,
                                      ts_accuracy_s=0.1)
            if step == 0:
                pack = rid.encode_pack([
                    rid.encode_basic_id(serial, id_type=1, ua_type=2), loc,
                    rid.encode_system(op_lat, op_lon, operator_alt_geo_m=1250.0, operator_location_type=op_type,
                                      classification_type=1, category_eu=1, class_eu=2, timestamp=t),
                    rid.encode_self_id("Survey flight"), rid.encode_operator_id("FIN87astrdge12k8"),
                ])
                lines.append(f"{t:.1f},{mac},{pack.hex()}")
            else:
                lines.append(f"{t:.1f},{mac},{loc.hex()}")
        if step == 1:
            lines.append(f"{t:.1f},60:60:1F:AA:BB:01,1f2a00ZZ")  # corrupted by the logger
    (HERE / "capture.hex").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
