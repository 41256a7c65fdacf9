"""The few core records every stage of Lookout speaks.

Conventions (everywhere in Lookout):

* time: UNIX seconds (float, UTC);
* positions: WGS-84 latitude/longitude in degrees, ``alt_m`` height in metres above the
  WGS-84 ellipsoid (HAE);
* lengths in metres, speeds in metres per second;
* angles in degrees: azimuth, bearing and course clockwise from true north, elevation up from
  the local horizontal plane;
* velocities as local east/north/up components (m/s);
* uncertainties as one standard deviation (1-sigma) in the same unit as the quantity.

The records are plain dataclasses with ``to_dict``/``from_dict`` for JSON lines, the store and
the API; they validate themselves on construction and raise :class:`ValueError` with a clear
message when a field is out of range.
"""

from __future__ import annotations

import itertools
import math
import uuid
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any


class SourceKind(StrEnum):
    """What kind of sensor produced an observation."""

    ADSB = "adsb"
    REMOTE_ID = "remote_id"
    RADAR = "radar"
    CAMERA = "camera"
    REPORT = "report"
    AIS = "ais"
    BLUE_FORCE = "blue_force"


class ObjectClass(StrEnum):
    """Classes of tracked objects (classification hints and track classes)."""

    UNKNOWN = "unknown"
    UAS = "uas"  # small uncrewed aircraft (drone)
    FIXED_WING = "fixed_wing"
    ROTORCRAFT = "rotorcraft"
    SURVEILLANCE_AIRCRAFT = "surveillance_aircraft"
    GROUND_VEHICLE = "ground_vehicle"
    PERSON = "person"
    VESSEL = "vessel"
    AGENT = "agent"  # own personnel (blue force)


AIR_CLASSES = frozenset(
    {ObjectClass.UAS, ObjectClass.FIXED_WING, ObjectClass.ROTORCRAFT, ObjectClass.SURVEILLANCE_AIRCRAFT}
)


class TrackStatus(StrEnum):
    TENTATIVE = "tentative"
    CONFIRMED = "confirmed"
    DELETED = "deleted"


class AlertState(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.INFO: 0, Severity.LOW: 1, Severity.MEDIUM: 2, Severity.HIGH: 3, Severity.CRITICAL: 4}


class OperatorLocationType(StrEnum):
    """Remote ID (ASTM F3411) operator location type."""

    TAKE_OFF = "take_off"
    LIVE_GNSS = "live_gnss"
    FIXED = "fixed"


#: Releasability labels in order from least to most restrictive. A label not in this list is
#: treated as more restrictive than all of them (see :func:`most_restrictive`).
LABELS: tuple[str, ...] = ("PUBLIC", "REL-MX", "US-ONLY")
DEFAULT_LABEL = "PUBLIC"


def most_restrictive(labels: list[str] | set[str] | tuple[str, ...]) -> str:
    """The most restrictive of ``labels`` (``PUBLIC`` when empty)."""
    best, best_rank = DEFAULT_LABEL, -1
    for lab in labels:
        rank = LABELS.index(lab) if lab in LABELS else len(LABELS)
        if rank > best_rank:
            best, best_rank = lab, rank
    return best


_BIG = 1.0e300


def _check_finite(name: str, value: float | None, lo: float = -_BIG, hi: float = _BIG) -> None:
    if value is None:
        return
    cls = value.__class__
    if (cls is float or cls is int) and lo <= value <= hi:  # the fast path; NaN and inf fail it
        return
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if value < lo:
        raise ValueError(f"{name} must be >= {lo}, got {value!r}")
    if value > hi:
        raise ValueError(f"{name} must be <= {hi}, got {value!r}")


@dataclass(slots=True)
class GeoPoint:
    """A WGS-84 point: latitude/longitude in degrees, height above the ellipsoid in metres."""

    lat: float
    lon: float
    alt_m: float | None = None

    def __post_init__(self) -> None:
        _check_finite("lat", self.lat, -90.0, 90.0)
        _check_finite("lon", self.lon, -180.0, 180.0)
        _check_finite("alt_m", self.alt_m, -1000.0, 100_000.0)


@dataclass(slots=True)
class GeoPosition:
    """A measured geodetic position with its 1-sigma uncertainty."""

    lat: float
    lon: float
    alt_m: float | None = None
    sigma_h_m: float = 10.0  # horizontal, per axis
    sigma_v_m: float | None = None

    def __post_init__(self) -> None:
        _check_finite("lat", self.lat, -90.0, 90.0)
        _check_finite("lon", self.lon, -180.0, 180.0)
        _check_finite("alt_m", self.alt_m, -1000.0, 100_000.0)
        _check_finite("sigma_h_m", self.sigma_h_m, 0.0)
        _check_finite("sigma_v_m", self.sigma_v_m, 0.0)
        if self.sigma_h_m <= 0:
            raise ValueError("sigma_h_m must be > 0")


