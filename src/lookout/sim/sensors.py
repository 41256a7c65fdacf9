"""Sensor models: ground truth in, columns of noisy observations out (vectorised per object).

Each model samples the truth arrays at its own measurement times, applies coverage, detection
probability and noise with numpy, and returns an :class:`~lookout.sim.table.ObsTable`. Geodetic
and sensor-relative conversions go through :mod:`lookout.geo` (a sensor's measurements are in
the local frame of its own site, exactly).
"""

from __future__ import annotations

import numpy as np

from lookout.geo import LocalFrame, enu_to_polar
from lookout.model import AIR_CLASSES, ObjectClass, OperatorLocationType
from lookout.sim.records import SensorSpec, TruthObject
from lookout.sim.table import CLASS_CODE, LABEL_CODE, OPTYPE_CODE, ObsTable

_AIRCRAFT = (ObjectClass.FIXED_WING, ObjectClass.SURVEILLANCE_AIRCRAFT, ObjectClass.ROTORCRAFT)


class SiteFrame:
    """A sensor site: its position in the sector frame and the rotation into its own ENU frame."""

    def __init__(self, spec: SensorSpec, frame: LocalFrame) -> None:
        s = spec.site
        alt = s.alt_m if s.alt_m is not None else frame.alt0
        self.enu = np.array(frame.to_enu(s.lat, s.lon, alt), dtype=float)
        self.rot = frame.rotation_to(LocalFrame(s.lat, s.lon, alt))

    def local(self, p: np.ndarray) -> np.ndarray:
        """Sector-frame positions (M,3) -> offsets (M,3) in the site's own ENU frame."""
        return (np.asarray(p) - self.enu) @ self.rot.T

    def local_vec(self, v: np.ndarray) -> np.ndarray:
        return np.asarray(v) @ self.rot.T


def radar_pd(range_m, rcs_m2, pd_max: float = 0.95, r50_1m2_m: float = 16_000.0, slope: float = 6.0):
    """Radar single-scan detection probability at ``range_m`` for a target of ``rcs_m2``.

    Received power falls as RCS / R^4, so the 50%-range scales as RCS^(1/4):
    ``pd = pd_max / (1 + (R / (r50_1m2 * rcs^0.25))^slope)``."""
    r50 = r50_1m2_m * np.power(np.asarray(rcs_m2, dtype=float), 0.25)
    return pd_max / (1.0 + np.power(np.asarray(range_m, dtype=float) / r50, slope))


def camera_pd(range_m, cls: ObjectClass, params: dict, max_range_m: float):
    """Camera per-frame detection probability: the class's pd, falling off towards max range."""
    pds = params["pd"]
    key = "air" if cls in AIR_CLASSES and cls != ObjectClass.UAS else str(cls)
    base = pds.get(key, 0.8)
    return base * (1.0 - 0.5 * (np.asarray(range_m, dtype=float) / max_range_m) ** 2)


def _in_outage(t: np.ndarray, outages) -> np.ndarray:
    out = np.zeros(t.shape, dtype=bool)
    for a, b in outages:
        out |= (t >= a) & (t < b)
    return out


def _fill_position(tab: ObsTable, frame: LocalFrame, p: np.ndarray, sig_h, sig_v) -> None:
    lat, lon, alt = frame.to_geodetic(p[:, 0], p[:, 1], p[:, 2])
    tab["lat"][:], tab["lon"][:], tab["alt"][:] = lat, lon, alt
    tab["sig_h"][:] = sig_h
    tab["sig_v"][:] = sig_v


def _fill_velocity(tab: ObsTable, v: np.ndarray) -> None:
    tab["ve"][:], tab["vn"][:], tab["vu"][:] = v[:, 0], v[:, 1], v[:, 2]


