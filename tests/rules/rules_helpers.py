"""Scripted ground truth for the rules tests: tracks moving along known ENU paths."""

from __future__ import annotations

from collections.abc import Callable

from lookout.model import GeoPoint, GeoPosition, Observation, SourceKind, Track, TrackUpdates, Velocity
from lookout.rules import RuleContext, RuleEngine, border_zones, load_rules, parse_rules, sector_site_zones
from lookout.sector import load_sector

T0 = 1_700_000_000.0
SECTOR = load_sector()


class World:
    """Drive an engine with tracks whose ENU position is a function of time."""

    def __init__(self, engine: RuleEngine, dt: float = 0.5) -> None:
        self.engine, self.dt = engine, dt
        self.frame = engine.context.sector.frame
        self.alt = engine.context.sector.ground_alt_m
        self.events = []

    def track(self, tid: str, t: float, e: float, n: float, ve: float = 0.0, vn: float = 0.0, h: float = 100.0,
              **kw) -> Track:
        """A track at ENU (e, n), ``h`` metres above the sector's ground height."""
        lat, lon, _ = self.frame.to_geodetic(e, n, self.alt + h)
        kw.setdefault("sigma_h_m", 5.0)
        return Track(id=tid, time=t, position=GeoPoint(lat, lon, self.alt + h), velocity=Velocity(ve, vn), **kw)

    def geo(self, e: float, n: float) -> tuple[float, float]:
        lat, lon, _ = self.frame.to_geodetic(e, n, self.alt)
        return float(lat), float(lon)

    def agent(self, agent_id: str, t: float, e: float, n: float, with_height: bool = False) -> None:
        lat, lon = self.geo(e, n)
        self.engine.observe([Observation(time=t, source=SourceKind.BLUE_FORCE, sensor="bft", ident=agent_id,
                                         position=GeoPosition(lat, lon, self.alt if with_height else None,
                                                              sigma_h_m=5.0))])

    def run(self, duration: float, paths: dict[str, Callable[[float], dict | None]], start: float = T0):
        """``paths[tid](t_rel)`` -> dict(e, n, ve, vn, + Track kwargs) or None (not updated)."""
        steps = int(round(duration / self.dt))
        alive: set[str] = set()
        for k in range(steps + 1):
            t = start + k * self.dt
            updated, deleted = [], []
            for tid, fn in paths.items():
                st = fn(k * self.dt)
                if st == "deleted":
                    if tid in alive:
                        alive.discard(tid)
                        deleted.append(self.track(tid, t, 0.0, 0.0))
                    continue
                if st is None:
                    continue
                st = dict(st)
                updated.append(self.track(tid, t, st.pop("e"), st.pop("n"), st.pop("ve", 0.0), st.pop("vn", 0.0),
                                          st.pop("h", 100.0), **st))
                alive.add(tid)
            self.events += self.engine.evaluate(TrackUpdates(time=t, updated=updated, deleted=deleted))
        return self.events

    def new(self, rule: str | None = None):
        return [e.alert for e in self.events if e.kind == "new" and (rule is None or e.alert.rule == rule)]

    def ended(self, rule: str | None = None):
        return [e.alert for e in self.events if e.kind == "end" and (rule is None or e.alert.rule == rule)]


def straight(e0: float, n0: float, ve: float, vn: float, **kw) -> Callable[[float], dict]:
    return lambda t: dict(e=e0 + ve * t, n=n0 + vn * t, ve=ve, vn=vn, **kw)


def make_engine(zones=None, rules_text: str | None = None) -> RuleEngine:
    cfg = load_rules() if rules_text is None else parse_rules(rules_text)
    if zones is None:
        zones = border_zones(SECTOR, cfg.border.buffer_m) + sector_site_zones(SECTOR, cfg.sites.radius_m)
    return RuleEngine(cfg, RuleContext(SECTOR, zones))


def border_north(e: float) -> float:
    """The border's north coordinate at easting ``e`` (ENU metres)."""
    return -SECTOR.border_north_offset(e, 0.0)
