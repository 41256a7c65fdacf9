"""Turn a :mod:`lookout.sim` scenario's ground truth into track updates (no tracker needed).

Every truth object becomes a track at its true position plus a little noise, with the sources a
tracker would give it: drones with Remote ID ``radar + remote_id`` (and the operator position),
dark drones ``radar``, aircraft with a transponder ``adsb``, the rest ``radar``. A spoofing drone
becomes two tracks, as a tracker that cannot fuse them would report: a dark radar track at the
truth and a Remote ID-only track at the truth plus the spoofed offset.
"""

from __future__ import annotations

import numpy as np

from lookout.model import GeoPoint, GeoPosition, ObjectClass, Observation, SourceKind, Track, TrackUpdates, Velocity


def agent_observations(scenario, t: float | None = None) -> list[Observation]:
    """Blue-force fixes of every agent at its post at time ``t`` (default: the start)."""
    t0 = scenario.config.start_time if t is None else t
    return [Observation(time=t0, source=SourceKind.BLUE_FORCE, sensor="blue-force", ident=a.id,
                        position=GeoPosition(a.position.lat, a.position.lon, a.position.alt_m, sigma_h_m=5.0))
            for a in scenario.agents]


def truth_updates(scenario, dt: float = 1.0, noise_m: float = 3.0, seed: int = 1, only=None, until=None):
    """Yield ``TrackUpdates`` at every ``dt`` from the scenario's truth."""
    rng = np.random.default_rng(seed)
    frame = scenario.sector.frame
    t0, t1 = scenario.config.start_time, scenario.config.end_time
    objs = [o for o in scenario.truth if only is None or o.id in only]
    times = np.arange(t0, t1, dt)
    samples = {o.id: o.sample(times)[:2] for o in objs}  # every object at every step, at once
    alive: dict[str, Track] = {}
    for k, t in enumerate(times.tolist()):
        rows, meta = [], []
        for o in objs:
            end = min(o.end, until.get(o.id, o.end)) if until else o.end
            if not (o.start <= t <= end):
                continue
            p, v = samples[o.id][0][k].copy(), samples[o.id][1][k]
            p[:2] += rng.normal(0.0, noise_m, 2)
            if o.cls == ObjectClass.UAS and o.spoofs_remote_id:
                rows.append(p)
                meta.append((o, o.id, ["radar"], {}, None, v))
                off = np.asarray(o.attrs["rid_offset_enu"], dtype=float)
                rows.append(p + off)
                meta.append((o, o.id + "-rid", ["remote_id"], {"remote_id": o.ident}, o.operator, v))
                continue
            if o.cls == ObjectClass.UAS:
                srcs = ["radar", "remote_id"] if o.broadcasts_remote_id else ["radar"]
                ids = {"remote_id": o.ident} if o.broadcasts_remote_id else {}
                meta.append((o, o.id, srcs, ids, o.operator if o.broadcasts_remote_id else None, v))
            elif o.ident:
                ids = {"icao24": o.ident}
                if o.callsign:
                    ids["callsign"] = o.callsign
                meta.append((o, o.id, ["adsb"], ids, None, v))
            else:
                meta.append((o, o.id, ["radar"], {}, None, v))
            rows.append(p)
        updated = []
        if rows:
            arr = np.array(rows)
            lat, lon, alt = frame.to_geodetic(arr[:, 0], arr[:, 1], arr[:, 2])
            for k, (o, tid, srcs, ids, op, v) in enumerate(meta):
                tr = Track(id=tid, time=t, position=GeoPoint(float(lat[k]), float(lon[k]), float(alt[k])),
                           velocity=Velocity(float(v[0]), float(v[1]), float(v[2])), sigma_h_m=noise_m, cls=o.cls,
                           identities=ids, sources=srcs, label=o.label, operator=op)
                updated.append(tr)
        now = {tr.id for tr in updated}
        deleted = [alive.pop(tid) for tid in list(alive) if tid not in now]
        for tr in updated:
            alive[tr.id] = tr
        yield TrackUpdates(time=t, updated=updated, deleted=deleted)