# -- ADS-B -------------------------------------------------------------------------------------
def simulate_adsb(spec: SensorSpec, si: int, objs: list[TruthObject], frame: LocalFrame,
                  rng: np.random.Generator) -> ObsTable:
    """Position messages about once a second per aircraft (irregular, some dropped)."""
    P = spec.params
    lo, hi = P["interval_s"]
    site = SiteFrame(spec, frame)
    tabs = []
    for oi, o in enumerate(objs):
        if o.ident is None or o.cls not in _AIRCRAFT:
            continue
        n = int((o.end - o.start) / lo) + 2
        gaps = rng.uniform(lo, hi, n)
        t = o.start + rng.uniform(0.0, hi) + np.concatenate([[0.0], np.cumsum(gaps[:-1])])
        t = t[t <= o.end]
        keep = rng.random(t.size) >= P["drop_prob"]
        sigma = float(rng.uniform(*P["sigma_h_m"]))
        noise = rng.normal(0.0, 1.0, (t.size, 3)) * np.array([sigma, sigma, P["sigma_alt_m"]])
        vnoise = rng.normal(0.0, P["sigma_vel_mps"], (t.size, 3))
        pos, vel, _ = o.sample(t)
        keep &= np.hypot(pos[:, 0] - site.enu[0], pos[:, 1] - site.enu[1]) <= spec.max_range_m
        t, pos, vel, noise, vnoise = t[keep], pos[keep], vel[keep], noise[keep], vnoise[keep]
        tab = ObsTable.empty(t.size, si, spec.label)
        tab["t"][:] = t
        _fill_position(tab, frame, pos + noise, sigma, P["sigma_alt_m"])
        _fill_velocity(tab, vel + vnoise)
        tab["ident"][:] = o.ident
        tab["callsign"][:] = o.callsign
        tab["cls"][:] = CLASS_CODE[ObjectClass.ROTORCRAFT if o.cls == ObjectClass.ROTORCRAFT
                                   else ObjectClass.FIXED_WING]
        cat = o.attrs.get("category")
        if cat:
            tab["attrs"][:] = [{"category": cat}] * t.size
        tab["truth"][:] = oi
        tabs.append(tab)
    return ObsTable.concat(tabs) if tabs else ObsTable.empty(0, si, spec.label)


# -- Remote ID ---------------------------------------------------------------------------------
def simulate_remote_id(specs: list[tuple[int, SensorSpec]], objs: list[TruthObject], frame: LocalFrame,
                       rng: np.random.Generator) -> list[ObsTable]:
    """Broadcasts at 1 Hz per Remote ID drone (spoofed positions where scripted), each heard by
    every receiver within range with probability ``pd``. One broadcast heard by two receivers
    carries the same content."""
    sites = [(si, spec, SiteFrame(spec, frame)) for si, spec in specs]
    tabs: list[ObsTable] = []
    for oi, o in enumerate(objs):
        if not o.broadcasts_remote_id or o.ident is None:
            continue
        P0 = specs[0][1].params
        t = o.start + rng.uniform(0.0, 1.0) + np.arange(0.0, o.end - o.start, 1.0)
        t = t[t <= o.end]
        pos, vel, _ = o.sample(t)
        offset = np.asarray(o.attrs.get("rid_offset_enu", (0.0, 0.0, 0.0)), dtype=float)
        rep = pos + offset + rng.normal(0.0, 1.0, (t.size, 3)) * np.array(
            [P0["sigma_h_m"], P0["sigma_h_m"], P0["sigma_alt_m"]])
        rvel = vel + rng.normal(0.0, P0["sigma_vel_mps"], (t.size, 3))
        lat, lon, alt = frame.to_geodetic(rep[:, 0], rep[:, 1], rep[:, 2])
        ground = frame.alt0
        _, _, true_alt = frame.to_geodetic(pos[:, 0], pos[:, 1], pos[:, 2])
        height = true_alt - ground
        op = None
        if o.operator is not None:
            op = o.operator
            if o.spoofs_remote_id:
                olat, olon, _ = frame.to_geodetic(*(np.array(frame.to_enu(op.lat, op.lon, op.alt_m)) + offset))
                op_vals = (float(olat), float(olon), op.alt_m)
            else:
                op_vals = (op.lat, op.lon, op.alt_m)
        for si, spec, site in sites:
            P = spec.params
            heard = np.hypot(pos[:, 0] - site.enu[0], pos[:, 1] - site.enu[1]) <= spec.max_range_m
            heard &= rng.random(t.size) < P["pd"]
            m = int(heard.sum())
            tab = ObsTable.empty(m, si, spec.label)
            tab["t"][:] = t[heard]
            tab["lat"][:], tab["lon"][:], tab["alt"][:] = lat[heard], lon[heard], alt[heard]
            tab["sig_h"][:], tab["sig_v"][:] = P["sigma_h_m"], P["sigma_alt_m"]
            _fill_velocity(tab, rvel[heard])
            tab["ident"][:] = o.ident
            tab["cls"][:] = CLASS_CODE[ObjectClass.UAS]
            if op is not None:
                tab["op_lat"][:], tab["op_lon"][:], tab["op_alt"][:] = op_vals
                tab["optype"][:] = OPTYPE_CODE[OperatorLocationType.TAKE_OFF]
            tab["attrs"][:] = [{"ua_type": "helicopter_or_multirotor", "height_agl_m": round(float(h), 1)}
                               for h in height[heard]]
            tab["truth"][:] = oi
            tabs.append(tab)
    return tabs


