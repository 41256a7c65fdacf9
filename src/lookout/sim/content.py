"""The default border-sector scenario: who moves where, which sensors watch, where agents stand.

Positions are laid out relative to the sector's local frame and its border line, so the same
script fits any sector file with a border crossing it west to east (the default is Nogales).
All randomness comes from the generator handed in, so a seed fixes everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from shapely.geometry import LineString, Point

from lookout.model import GeoPoint, ObjectClass, SourceKind
from lookout.sector import Sector
from lookout.sim.motion import Plan, _arc_length, racetrack
from lookout.sim.records import ScenarioConfig, SensorSpec

_SERIAL_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # ANSI/CTA-2063-A: no I, no O
_AIRLINES_US = ("AAL", "UAL", "SWA", "DAL", "ASA")
_AIRLINES_MX = ("AMX", "VOI", "VIV")


@dataclass
class PlannedObject:
    """One object's script before conversion to ground truth."""

    id: str
    cls: ObjectClass
    plan: Plan
    ident: str | None = None
    callsign: str | None = None
    broadcasts_remote_id: bool = False
    spoofs_remote_id: bool = False
    label: str = "US-ONLY"
    operator_enu: tuple[float, float] | None = None  # take-off point (east, north), height 0
    attrs: dict = field(default_factory=dict)
    orbit: dict | None = None  # racetrack parameters and times, for surveillance aircraft


@dataclass
class Content:
    agents: list[tuple[str, str, float, float, bool]]  # id, name, east, north, shares reports with MX
    sensors: list[SensorSpec]
    objects: list[PlannedObject]


