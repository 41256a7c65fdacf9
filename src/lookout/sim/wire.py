"""The simulated sensors' real wire formats, and the trip through Lookout's own decoders.

:class:`WireLoop` makes the demo exercise the same path as live feeds: every simulated
observation is encoded the way its sensor would send it, then decoded by the registered source
decoder of that format, with that sensor's id and releasability label:

=============  ==========================================================================
sensor kind    wire format (decoder)
=============  ==========================================================================
ADS-B          Mode S DF17 frames as ``timestamp,hex`` lines (``raw``): identification,
               airborne position (CPR even/odd alternating) and velocity messages
Remote ID      ASTM F3411 message packs (Basic ID, Location/Vector, System with the operator
               position and its location type) as ``time,sender,hex`` lines (``remoteid``)
radar          plot JSON lines: range, azimuth, elevation, radial velocity, sigmas, site
               (``radar-json``)
camera         detection JSON lines: bearing, elevation, class, confidence (``camera``)
agent reports  sighting-report JSON lines (``report``)
=============  ==========================================================================

Blue-force positions pass through unchanged. What a decoder rejects is counted in its stats,
exactly as for a live feed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator

from lookout.model import Observation, SourceKind
from lookout.sources import decoder_class
from lookout.sources.base import Decoder

M_TO_FT = 1.0 / 0.3048
MPS_TO_KT = 3600.0 / 1852.0

_FORMAT = {
    SourceKind.ADSB: "raw",
    SourceKind.REMOTE_ID: "remoteid",
    SourceKind.RADAR: "radar-json",
    SourceKind.CAMERA: "camera",
    SourceKind.REPORT: "report",
}

_REPORT_WHAT = {"uas": "drone", "ground_vehicle": "vehicle", "person": "group", "fixed_wing": "aircraft",
                "surveillance_aircraft": "aircraft", "rotorcraft": "helicopter", "vessel": "boat"}


def _dumps(d: dict) -> bytes:
    return json.dumps({k: v for k, v in d.items() if v is not None}, separators=(",", ":")).encode()


class WireLoop:
    """Encode each simulated sensor's observations in its wire format and decode them back."""

    def __init__(self, sensors: Iterable, health=None) -> None:
        """``health``: an optional :class:`lookout.sources.health.SensorHealth` fed with every
        sensor's messages and decode counters, on the simulation clock."""
        self.health = health
        self.decoders: dict[str, Decoder] = {}
        self.formats: dict[str, str] = {}
        self._odd: dict[str, bool] = {}
        self._ident_sent: dict[str, float] = {}
        self.lines = 0
        for s in sensors:
            fmt = _FORMAT.get(s.kind)
            if fmt is None:
                continue
            cls = decoder_class(fmt)
            kw = {}
            if fmt == "raw":
                kw["reference"] = (s.site.lat, s.site.lon)
            elif fmt == "camera":
                kw.update(sigma_az_deg=s.params.get("sigma_az_deg", 0.5),
                          sigma_el_deg=s.params.get("sigma_el_deg", 0.5))
            self.decoders[s.id] = cls(sensor=s.id, label=s.label, **kw)
            self.formats[s.id] = fmt
            if health is not None:
                health.register(s.id, fmt)

    def __call__(self, observations: Iterable[Observation]) -> list[Observation]:
        out: list[Observation] = []
        for o in observations:
            dec = self.decoders.get(o.sensor)
            if dec is None:
                out.append(o)
                continue
            for line in self.encode(o):
                self.lines += 1
                got = list(dec.decode(line))
                out.extend(got)
                if self.health is not None:
                    self.health.heard(o.sensor, 1, now=o.time)
                    for d in got:
                        self.health.observed(o.sensor, d.time, now=o.time)
        if self.health is not None:
            for sid, dec in self.decoders.items():
                self.health.update_stats(sid, dec.stats)
        return out

    def stats(self) -> dict[str, dict]:
        return {sid: {"format": self.formats[sid], **d.stats.as_dict()} for sid, d in self.decoders.items()}

    # -- encoders per format --------------------------------------------------------------
    def encode(self, o: Observation) -> Iterator[bytes]:
        fmt = self.formats[o.sensor]
        if fmt == "raw":
            yield from self._adsb(o)
        elif fmt == "remoteid":
            yield from self._remote_id(o)
        elif fmt == "radar-json":
            yield self._radar(o)
        elif fmt == "camera":
            yield self._camera(o)
        elif fmt == "report":
            yield self._report(o)

    def _adsb(self, o: Observation) -> Iterator[bytes]:
        from lookout.sources.modes import encode_airborne_position, encode_identification, encode_velocity

        icao, p = o.ident, o.position
        if not icao or p is None:
            return
        t = o.time
        if o.callsign and t - self._ident_sent.get(icao, -1e9) >= 5.0:
            self._ident_sent[icao] = t
            yield f"{t - 0.002:.6f},{encode_identification(icao, o.callsign)}".encode()
        odd = self._odd.get(icao, False)
        self._odd[icao] = not odd
        alt_ft = min(max((p.alt_m or 0.0) * M_TO_FT, -1000.0), 50_000.0)
        yield f"{t:.6f},{encode_airborne_position(icao, p.lat, p.lon, alt_ft, odd)}".encode()
        v = o.velocity
        if v is not None:
            msg = encode_velocity(icao, v.speed * MPS_TO_KT, v.course_deg, v.up * M_TO_FT * 60.0)
            yield f"{t + 0.001:.6f},{msg}".encode()

    def _remote_id(self, o: Observation) -> Iterator[bytes]:
        from lookout.sources.remoteid import encode_basic_id, encode_location, encode_pack, encode_system

        p, v = o.position, o.velocity
        if not o.ident or p is None:
            return
        msgs = [encode_basic_id(o.ident[:20], id_type=1, ua_type=2)]
        speed = min(v.speed, 254.0) if v is not None else None
        msgs.append(encode_location(
            p.lat, p.lon, alt_geo_m=p.alt_m, height_m=o.attrs.get("height_agl_m"), height_type=1,
            speed_mps=speed, direction_deg=v.course_deg if v is not None else None,
            vspeed_mps=max(min(v.up, 62.0), -62.0) if v is not None else None,
            timestamp_s=round(o.time % 3600.0, 1) % 3600.0, h_accuracy=10, v_accuracy=4, speed_accuracy=3))
        if o.operator is not None:
            msgs.append(encode_system(o.operator.lat, o.operator.lon, operator_alt_geo_m=o.operator.alt_m,
                                      operator_location_type=o.operator_location_type or "take_off",
                                      timestamp=o.time))
        sender = "SIM-" + o.ident[-8:]
        yield f"{o.time:.6f},{sender},{encode_pack(msgs).hex()}".encode()

    @staticmethod
    def _site(m) -> dict:
        return {"lat": m.site.lat, "lon": m.site.lon, "alt_m": m.site.alt_m}

    def _radar(self, o: Observation) -> bytes:
        m = o.measurement
        return _dumps({"time": o.time, "sensor": o.sensor, "range_m": m.range_m, "azimuth_deg": m.azimuth_deg,
                       "elevation_deg": m.elevation_deg, "radial_velocity_mps": m.radial_velocity_mps,
                       "sigma_range_m": m.sigma_range_m, "sigma_az_deg": m.sigma_az_deg,
                       "sigma_el_deg": m.sigma_el_deg, "site": self._site(m)})

    def _camera(self, o: Observation) -> bytes:
        m = o.measurement
        return _dumps({"time": o.time, "sensor": o.sensor, "bearing_deg": m.azimuth_deg,
                       "elevation_deg": m.elevation_deg, "sigma_az_deg": m.sigma_az_deg,
                       "sigma_el_deg": m.sigma_el_deg, "site": self._site(m),
                       "class": _REPORT_WHAT.get(str(o.cls), str(o.cls)) if o.cls is not None else None,
                       "confidence": o.cls_confidence})

    def _report(self, o: Observation) -> bytes:
        p = o.position
        direction = o.attrs.get("direction")
        if isinstance(direction, str) and direction not in ("stationary", "unknown"):
            direction = direction
        elif isinstance(direction, (int, float)) and math.isfinite(direction):
            direction = float(direction)
        else:
            direction = None
        return _dumps({"time": o.time, "reporter": o.attrs.get("agent_id"), "lat": p.lat, "lon": p.lon,
                       "sigma_m": p.sigma_h_m, "what": _REPORT_WHAT.get(str(o.cls), "unknown") if o.cls else None,
                       "count": o.attrs.get("count"), "direction": direction, "text": o.attrs.get("text"),
                       "label": o.label})