# -- radar -------------------------------------------------------------------------------------
def simulate_radar(spec: SensorSpec, si: int, objs: list[TruthObject], frame: LocalFrame,
                   rng: np.random.Generator, t0: float, t1: float) -> ObsTable:
    """A rotating surveillance radar: one look per target per scan when the beam passes its
    azimuth; detection probability from range and RCS; range/azimuth/elevation/radial-velocity
    noise; Poisson clutter spread uniformly over the coverage area; outages."""
    P = spec.params
    period = spec.period_s
    site = SiteFrame(spec, frame)
    outages = P.get("outages", [])
    first = t0 + P.get("scan_phase_s", 0.0)
    n_scans = max(0, int(np.floor((t1 - first) / period)))
    scan_t = first + period * np.arange(n_scans)
    tabs = []
    for oi, o in enumerate(objs):
        k = np.nonzero((scan_t + period >= o.start) & (scan_t <= o.end))[0]
        if k.size == 0:
            continue
        ts = scan_t[k]
        p0, _, _ = o.sample(ts)
        _, az0, _ = enu_to_polar(*site.local(p0).T)
        td = ts + az0 / 360.0 * period
        pos, vel, act = o.sample(td)
        loc = site.local(pos)
        rng_m, az, el = enu_to_polar(loc[:, 0], loc[:, 1], loc[:, 2])
        vr = np.einsum("ij,ij->i", site.local_vec(vel), loc) / np.maximum(rng_m, 1e-9)
        rcs = o.attrs.get("rcs_m2", 1.0)
        pd = radar_pd(rng_m, rcs, P["pd_max"], P["r50_1m2_m"], P["pd_slope"])
        draw = rng.random(k.size)
        noise = rng.normal(0.0, 1.0, (k.size, 4))
        seen = (act & (rng_m >= P["min_range_m"]) & (rng_m <= spec.max_range_m) & (el >= P["el_min_deg"])
                & (el <= P["el_max_deg"]) & ~_in_outage(td, outages) & (td < t1) & (draw < pd))
        m = int(seen.sum())
        tab = ObsTable.empty(m, si, spec.label)
        tab["t"][:] = td[seen]
        tab["rng"][:] = np.maximum(rng_m[seen] + noise[seen, 0] * P["sigma_range_m"], 1.0)
        tab["az"][:] = (az[seen] + noise[seen, 1] * P["sigma_az_deg"]) % 360.0
        tab["el"][:] = np.clip(el[seen] + noise[seen, 2] * P["sigma_el_deg"], -89.9, 89.9)
        tab["vr"][:] = vr[seen] + noise[seen, 3] * P["sigma_vr_mps"]
        tab["attrs"][:] = [{"scan": int(s)} for s in k[seen]]
        tab["truth"][:] = oi
        tabs.append(tab)
    # clutter: Poisson count per scan, uniform over the coverage annulus, at ground level
    lam = P.get("clutter_per_scan", 0.0)
    if lam > 0 and n_scans:
        counts = rng.poisson(lam, n_scans)
        scan_of = np.repeat(np.arange(n_scans), counts)
        n = scan_of.size
        r_lo, r_hi = P["min_range_m"], spec.max_range_m
        horiz = np.sqrt(rng.uniform(r_lo ** 2, r_hi ** 2, n))
        az = rng.uniform(0.0, 360.0, n)
        up = -site.enu[2]  # the ground (flat, at the sector's ground height) seen from the site
        el = np.degrees(np.arctan2(np.full(n, up), horiz)) + rng.normal(0.0, P["sigma_el_deg"], n)
        tt = scan_t[scan_of] + az / 360.0 * period
        keep = ~_in_outage(tt, outages) & (tt < t1)
        tab = ObsTable.empty(int(keep.sum()), si, spec.label)
        tab["t"][:] = tt[keep]
        tab["rng"][:] = np.hypot(horiz, up)[keep]
        tab["az"][:] = az[keep]
        tab["el"][:] = el[keep]
        tab["vr"][:] = rng.normal(0.0, P["clutter_sigma_vr_mps"], n)[keep]
        tab["attrs"][:] = [{"scan": int(s)} for s in scan_of[keep]]
        tabs.append(tab)
    if not tabs:
        return ObsTable.empty(0, si, spec.label)
    out = ObsTable.concat(tabs)
    out["sig_rng"][:] = P["sigma_range_m"]
    out["sig_az"][:] = P["sigma_az_deg"]
    out["sig_el"][:] = P["sigma_el_deg"]
    return out


