"""ASTERIX CAT048 radar target reports, with CAT034 for the radar's position (format ``asterix``).

Decoding uses ``libasterix`` (MIT, pure Python, EUROCONTROL category specifications generated
from the asterix-specs definitions; editions CAT048 1.32 and CAT034 1.29). This module frames
a byte stream into data blocks (``CAT`` octet, 16-bit big-endian ``LEN`` including the 3-octet
header), hands each block to libasterix, and turns CAT048 target reports into Observations:

* I048/010 SAC/SIC -> the radar (``sensor`` ``<sensor>:<SAC>/<SIC>``) and its site;
* I048/040 measured position, rho (1/256 NM) and theta (360/2^16 deg) -> range and azimuth
  of a :class:`~lookout.model.PolarMeasurement`;
* I048/140 time of day (1/128 s since UTC midnight) -> UNIX time, the day taken from the
  decoder's ``reference_time`` (else the wall clock), the nearest midnight crossing chosen;
  a report without I048/140 is dated with that reference (``attrs["time_source"] = "receive"``);
* I048/090 flight level -> ``attrs`` ``flight_level`` and an elevation estimate (the pressure
  altitude taken as height above the site's ellipsoid on a spherical earth, 1-sigma widened);
* I048/220 aircraft address -> ``ident`` (ICAO24, lower-case hex); I048/240 -> ``callsign``;
  I048/070 Mode 3/A -> ``attrs["squawk"]``; I048/200 ground speed/heading -> velocity;
  I048/161 track number and I048/020 detection type -> ``attrs``.

The radar site comes from CAT034 I034/120 (3D position of the data source) when the radar sends
it, else from ``sites={(sac, sic): (lat, lon, alt_m)}`` (keys may also be ``"sac/sic"``) or
``site=`` given to the decoder.
A target report whose radar position is unknown is rejected (``unknown_site``).

``encode_cat034`` and ``encode_cat048`` build real data blocks (through libasterix), for tests
and the simulator.
"""

from __future__ import annotations

import math
import re
import time as _time
from collections.abc import Iterator
from typing import Any

import asterix.generated as _gen
from asterix.base import Bits, RawDatablock

from lookout.model import DEFAULT_LABEL, GeoPoint, Observation, PolarMeasurement, SourceKind, Velocity
from lookout.sources.base import Decoder, register, rescan_leftover
from lookout.sources.radar_json import to_site

CAT034 = _gen.Cat_034_1_29
CAT048 = _gen.Cat_048_1_32
NM = 1852.0
FT = 0.3048
EARTH_RADIUS_M = 6_371_000.0
DAY = 86_400.0
KNOWN_CATEGORIES = frozenset(_gen.manifest["CATS"].keys())
_CATEGORY_OCTET = re.compile(b"[" + b"".join(re.escape(bytes([c])) for c in sorted(KNOWN_CATEGORIES)) + b"]")
DETECTION_TYPES = {0: "no_detection", 1: "psr", 2: "ssr", 3: "ssr_psr", 4: "modes_all_call",
                   5: "modes_roll_call", 6: "modes_all_call_psr", 7: "modes_roll_call_psr"}
CAT034_MESSAGES = {1: "north_marker", 2: "sector_crossing", 3: "geographical_filtering", 4: "jamming_strobe"}


class AsterixError(ValueError):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def resolve_time_of_day(tod: float, reference: float) -> float:
    """UNIX time of a UTC time of day (seconds since midnight) nearest to ``reference``."""
    t = math.floor(reference / DAY) * DAY + tod
    if t - reference > DAY / 2:
        t -= DAY
    elif reference - t > DAY / 2:
        t += DAY
    return t


def elevation_from_height(range_m: float, height_m: float, site_alt_m: float) -> float | None:
    """Elevation (degrees) of a target ``range_m`` away at ``height_m``, seen from a site at
    ``site_alt_m`` (spherical earth). None when the geometry is impossible."""
    rs, rt = EARTH_RADIUS_M + site_alt_m, EARTH_RADIUS_M + height_m
    if range_m <= 0:
        return None
    s = (rt * rt - rs * rs - range_m * range_m) / (2.0 * rs * range_m)
    if not -1.0 <= s <= 1.0:
        return None
    return math.degrees(math.asin(s))


