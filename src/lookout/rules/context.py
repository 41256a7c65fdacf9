"""What the rules evaluate tracks against: the sector, its zones, and where the agents are."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from lookout.model import Observation, SourceKind, Zone
from lookout.rules.zones import ZoneSet
from lookout.sector import Sector, load_sector


@dataclass(slots=True)
class AgentFix:
    """The last known position of one agent (own personnel), in WGS-84 and sector ENU."""

    id: str
    time: float
    lat: float
    lon: float
    east: float
    north: float
    v_east: float = 0.0
    v_north: float = 0.0
    alt_m: float | None = None


class RuleContext:
    """Zones (prepared, in the sector ENU frame), agent positions, the sector and the time.

    Agents come from ``blue_force`` observations (``ident`` = agent id, else the sensor id), from
    sighting reports that carry their reporter's position (``attrs`` ``reporter_id``,
    ``reporter_lat``, ``reporter_lon``, or a ``reporter`` object with ``id``/``lat``/``lon``), and
    from tracks of class ``agent``.
    """

    def __init__(self, sector: Sector | None = None, zones: Iterable[Zone] = (), time: float = 0.0) -> None:
        self.sector = sector or load_sector()
        self.frame = self.sector.frame
        self.time = time
        self._agents: dict[str, AgentFix] = {}
        self.zones = ZoneSet.build(zones, self.sector)

    # -- zones ------------------------------------------------------------------------------
    def set_zones(self, zones: Iterable[Zone]) -> None:
        """Replace the zones (e.g. after a new version was loaded into the store)."""
        self.zones = ZoneSet.build(zones, self.sector)

    # -- geography --------------------------------------------------------------------------
    def to_enu(self, lat, lon):
        e, n, _ = self.frame.to_enu(lat, lon, np.full(np.shape(lat), self.sector.ground_alt_m)
                                    if np.ndim(lat) else self.sector.ground_alt_m)
        return e, n

    def to_geodetic(self, east, north):
        lat, lon, _ = self.frame.to_geodetic(east, north, np.full(np.shape(east), self.sector.ground_alt_m)
                                             if np.ndim(east) else self.sector.ground_alt_m)
        return lat, lon

    def border_offset(self, east: np.ndarray, north: np.ndarray) -> np.ndarray:
        """Signed north offset (m) of ENU points from the border line, vectorised
        (the array form of :meth:`lookout.sector.Sector.border_north_offset`)."""
        return self.sector.border_north_offset(np.asarray(east, float), np.asarray(north, float))

    def side(self, offset: float) -> str:
        return self.sector.north_country if offset > 0 else self.sector.south_country

    # -- agents -----------------------------------------------------------------------------
    def update_agent(self, agent_id: str, time: float, lat: float, lon: float,
                     v_east: float = 0.0, v_north: float = 0.0, alt_m: float | None = None) -> None:
        old = self._agents.get(agent_id)
        if old is not None and old.time > time:
            return  # out of order: keep the newer fix
        e, n = self.to_enu(lat, lon)
        self._agents[agent_id] = AgentFix(agent_id, time, lat, lon, float(e), float(n), v_east, v_north, alt_m)

    def update_agents(self, observations: Iterable[Observation]) -> int:
        """Take agent positions from observations; returns how many fixes were taken."""
        n = 0
        for o in observations:
            fix = agent_fix(o)
            if fix is not None:
                self.update_agent(*fix)
                n += 1
        return n

    def agents(self, now: float | None = None, max_age_s: float = math.inf) -> list[AgentFix]:
        now = self.time if now is None else now
        return [a for a in self._agents.values() if now - a.time <= max_age_s]

    def agent_arrays(self, now: float, max_age_s: float):
        """(ids, east, north, alt_m (NaN when unknown), v_east, v_north) of the agents seen within
        ``max_age_s``."""
        fixes = self.agents(now, max_age_s)
        if not fixes:
            z = np.empty(0)
            return [], z, z, z, z, z
        arr = np.array([(a.east, a.north, np.nan if a.alt_m is None else a.alt_m, a.v_east, a.v_north)
                        for a in fixes], dtype=float)
        return [a.id for a in fixes], arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4]


def agent_fix(o: Observation) -> tuple | None:
    """The agent position an observation carries, as the arguments of
    :meth:`RuleContext.update_agent` -- a blue-force fix, or a field report's reporter position
    -- or None."""
    if o.source == SourceKind.BLUE_FORCE and o.position is not None:
        v = o.velocity
        return (o.ident or o.sensor, o.time, o.position.lat, o.position.lon,
                v.east if v else 0.0, v.north if v else 0.0, o.position.alt_m)
    if o.source == SourceKind.REPORT and o.attrs:
        rep = o.attrs.get("reporter") if isinstance(o.attrs.get("reporter"), dict) else {}
        rid = rep.get("id", o.attrs.get("reporter_id"))
        lat = rep.get("lat", o.attrs.get("reporter_lat"))
        lon = rep.get("lon", o.attrs.get("reporter_lon"))
        if rid is not None and _finite(lat) and _finite(lon):
            return (str(rid), o.time, float(lat), float(lon))
    return None


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
