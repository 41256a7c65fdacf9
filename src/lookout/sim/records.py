"""The simulator's records: configuration, sensors, agents, ground truth, scripted events, steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lookout.geo import LocalFrame
from lookout.model import GeoPoint, ObjectClass, Observation, SourceKind


@dataclass
class ScenarioConfig:
    """What to simulate. Everything else follows deterministically from ``seed``.

    ``sector``: a :class:`lookout.sector.Sector`, a path to a sector GeoJSON, or None for the
    packaged default (Nogales). The rates are per hour of simulated time.
    """

    seed: int = 7
    duration_s: float = 3600.0
    start_time: float = 1793628000.0  # 2026-11-02 14:00 UTC (07:00 local, Arizona)
    sector: Any = None
    radar_clutter_per_scan: float = 10.0
    radar_outage_s: float = 60.0  # one outage of this length (0: none)
    airliners_per_h: float = 4.0
    general_aviation_per_h: float = 2.0
    drones_per_h: float = 3.0  # unscripted drone crossings, on top of the scripted ones
    vehicles_per_h: float = 10.0  # on the main road
    track_vehicles_per_h: float = 2.0  # on dirt tracks
    foot_groups_per_h: float = 2.0  # unscripted groups on foot, on top of the scripted one

    def __post_init__(self) -> None:
        if not isinstance(self.seed, (int, np.integer)) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        for name in ("duration_s", "start_time"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not np.isfinite(v) or v <= 0:
                raise ValueError(f"{name} must be a positive finite number, got {v!r}")
        for name in ("radar_clutter_per_scan", "radar_outage_s", "airliners_per_h", "general_aviation_per_h",
                     "drones_per_h", "vehicles_per_h", "track_vehicles_per_h", "foot_groups_per_h"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")

    @property
    def end_time(self) -> float:
        return self.start_time + self.duration_s


@dataclass
class SensorSpec:
    """One simulated sensor: where it is, what it reports and how well.

    ``period_s``: its update period (radar scan, camera frame, ADS-B/Remote ID message interval,
    mean interval of agent reports). ``max_range_m``: its coverage radius from ``site``.
    ``params``: the model's parameters (noise sigmas, detection model, clutter, outages...),
    listed in ``docs/sim.md``.
    """

    id: str
    kind: SourceKind
    site: GeoPoint
    label: str
    period_s: float
    max_range_m: float
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Agent:
    """Own personnel at a known post (blue force)."""

    id: str
    name: str
    position: GeoPoint


@dataclass
class TruthObject:
    """Ground truth of one simulated object, sampled on a fine time grid.

    ``enu``/``vel``: positions (m) and velocities (m/s) in the scenario sector's local frame at
    ``times``; in between, positions and velocities are interpolated linearly.
    ``ident``: ICAO24 (aircraft) or Remote ID serial (drones), None for objects without identity.
    ``operator``: Remote ID operator (take-off) position for drones that broadcast one.
    ``attrs``: extra facts (``rcs_m2``, ``count`` of a group on foot, ``rid_offset_enu`` of a
    spoofing drone, ``role``...).
    """

    id: str
    cls: ObjectClass
    ident: str | None
    callsign: str | None
    broadcasts_remote_id: bool
    spoofs_remote_id: bool
    label: str
    times: np.ndarray
    enu: np.ndarray
    vel: np.ndarray
    operator: GeoPoint | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    frame: LocalFrame | None = field(default=None, repr=False, compare=False)

    @property
    def start(self) -> float:
        return float(self.times[0])

    @property
    def end(self) -> float:
        return float(self.times[-1])

    def active(self, t: float) -> bool:
        return bool(self.times[0] <= t <= self.times[-1])

    def sample(self, t) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Positions (M,3), velocities (M,3) and an "active" mask (M,) at times ``t`` (M,).

        Rows where the object is not active hold the nearest end state."""
        t = np.asarray(t, dtype=float)
        pos = np.empty((t.size, 3))
        vel = np.empty((t.size, 3))
        for k in range(3):
            pos[:, k] = np.interp(t, self.times, self.enu[:, k])
            vel[:, k] = np.interp(t, self.times, self.vel[:, k])
        return pos, vel, (t >= self.times[0]) & (t <= self.times[-1])

    def state_at(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Position (3,) and velocity (3,) in the sector frame at ``t`` (interpolated)."""
        if not self.active(t):
            raise ValueError(f"{self.id} is not active at t={t} (active {self.start}..{self.end})")
        pos, vel, _ = self.sample([t])
        return pos[0], vel[0]

    def geodetic_at(self, t: float) -> GeoPoint:
        if self.frame is None:
            raise ValueError(f"{self.id} has no frame to convert its position with")
        p, _ = self.state_at(t)
        lat, lon, alt = self.frame.to_geodetic(p[0], p[1], p[2])
        return GeoPoint(lat, lon, alt)


@dataclass
class ScriptedEvent:
    """Something that happens in the scenario, computed from the ground truth.

    Kinds: ``border_crossing``, ``approach_agents``, ``remote_id_spoof``, ``surveillance_orbit``,
    ``dark_drone`` (their ``details`` are listed in ``docs/sim.md``).
    """

    kind: str
    object_id: str
    time: float
    position: GeoPoint
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class SimStep:
    """One step of the scenario: the observations in ``[time, time + dt)`` (time-ordered) and the
    ground truth ``(object id, enu (3,), vel (3,))`` of every object active at ``time``."""

    time: float
    observations: list[Observation]
    truth: list[tuple[str, np.ndarray, np.ndarray]]