def _item(rec: Any, name: str) -> Any:
    try:
        return rec.get_item(name)
    except (KeyError, AttributeError):
        return None


def _sub(item: Any, name: str) -> Any:
    return item.variation.get_item(name)


def _q(sub: Any, unit: str) -> float:
    return float(sub.variation.content.as_quantity(unit))


def encode_cat034(sac: int, sic: int, tod: float, site: Any = None, message_type: int = 1) -> bytes:
    """A CAT034 data block: a north marker (``message_type`` 1) or sector crossing (2) with the
    radar's position (I034/120) when ``site`` is given."""
    items: dict[str, Any] = {"000": message_type, "010": (("SAC", sac), ("SIC", sic)), "030": ((float(tod), "s"))}
    site = to_site(site)
    if site is not None:
        items["120"] = (("HGT", (float(site.alt_m or 0.0), "m")), ("LAT", (float(site.lat), "°")),
                        ("LON", (float(site.lon), "°")))
    return CAT034.create([CAT034.cv_record.create(items)]).unparse().to_bytes()


def encode_cat048(sac: int, sic: int, tod: float, range_m: float, azimuth_deg: float, *,
                  flight_level: float | None = None, address: str | int | None = None,
                  callsign: str | None = None, mode3a: str | None = None, speed_mps: float | None = None,
                  heading_deg: float | None = None, track_number: int | None = None,
                  detection_type: int = 5) -> bytes:
    """A CAT048 data block with one target report (items 010, 140, 020, 040 and the optional ones)."""
    items: dict[str, Any] = {
        "010": (("SAC", sac), ("SIC", sic)),
        "140": ((float(tod), "s")),
        "020": (detection_type << 4,),
        "040": (("RHO", (float(range_m) / NM, "NM")), ("THETA", (float(azimuth_deg) % 360.0, "°"))),
    }
    if mode3a is not None:
        items["070"] = (0, 0, 0, 0, ("MODE3A", mode3a))
    if flight_level is not None:
        items["090"] = (("V", 0), ("G", 0), ("FL", (float(flight_level), "FL")))
    if address is not None:
        items["220"] = int(address, 16) if isinstance(address, str) else int(address)
    if callsign is not None:
        items["240"] = callsign.upper().ljust(8)[:8]
    if track_number is not None:
        items["161"] = (0, ("TRN", track_number))
    if speed_mps is not None and heading_deg is not None:
        items["200"] = (("GSP", (float(speed_mps) / NM, "NM/s")), ("HDG", (float(heading_deg) % 360.0, "°")))
    return CAT048.create([CAT048.cv_record.create(items)]).unparse().to_bytes()


def _sac_sic_key(key: Any) -> tuple[int, int]:
    """``(7, 1)``, ``[7, 1]``, ``"7/1"`` or ``"7,1"`` -> ``(7, 1)``."""
    if isinstance(key, str):
        parts = key.replace(",", "/").split("/")
    else:
        parts = list(key)
    if len(parts) != 2:
        raise ValueError(f"a radar is identified by SAC/SIC, got {key!r}")
    sac, sic = (int(p) for p in parts)
    if not (0 <= sac <= 255 and 0 <= sic <= 255):
        raise ValueError(f"SAC and SIC are 0..255, got {key!r}")
    return sac, sic


