"""Radar plots as JSON lines (format ``radar-json``), and the JSON-lines helpers shared by the
camera and report formats.

One plot per line::

    {"time": 1700000000.25, "sensor": "radar-1", "range_m": 5230.0, "azimuth_deg": 123.4,
     "elevation_deg": 2.1, "radial_velocity_mps": -7.5, "rcs_dbsm": -18.0,
     "site": {"lat": 31.3, "lon": -110.9, "alt_m": 1250.0},
     "sigma_range_m": 15.0, "sigma_az_deg": 0.4, "sigma_el_deg": 0.8, "track_id": "17"}

``time`` is UNIX seconds (or an ISO 8601 string with a zone); ``range_m`` and ``azimuth_deg``
are required; ``site`` may be omitted when the decoder was given one (``site=``); ``sensor``
defaults to the decoder's sensor id. Each plot becomes an Observation with a
:class:`~lookout.model.PolarMeasurement`; the plot's geodetic position is computed through
:mod:`lookout.geo` (ENU of the site's frame) to check it and is kept in ``attrs``
(``lat``, ``lon``, ``alt_m``) for displays.
"""

from __future__ import annotations

import json
import math
import time as _time
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from typing import Any

import numpy as np

from lookout.geo import LocalFrame, polar_to_enu
from lookout.model import DEFAULT_LABEL, GeoPoint, ObjectClass, Observation, PolarMeasurement, SourceKind
from lookout.sources.base import Decoder, register


