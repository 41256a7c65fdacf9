"""readsb / tar1090 ``aircraft.json`` snapshots.

A snapshot is one JSON object ``{"now": <UNIX s>, "messages": n, "aircraft": [{"hex": ...,
"flight": ..., "lat": ..., "lon": ..., "alt_baro": ft | "ground", "alt_geom": ft, "gs": kt,
"track": deg, "baro_rate"/"geom_rate": ft/min, "seen_pos": s, "nic": .., "rc": m, "nac_p": ..,
"category": "A3", "type": "adsb_icao" | "mlat" | ...}, ...]}``. Each aircraft with a position
becomes one Observation at ``now - seen_pos``; a ``~`` prefix in ``hex`` marks a non-ICAO address
and is kept in ``ident``. The geometric altitude (WGS-84 ellipsoid) is used when given, else the
barometric one; ``attrs["alt_kind"]`` says which.

Framing is ``bytes``: a stream may carry one snapshot per line or pretty-printed snapshots one
after another (a saved file, a polled URL); a broken snapshot is counted and skipped up to the
next one. A position not newer than the one already reported for that aircraft is skipped as a repeat.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

from lookout.model import DEFAULT_LABEL, GeoPosition, ObjectClass, Observation, SourceKind, Velocity
from lookout.sources.base import Decoder, register
from lookout.sources.modes import _NACP_EPU, FPM, FT, KT

MAX_SNAPSHOT = 64 << 20
_CATEGORY_CLASS = {"A1": ObjectClass.FIXED_WING, "A2": ObjectClass.FIXED_WING, "A3": ObjectClass.FIXED_WING,
                   "A4": ObjectClass.FIXED_WING, "A5": ObjectClass.FIXED_WING, "A6": ObjectClass.FIXED_WING,
                   "A7": ObjectClass.ROTORCRAFT, "B1": ObjectClass.FIXED_WING, "B4": ObjectClass.FIXED_WING,
                   "B6": ObjectClass.UAS, "C1": ObjectClass.GROUND_VEHICLE, "C2": ObjectClass.GROUND_VEHICLE}
_DECODER = json.JSONDecoder()


def _num(v) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    v = float(v)
    return v if math.isfinite(v) else None


@register("aircraft-json")
class AircraftJsonDecoder(Decoder):
    """aircraft.json snapshots -> one ADS-B/MLAT Observation per aircraft with a position."""

    framing = "bytes"
    counts_records = True

    def __init__(self, sensor: str | None = None, label: str = DEFAULT_LABEL, *,
                 max_age_s: float = 60.0) -> None:
        super().__init__(sensor, label)
        self.max_age_s = max_age_s
        self._buf = ""
        self._pending = b""
        self._last: dict[str, float] = {}

    def _decode(self, data: bytes) -> Iterator[Observation]:
        raw = self._pending + data
        try:
            text = raw.decode("utf-8")
            self._pending = b""
        except UnicodeDecodeError as exc:
            if exc.start >= len(raw) - 3 and exc.reason == "unexpected end of data":
                text, self._pending = raw[:exc.start].decode("utf-8", "replace"), raw[exc.start:]
            else:
                text, self._pending = raw.decode("utf-8", "replace"), b""
        buf = self._buf + text
        docs = []
        pos = 0
        n = len(buf)
        while True:
            while pos < n and buf[pos] in " \t\r\n":
                pos += 1
            if pos >= n:
                break
            if buf[pos] != "{":
                nxt = buf.find("{", pos)
                self.stats.messages += 1
                self.stats.reject("garbage", buf[pos:pos + 80])
                if nxt < 0:
                    pos = n
                    break
                pos = nxt
                continue
            try:
                doc, end = _DECODER.raw_decode(buf, pos)
            except (json.JSONDecodeError, RecursionError) as exc:
                # broken if another snapshot starts on a later line, else maybe incomplete
                nxt = buf.find("\n{", pos + 1)
                if nxt < 0:
                    break
                self.stats.messages += 1
                self.stats.reject("bad_json", f"{exc}"[:200])
                pos = nxt + 1
                continue
            docs.append(doc)
            pos = end
        self._buf = buf[pos:]
        if len(self._buf) > MAX_SNAPSHOT:
            self.stats.messages += 1
            self.stats.reject("oversized", f"{len(self._buf)} characters without a complete snapshot")
            self._buf = ""
        for doc in docs:
            self.stats.messages += 1
            yield from self._snapshot(doc)

    def _flush(self) -> Iterator[Observation]:
        rest, pending, self._buf, self._pending = self._buf.strip(), self._pending, "", b""
        if not rest:
            if pending:
                self.stats.messages += 1
                self.stats.reject("truncated", f"{len(pending)} bytes of a partial character at end of stream")
            return
        self.stats.messages += 1
        try:
            doc = json.loads(rest)
        except (json.JSONDecodeError, RecursionError) as exc:
            self.stats.reject("bad_json", f"at end of stream: {exc}"[:200])
            return
        yield from self._snapshot(doc)

    def decode_snapshot(self, doc: dict) -> list[Observation]:
        """Decode an already-parsed snapshot (e.g. fetched over HTTP)."""
        self.stats.messages += 1
        out = []
        for obs in self._snapshot(doc):
            self.stats.accepted += 1
            self.stats.last_time = obs.time
            out.append(obs)
        return out

    def _snapshot(self, doc) -> Iterator[Observation]:
        st = self.stats
        if not isinstance(doc, dict) or not isinstance(doc.get("aircraft"), list):
            st.reject("not_a_snapshot", str(doc)[:80])
            return
        now = _num(doc.get("now"))
        if now is None or not 0 < now < 1e10:
            st.reject("bad_now", str(doc.get("now"))[:40])
            return
        for ac in doc["aircraft"]:
            try:
                obs = self._aircraft(ac, now)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                st.reject("bad_aircraft", f"{exc}: {str(ac)[:80]}")
                continue
            if obs is not None:
                yield obs
        if len(self._last) > 50_000:
            cutoff = now - 600
            self._last = {k: v for k, v in self._last.items() if v >= cutoff}

    def _aircraft(self, ac: dict, now: float) -> Observation | None:
        st = self.stats
        if not isinstance(ac, dict):
            st.reject("bad_aircraft", str(ac)[:80])
            return None
        hexid = ac.get("hex")
        if not isinstance(hexid, str):
            st.reject("bad_hex", str(hexid)[:20])
            return None
        hexid = hexid.strip().lower()
        core = hexid[1:] if hexid.startswith("~") else hexid
        if len(core) != 6 or any(c not in "0123456789abcdef" for c in core):
            st.reject("bad_hex", hexid[:20])
            return None
        lat, lon = _num(ac.get("lat")), _num(ac.get("lon"))
        if lat is None or lon is None:
            st.skip("no_position")
            return None
        seen_pos = _num(ac.get("seen_pos"))
        seen_pos = 0.0 if seen_pos is None else seen_pos
        if seen_pos > self.max_age_s:
            st.skip("stale")
            return None
        t = now - max(seen_pos, 0.0)
        last = self._last.get(hexid)
        if last is not None and t <= last:
            st.skip("repeat")  # already reported (or older than what was)
            return None
        attrs: dict = {}
        alt_geom, alt_baro = _num(ac.get("alt_geom")), ac.get("alt_baro")
        alt_m = None
        if alt_baro == "ground":
            attrs["on_ground"] = True
        if alt_geom is not None:
            alt_m, attrs["alt_kind"] = alt_geom * FT, "geometric"
        elif _num(alt_baro) is not None:
            alt_m, attrs["alt_kind"] = _num(alt_baro) * FT, "baro"
        if _num(alt_baro) is not None:
            attrs["alt_baro_ft"] = _num(alt_baro)
        nacp, rc = ac.get("nac_p"), _num(ac.get("rc"))
        if nacp in _NACP_EPU:
            sigma = _NACP_EPU[nacp] / 2.45
        elif rc:
            sigma = rc / 2.45
        else:
            sigma = 100.0 if ac.get("type") == "mlat" else 50.0
        gs, trk = _num(ac.get("gs")), _num(ac.get("track"))
        vel = None
        if gs is not None and trk is not None:
            rate = _num(ac.get("geom_rate"))
            rate = _num(ac.get("baro_rate")) if rate is None else rate
            spd, a = gs * KT, math.radians(trk)
            vel = Velocity(spd * math.sin(a), spd * math.cos(a), (rate or 0.0) * FPM)
        for k in ("type", "category", "squawk", "emergency", "rssi", "nic", "nac_p"):
            if ac.get(k) is not None:
                attrs[k] = ac[k]
        flight = ac.get("flight")
        callsign = flight.strip() or None if isinstance(flight, str) else None
        obs = Observation(time=t, source=SourceKind.ADSB, sensor=self.sensor, label=self.label,
                          position=GeoPosition(lat, lon, alt_m, max(sigma, 1.0)), velocity=vel, ident=hexid,
                          callsign=callsign, cls=_CATEGORY_CLASS.get(ac.get("category")), attrs=attrs)
        self._last[hexid] = t
        return obs