@dataclass(slots=True)
class PolarMeasurement:
    """A measurement relative to a sensor site.

    Radar: range, azimuth and elevation (``range_m`` set). Camera / direction finder: bearing
    and elevation only (``range_m`` None, ``elevation_deg`` optional).
    """

    site: GeoPoint
    azimuth_deg: float
    elevation_deg: float | None = None
    range_m: float | None = None
    sigma_az_deg: float = 1.0
    sigma_el_deg: float | None = None
    sigma_range_m: float | None = None
    radial_velocity_mps: float | None = None

    def __post_init__(self) -> None:
        _check_finite("azimuth_deg", self.azimuth_deg, -360.0, 720.0)
        self.azimuth_deg = self.azimuth_deg % 360.0
        _check_finite("elevation_deg", self.elevation_deg, -90.0, 90.0)
        _check_finite("range_m", self.range_m, 0.0, 1.0e7)
        _check_finite("sigma_az_deg", self.sigma_az_deg, 0.0)
        _check_finite("sigma_el_deg", self.sigma_el_deg, 0.0)
        _check_finite("sigma_range_m", self.sigma_range_m, 0.0)
        _check_finite("radial_velocity_mps", self.radial_velocity_mps, -2000.0, 2000.0)
        if self.sigma_az_deg <= 0:
            raise ValueError("sigma_az_deg must be > 0")
        if self.range_m is not None and not self.sigma_range_m:
            raise ValueError("a range measurement needs sigma_range_m > 0")


@dataclass(slots=True)
class Velocity:
    """Velocity in local east/north/up components, m/s."""

    east: float
    north: float
    up: float = 0.0

    def __post_init__(self) -> None:
        for n in ("east", "north", "up"):
            _check_finite(n, getattr(self, n), -2000.0, 2000.0)

    @property
    def speed(self) -> float:
        return math.hypot(self.east, self.north)

    @property
    def course_deg(self) -> float:
        return math.degrees(math.atan2(self.east, self.north)) % 360.0


_PROCESS_ID = uuid.uuid4().hex[:10]
_COUNTER = itertools.count()


def new_id(prefix: str = "") -> str:
    """A unique record id: a random per-process part and a counter (cheap: no system call)."""
    return f"{prefix}{_PROCESS_ID}{next(_COUNTER):x}"


