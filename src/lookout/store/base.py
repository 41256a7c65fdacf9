"""The store interface: one shape for the embedded SQLite store and the PostgreSQL store.

Every implementation passes the same test-suite (``tests/store``). Writes are idempotent by
record id: writing an observation, track point or alert again never duplicates it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass

from lookout.model import Alert, AlertState, Observation, SourceKind, Track, TrackPoint, Zone


@dataclass(frozen=True, slots=True)
class BBox:
    """A WGS-84 bounding box (degrees)."""

    min_lat: float
    min_lon: float
    max_lat: float
    max_lon: float

    def __post_init__(self) -> None:
        if not (-90 <= self.min_lat <= self.max_lat <= 90 and -180 <= self.min_lon <= self.max_lon <= 180):
            raise ValueError(f"invalid bounding box {self}")

    def contains(self, lat: float, lon: float) -> bool:
        return self.min_lat <= lat <= self.max_lat and self.min_lon <= lon <= self.max_lon


class Store(ABC):
    """Persistent records of a Lookout deployment."""

    # -- observations --------------------------------------------------------------------
    @abstractmethod
    def write_observations(self, observations: Iterable[Observation]) -> int:
        """Store observations (idempotent by ``Observation.id``); returns how many were new."""

    @abstractmethod
    def observations(
        self, start: float | None = None, end: float | None = None, bbox: BBox | None = None,
        source: SourceKind | str | None = None, sensor: str | None = None, limit: int | None = None,
    ) -> list[Observation]:
        """Observations in ``[start, end]`` (and in ``bbox``: geodetic ones by position,
        sensor-relative ones by sensor site), ordered by time."""

    @abstractmethod
    def count_observations(self, by: str = "source") -> dict[str, int]:
        """Observation counts grouped by ``source`` or ``sensor``."""

    # -- tracks --------------------------------------------------------------------------
    @abstractmethod
    def write_tracks(self, tracks: Iterable[Track]) -> None:
        """Upsert the tracks' latest state and append each one's current point to its history
        (idempotent per track id and time)."""

    @abstractmethod
    def track(self, track_id: str) -> Track | None: ...

    @abstractmethod
    def tracks(
        self, start: float | None = None, end: float | None = None, bbox: BBox | None = None,
        status: str | None = None, limit: int | None = None,
    ) -> list[Track]:
        """Tracks whose last update lies in ``[start, end]`` and last position in ``bbox``."""

    @abstractmethod
    def track_history(self, track_id: str, start: float | None = None,
                      end: float | None = None) -> list[TrackPoint]: ...

    @abstractmethod
    def track_points(
        self, start: float | None = None, end: float | None = None, bbox: BBox | None = None,
    ) -> list[tuple[str, TrackPoint]]:
        """All (track id, point) pairs in the window and area, ordered by time: for replay."""

    # -- alerts --------------------------------------------------------------------------
    @abstractmethod
    def write_alerts(self, alerts: Iterable[Alert]) -> None:
        """Upsert alerts by id (an episode's updates replace its earlier state)."""

    @abstractmethod
    def alert(self, alert_id: str) -> Alert | None: ...

    @abstractmethod
    def alerts(
        self, start: float | None = None, end: float | None = None, state: AlertState | str | None = None,
        rule: str | None = None, bbox: BBox | None = None, limit: int | None = None,
    ) -> list[Alert]:
        """Alerts whose episode overlaps ``[start, end]``, newest first."""

    # -- zones (versioned) ----------------------------------------------------------------
    @abstractmethod
    def put_zone(self, zone: Zone) -> Zone:
        """Store a zone; an existing id gets a new version (returned with its version set)."""

    @abstractmethod
    def zone(self, zone_id: str, version: int | None = None) -> Zone | None: ...

    @abstractmethod
    def zones(self, kind: str | None = None) -> list[Zone]:
        """The latest version of every zone not deleted."""

    @abstractmethod
    def delete_zone(self, zone_id: str) -> bool: ...

    # -- metadata ------------------------------------------------------------------------
    @abstractmethod
    def schema_version(self) -> int: ...

    @abstractmethod
    def set_meta(self, key: str, value: str) -> None: ...

    @abstractmethod
    def get_meta(self, key: str) -> str | None: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