class _Builder:
    def __init__(self, cfg: ScenarioConfig, sector: Sector, rng: np.random.Generator) -> None:
        self.cfg, self.sector, self.rng = cfg, sector, rng
        self.frame = sector.frame
        self.t0, self.t1 = cfg.start_time, cfg.end_time
        xs, ys = (np.asarray(a) for a in sector.border_enu.xy)
        order = np.argsort(xs)
        self._bx, self._by = xs[order], ys[order]
        self.objects: list[PlannedObject] = []
        self._used_idents: set[str] = set()

    # -- helpers ----------------------------------------------------------------------------
    def border_n(self, east):
        """North coordinate (m) of the border line at ``east`` (same rule as Sector.border_north_offset)."""
        return np.interp(east, self._bx, self._by)

    def geo(self, east: float, north: float, height: float = 0.0) -> GeoPoint:
        lat, lon, _ = self.frame.to_geodetic(east, north, 0.0)
        return GeoPoint(float(lat), float(lon), float(self.sector.ground_alt_m + height))

    def arrivals(self, rate_per_h: float, lo: float, hi: float) -> np.ndarray:
        """Poisson arrival times in [lo, hi)."""
        if hi <= lo:
            return np.zeros(0)
        n = self.rng.poisson(rate_per_h * (hi - lo) / 3600.0)
        return np.sort(self.rng.uniform(lo, hi, n))

    def _unique(self, make) -> str:
        for _ in range(1000):
            v = make()
            if v not in self._used_idents:
                self._used_idents.add(v)
                return v
        raise RuntimeError("could not draw a unique identity")

    def icao24(self, country: str = "US") -> str:
        lo, hi = (0xA00000, 0xADF7C8) if country == "US" else (0x0D0000, 0x0D8000)
        return self._unique(lambda: f"{int(self.rng.integers(lo, hi)):06x}")

    def rid_serial(self) -> str:
        def make():
            mfr = str(self.rng.choice(["1581", "1596", "1748"]))
            n = 11
            body = "".join(self.rng.choice(list(_SERIAL_CHARS), n))
            return f"{mfr}{'0123456789ABCDEF'[n]}{body}"
        return self._unique(make)

    def airline_callsign(self, country: str) -> str:
        codes = _AIRLINES_US if country == "US" else _AIRLINES_MX
        return self._unique(lambda: f"{self.rng.choice(codes)}{int(self.rng.integers(100, 2999))}")

    def tail_number(self) -> str:
        letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
        return self._unique(lambda: f"N{int(self.rng.integers(100, 999))}"
                                    f"{letters[self.rng.integers(len(letters))]}{letters[self.rng.integers(len(letters))]}")

    # -- agents and sensors -----------------------------------------------------------------
    def agents(self) -> list[tuple[str, str, float, float, bool]]:
        posts = [("agent-1", "Post Alpha", -3000.0, 350.0, True),
                 ("agent-2", "Post Bravo", 1500.0, 600.0, False),
                 ("agent-3", "Post Charlie", 5500.0, 450.0, True),
                 ("agent-4", "Post Delta", -9500.0, 600.0, False),
                 ("agent-5", "Post Echo", 11000.0, 500.0, True)]
        return [(i, n, e, float(self.border_n(e)) + off, mx) for i, n, e, off, mx in posts]

    def sensors(self) -> list[SensorSpec]:
        bn = self.border_n
        t0, dur = self.t0, self.cfg.duration_s
        out: list[SensorSpec] = []
        # ADS-B receiver at Nogales International Airport (about 14 km NE of the origin)
        site = self.geo(9650.0, 9700.0, 10.0)
        out.append(SensorSpec("adsb-nogales", SourceKind.ADSB, site, "PUBLIC", 1.0, 250_000.0, dict(
            interval_s=(0.6, 1.4), drop_prob=0.05, sigma_h_m=(10.0, 30.0), sigma_alt_m=7.5, sigma_vel_mps=0.3)))
        # Remote ID receivers close to the border
        for i, (e, off) in enumerate([(-1500.0, 400.0), (4000.0, 500.0)], start=1):
            out.append(SensorSpec(f"rid-{i}", SourceKind.REMOTE_ID, self.geo(e, float(bn(e)) + off, 6.0),
                                  "PUBLIC", 1.0, 4000.0, dict(pd=0.9, sigma_h_m=3.0, sigma_alt_m=3.0,
                                                              sigma_vel_mps=0.2)))
        # ground surveillance radar on high ground on the U.S. side
        outage_len = self.cfg.radar_outage_s
        outages = []
        if outage_len > 0 and dur > 3 * outage_len:
            a = t0 + dur * float(self.rng.uniform(0.35, 0.55))
            outages.append((a, a + outage_len))
        out.append(SensorSpec("radar-hill", SourceKind.RADAR, self.geo(-500.0, float(bn(-500.0)) + 3500.0, 140.0),
                              "US-ONLY", 2.0,
                              20_000.0, dict(
                                  sigma_range_m=10.0, sigma_az_deg=0.3, sigma_el_deg=0.5, sigma_vr_mps=0.5,
                                  min_range_m=150.0, el_min_deg=-10.0, el_max_deg=45.0, pd_max=0.95,
                                  r50_1m2_m=16_000.0, pd_slope=6.0, clutter_per_scan=self.cfg.radar_clutter_per_scan,
                                  clutter_sigma_vr_mps=1.0, outages=outages,
                                  scan_phase_s=float(self.rng.uniform(0, 2.0)))))
        # EO/IR camera on a mast facing the border
        cam_e = 2000.0
        out.append(SensorSpec("eoir-mast-1", SourceKind.CAMERA, self.geo(cam_e, float(bn(cam_e)) + 1200.0, 15.0),
                              "US-ONLY", 0.5, 6000.0, dict(
                                  sigma_az_deg=0.1, sigma_el_deg=0.1, az_min_deg=95.0, az_max_deg=265.0,
                                  el_min_deg=-15.0, el_max_deg=60.0,
                                  pd={"uas": 0.85, "person": 0.9, "ground_vehicle": 0.95, "air": 0.9},
                                  false_alarms_per_frame=0.01)))
        # agents' reports and blue-force positions (sites: the sector origin)
        origin = self.geo(0.0, 0.0, 0.0)
        out.append(SensorSpec("agent-reports", SourceKind.REPORT, origin, "US-ONLY", 300.0, 3000.0, dict(
            mean_interval_s=300.0, sigma_h_m=(100.0, 300.0), see_range_m=3000.0,
            labels={"shared": "REL-MX", "own": "US-ONLY"})))
        out.append(SensorSpec("blue-force", SourceKind.BLUE_FORCE, origin, "US-ONLY", 30.0, 100_000.0,
                              dict(sigma_h_m=4.0, jitter_s=2.0)))
        return out

    # -- objects ----------------------------------------------------------------------------
    def add(self, obj: PlannedObject) -> None:
        self.objects.append(obj)

    def airliners(self) -> None:
        for i, tp in enumerate(self.arrivals(self.cfg.airliners_per_h, self.t0 - 200.0, self.t1)):
            rng = self.rng
            country = "US" if rng.random() < 0.6 else "MX"
            v = float(rng.uniform(200.0, 250.0))
            alt = float(rng.uniform(9000.0, 12000.0)) - self.sector.ground_alt_m
            hdg = float(rng.choice([0.0, 180.0]) + rng.normal(0.0, 25.0)) if rng.random() < 0.7 \
                else float(rng.uniform(0.0, 360.0))
            u = np.array([np.sin(np.radians(hdg)), np.cos(np.radians(hdg))])
            p = rng.uniform(-18000.0, 18000.0, 2)
            half = 40_000.0
            a, b = p - u * half, p + u * half
            plan = Plan(tp - half / v, a[0], a[1], alt).move([b], v, from_rest=False, to_rest=False,
                                                             ramp_s=0.0, smooth=0)
            self.add(PlannedObject(f"air-{i + 1}", ObjectClass.FIXED_WING, plan, self.icao24(country),
                                   self.airline_callsign(country), label="PUBLIC",
                                   attrs=dict(role="airliner", rcs_m2=float(rng.uniform(40, 100)), category="A3")))

    def general_aviation(self) -> None:
        for i, tp in enumerate(self.arrivals(self.cfg.general_aviation_per_h, self.t0 - 600.0, self.t1)):
            rng = self.rng
            v1, v2 = rng.uniform(50.0, 70.0, 2)
            alt = float(rng.uniform(1000.0, 3000.0))
            hdg = float(rng.uniform(0.0, 360.0))
            u = np.array([np.sin(np.radians(hdg)), np.cos(np.radians(hdg))])
            p = rng.uniform(-15000.0, 15000.0, 2)
            turn = float(rng.uniform(-60.0, 60.0))
            u2 = np.array([np.sin(np.radians(hdg + turn)), np.cos(np.radians(hdg + turn))])
            a, b = p - u * 25_000.0, p + u2 * 25_000.0
            plan = Plan(tp - 25_000.0 / v1, a[0], a[1], alt).move([p, b], [v1, v2], from_rest=False,
                                                                  to_rest=False, ramp_s=10.0, smooth=4)
            self.add(PlannedObject(f"ga-{i + 1}", ObjectClass.FIXED_WING, plan, self.icao24("US"),
                                   self.tail_number(), label="PUBLIC",
                                   attrs=dict(role="general_aviation", rcs_m2=float(rng.uniform(2, 5)),
                                              category="A1")))

    def surveillance(self) -> None:
        rng, dur = self.rng, self.cfg.duration_s
        # 1: orbits over the U.S. side for 4.5 h, already on station when the scenario starts
        c1 = np.array([-2000.0, 6000.0]) + rng.uniform(-1000, 1000, 2)
        v1 = float(rng.uniform(68.0, 72.0))
        h1 = float(rng.uniform(4300.0, 5300.0)) - self.sector.ground_alt_m
        orbit_s = 4.5 * 3600.0
        lap = racetrack(c1, 90.0, 12_000.0, 1500.0)
        plan = Plan(self.t0 - 300.0, lap[0, 0], lap[0, 1], h1).orbit(c1, 90.0, 12_000.0, 1500.0, v1, orbit_s)
        plan.move([plan.pos[:2] + np.array([30_000.0, 40_000.0])], v1, from_rest=False, to_rest=False,
                  ramp_s=0.0, smooth=0)
        self.add(PlannedObject("surv-1", ObjectClass.SURVEILLANCE_AIRCRAFT, plan, self.icao24("US"), "OMAHA51",
                               label="PUBLIC", attrs=dict(role="surveillance", rcs_m2=15.0, category="A2"),
                               orbit=dict(center=c1, heading_deg=90.0, length_m=12_000.0, radius_m=1500.0,
                                          height_m=h1)))
        # 2: arrives from the west, orbits further east for a while, then leaves north-east
        c2 = np.array([8000.0, 6500.0]) + rng.uniform(-1000, 1000, 2)
        v2 = float(rng.uniform(72.0, 78.0))
        h2 = float(rng.uniform(3800.0, 4600.0)) - self.sector.ground_alt_m
        hdg2 = 45.0
        lap2 = racetrack(c2, hdg2, 8000.0, 2000.0)
        u = np.array([np.sin(np.radians(hdg2)), np.cos(np.radians(hdg2))])
        approach = lap2[0] - u * 40_000.0
        t_arrive = self.t0 + 0.15 * dur
        plan2 = Plan(t_arrive - 40_000.0 / v2, approach[0], approach[1], h2).move(
            [lap2[0]], v2, from_rest=False, to_rest=False, ramp_s=0.0, smooth=0)
        plan2.orbit(c2, hdg2, 8000.0, 2000.0, v2, 0.55 * dur)
        plan2.move([plan2.pos[:2] + u * 40_000.0], v2, from_rest=False, to_rest=False, ramp_s=0.0, smooth=0)
        self.add(PlannedObject("surv-2", ObjectClass.SURVEILLANCE_AIRCRAFT, plan2, self.icao24("US"), "OMAHA63",
                               label="PUBLIC", attrs=dict(role="surveillance", rcs_m2=12.0, category="A2"),
                               orbit=dict(center=c2, heading_deg=hdg2, length_m=8000.0, radius_m=2000.0,
                                          height_m=h2)))

    def drone(self, oid: str, t_launch: float, launch: np.ndarray, target: np.ndarray, *, rid: bool,
              spoof: bool = False, hover_s: float | None = None, drop: bool = True, role: str = "crossing") -> None:
        rng = self.rng
        h = float(rng.uniform(30.0, 150.0))
        v1, v2, v3 = rng.uniform(5.0, 20.0, 3)
        plan = Plan(t_launch, launch[0], launch[1], 0.0).vertical(h, 3.0)
        jog = (launch + target) / 2 + rng.normal(0.0, 250.0, 2)
        plan.move([jog, target], [v1, v2], ramp_s=3.0, smooth=3)
        plan.mark("at_target")
        if drop:  # descend to drop the load, climb out
            plan.vertical(15.0, 2.0).hold(float(rng.uniform(10, 30))).vertical(h, 3.0)
        plan.hold(float(rng.uniform(20.0, 60.0)) if hover_s is None else hover_s)
        back = launch + rng.normal(0.0, 30.0, 2)
        jog2 = (back + target) / 2 + rng.normal(0.0, 300.0, 2)
        plan.move([jog2, back], v3, ramp_s=3.0, smooth=3)
        plan.vertical(0.0, 2.0)
        attrs = dict(role=role, rcs_m2=float(rng.uniform(0.01, 0.05)))
        if spoof:
            bearing = float(rng.uniform(0.0, 360.0))
            dist = float(rng.uniform(1000.0, 2000.0))
            attrs["rid_offset_enu"] = (dist * np.sin(np.radians(bearing)), dist * np.cos(np.radians(bearing)), 0.0)
        self.add(PlannedObject(oid, ObjectClass.UAS, plan, self.rid_serial() if rid else None, None,
                               broadcasts_remote_id=rid, spoofs_remote_id=spoof,
                               label="PUBLIC" if rid else "US-ONLY",
                               operator_enu=(float(launch[0]), float(launch[1])) if rid else None, attrs=attrs))

    def drones(self, agents) -> None:
        rng, t0, bn = self.rng, self.t0, self.border_n

        def south(e, lo, hi):
            return np.array([e, float(bn(e)) - rng.uniform(lo, hi)])

        def north(e, lo, hi):
            return np.array([e, float(bn(e)) + rng.uniform(lo, hi)])

        e = -2300.0 + rng.uniform(-300, 300)
        self.drone("uas-dark-1", t0 + 60.0 + rng.uniform(0, 20), south(e, 1200, 1800),
                   north(e + rng.uniform(-400, 400), 1500, 2200), rid=False, role="dark")
        e = 3800.0 + rng.uniform(-300, 300)
        self.drone("uas-spoof-1", t0 + 150.0 + rng.uniform(0, 20), south(e, 900, 1400),
                   north(e + rng.uniform(-300, 300), 1500, 2500), rid=True, spoof=True, role="spoof")
        # closes on an agent post, hovers nearby, turns away
        _, _, ae, an, _ = agents[1]
        launch = np.array([ae - 300.0 + rng.uniform(-200, 200), float(bn(ae)) - rng.uniform(1500, 2000)])
        tgt = np.array([ae, an]) + np.array([rng.uniform(-60, 60), -rng.uniform(90, 140)])
        self.drone("uas-approach-1", t0 + 240.0 + rng.uniform(0, 20), launch, tgt, rid=True, drop=False,
                   hover_s=float(rng.uniform(40, 60)), role="approach")
        e = -600.0 + rng.uniform(-300, 300)
        self.drone("uas-rid-1", t0 + 420.0 + rng.uniform(0, 30), south(e, 800, 1500),
                   north(e + rng.uniform(-500, 500), 1000, 2000), rid=True)
        for i, t in enumerate(self.arrivals(self.cfg.drones_per_h, t0 + 600.0, self.t1)):
            e = float(rng.uniform(-6000.0, 8000.0))
            self.drone(f"uas-{i + 2}", t, south(e, 700, 2000), north(e + rng.uniform(-800, 800), 800, 2500),
                       rid=bool(rng.random() < 0.5))

    def _road(self) -> np.ndarray | None:
        for p in self.sector.places:
            if p.get("kind") == "road" and p["geometry"]["type"] == "LineString":
                lon, lat = np.asarray(p["geometry"]["coordinates"], dtype=float).T
                e, n, _ = self.frame.to_enu(lat, lon, self.sector.ground_alt_m)
                return np.column_stack([e, n])
        return None

    def vehicles(self) -> None:
        rng, t0, t1, bn = self.rng, self.t0, self.t1, self.border_n
        road = self._road()
        if road is None:
            road = np.array([[0.0, -20000.0], [0.0, 20000.0]])
        s_road = _arc_length(road)
        poe = None
        for p in self.sector.places:
            if p.get("kind") == "protected_site" and p["geometry"]["type"] == "Point":
                lon, lat = p["geometry"]["coordinates"][:2]
                e, n, _ = self.frame.to_enu(lat, lon, self.sector.ground_alt_m)
                line = LineString(road)
                if line.distance(Point(e, n)) < 500.0:
                    poe = float(line.project(Point(e, n)))

        def along(a: float, b: float) -> np.ndarray:
            step = 200.0 if b > a else -200.0
            s = np.append(np.arange(a, b, step), b)
            return np.column_stack([np.interp(s, s_road, road[:, 0]), np.interp(s, s_road, road[:, 1])])

        k = 0
        for t in self.arrivals(self.cfg.vehicles_per_h, t0 - 300.0, t1):
            k += 1
            north_bound = rng.random() < 0.5
            dist = float(rng.uniform(5000.0, 20000.0))
            if north_bound:
                a = float(rng.uniform(0.0, max(s_road[-1] - 2000.0, 1.0)))  # road runs north->south
                a, b = a + min(dist, s_road[-1] - a), a
            else:
                a = float(rng.uniform(0.0, max(s_road[-1] - 2000.0, 1.0)))
                b = a + min(dist, s_road[-1] - a)
            v = rng.uniform(20.0, 30.0, 2)
            pts = along(a, b)
            plan = Plan(t, pts[0, 0], pts[0, 1], 1.5)
            if poe is not None and north_bound and b < poe < a:
                plan.move(along(a, poe)[1:], v[0], ramp_s=8.0, smooth=0)
                plan.hold(float(rng.uniform(60.0, 180.0)))
                plan.move(along(poe, b)[1:], v[1], ramp_s=8.0, smooth=0)
            else:
                plan.move(pts[1:], list(v), ramp_s=8.0, smooth=0)
            self.add(PlannedObject(f"veh-{k}", ObjectClass.GROUND_VEHICLE, plan,
                                   attrs=dict(role="road", rcs_m2=float(rng.uniform(5, 20)))))
        # dirt tracks: the border road on the U.S. side, and a track on the Mexican side
        xs = np.arange(-15000.0, 15001.0, 500.0)
        border_road = np.column_stack([xs, bn(xs) + 150.0 + 30.0 * np.sin(xs / 700.0)])
        mx_e = float(rng.uniform(-5000.0, 5000.0))
        ys = np.arange(-14000.0, float(bn(mx_e)) - 399.0, 500.0)
        mx_track = np.column_stack([mx_e + 400.0 * np.sin(ys / 1500.0), ys])
        for t in self.arrivals(self.cfg.track_vehicles_per_h, t0 - 300.0, t1):
            k += 1
            v = rng.uniform(10.0, 15.0, 2)
            if rng.random() < 0.5:
                i = int(rng.integers(0, len(border_road) - 10))
                j = i + int(rng.integers(8, min(20, len(border_road) - i)))
                pts = border_road[i:j + 1] if rng.random() < 0.5 else border_road[i:j + 1][::-1]
                plan = Plan(t, pts[0, 0], pts[0, 1], 1.5).move(pts[1:], list(v), ramp_s=5.0, smooth=2)
                role = "border_road"
            else:
                pts = mx_track
                plan = Plan(t, pts[0, 0], pts[0, 1], 1.5).move(pts[1:], v[0], ramp_s=5.0, smooth=2)
                plan.hold(float(rng.uniform(300.0, 600.0)))
                plan.move(pts[::-1][1:], v[1], ramp_s=5.0, smooth=2)
                role = "mx_track"
            self.add(PlannedObject(f"veh-{k}", ObjectClass.GROUND_VEHICLE, plan,
                                   attrs=dict(role=role, rcs_m2=float(rng.uniform(5, 15)))))

    def foot_groups(self) -> None:
        rng, t0, bn = self.rng, self.t0, self.border_n
        times = [t0 + 30.0 + float(rng.uniform(0, 30))]
        times += list(self.arrivals(self.cfg.foot_groups_per_h, t0 + 300.0, self.t1))
        for i, t in enumerate(times):
            e = float(rng.uniform(-6000.0, 8000.0)) if i else float(rng.uniform(-1000.0, 1000.0))
            start = np.array([e, float(bn(e)) - (rng.uniform(250, 350) if i == 0 else rng.uniform(300, 800))])
            mid = np.array([e + rng.uniform(-400, 400), float(bn(e)) + rng.uniform(300, 700)])
            end = np.array([e + rng.uniform(-800, 800), float(bn(e)) + rng.uniform(1200, 2500)])
            plan = Plan(t, start[0], start[1], 1.0)
            wp = (start + mid) / 2 + rng.normal(0, 80, 2)
            plan.move([wp, mid], list(rng.uniform(1.0, 1.5, 2)), ramp_s=2.0, smooth=3)
            plan.hold(float(rng.uniform(60.0, 240.0)))
            wp2 = (mid + end) / 2 + rng.normal(0, 150, 2)
            plan.move([wp2, end], list(rng.uniform(1.0, 1.5, 2)), ramp_s=2.0, smooth=3)
            count = int(rng.integers(2, 9))
            self.add(PlannedObject(f"foot-{i + 1}", ObjectClass.PERSON, plan,
                                   attrs=dict(role="group_on_foot", count=count, rcs_m2=0.5 * count ** 0.5)))


def build_content(cfg: ScenarioConfig, sector: Sector, rng: np.random.Generator) -> Content:
    b = _Builder(cfg, sector, rng)
    agents = b.agents()
    sensors = b.sensors()
    b.surveillance()
    b.airliners()
    b.general_aviation()
    b.drones(agents)
    b.vehicles()
    b.foot_groups()
    return Content(agents=agents, sensors=sensors, objects=b.objects)