@dataclass(slots=True)
class Observation:
    """One report from one sensor about one object at one time.

    Exactly one of ``position`` (geodetic, e.g. ADS-B, Remote ID, agent report) or
    ``measurement`` (sensor-relative, e.g. radar range/azimuth/elevation, camera bearing) is set.
    """

    time: float
    source: SourceKind
    sensor: str
    position: GeoPosition | None = None
    measurement: PolarMeasurement | None = None
    velocity: Velocity | None = None
    ident: str | None = None  # ICAO24 (6 hex, lower case), Remote ID serial, MMSI, agent id
    callsign: str | None = None
    cls: ObjectClass | None = None  # classification hint
    cls_confidence: float | None = None
    label: str = DEFAULT_LABEL
    operator: GeoPoint | None = None  # Remote ID operator / pilot position
    operator_location_type: OperatorLocationType | None = None
    attrs: dict[str, Any] = field(default_factory=dict)  # format-specific extras (evidence)
    id: str = field(default_factory=lambda: new_id("o-"))

    def __post_init__(self) -> None:
        _check_finite("time", self.time, 0.0, 1.0e10)
        if self.source.__class__ is not SourceKind:
            self.source = SourceKind(self.source)
        if not self.sensor:
            raise ValueError("sensor id must not be empty")
        if (self.position is None) == (self.measurement is None):
            raise ValueError("an Observation needs exactly one of position or measurement")
        if self.cls is not None and self.cls.__class__ is not ObjectClass:
            self.cls = ObjectClass(self.cls)
        _check_finite("cls_confidence", self.cls_confidence, 0.0, 1.0)
        olt = self.operator_location_type
        if olt is not None and olt.__class__ is not OperatorLocationType:
            self.operator_location_type = OperatorLocationType(olt)

    @classmethod
    def trusted(cls, time: float, source: SourceKind, sensor: str, lat: float, lon: float,
                alt_m: float | None, sigma_h_m: float, velocity: Velocity | None = None,
                ident: str | None = None, callsign: str | None = None, cls_hint: ObjectClass | None = None,
                label: str = DEFAULT_LABEL, attrs: dict[str, Any] | None = None) -> Observation:
        """A position Observation (with its :class:`GeoPosition`) built WITHOUT validation.

        For decoders on their hot path only: the caller guarantees every value is already in
        range (``time`` in (0, 1e10], ``lat``/``lon`` in degrees, ``alt_m`` in [-1000, 100000] or
        None, ``sigma_h_m`` > 0, finite floats, ``source`` a :class:`SourceKind`, ``sensor``
        non-empty, ``velocity`` an already validated :class:`Velocity`). Everything else
        constructs records normally, which validates."""
        pos = object.__new__(GeoPosition)
        pos.lat, pos.lon, pos.alt_m, pos.sigma_h_m, pos.sigma_v_m = lat, lon, alt_m, sigma_h_m, None
        obs = object.__new__(cls)
        obs.time, obs.source, obs.sensor, obs.position, obs.measurement = time, source, sensor, pos, None
        obs.velocity, obs.ident, obs.callsign, obs.cls, obs.cls_confidence = velocity, ident, callsign, cls_hint, None
        obs.label, obs.operator, obs.operator_location_type = label, None, None
        obs.attrs = {} if attrs is None else attrs
        obs.id = f"o-{_PROCESS_ID}{next(_COUNTER):x}"
        return obs

    # -- serialisation ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: v for k, v in d.items() if v is not None and v != {}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Observation:
        d = dict(d)
        if d.get("position") is not None:
            d["position"] = GeoPosition(**d["position"])
        if d.get("measurement") is not None:
            m = dict(d["measurement"])
            m["site"] = GeoPoint(**m["site"])
            d["measurement"] = PolarMeasurement(**m)
        if d.get("velocity") is not None:
            d["velocity"] = Velocity(**d["velocity"])
        if d.get("operator") is not None:
            d["operator"] = GeoPoint(**d["operator"])
        unknown = d.keys() - _OBS_FIELDS
        if unknown:
            raise ValueError(f"unknown Observation fields: {sorted(unknown)}")
        return cls(**d)

    def flat(self) -> dict[str, Any]:
        """The flat JSON-lines form (``time, source, sensor, ident, lat, lon, alt_m, ...``)."""
        out: dict[str, Any] = {"time": self.time, "source": str(self.source), "sensor": self.sensor}
        if self.ident:
            out["ident"] = self.ident
        if self.callsign:
            out["callsign"] = self.callsign
        if self.position is not None:
            out["lat"] = self.position.lat
            out["lon"] = self.position.lon
            if self.position.alt_m is not None:
                out["alt_m"] = self.position.alt_m
            out["sigma_h_m"] = self.position.sigma_h_m
        if self.measurement is not None:
            m = self.measurement
            out.update(
                site_lat=m.site.lat, site_lon=m.site.lon, site_alt_m=m.site.alt_m,
                azimuth_deg=m.azimuth_deg, elevation_deg=m.elevation_deg, range_m=m.range_m,
            )
            if m.range_m is not None:  # a full polar measurement fixes a position: give it too
                from lookout.geo import LocalFrame, polar_to_enu

                e, n, u = polar_to_enu(m.range_m, m.azimuth_deg, m.elevation_deg or 0.0)
                lat, lon, alt = LocalFrame(m.site.lat, m.site.lon, m.site.alt_m or 0.0).to_geodetic(e, n, u)
                out.update(lat=lat, lon=lon, alt_m=alt)
        if self.velocity is not None:
            out.update(v_east=self.velocity.east, v_north=self.velocity.north, v_up=self.velocity.up)
        if self.cls is not None:
            out["cls"] = str(self.cls)
        if self.operator is not None:
            out.update(operator_lat=self.operator.lat, operator_lon=self.operator.lon)
            if self.operator_location_type is not None:
                out["operator_location_type"] = str(self.operator_location_type)
        out["label"] = self.label
        out["id"] = self.id
        return out


_OBS_FIELDS = frozenset(f.name for f in fields(Observation))


@dataclass(slots=True)
class TrackPoint:
    """One point of a track's history."""

    time: float
    lat: float
    lon: float
    alt_m: float | None = None
    speed_mps: float | None = None
    course_deg: float | None = None


