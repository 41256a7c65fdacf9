"""Scripted events, computed from the ground truth (never typed in by hand)."""

from __future__ import annotations

import numpy as np

from lookout.model import GeoPoint, ObjectClass
from lookout.sector import Sector
from lookout.sim.records import Agent, ScriptedEvent, TruthObject

#: A drone closer than this (3-D, metres) to an agent post is "approaching agents".
APPROACH_RADIUS_M = 500.0


def border_crossings(sector: Sector, obj: TruthObject) -> list[ScriptedEvent]:
    """Sign changes of the object's border offset inside the sector, at the interpolated instant."""
    off = sector.border_north_offset(obj.enu[:, 0], obj.enu[:, 1])
    sgn = np.sign(off)
    idx = np.nonzero((sgn[:-1] * sgn[1:] < 0) | ((sgn[:-1] != 0) & (sgn[1:] == 0)))[0]
    out = []
    for i in idx:
        f = off[i] / (off[i] - off[i + 1])
        t = float(obj.times[i] + f * (obj.times[i + 1] - obj.times[i]))
        pos = obj.geodetic_at(t)
        if not sector.contains(pos.lat, pos.lon):
            continue
        direction = "north" if off[i] < 0 else "south"
        out.append(ScriptedEvent("border_crossing", obj.id, t, pos, {
            "direction": direction, "cls": str(obj.cls),
            "from": sector.south_country if direction == "north" else sector.north_country,
            "to": sector.north_country if direction == "north" else sector.south_country}))
    return out


def agent_approaches(obj: TruthObject, agents: list[Agent], agent_enu: np.ndarray,
                     radius_m: float = APPROACH_RADIUS_M) -> list[ScriptedEvent]:
    """One event per episode of a drone within ``radius_m`` of an agent post."""
    out = []
    for a, pa in zip(agents, agent_enu):
        d = np.linalg.norm(obj.enu - pa, axis=1)
        inside = d < radius_m
        if not inside.any():
            continue
        edges = np.diff(np.concatenate([[0], inside.astype(int), [0]]))
        starts, ends = np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]
        for s, e in zip(starts, ends):
            j = s + int(np.argmin(d[s:e]))
            t = float(obj.times[s])
            out.append(ScriptedEvent("approach_agents", obj.id, t, obj.geodetic_at(t), {
                "agent_id": a.id, "closest_m": round(float(d[j]), 1), "time_closest": float(obj.times[j]),
                "radius_m": radius_m,
                "horizontal_closest_m": round(float(np.hypot(*(obj.enu[j, :2] - pa[:2]))), 1)}))
    return out


def compute_events(sector: Sector, truth: list[TruthObject], agents: list[Agent],
                   orbits: dict[str, dict]) -> list[ScriptedEvent]:
    """Every scripted event of a scenario, in time order."""
    frame = sector.frame
    agent_enu = np.array([frame.to_enu(a.position.lat, a.position.lon, a.position.alt_m) for a in agents]) \
        if agents else np.zeros((0, 3))
    events: list[ScriptedEvent] = []
    for o in truth:
        events += border_crossings(sector, o)
        if o.cls == ObjectClass.UAS:
            events += agent_approaches(o, agents, agent_enu)
            if not o.broadcasts_remote_id:
                events.append(ScriptedEvent("dark_drone", o.id, o.start, o.geodetic_at(o.start), {
                    "launch": o.geodetic_at(o.start), "end": o.end}))
            elif o.spoofs_remote_id:
                off = np.asarray(o.attrs["rid_offset_enu"], dtype=float)
                events.append(ScriptedEvent("remote_id_spoof", o.id, o.start, o.geodetic_at(o.start), {
                    "offset_m": round(float(np.hypot(off[0], off[1])), 1), "offset_east_m": round(float(off[0]), 1),
                    "offset_north_m": round(float(off[1]), 1), "serial": o.ident, "end": o.end}))
        orb = orbits.get(o.id)
        if orb is not None:
            a, b = max(orb["start"], o.start), min(orb["end"], o.end)
            if b > a:
                c = orb["center"]
                lat, lon, _ = frame.to_geodetic(c[0], c[1], 0.0)
                p = o.geodetic_at(a)
                events.append(ScriptedEvent("surveillance_orbit", o.id, a, p, {
                    "start": a, "end": b, "duration_s": b - a,
                    "center": GeoPoint(float(lat), float(lon), float(p.alt_m)), "pattern": "racetrack",
                    "heading_deg": orb["heading_deg"], "length_m": orb["length_m"], "radius_m": orb["radius_m"],
                    "callsign": o.callsign, "icao24": o.ident}))
    events.sort(key=lambda e: (e.time, e.kind, e.object_id))
    return events