class RecordError(ValueError):
    """A JSON-lines record that cannot be used; ``reason`` is the rejection counter key."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


MAX_LINE_BYTES = 1 << 20


def load_object(line: bytes) -> dict[str, Any]:
    """Parse one JSON-lines record; it must be an object."""
    if len(line) > MAX_LINE_BYTES:
        raise RecordError("line_too_long", f"{len(line)} bytes")
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise RecordError("bad_json", str(exc)[:80]) from None
    if not isinstance(obj, dict):
        raise RecordError("bad_json", f"a record must be a JSON object, got {type(obj).__name__}")
    return obj


def get_num(obj: dict[str, Any], *names: str, required: bool = False, lo: float | None = None,
            hi: float | None = None) -> float | None:
    """The first present field of ``names`` as a finite float within ``lo..hi``."""
    for name in names:
        v = obj.get(name)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            raise RecordError(f"bad_{names[0]}", f"{name}={v!r:.40} is not a number")
        try:
            x = float(v)
        except ValueError:
            raise RecordError(f"bad_{names[0]}", f"{name}={v!r:.40} is not a number") from None
        if not math.isfinite(x):
            raise RecordError(f"bad_{names[0]}", f"{name} is not finite")
        if (lo is not None and x < lo) or (hi is not None and x > hi):
            raise RecordError(f"{names[0]}_out_of_range", f"{name}={x} not within {lo}..{hi}")
        return x
    if required:
        raise RecordError(f"missing_{names[0]}")
    return None


def get_str(obj: dict[str, Any], *names: str, max_len: int = 256) -> str | None:
    for name in names:
        v = obj.get(name)
        if v is None:
            continue
        if isinstance(v, (dict, list)):
            raise RecordError(f"bad_{names[0]}", f"{name} is not a string")
        s = str(v)
        if len(s) > max_len:
            raise RecordError(f"bad_{names[0]}", f"{name} longer than {max_len} characters")
        return s
    return None


def get_time(obj: dict[str, Any], *names: str) -> float:
    """A required time: UNIX seconds (milliseconds are recognised) or an ISO 8601 string."""
    names = names or ("time",)
    for name in names:
        v = obj.get(name)
        if v is None:
            continue
        if isinstance(v, str):
            try:
                t = float(v)
            except ValueError:
                try:
                    dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
                except ValueError:
                    raise RecordError("bad_time", f"{v!r:.40} is neither UNIX seconds nor ISO 8601") from None
                if dt.tzinfo is None:
                    raise RecordError("bad_time", f"{v!r:.40} has no time zone") from None
                t = dt.timestamp()
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            t = float(v)
        else:
            raise RecordError("bad_time", f"{v!r:.40}")
        if math.isfinite(t) and t > 1e11:  # milliseconds
            t /= 1000.0
        if not (math.isfinite(t) and 0 < t < 1e10):
            raise RecordError("bad_time", f"{t!r}")
        return t
    raise RecordError("missing_time")


def to_site(value: Any) -> GeoPoint | None:
    """A sensor site from ``{"lat","lon","alt_m"}`` (``alt``/``latitude``/``longitude`` accepted),
    a ``[lat, lon, alt]`` sequence or a :class:`GeoPoint`."""
    if value is None or isinstance(value, GeoPoint):
        return value
    if isinstance(value, (list, tuple)):
        if len(value) not in (2, 3):
            raise RecordError("bad_site", "a site list is [lat, lon] or [lat, lon, alt_m]")
        value = dict(zip(("lat", "lon", "alt_m"), value, strict=False))
    if not isinstance(value, dict):
        raise RecordError("bad_site", "a site is an object {lat, lon, alt_m}")
    lat = get_num(value, "lat", "latitude", required=True, lo=-90, hi=90)
    lon = get_num(value, "lon", "longitude", "lng", required=True, lo=-180, hi=180)
    alt = get_num(value, "alt_m", "alt", "altitude", lo=-1000, hi=100_000)
    return GeoPoint(lat, lon, alt)


_CLASS_WORDS: dict[str, ObjectClass] = {}
for _cls, _words in {
    ObjectClass.UAS: "uas drone uav suas quadcopter multirotor quadrotor hexacopter fixed_wing_drone "
                     "unmanned_aerial_vehicle unmanned_aircraft",
    ObjectClass.FIXED_WING: "fixed_wing aircraft airplane aeroplane plane jet glider ultralight light_aircraft",
    ObjectClass.ROTORCRAFT: "rotorcraft helicopter heli gyroplane",
    ObjectClass.SURVEILLANCE_AIRCRAFT: "surveillance_aircraft surveillance",
    ObjectClass.GROUND_VEHICLE: "ground_vehicle vehicle car truck suv pickup van atv motorcycle motorbike bus",
    ObjectClass.PERSON: "person people pedestrian human walker group individual persons",
    ObjectClass.VESSEL: "vessel boat ship panga jetski",
    ObjectClass.AGENT: "agent own_force blue_force",
    ObjectClass.UNKNOWN: "unknown other none unidentified air_vehicle aerial_vehicle air_object",
}.items():
    for _w in _words.split():
        _CLASS_WORDS[_w] = _cls


@lru_cache(maxsize=1024)
def parse_class(value: str | None) -> ObjectClass | None:
    """Map a detector's or reporter's class name to :class:`ObjectClass` (None when unknown)."""
    if value is None:
        return None
    key = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    if key in _CLASS_WORDS:
        return _CLASS_WORDS[key]
    if key.endswith("s") and key[:-1] in _CLASS_WORDS:  # plurals: "vehicles", "drones"
        return _CLASS_WORDS[key[:-1]]
    words = [w for w in key.split("_") if w]
    if len(words) > 1:  # "group of people", "pickup truck", "small quadcopter": the head noun decides
        for word in reversed(words):
            cls = parse_class(word)
            if cls is not None and cls != ObjectClass.UNKNOWN:
                return cls
    return None


class JsonLinesDecoder(Decoder):
    """Base of the JSON-lines formats: one object per line -> at most one Observation.

    Subclasses implement :meth:`_record`. A :class:`RecordError` is counted under its reason,
    any other ``ValueError`` (e.g. a model field out of range) under ``invalid_value``.
    """

    framing = "lines"

    def _decode(self, data: bytes) -> Iterator[Observation]:
        line = data.strip()
        if not line:
            return
        try:
            obs = self._record(load_object(line))
        except RecordError as exc:
            self.stats.reject(exc.reason, f"{exc}: {data[:80]!r}")
            return
        except (ValueError, TypeError) as exc:
            self.stats.reject("invalid_value", f"{exc}: {data[:80]!r}")
            return
        if obs is not None:
            yield obs

    def _record(self, obj: dict[str, Any]) -> Observation | None:  # pragma: no cover - abstract
        raise NotImplementedError


@lru_cache(maxsize=256)
def _frame(lat: float, lon: float, alt: float) -> LocalFrame:
    return LocalFrame(lat, lon, alt)


def polar_to_geodetic(site: GeoPoint, range_m: float, azimuth_deg: float,
                      elevation_deg: float | None) -> tuple[float, float, float]:
    """The WGS-84 point at ``range_m`` along azimuth/elevation from ``site`` (straight line)."""
    e, n, u = polar_to_enu(range_m, azimuth_deg, elevation_deg or 0.0)
    return _frame(site.lat, site.lon, site.alt_m or 0.0).to_geodetic(e, n, u)


@register("radar-json")
class RadarJsonDecoder(JsonLinesDecoder):
    """Radar plots (range, azimuth, elevation, radial velocity, RCS) as JSON lines."""

    def __init__(self, sensor: str | None = None, label: str = DEFAULT_LABEL, site: Any = None,
                 sigma_range_m: float = 15.0, sigma_az_deg: float = 0.5, sigma_el_deg: float = 1.0,
                 max_range_m: float = 200_000.0) -> None:
        super().__init__(sensor, label)
        self.site = to_site(site)
        self.sigma_range_m, self.sigma_az_deg, self.sigma_el_deg = sigma_range_m, sigma_az_deg, sigma_el_deg
        self.max_range_m = max_range_m

    def _parse(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Validate one plot record into the Observation's fields (all but its geodetic check)."""
        site = to_site(obj.get("site")) or self.site
        if site is None:
            raise RecordError("missing_site", "no site in the record and none configured")
        t = get_time(obj, "time", "timestamp", "t")
        rng = get_num(obj, "range_m", "range", required=True, lo=0.0, hi=self.max_range_m)
        az = get_num(obj, "azimuth_deg", "azimuth", "az", required=True, lo=-360.0, hi=360.0)
        el = get_num(obj, "elevation_deg", "elevation", "el", lo=-90.0, hi=90.0)
        vr = get_num(obj, "radial_velocity_mps", "radial_velocity", "doppler_mps", lo=-2000.0, hi=2000.0)
        rcs = get_num(obj, "rcs_dbsm", "rcs", lo=-100.0, hi=100.0)
        s_r = get_num(obj, "sigma_range_m", lo=0.0) or self.sigma_range_m
        s_az = get_num(obj, "sigma_az_deg", lo=0.0) or self.sigma_az_deg
        s_el = get_num(obj, "sigma_el_deg", lo=0.0) or (self.sigma_el_deg if el is not None else None)
        attrs: dict[str, Any] = {}
        if rcs is not None:
            attrs["rcs_dbsm"] = rcs
        track_id = get_str(obj, "track_id", "plot_id", "id", max_len=64)
        if track_id is not None:
            attrs["track_id"] = track_id
        cls = parse_class(get_str(obj, "class", "cls", max_len=64))
        return dict(
            time=t, source=SourceKind.RADAR, sensor=get_str(obj, "sensor", max_len=128) or self.sensor,
            measurement=PolarMeasurement(site=site, azimuth_deg=az, elevation_deg=el, range_m=rng,
                                         sigma_az_deg=s_az, sigma_el_deg=s_el, sigma_range_m=s_r,
                                         radial_velocity_mps=vr),
            cls=cls, cls_confidence=get_num(obj, "confidence", lo=0.0, hi=1.0) if cls else None,
            label=self.label, attrs=attrs,
        )

    @staticmethod
    def _finish(fields: dict[str, Any], lat: float, lon: float, alt: float) -> Observation:
        """Check the plot's geodetic position and keep it in ``attrs``."""
        m = fields["measurement"]
        if m.elevation_deg is not None and not -1000.0 <= alt <= 100_000.0:
            raise RecordError("implausible_position", f"plot altitude {alt:.0f} m")
        pos = {"lat": round(float(lat), 7), "lon": round(float(lon), 7)}
        if m.elevation_deg is not None:
            pos["alt_m"] = round(float(alt), 2)
        fields["attrs"] = {**pos, **fields["attrs"]}
        return Observation(**fields)

    def _record(self, obj: dict[str, Any]) -> Observation:
        fields = self._parse(obj)
        m = fields["measurement"]
        return self._finish(fields, *polar_to_geodetic(m.site, m.range_m, m.azimuth_deg, m.elevation_deg))

    def decode_batch(self, records: list[bytes]) -> list[Observation]:
        """Decode many lines at once: the geodetic conversion runs vectorised per site."""
        self.stats.messages += len(records)
        self.stats.last_seen = _time.time()
        parsed: list[dict[str, Any]] = []
        for rec in records:
            line = rec.strip()
            if not line:
                continue
            try:
                parsed.append(self._parse(load_object(line)))
            except RecordError as exc:
                self.stats.reject(exc.reason, f"{exc}: {rec[:80]!r}")
            except (ValueError, TypeError) as exc:
                self.stats.reject("invalid_value", f"{exc}: {rec[:80]!r}")
        by_site: dict[tuple[float, float, float], list[int]] = {}
        for i, f in enumerate(parsed):
            site = f["measurement"].site
            by_site.setdefault((site.lat, site.lon, site.alt_m or 0.0), []).append(i)
        geo = [None] * len(parsed)
        for key, idx in by_site.items():
            ms = [parsed[i]["measurement"] for i in idx]
            e, n, u = polar_to_enu(np.array([m.range_m for m in ms]), np.array([m.azimuth_deg for m in ms]),
                                   np.array([m.elevation_deg or 0.0 for m in ms]))
            lat, lon, alt = _frame(*key).to_geodetic(e, n, u)
            for j, i in enumerate(idx):
                geo[i] = (lat[j], lon[j], alt[j])
        out: list[Observation] = []
        for f, g in zip(parsed, geo, strict=True):
            try:
                obs = self._finish(f, *g)
            except RecordError as exc:
                self.stats.reject(exc.reason, str(exc))
                continue
            except (ValueError, TypeError) as exc:
                self.stats.reject("invalid_value", str(exc))
                continue
            self.stats.accepted += 1
            self.stats.last_time = obs.time
            out.append(obs)
        return out