@dataclass(slots=True)
class Track:
    """A fused object track.

    ``position`` and ``velocity`` are the latest filtered estimate; ``sigma_h_m`` summarises the
    horizontal position covariance (1-sigma, per axis). ``identities`` maps an identity kind
    (``icao24``, ``remote_id``, ``callsign``, ``mmsi``) to its value.
    """

    id: str
    time: float
    position: GeoPoint
    velocity: Velocity | None = None
    sigma_h_m: float = 0.0
    status: TrackStatus = TrackStatus.CONFIRMED
    cls: ObjectClass = ObjectClass.UNKNOWN
    identities: dict[str, str] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)  # source kinds that fed it
    sensors: list[str] = field(default_factory=list)
    label: str = DEFAULT_LABEL
    first_time: float | None = None
    updates: int = 0
    operator: GeoPoint | None = None
    attrs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_finite("time", self.time, 0.0, 1.0e10)
        self.status = TrackStatus(self.status)
        self.cls = ObjectClass(self.cls)
        if self.first_time is None:
            self.first_time = self.time

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Track:
        d = dict(d)
        d["position"] = GeoPoint(**d["position"])
        if d.get("velocity") is not None:
            d["velocity"] = Velocity(**d["velocity"])
        if d.get("operator") is not None:
            d["operator"] = GeoPoint(**d["operator"])
        return cls(**d)

    def point(self) -> TrackPoint:
        v = self.velocity
        return TrackPoint(
            time=self.time, lat=self.position.lat, lon=self.position.lon, alt_m=self.position.alt_m,
            speed_mps=v.speed if v else None, course_deg=v.course_deg if v else None,
        )


def track_name(t: Track) -> str:
    """A short human name: callsign, then transponder / Remote ID / AIS identity, agent id, then
    the track id."""
    ids = t.identities or {}
    for key in ("callsign", "icao24", "remote_id", "mmsi", "agent"):
        if ids.get(key):
            return str(ids[key])
    return t.id


@dataclass(slots=True)
class Alert:
    """An alert episode raised by a rule about one or more tracks."""

    rule: str
    severity: Severity
    message: str
    start: float
    track_ids: list[str] = field(default_factory=list)
    state: AlertState = AlertState.NEW
    updated: float | None = None
    end: float | None = None  # episode end (condition cleared), if it has
    position: GeoPoint | None = None
    operator: GeoPoint | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    label: str = DEFAULT_LABEL
    acknowledged_by: str | None = None
    acknowledged_at: float | None = None
    resolved_by: str | None = None
    resolved_at: float | None = None
    id: str = field(default_factory=lambda: new_id("a-"))

    def __post_init__(self) -> None:
        self.severity = Severity(self.severity)
        self.state = AlertState(self.state)
        _check_finite("start", self.start, 0.0, 1.0e10)
        if self.updated is None:
            self.updated = self.start

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Alert:
        d = dict(d)
        for k in ("position", "operator"):
            if d.get(k) is not None:
                d[k] = GeoPoint(**d[k])
        return cls(**d)


class ZoneKind(StrEnum):
    BORDER = "border"
    BORDER_BUFFER = "border_buffer"
    SECTOR = "sector"
    PROTECTED_SITE = "protected_site"
    NO_DRONE = "no_drone"
    CUSTOM = "custom"


@dataclass(slots=True)
class Zone:
    """A named area or line (GeoJSON geometry in WGS-84), versioned in the store.

    ``agency``: the agency that made the zone through the API (its operators may change it);
    None for zones from files, the command line or the rules' defaults."""

    id: str
    name: str
    kind: ZoneKind
    geometry: dict[str, Any]
    version: int = 1
    label: str = DEFAULT_LABEL
    properties: dict[str, Any] = field(default_factory=dict)
    agency: str | None = None

    def __post_init__(self) -> None:
        self.kind = ZoneKind(self.kind)
        gtype = self.geometry.get("type") if isinstance(self.geometry, dict) else None
        allowed = {"Point", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}
        if gtype not in allowed:
            raise ValueError(f"zone {self.id!r}: geometry type must be one of {sorted(allowed)}, got {gtype!r}")
        if not isinstance(self.geometry.get("coordinates"), list):
            raise ValueError(f"zone {self.id!r}: geometry has no coordinates list")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Zone:
        return cls(**d)


@dataclass(slots=True)
class TrackUpdates:
    """What one tracker step changed: the tracker's output and the rules' input.

    ``confirmed``: tracks confirmed in this step (also listed in ``updated``);
    ``updated``: every confirmed track whose state changed in this step;
    ``deleted``: tracks deleted in this step (their last state).
    """

    time: float
    confirmed: list[Track] = field(default_factory=list)
    updated: list[Track] = field(default_factory=list)
    deleted: list[Track] = field(default_factory=list)
