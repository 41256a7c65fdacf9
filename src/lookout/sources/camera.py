"""EO/IR camera detections as JSON lines (format ``camera``).

One detection per line, either a bearing (and elevation) from the camera site::

    {"time": 1700000000.0, "sensor": "cam-3", "bearing_deg": 212.5, "elevation_deg": 4.2,
     "site": {"lat": 31.33, "lon": -110.95, "alt_m": 1240.0},
     "class": "drone", "confidence": 0.87, "track_id": "c3-17"}

or a geolocated point (a camera that projects onto terrain, or a camera with a rangefinder)::

    {"time": 1700000000.0, "sensor": "cam-3", "lat": 31.341, "lon": -110.962, "alt_m": 1300.0,
     "sigma_m": 25.0, "class": "vehicle", "confidence": 0.9}

``bearing_deg`` (``azimuth_deg`` accepted) is degrees clockwise from true north; a bearing
detection becomes a :class:`~lookout.model.PolarMeasurement` with no range (``range_m`` and
``sigma_range_m`` may be given for a laser rangefinder); a point becomes a
:class:`~lookout.model.GeoPosition`. ``class`` names map to :class:`~lookout.model.ObjectClass`
(drone/uav -> uas, car/truck -> ground_vehicle, person/group -> person, boat -> vessel, ...);
the raw name and confidence are kept in ``attrs``. ``site`` may be configured once per decoder.
"""

from __future__ import annotations

from typing import Any

from lookout.model import DEFAULT_LABEL, GeoPosition, Observation, PolarMeasurement, SourceKind
from lookout.sources.base import register
from lookout.sources.radar_json import JsonLinesDecoder, RecordError, get_num, get_str, get_time, parse_class, to_site


@register("camera")
class CameraDecoder(JsonLinesDecoder):
    """Camera detections: bearing/elevation from a site, or a geolocated point."""

    def __init__(self, sensor: str | None = None, label: str = DEFAULT_LABEL, site: Any = None,
                 sigma_az_deg: float = 0.5, sigma_el_deg: float = 0.5, sigma_h_m: float = 25.0) -> None:
        super().__init__(sensor, label)
        self.site = to_site(site)
        self.sigma_az_deg, self.sigma_el_deg, self.sigma_h_m = sigma_az_deg, sigma_el_deg, sigma_h_m

    def _record(self, obj: dict[str, Any]) -> Observation:
        t = get_time(obj, "time", "timestamp", "t")
        sensor = get_str(obj, "sensor", "camera", max_len=128) or self.sensor
        cls_name = get_str(obj, "class", "cls", "label_name", "category", max_len=64)
        cls = parse_class(cls_name)
        conf = get_num(obj, "confidence", "score", "conf", lo=0.0, hi=1.0)
        attrs: dict[str, Any] = {}
        if cls_name is not None:
            attrs["class_name"] = cls_name
        if conf is not None:
            attrs["confidence"] = conf
        for key in ("track_id", "frame", "detector", "band"):
            v = get_str(obj, key, max_len=64)
            if v is not None:
                attrs[key] = v
        bbox = obj.get("bbox")
        if isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, (int, float)) for v in bbox):
            attrs["bbox"] = [float(v) for v in bbox]
        common = dict(time=t, source=SourceKind.CAMERA, sensor=sensor, cls=cls,
                      cls_confidence=conf if cls is not None else None, label=self.label, attrs=attrs)
        lat = get_num(obj, "lat", "latitude", lo=-90.0, hi=90.0)
        lon = get_num(obj, "lon", "longitude", "lng", lo=-180.0, hi=180.0)
        if lat is not None or lon is not None:
            if lat is None or lon is None:
                raise RecordError("partial_position", "a geolocated detection needs both lat and lon")
            pos = GeoPosition(lat, lon, get_num(obj, "alt_m", "alt", lo=-1000.0, hi=100_000.0),
                              sigma_h_m=get_num(obj, "sigma_m", "sigma_h_m", lo=0.0) or self.sigma_h_m)
            return Observation(position=pos, **common)
        bearing = get_num(obj, "bearing_deg", "azimuth_deg", "bearing", "azimuth", lo=-360.0, hi=360.0)
        if bearing is None:
            raise RecordError("missing_bearing", "a detection needs bearing_deg or lat/lon")
        site = to_site(obj.get("site")) or self.site
        if site is None:
            raise RecordError("missing_site", "no site in the record and none configured")
        el = get_num(obj, "elevation_deg", "elevation", lo=-90.0, hi=90.0)
        rng = get_num(obj, "range_m", lo=0.0, hi=1e6)
        meas = PolarMeasurement(
            site=site, azimuth_deg=bearing, elevation_deg=el, range_m=rng,
            sigma_az_deg=get_num(obj, "sigma_az_deg", "sigma_bearing_deg", lo=0.0) or self.sigma_az_deg,
            sigma_el_deg=(get_num(obj, "sigma_el_deg", lo=0.0) or self.sigma_el_deg) if el is not None else None,
            sigma_range_m=(get_num(obj, "sigma_range_m", lo=0.0) or max(5.0, 0.01 * rng)) if rng else None,
        )
        return Observation(measurement=meas, **common)