# -- EO/IR camera ------------------------------------------------------------------------------
def _camera_cls(cls: ObjectClass) -> ObjectClass:
    return ObjectClass.FIXED_WING if cls == ObjectClass.SURVEILLANCE_AIRCRAFT else cls


def simulate_camera(spec: SensorSpec, si: int, objs: list[TruthObject], frame: LocalFrame,
                    rng: np.random.Generator, t0: float, t1: float) -> ObsTable:
    """Bearing/elevation detections per frame of targets within range and field of regard, with
    a classification hint (right class with confidence 0.55-0.95, or ``unknown`` when unsure)."""
    P = spec.params
    site = SiteFrame(spec, frame)
    frames = t0 + rng.uniform(0.0, spec.period_s) + spec.period_s * np.arange(int((t1 - t0) / spec.period_s))
    frames = frames[frames < t1]
    a0, a1 = P["az_min_deg"], P["az_max_deg"]

    def in_fov(az, el):
        rel = (az - a0) % 360.0
        return (rel <= (a1 - a0) % 360.0) & (el >= P["el_min_deg"]) & (el <= P["el_max_deg"])

    tabs = []
    for oi, o in enumerate(objs):
        k = np.nonzero((frames >= o.start) & (frames <= o.end))[0]
        if k.size == 0:
            continue
        t = frames[k]
        pos, _, _ = o.sample(t)
        loc = site.local(pos)
        r, az, el = enu_to_polar(loc[:, 0], loc[:, 1], loc[:, 2])
        pd = camera_pd(r, o.cls, P, spec.max_range_m)
        u = rng.random((k.size, 3))
        noise = rng.normal(0.0, 1.0, (k.size, 2))
        seen = (r <= spec.max_range_m) & in_fov(az, el) & (u[:, 0] < pd)
        m = int(seen.sum())
        if m == 0:
            continue
        tab = ObsTable.empty(m, si, spec.label)
        tab["t"][:] = t[seen]
        tab["az"][:] = (az[seen] + noise[seen, 0] * P["sigma_az_deg"]) % 360.0
        tab["el"][:] = np.clip(el[seen] + noise[seen, 1] * P["sigma_el_deg"], -89.9, 89.9)
        p_right = 0.95 - 0.35 * (r[seen] / spec.max_range_m)
        right = u[seen, 1] < p_right
        tab["cls"][:] = np.where(right, CLASS_CODE[_camera_cls(o.cls)], CLASS_CODE[ObjectClass.UNKNOWN])
        tab["conf"][:] = np.round(np.where(right, 0.55 + 0.4 * u[seen, 2], 0.2 + 0.3 * u[seen, 2]), 3)
        tab["truth"][:] = oi
        tabs.append(tab)
    fa = P.get("false_alarms_per_frame", 0.0)
    if fa > 0 and frames.size:
        n_fa = rng.poisson(fa, frames.size)
        t = np.repeat(frames, n_fa)
        tab = ObsTable.empty(t.size, si, spec.label)
        tab["t"][:] = t
        tab["az"][:] = (a0 + rng.uniform(0.0, (a1 - a0) % 360.0, t.size)) % 360.0
        tab["el"][:] = rng.uniform(-3.0, 5.0, t.size)
        tab["cls"][:] = CLASS_CODE[ObjectClass.UNKNOWN]
        tab["conf"][:] = np.round(rng.uniform(0.1, 0.4, t.size), 3)
        tabs.append(tab)
    if not tabs:
        return ObsTable.empty(0, si, spec.label)
    out = ObsTable.concat(tabs)
    out["sig_az"][:] = P["sigma_az_deg"]
    out["sig_el"][:] = P["sigma_el_deg"]
    return out


