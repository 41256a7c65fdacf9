"""The scenario: ground truth, sensors, agents and events built from a seed; observations on demand."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from lookout.model import GeoPoint, Observation, SourceKind
from lookout.sector import Sector, load_sector
from lookout.sim import sensors as sm
from lookout.sim.content import PlannedObject, build_content
from lookout.sim.events import compute_events
from lookout.sim.records import Agent, ScenarioConfig, ScriptedEvent, SensorSpec, SimStep, TruthObject
from lookout.sim.table import ObsTable, build_observations


def _rng(seed: int, name: str) -> np.random.Generator:
    """An independent generator per named stream, fixed by the seed."""
    return np.random.default_rng([int(seed), zlib.crc32(name.encode())])


class Scenario:
    """A deterministic border-sector scenario.

    Construction builds the ground truth, sensors, agents and scripted events from
    ``config.seed``; the sensors' observations are generated on first use (:meth:`steps`,
    :meth:`observations`) and are identical for the same seed, ids included.
    """

    def __init__(self, config: ScenarioConfig | None = None) -> None:
        self.config = cfg = config or ScenarioConfig()
        sec = cfg.sector
        if sec is None:
            self.sector: Sector = load_sector()
        elif isinstance(sec, (str, Path)):
            self.sector = load_sector(sec)
        elif isinstance(sec, Sector):
            self.sector = sec
        else:
            raise ValueError(f"sector must be a Sector, a path to a sector GeoJSON or None, got {type(sec).__name__}")
        frame = self.sector.frame
        content = build_content(cfg, self.sector, _rng(cfg.seed, "content"))
        self.sensors: list[SensorSpec] = content.sensors
        self.agents: list[Agent] = []
        self._shares_mx: list[bool] = []
        for aid, name, e, n, mx in content.agents:
            lat, lon, _ = frame.to_geodetic(e, n, 0.0)
            self.agents.append(Agent(aid, name, GeoPoint(float(lat), float(lon), self.sector.ground_alt_m + 1.5)))
            self._shares_mx.append(mx)
        self.truth: list[TruthObject] = []
        orbits: dict[str, dict] = {}
        for po in content.objects:
            obj = self._to_truth(po)
            if obj is None:
                continue
            self.truth.append(obj)
            if po.orbit is not None:
                orbits[po.id] = dict(po.orbit, start=po.plan.marks["orbit_start"], end=po.plan.marks["orbit_end"])
        self.events: list[ScriptedEvent] = compute_events(self.sector, self.truth, self.agents, orbits)
        self._table: ObsTable | None = None
        self._ids: np.ndarray | None = None

    # -- ground truth -------------------------------------------------------------------------
    def _to_truth(self, po: PlannedObject) -> TruthObject | None:
        """Plan samples (east, north, height above ground) -> sector-frame ENU, clipped to the run."""
        frame, g = self.sector.frame, self.sector.ground_alt_m
        t, xyh = po.plan.samples()
        if len(t) < 2:
            return None
        lat, lon, _ = frame.to_geodetic(xyh[:, 0], xyh[:, 1], xyh[:, 2])
        e, n, u = frame.to_enu(lat, lon, g + xyh[:, 2])
        enu = np.column_stack([e, n, u])
        vel = np.gradient(enu, t, axis=0)
        keep = (t >= self.config.start_time) & (t <= self.config.end_time)
        if keep.sum() < 2:
            return None
        operator = None
        if po.operator_enu is not None:
            olat, olon, _ = frame.to_geodetic(po.operator_enu[0], po.operator_enu[1], 0.0)
            operator = GeoPoint(float(olat), float(olon), g)
        return TruthObject(id=po.id, cls=po.cls, ident=po.ident, callsign=po.callsign,
                           broadcasts_remote_id=po.broadcasts_remote_id, spoofs_remote_id=po.spoofs_remote_id,
                           label=po.label, times=t[keep], enu=enu[keep], vel=vel[keep], operator=operator,
                           attrs=dict(po.attrs), frame=frame)

    def truth_object(self, object_id: str) -> TruthObject:
        for o in self.truth:
            if o.id == object_id:
                return o
        raise KeyError(object_id)

    def sensor(self, sensor_id: str) -> SensorSpec:
        for s in self.sensors:
            if s.id == sensor_id:
                return s
        raise KeyError(sensor_id)

    # -- observations -------------------------------------------------------------------------
    def _generate(self) -> None:
        cfg, frame = self.config, self.sector.frame
        t0, t1 = cfg.start_time, cfg.end_time
        tabs: list[ObsTable] = []
        rid: list[tuple[int, SensorSpec]] = []
        for si, spec in enumerate(self.sensors):
            rng = _rng(cfg.seed, "sensor:" + spec.id)
            if spec.kind == SourceKind.ADSB:
                tabs.append(sm.simulate_adsb(spec, si, self.truth, frame, rng))
            elif spec.kind == SourceKind.REMOTE_ID:
                rid.append((si, spec))
            elif spec.kind == SourceKind.RADAR:
                tabs.append(sm.simulate_radar(spec, si, self.truth, frame, rng, t0, t1))
            elif spec.kind == SourceKind.CAMERA:
                tabs.append(sm.simulate_camera(spec, si, self.truth, frame, rng, t0, t1))
            elif spec.kind == SourceKind.BLUE_FORCE:
                tabs.append(sm.simulate_blue_force(spec, si, self.agents, frame, rng, t0, t1))
            elif spec.kind == SourceKind.REPORT:
                tabs.append(sm.simulate_reports(spec, si, self.agents, self._shares_mx, self.truth, frame, rng,
                                                t0, t1))
        if rid:
            tabs += sm.simulate_remote_id(rid, self.truth, frame, _rng(cfg.seed, "remote_id"))
        tab = ObsTable.concat(tabs)
        t = tab["t"]
        keep = (t >= t0) & (t < t1)
        tab = tab.take(np.nonzero(keep)[0])
        order = np.lexsort((tab["sensor"], tab["t"]))  # by time, then sensor; stable within
        tab = tab.take(order)
        counters = np.zeros(len(tab), dtype=np.int64)
        for si in np.unique(tab["sensor"]):
            m = tab["sensor"] == si
            counters[m] = np.arange(int(m.sum()))
        names = np.array([s.id for s in self.sensors], dtype=object)
        self._ids = np.array([f"{s}-{c}" for s, c in zip(names[tab["sensor"]], counters.tolist())], dtype=object)
        self._table = tab
        self._sites = [(s.site.lat, s.site.lon, s.site.alt_m) for s in self.sensors]

    @property
    def table(self) -> ObsTable:
        """Every observation of the run as time-sorted columns (generated on first use)."""
        if self._table is None:
            self._generate()
        return self._table

    def _build(self, lo: int, hi: int) -> list[Observation]:
        return build_observations(self.table, lo, hi, sensors=self.sensors, sites=self._sites, ids=self._ids)

    def steps(self, dt: float = 1.0) -> Iterator[SimStep]:
        """The run in steps of ``dt`` seconds: observations in ``[time, time + dt)`` and the truth
        of every object active at ``time``."""
        if not (dt > 0 and np.isfinite(dt)):
            raise ValueError(f"dt must be a positive number of seconds, got {dt!r}")
        tab = self.table
        t = tab["t"]
        t0, t1 = self.config.start_time, self.config.end_time
        n_steps = int(np.ceil((t1 - t0) / dt))
        edges = t0 + dt * np.arange(n_steps + 1)
        cuts = np.searchsorted(t, edges, side="left")
        # truth at every step time, sampled per object over the steps it is active in
        states: list[list[tuple[str, np.ndarray, np.ndarray]]] = [[] for _ in range(n_steps)]
        for o in self.truth:
            ks = np.nonzero((edges[:-1] >= o.times[0]) & (edges[:-1] <= o.times[-1]))[0]
            if ks.size:
                pos, vel, _ = o.sample(edges[ks])
                for j, k in enumerate(ks.tolist()):
                    states[k].append((o.id, pos[j], vel[j]))
        for k in range(n_steps):
            yield SimStep(float(edges[k]), self._build(int(cuts[k]), int(cuts[k + 1])), states[k])

    def observations(self) -> Iterator[Observation]:
        """Every observation of the run, in time order."""
        n = len(self.table)
        for lo in range(0, n, 5000):
            yield from self._build(lo, min(n, lo + 5000))

    def truth_of(self, obs: Observation | str) -> str | None:
        """The id of the true object behind an observation (None for clutter and false alarms)."""
        oid = obs if isinstance(obs, str) else obs.id
        if getattr(self, "_row_of", None) is None:
            _ = self.table
            self._row_of = {k: i for i, k in enumerate(self._ids.tolist())}
        i = self._row_of.get(oid)
        if i is None:
            raise KeyError(f"no observation {oid!r} in this scenario")
        ti = int(self.table["truth"][i])
        return self.truth[ti].id if ti >= 0 else None
