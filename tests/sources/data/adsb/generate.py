"""Generate the small ADS-B test captures in this folder (deterministic; run to refresh).

Three aircraft around Nogales for 60 s, written in every ADS-B form Lookout reads: raw
``timestamp,hex`` CSV, AVR (with and without MLAT counters), Beast binary, SBS-1 lines and
readsb ``aircraft.json`` snapshots. One CRC-valid but impossible position (50 km jump) is
injected for ``ac82ec`` at t0+30.25 s, so the sanity check has something to reject.

    .venv/bin/python tests/sources/data/adsb/generate.py
"""

from __future__ import annotations

import json
from pathlib import Path

from lookout.geo import destination
from lookout.sources.beast import encode_frame
from lookout.sources.modes import encode_airborne_position, encode_identification, encode_velocity
from lookout.sources.sbs import format_line

HERE = Path(__file__).parent
T0 = 1_700_000_000.0
DURATION = 60.0
FT_PER_M = 1 / 0.3048
# icao, callsign, category, lat, lon, alt_ft, gs_kt, track_deg, vrate_fpm
AIRCRAFT = [
    ("a4b3c2", "N512CB", 1, 31.30, -111.10, 5500.0, 110.0, 90.0, 0.0),
    ("ac82ec", "AAL1234", 5, 31.20, -110.80, 35000.0, 450.0, 315.0, 0.0),
    ("a0f1b2", "CBP217", 7, 31.40, -110.95, 1500.0, 80.0, 180.0, -200.0),
]
BAD = ("ac82ec", T0 + 30.25)


def state(ac, t):
    icao, cs, cat, lat, lon, alt, gs, trk, vr = ac
    dt = t - T0
    lat2, lon2 = destination(lat, lon, trk, gs * 1852 / 3600 * dt)
    return float(lat2), float(lon2), alt + vr * dt / 60.0


def messages():
    """(time, hex, kind, aircraft) in time order."""
    out = []
    for k, ac in enumerate(AIRCRAFT):
        icao, cs, cat = ac[0], ac[1], ac[2]
        off = 0.07 * (k + 1)
        n = int(DURATION / 0.5)
        for i in range(n):
            t = T0 + off + i * 0.5
            lat, lon, alt = state(ac, t)
            out.append((t, encode_airborne_position(icao, lat, lon, alt, odd=bool(i % 2)), "pos", ac))
            if i % 2 == 0:
                out.append((t + 0.2, encode_velocity(icao, ac[6], ac[7], ac[8], geo_minus_baro_ft=-350.0), "vel", ac))
            if i % 10 == 0:
                out.append((t + 0.3, encode_identification(icao, cs, category=cat), "id", ac))
    lat, lon, alt = state(AIRCRAFT[1], BAD[1])
    lat, lon = destination(lat, lon, 45.0, 50_000.0)
    out.append((BAD[1], encode_airborne_position(BAD[0], float(lat), float(lon), alt, odd=False), "bad", AIRCRAFT[1]))
    out.sort(key=lambda m: m[0])
    return out


def main() -> None:
    msgs = messages()
    (HERE / "flights.raw.csv").write_text("timestamp,rawmsg\n" + "".join(f"{t:.3f},{h}\n" for t, h, _, _ in msgs))
    (HERE / "flights.avr").write_text("".join(
        f"@{int(round((t - T0 + 100.0) * 12e6)):012X}{h};\n" for t, h, _, _ in msgs))
    (HERE / "flights_plain.avr").write_text("".join(f"*{h};\n" for _, h, _, _ in msgs[:60]))
    (HERE / "flights.beast").write_bytes(b"".join(
        encode_frame(h, int(round((t - T0 + 100.0) * 12e6)), 0x90) for t, h, _, _ in msgs))
    # SBS: what readsb writes for the same traffic (no bad position: readsb would not output it)
    lines = []
    for t, _h, kind, ac in msgs:
        icao, cs = ac[0], ac[1]
        if kind == "pos":
            lat, lon, alt = state(ac, t)
            lines.append(format_line(3, icao, t, alt_ft=round(alt / 25) * 25, lat=lat, lon=lon))
        elif kind == "vel":
            lines.append(format_line(4, icao, t, gs_kt=ac[6], track_deg=ac[7], vrate_fpm=ac[8]))
        elif kind == "id":
            lines.append(format_line(1, icao, t, callsign=cs))
    (HERE / "flights.sbs").write_text("\n".join(lines) + "\n")
    # aircraft.json: a snapshot every 10 s, readsb layout (one aircraft per line)
    snaps = []
    for s in range(6):
        now = T0 + 5.0 + s * 10.0
        rows = []
        for ac in AIRCRAFT:
            icao, cs, cat = ac[0], ac[1], ac[2]
            seen_pos = 0.3 + 0.1 * AIRCRAFT.index(ac)
            lat, lon, alt = state(ac, now - seen_pos)
            rows.append({"hex": icao, "type": "adsb_icao", "flight": f"{cs:<8}", "alt_baro": round(alt / 25) * 25,
                         "alt_geom": round(alt / 25) * 25 - 350, "gs": ac[6], "track": ac[7], "baro_rate": ac[8],
                         "category": f"A{cat}", "nic": 8, "rc": 186, "nac_p": 9, "lat": round(lat, 6),
                         "lon": round(lon, 6), "seen_pos": seen_pos, "seen": 0.1, "messages": 100 + s, "rssi": -12.5})
        rows.append({"hex": "~2d0f11", "type": "tisb_other", "alt_baro": "ground", "gs": 12.0, "track": 270.0,
                     "lat": 31.3378, "lon": -110.9412, "seen_pos": 1.0, "seen": 1.0, "messages": 3})
        rows.append({"hex": "a9c5d0", "type": "mode_s", "alt_baro": 12000, "seen": 2.0, "messages": 40})
        rows.append({"hex": "a11111", "type": "adsb_icao", "alt_baro": 9000, "lat": 31.5, "lon": -110.7,
                     "seen_pos": 75.0, "seen": 1.0, "messages": 9})
        body = ",\n".join("    " + json.dumps(r, separators=(",", ":")) for r in rows)
        snaps.append(f'{{ "now" : {now:.1f},\n  "messages" : {1000 + 100 * s},\n  "aircraft" : [\n{body}\n  ]\n}}\n')
    (HERE / "aircraft.json").write_text("".join(snaps))


if __name__ == "__main__":
    main()