# -- own personnel -----------------------------------------------------------------------------
def simulate_blue_force(spec: SensorSpec, si: int, agents, frame: LocalFrame, rng: np.random.Generator,
                        t0: float, t1: float) -> ObsTable:
    """Each agent's own position every ``period_s`` (with a little jitter and GNSS noise)."""
    P = spec.params
    tabs = []
    for a in agents:
        p = np.array(frame.to_enu(a.position.lat, a.position.lon, a.position.alt_m))
        n = int((t1 - t0) / spec.period_s) + 1
        t = t0 + rng.uniform(0.0, spec.period_s) + spec.period_s * np.arange(n) + rng.uniform(
            -P["jitter_s"], P["jitter_s"], n)
        t = t[(t >= t0) & (t < t1)]
        noisy = p + rng.normal(0.0, 1.0, (t.size, 3)) * np.array([P["sigma_h_m"], P["sigma_h_m"], 2 * P["sigma_h_m"]])
        tab = ObsTable.empty(t.size, si, spec.label)
        tab["t"][:] = t
        _fill_position(tab, frame, noisy, P["sigma_h_m"], 2 * P["sigma_h_m"])
        tab["ident"][:] = a.id
        tab["callsign"][:] = a.name
        tab["cls"][:] = CLASS_CODE[ObjectClass.AGENT]
        tabs.append(tab)
    return ObsTable.concat(tabs) if tabs else ObsTable.empty(0, si, spec.label)


_COMPASS = ("north", "northeast", "east", "southeast", "south", "southwest", "west", "northwest")
_NOUN = {ObjectClass.UAS: ("drone", "drones"), ObjectClass.PERSON: ("person on foot", "people on foot"),
         ObjectClass.GROUND_VEHICLE: ("vehicle", "vehicles")}


def _direction(v: np.ndarray) -> str:
    if np.hypot(v[0], v[1]) < 0.3:
        return "stationary"
    return _COMPASS[int(((np.degrees(np.arctan2(v[0], v[1])) % 360.0) + 22.5) // 45.0) % 8]


def simulate_reports(spec: SensorSpec, si: int, agents, shares_mx: list[bool], objs: list[TruthObject],
                     frame: LocalFrame, rng: np.random.Generator, t0: float, t1: float) -> ObsTable:
    """Agents' typed sighting reports: now and then an agent reports the nearest drone, vehicle or
    group within sight, with an approximate position, class, count, direction and free text.
    Reports from posts that share with the Mexican side are labelled REL-MX, others US-ONLY."""
    P = spec.params
    kinds = (ObjectClass.UAS, ObjectClass.PERSON, ObjectClass.GROUND_VEHICLE)
    cand = [(oi, o) for oi, o in enumerate(objs) if o.cls in kinds]
    rows = []
    for ai, a in enumerate(agents):
        pa = np.array(frame.to_enu(a.position.lat, a.position.lon, a.position.alt_m))
        n = rng.poisson((t1 - t0) / P["mean_interval_s"])
        for t in np.sort(rng.uniform(t0, t1, n)):
            best = None
            for oi, o in cand:
                if not o.active(t):
                    continue
                p, v = o.state_at(t)
                d = float(np.hypot(p[0] - pa[0], p[1] - pa[1]))
                if d <= P["see_range_m"] and (best is None or d < best[0]):
                    best = (d, oi, o, p, v)
            sig = float(rng.uniform(*P["sigma_h_m"]))
            err = rng.normal(0.0, sig, 2)
            if best is None:
                continue
            d, oi, o, p, v = best
            rows.append((t, ai, oi, o, p, v, sig, err, d))
    tab = ObsTable.empty(len(rows), si, spec.label)
    if not rows:
        return tab
    pos = np.array([[r[4][0] + r[7][0], r[4][1] + r[7][1], 0.0] for r in rows])
    # reported on the ground at the reported spot (drones: no altitude)
    lat, lon, _ = frame.to_geodetic(pos[:, 0], pos[:, 1], pos[:, 2])
    for i, (t, ai, oi, o, _p, v, sig, _err, d) in enumerate(rows):
        a = agents[ai]
        count = int(o.attrs.get("count", 1))
        direction = _direction(v)
        noun = _NOUN[o.cls][0 if count == 1 else 1]
        text = (f"{count} {noun}" if count > 1 else f"{noun.capitalize()}") + (
            f" heading {direction}" if direction != "stationary" else " not moving") + \
            f", about {d / 1000:.1f} km from {a.name}"
        tab["t"][i] = t
        tab["lat"][i], tab["lon"][i] = lat[i], lon[i]
        tab["alt"][i] = np.nan if o.cls == ObjectClass.UAS else frame.alt0
        tab["sig_h"][i] = sig
        tab["cls"][i] = CLASS_CODE[o.cls]
        tab["conf"][i] = 0.7
        tab["label"][i] = LABEL_CODE[P["labels"]["shared" if shares_mx[ai] else "own"]]
        tab["attrs"][i] = {"agent_id": a.id, "count": count, "direction": direction, "text": text}
        tab["truth"][i] = oi
    return tab