@register("asterix")
class AsterixDecoder(Decoder):
    """A byte stream of ASTERIX data blocks -> radar Observations (CAT048) and radar sites (CAT034)."""

    framing = "bytes"
    counts_records = True

    def __init__(self, sensor: str | None = None, label: str = DEFAULT_LABEL, site: Any = None,
                 sites: dict[tuple[int, int], Any] | None = None, reference_time: float | None = None,
                 sigma_range_m: float = 50.0, sigma_az_deg: float = 0.15, sigma_alt_m: float = 150.0) -> None:
        super().__init__(sensor, label)
        self.default_site = to_site(site)
        self.sites: dict[tuple[int, int], GeoPoint] = {_sac_sic_key(k): to_site(v) for k, v in (sites or {}).items()}
        self.reference_time = reference_time
        self.sigma_range_m, self.sigma_az_deg, self.sigma_alt_m = sigma_range_m, sigma_az_deg, sigma_alt_m
        self.radar_status: dict[tuple[int, int], dict[str, Any]] = {}
        self._buf = bytearray()

    # -- framing ---------------------------------------------------------------------------
    def _decode(self, data: bytes) -> Iterator[Observation]:
        self._buf += data
        buf = self._buf
        pos = 0
        resync_from = None  # start of a run of octets that are not a block
        while len(buf) - pos >= 3:
            cat = buf[pos]
            length = (buf[pos + 1] << 8) | buf[pos + 2]
            if length < 4 or cat not in KNOWN_CATEGORIES:
                if resync_from is None:
                    resync_from = pos
                m = _CATEGORY_OCTET.search(buf, pos + 1)  # the next octet that could start a block
                pos = m.start() if m else len(buf)
                continue
            if len(buf) - pos < length:
                break
            try:
                ok, observations = self._block(cat, bytes(buf[pos:pos + length]))
            except Exception as exc:  # noqa: BLE001 - never let one block stall the stream
                self.stats.reject("bad_block", f"{type(exc).__name__}: {exc}"[:120])
                ok, observations = False, []
            if not ok:  # a block that does not parse: resynchronise from the next octet
                if resync_from is None:
                    resync_from = pos
                pos += 1
                continue
            if resync_from is not None:
                self.stats.reject("resync", f"{pos - resync_from} octets skipped")
                resync_from = None
            pos += length
            yield from observations
        if resync_from is not None:
            self.stats.reject("resync", f"{pos - resync_from} octets skipped")
        del buf[:pos]  # what is left is one partial block (at most 65535 octets)

    def _flush(self) -> Iterator[Observation]:
        """End of stream: rescan a partial record so valid blocks behind garbage are not lost."""
        yield from rescan_leftover(self, self._buf, "truncated_block")

    # -- blocks ------------------------------------------------------------------------------
    def _block(self, cat: int, block: bytes) -> tuple[bool, list[Observation]]:
        """Decode one data block: (whether it parsed, its Observations)."""
        out: list[Observation] = []
        if cat not in (34, 48):
            self.stats.messages += 1
            self.stats.skip(f"cat{cat:03d}")
            return True, out
        try:
            raw = RawDatablock.parse(Bits.from_bytes(block))
        except Exception as exc:  # noqa: BLE001 - libasterix asserts on some malformed input
            raw = ValueError(f"{type(exc).__name__}: {exc}")
        if isinstance(raw, ValueError) or len(raw) != 1:
            self.stats.messages += 1
            self.stats.reject("bad_block", str(raw)[:80])
            return False, out
        spec = CAT048 if cat == 48 else CAT034
        try:
            records = spec.cv_uap.parse(raw[0].get_raw_records())
        except Exception as exc:  # noqa: BLE001 - libasterix asserts on some malformed input
            records = ValueError(f"{type(exc).__name__}: {exc}")
        if isinstance(records, ValueError):
            self.stats.messages += 1
            self.stats.reject("bad_record", str(records)[:80])
            return False, out
        for rec in records:
            self.stats.messages += 1
            try:
                if cat == 34:
                    self._cat034(rec)
                    continue
                obs = self._cat048(rec)
            except AsterixError as exc:
                self.stats.reject(exc.reason, str(exc))
                continue
            except Exception as exc:  # noqa: BLE001 - a bad value never stops the stream
                self.stats.reject("invalid_value", f"{type(exc).__name__}: {exc}")
                continue
            out.append(obs)
        return True, out

    @staticmethod
    def _sac_sic(rec: Any) -> tuple[int, int]:
        i010 = _item(rec, "010")
        if i010 is None:
            raise AsterixError("missing_sac_sic")
        return _sub(i010, "SAC").as_uint(), _sub(i010, "SIC").as_uint()

    def _reference(self) -> float:
        return self.reference_time if self.reference_time is not None else _time.time()

    def _cat034(self, rec: Any) -> None:
        key = self._sac_sic(rec)
        status = self.radar_status.setdefault(key, {})
        i000 = _item(rec, "000")
        if i000 is not None:
            status["last_message"] = CAT034_MESSAGES.get(i000.as_uint(), i000.as_uint())
        i030 = _item(rec, "030")
        if i030 is not None:
            status["last_time"] = resolve_time_of_day(float(i030.variation.content.as_quantity("s")), self._reference())
        i120 = _item(rec, "120")
        if i120 is not None:
            lat, lon, hgt = _q(_sub(i120, "LAT"), "°"), _q(_sub(i120, "LON"), "°"), _q(_sub(i120, "HGT"), "m")
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise AsterixError("bad_site", f"{lat}, {lon}")
            self.sites[key] = GeoPoint(lat, lon, hgt)
            status["site"] = {"lat": lat, "lon": lon, "alt_m": hgt}
        self.stats.skip("cat034")

    def _cat048(self, rec: Any) -> Observation:
        key = self._sac_sic(rec)
        site = self.sites.get(key) or self.default_site
        if site is None:
            raise AsterixError("unknown_site", f"SAC/SIC {key[0]}/{key[1]}: no CAT034 I034/120 and none configured")
        i040 = _item(rec, "040")
        if i040 is None:
            raise AsterixError("missing_position", "no I048/040")
        attrs: dict[str, Any] = {"sac": key[0], "sic": key[1]}
        i140 = _item(rec, "140")
        if i140 is not None:
            tod = float(i140.variation.content.as_quantity("s"))
            if not 0 <= tod < DAY:
                raise AsterixError("bad_time", f"time of day {tod}")
            t = resolve_time_of_day(tod, self._reference())
        else:  # I048/140 is mandatory; a report without it is dated when it was received
            t = float(self._reference())
            attrs["time_source"] = "receive"
        rng = _q(_sub(i040, "RHO"), "NM") * NM
        az = _q(_sub(i040, "THETA"), "°")
        el = sigma_el = None
        i090 = _item(rec, "090")
        if i090 is not None:
            fl = _q(_sub(i090, "FL"), "FL")
            attrs["flight_level"] = fl
            if _sub(i090, "V").as_uint() == 0 and _sub(i090, "G").as_uint() == 0:
                el = elevation_from_height(rng, fl * 100.0 * FT, site.alt_m or 0.0)
                if el is not None:
                    sigma_el = max(0.05, math.degrees(self.sigma_alt_m / max(rng, 1.0)))
        ident = callsign = None
        i220 = _item(rec, "220")
        if i220 is not None:
            ident = f"{i220.as_uint():06x}"
        i240 = _item(rec, "240")
        if i240 is not None:
            callsign = i240.variation.content.as_string().strip() or None
        i070 = _item(rec, "070")
        if i070 is not None and _sub(i070, "V").as_uint() == 0:
            attrs["squawk"] = _sub(i070, "MODE3A").variation.content.as_string()
        i161 = _item(rec, "161")
        if i161 is not None:
            attrs["track_number"] = _sub(i161, "TRN").as_uint()
        i020 = _item(rec, "020")
        if i020 is not None:
            try:
                typ = _sub(i020, "TYP").as_uint()
                attrs["detection_type"] = DETECTION_TYPES.get(typ, typ)
            except Exception:  # noqa: BLE001
                pass
        velocity = None
        i200 = _item(rec, "200")
        if i200 is not None:
            gsp = _q(_sub(i200, "GSP"), "NM/s") * NM
            hdg = math.radians(_q(_sub(i200, "HDG"), "°"))
            if gsp < 2000:
                velocity = Velocity(gsp * math.sin(hdg), gsp * math.cos(hdg))
        status = self.radar_status.setdefault(key, {})
        status["last_plot"] = t
        return Observation(
            time=t, source=SourceKind.RADAR, sensor=f"{self.sensor}:{key[0]}/{key[1]}",
            measurement=PolarMeasurement(site=site, azimuth_deg=az, elevation_deg=el, range_m=rng,
                                         sigma_az_deg=self.sigma_az_deg, sigma_el_deg=sigma_el,
                                         sigma_range_m=self.sigma_range_m),
            velocity=velocity, ident=ident, callsign=callsign, label=self.label, attrs=attrs,
        )
