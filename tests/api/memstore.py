"""A small in-memory Store for the API tests (the interface of lookout.store.base.Store)."""

from __future__ import annotations

import copy
import threading

from lookout.model import Alert, Observation, Track, TrackPoint, Zone
from lookout.store.base import BBox, Store


def _in(t: float, start: float | None, end: float | None) -> bool:
    return (start is None or t >= start) and (end is None or t <= end)


class MemoryStore(Store):
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._obs: dict[str, Observation] = {}
        self._tracks: dict[str, Track] = {}
        self._hist: dict[str, dict[float, TrackPoint]] = {}
        self._alerts: dict[str, Alert] = {}
        self._zones: dict[str, list[Zone]] = {}
        self._deleted: set[str] = set()
        self._meta: dict[str, str] = {}

    def write_observations(self, observations):
        with self._lock:
            n = 0
            for o in observations:
                if o.id not in self._obs:
                    self._obs[o.id] = o
                    n += 1
            return n

    def observations(self, start=None, end=None, bbox=None, source=None, sensor=None, limit=None):
        with self._lock:
            out = []
            for o in sorted(self._obs.values(), key=lambda o: o.time):
                if not _in(o.time, start, end) or (source and str(o.source) != str(source)) or (sensor and o.sensor != sensor):
                    continue
                if bbox is not None:
                    p = o.position or o.measurement.site
                    if not bbox.contains(p.lat, p.lon):
                        continue
                out.append(o)
            return out[:limit] if limit else out

    def count_observations(self, by="source"):
        with self._lock:
            out: dict[str, int] = {}
            for o in self._obs.values():
                k = str(o.source) if by == "source" else o.sensor
                out[k] = out.get(k, 0) + 1
            return out

    def write_tracks(self, tracks):
        with self._lock:
            for t in tracks:
                self._tracks[t.id] = copy.deepcopy(t)
                self._hist.setdefault(t.id, {})[t.time] = t.point()

    def track(self, track_id):
        with self._lock:
            return copy.deepcopy(self._tracks.get(track_id))

    def tracks(self, start=None, end=None, bbox=None, status=None, limit=None):
        with self._lock:
            out = [copy.deepcopy(t) for t in self._tracks.values()
                   if _in(t.time, start, end) and (bbox is None or bbox.contains(t.position.lat, t.position.lon))
                   and (status is None or str(t.status) == status)]
            return out[:limit] if limit else out

    def track_history(self, track_id, start=None, end=None):
        with self._lock:
            pts = self._hist.get(track_id, {})
            return [pts[k] for k in sorted(pts) if _in(k, start, end)]

    def track_points(self, start=None, end=None, bbox=None):
        with self._lock:
            out = [(tid, p) for tid, pts in self._hist.items() for p in pts.values()
                   if _in(p.time, start, end) and (bbox is None or bbox.contains(p.lat, p.lon))]
            return sorted(out, key=lambda x: x[1].time)

    def write_alerts(self, alerts):
        with self._lock:
            for a in alerts:
                self._alerts[a.id] = copy.deepcopy(a)

    def alert(self, alert_id):
        with self._lock:
            return copy.deepcopy(self._alerts.get(alert_id))

    def alerts(self, start=None, end=None, state=None, rule=None, bbox=None, limit=None):
        with self._lock:
            out = []
            for a in sorted(self._alerts.values(), key=lambda a: -a.start):
                a_end = a.end if a.end is not None else a.updated
                if end is not None and a.start > end or start is not None and a_end < start:
                    continue
                if state and str(a.state) != str(state) or rule and a.rule != rule:
                    continue
                if bbox is not None and (a.position is None or not bbox.contains(a.position.lat, a.position.lon)):
                    continue
                out.append(copy.deepcopy(a))
            return out[:limit] if limit else out

    def put_zone(self, zone):
        with self._lock:
            z = copy.deepcopy(zone)
            versions = self._zones.setdefault(z.id, [])
            z.version = (versions[-1].version + 1) if versions else 1
            versions.append(z)
            self._deleted.discard(z.id)
            return copy.deepcopy(z)

    def zone(self, zone_id, version=None):
        with self._lock:
            vs = self._zones.get(zone_id)
            if not vs or (version is None and zone_id in self._deleted):
                return None
            if version is None:
                return copy.deepcopy(vs[-1])
            return next((copy.deepcopy(z) for z in vs if z.version == version), None)

    def zones(self, kind=None):
        with self._lock:
            return [copy.deepcopy(vs[-1]) for zid, vs in self._zones.items()
                    if zid not in self._deleted and (kind is None or str(vs[-1].kind) == kind)]

    def delete_zone(self, zone_id):
        with self._lock:
            if zone_id in self._zones and zone_id not in self._deleted:
                self._deleted.add(zone_id)
                return True
            return False

    def schema_version(self):
        return 1

    def set_meta(self, key, value):
        self._meta[key] = value

    def get_meta(self, key):
        return self._meta.get(key)

    def close(self):
        pass


__all__ = ["BBox", "MemoryStore"]
