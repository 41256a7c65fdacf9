"""Agent sighting reports as JSON lines (format ``report``).

What an agent in the field saw, typed on a handheld or relayed by radio::

    {"time": 1700000000, "reporter": "agent-12", "lat": 31.335, "lon": -110.94, "sigma_m": 150,
     "what": "drone", "count": 1, "direction": "N", "text": "small quadcopter heading north",
     "label": "US-ONLY"}

``time`` (UNIX seconds or ISO 8601), ``lat`` and ``lon`` are required. ``sigma_m`` is the
reporter's position uncertainty (1-sigma, default 100 m). ``what`` maps to a class hint
(drone -> uas, vehicle -> ground_vehicle, group/person -> person, aircraft -> fixed_wing,
helicopter -> rotorcraft, boat -> vessel); ``direction`` is a compass point (``N``, ``SW``,
``north-east``...) or degrees and is kept as ``attrs["direction_deg"]`` (other words are kept as
``attrs["direction"]`` text, and counted as skipped ``direction_not_compass``; a number out of
range is an error); ``speed_mps`` with a direction gives a velocity. ``count``, ``text``,
``reporter`` and ``what`` are kept in ``attrs``; ``label`` (releasability) overrides the
decoder's default.
"""

from __future__ import annotations

import math
from typing import Any

from lookout.model import DEFAULT_LABEL, GeoPosition, Observation, SourceKind, Velocity
from lookout.sources.base import register
from lookout.sources.radar_json import JsonLinesDecoder, RecordError, get_num, get_str, get_time, parse_class

_POINTS = ["n", "nne", "ne", "ene", "e", "ese", "se", "sse", "s", "ssw", "sw", "wsw", "w", "wnw", "nw", "nnw"]
_WORDS = {"north": "n", "south": "s", "east": "e", "west": "w", "northeast": "ne", "northwest": "nw",
          "southeast": "se", "southwest": "sw", "northbound": "n", "southbound": "s", "eastbound": "e",
          "westbound": "w"}


def parse_direction(value: Any) -> float | None:
    """A direction as degrees clockwise from north: a number, ``"NE"``, ``"north-east"``..."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value) or not -360 <= value <= 360:
            raise RecordError("bad_direction", f"{value!r}")
        return float(value) % 360.0
    key = str(value).strip().lower().replace("-", "").replace(" ", "").replace("_", "")
    try:
        deg = float(key)
    except ValueError:
        pass
    else:
        return parse_direction(deg)
    key = _WORDS.get(key, key)
    if key in _POINTS:
        return _POINTS.index(key) * 22.5
    raise RecordError("bad_direction", f"{str(value)[:40]!r} is not a compass direction")


@register("report")
class ReportDecoder(JsonLinesDecoder):
    """Agent sighting reports -> Observations with source ``report``."""

    def __init__(self, sensor: str | None = None, label: str = DEFAULT_LABEL, sigma_h_m: float = 100.0) -> None:
        super().__init__(sensor, label)
        self.sigma_h_m = sigma_h_m

    def _record(self, obj: dict[str, Any]) -> Observation:
        t = get_time(obj, "time", "timestamp", "t")
        lat = get_num(obj, "lat", "latitude", required=True, lo=-90.0, hi=90.0)
        lon = get_num(obj, "lon", "longitude", "lng", required=True, lo=-180.0, hi=180.0)
        alt = get_num(obj, "alt_m", "alt", lo=-1000.0, hi=100_000.0)
        sigma = get_num(obj, "sigma_m", "sigma_h_m", "accuracy_m", lo=0.0, hi=100_000.0) or self.sigma_h_m
        reporter = get_str(obj, "reporter", "agent", "sensor", max_len=128)
        what = get_str(obj, "what", "class", max_len=64)
        count = get_num(obj, "count", "number", lo=0, hi=100_000)
        if count is not None and count != int(count):
            raise RecordError("bad_count", f"{count} is not a whole number")
        raw_direction = obj.get("direction", obj.get("heading"))
        try:
            direction = parse_direction(raw_direction)
        except RecordError:
            if not isinstance(raw_direction, str):
                raise  # a number out of range, a list...: an error
            # words an agent typed that are not a compass direction ("toward the wash") are kept as
            # text: the sighting itself is still good
            direction = None
            self.stats.skip("direction_not_compass")
            raw_text = raw_direction[:200]
        else:
            raw_text = None
        speed = get_num(obj, "speed_mps", lo=0.0, hi=1000.0)
        text = get_str(obj, "text", "remarks", "note", max_len=2000)
        label = get_str(obj, "label", max_len=32) or self.label
        attrs: dict[str, Any] = {}
        if reporter:
            attrs["reporter"] = reporter
        if what:
            attrs["what"] = what
        if count is not None:
            attrs["count"] = int(count)
        if direction is not None:
            attrs["direction_deg"] = direction
        elif raw_text:
            attrs["direction"] = raw_text
        if text:
            attrs["text"] = text
        velocity = None
        if direction is not None and speed is not None:
            rad = math.radians(direction)
            velocity = Velocity(speed * math.sin(rad), speed * math.cos(rad))
        return Observation(
            time=t, source=SourceKind.REPORT, sensor=reporter or self.sensor,
            position=GeoPosition(lat, lon, alt, sigma_h_m=sigma), velocity=velocity,
            cls=parse_class(what), label=label, attrs=attrs,
        )
