"""Identity fusion stage of the multi-sensor tracker: cooperative reports (ADS-B ICAO24,
Remote ID serial, AIS MMSI) and the tracks holding their identities.

Observations carrying an identity go straight to the track holding it. A new identity is
first offered to a coinciding track: a confirmed non-cooperative (radar, camera, report) track
within ``fusion_max_m`` on distance alone (so a Remote ID position that lies is still fused and
its offset recorded in ``attrs["remote_id_offset_m"]``, ``"adsb_offset_m"`` for ADS-B, with the
reported ``remote_id_position`` and ``remote_id_sigma_m``), or a cooperative track that passes
the Mahalanobis fusion gate. While a fused track has non-cooperative support, a cooperative
report outside the gate updates only that offset, never the state. A cooperative-only track
that comes to coincide with a confirmed non-cooperative track is merged into it.
"""

from __future__ import annotations

import math

import numpy as np

from lookout.model import SourceKind
from lookout.tracking.config import TrackerConfig
from lookout.tracking.filters import Innovation
from lookout.tracking.lifecycle import Lifecycle
from lookout.tracking.measurements import Meas
from lookout.tracking.state import TrackStates
from lookout.tracking.stats import TrackerStats
from lookout.tracking.updater import Updater, horizontal_d2

#: identity kind of each cooperative source
IDENT_KIND = {SourceKind.ADSB: "icao24", SourceKind.REMOTE_ID: "remote_id", SourceKind.AIS: "mmsi"}
OFFSET_ATTR = {"icao24": "adsb_offset_m", "remote_id": "remote_id_offset_m", "mmsi": "ais_offset_m"}


def is_cooperative(ms: Meas) -> bool:
    """A position report carrying an identity (it goes to the track holding that identity)."""
    o = ms.obs
    return bool(o.ident) and o.source in IDENT_KIND and o.position is not None


class IdentityFusion:
    """Association of cooperative reports by identity and fusion of identities into tracks."""

    def __init__(self, cfg: TrackerConfig, states: TrackStates, updater: Updater, lifecycle: Lifecycle,
                 stats: TrackerStats) -> None:
        self.cfg = cfg
        self.states = states
        self.updater = updater
        self.lifecycle = lifecycle
        self.stats = stats

    def cooperative(self, coop: list[Meas], T: float) -> None:
        """Update (or start) the tracks holding the identities of the cooperative reports ``coop``."""
        st = self.states
        cfg = self.cfg
        pending: dict[tuple, list[tuple[int, Meas]]] = {}
        gate_inn: dict[int, Innovation] = {}  # id(measurement) -> its gate innovation
        for ms in coop:
            o = ms.obs
            kind = IDENT_KIND[SourceKind(o.source)]
            ident = (kind, o.ident.strip().lower() if kind == "icao24" else o.ident.strip())
            k = st.by_ident.get(ident)
            if k is None:
                k = self.fusion_candidate(ms, ident[0], T)
                if k is None:
                    self.lifecycle.new_tracks([ms], T, ident)
                    continue
                st.meta[k].identities[ident[0]] = ident[1]
                st.by_ident[ident] = k
                self.stats.identity_fusions += 1
            st.predict_to(T, [k])
            m = st.meta[k]
            supported = T - m.last_noncoop <= cfg.max_coast_s
            if supported:
                xc, _ = st.combined(slice(k, k + 1))
                m.attrs[OFFSET_ATTR[ident[0]]] = round(float(np.hypot(*(ms.point[:2] - xc[0, :2]))), 1)
                if ident[0] == "remote_id":
                    m.attrs["remote_id_position"] = {"lat": o.position.lat, "lon": o.position.lon}
                    m.attrs["remote_id_sigma_m"] = o.position.sigma_h_m
                inn = self.updater.innovation(ms.key, [ms], np.array([k]), T)
                if inn.d2[0] > cfg.gate(len(ms.z)) and horizontal_d2(inn) > cfg.gate(2):
                    # a cooperative report whose position disagrees with the sensors' track: evidence,
                    # not state (a lying Remote ID). A disagreement in height or velocity alone is
                    # not that: barometric and radar-derived heights differ by hundreds of metres.
                    self.lifecycle.note(m, o)
                    m.attrs["identity_inconsistent"] = True
                    continue
                m.attrs["identity_inconsistent"] = False
                gate_inn[id(ms)] = inn
            pending.setdefault(ms.key, []).append((k, ms))
        applied: set[int] = set()
        for key, items in pending.items():
            while items:  # one update per track per round
                seen, now, later = set(), [], []
                for k, ms in items:
                    (later if k in seen else now).append((k, ms))
                    seen.add(k)
                if st.r == 1:  # a gate innovation of a track not updated since is the update's
                    rest = []
                    for k, ms in now:
                        inn = gate_inn.pop(id(ms), None)
                        if inn is not None and k not in applied:
                            self.updater.apply_innovation(np.array([k]), inn, np.array([0]))
                        else:
                            rest.append((k, ms))
                else:
                    rest = now
                if rest:
                    self.updater.apply(key, [ms for _, ms in rest], np.array([k for k, _ in rest]), T)
                applied.update(k for k, _ in now)
                for k, ms in now:
                    self.lifecycle.hit(k, ms.obs, T)
                    m = st.meta[k]
                    if not m.confirmed and m.updates >= cfg.ident_confirm_hits:
                        m.confirmed = True
                        self.stats.tracks_confirmed += 1
                items = later

    def fusion_candidate(self, ms: Meas, kind: str, T: float) -> int | None:
        """The track a new identity of ``kind`` belongs to, if one coincides with the report.

        Candidates hold no identity of that kind and lie within ``fusion_max_m``. A track with
        non-cooperative support (confirmed radar/camera/report track) qualifies on distance
        alone, so that a Remote ID position that lies is still fused and its offset recorded;
        a cooperative-only track (e.g. the ADS-B track of an aircraft also broadcasting Remote
        ID) must also pass the Mahalanobis fusion gate.
        """
        st = self.states
        cfg = self.cfg
        if not len(st.meta):
            return None
        st.predict_to(T)
        xc, _ = st.combined()
        d = np.hypot(*(xc[:, :2] - ms.point[:2]).T)
        cand = np.flatnonzero(d < cfg.fusion_max_m)
        best, best_score = None, math.inf
        for k in cand.tolist():
            m = st.meta[k]
            if kind in m.identities:
                continue
            if T - m.last_noncoop <= cfg.max_coast_s and m.confirmed:
                score = d[k]
            elif any(kd != "callsign" for kd in m.identities):
                inn = self.updater.innovation(ms.key, [ms], np.array([k]), T)
                if inn.d2[0] > cfg.fusion_gate(len(ms.z)):
                    continue
                score = d[k] + cfg.fusion_max_m  # prefer non-cooperative support
            else:
                continue
            if score < best_score:
                best, best_score = k, score
        return best

    def merge_cooperative(self, now: float) -> None:
        """Fuse a cooperative-only track into a coinciding confirmed non-cooperative track without identity."""
        st = self.states
        cfg = self.cfg
        if len(st.meta) < 2:
            return
        coop = [k for k, m in enumerate(st.meta)
                if any(kd != "callsign" for kd in m.identities) and now - m.last_noncoop > cfg.max_coast_s]
        anon = [k for k, m in enumerate(st.meta)
                if m.confirmed and not m.identities and now - m.last_noncoop <= cfg.max_coast_s]
        if not coop or not anon:
            return
        xc, _ = st.combined()
        d = np.hypot(*(xc[coop][:, None, :2] - xc[anon][None, :, :2]).transpose(2, 0, 1))
        drop, into, taken = [], {}, set()
        for flat in np.argsort(d, axis=None).tolist():
            i, j = divmod(flat, len(anon))
            if d[i, j] >= cfg.fusion_max_m:
                break
            if i in into or anon[j] in taken:
                continue
            kc, ka = coop[i], anon[j]
            mc, ma = st.meta[kc], st.meta[ka]
            for kind, val in mc.identities.items():
                ma.identities[kind] = val
                if kind in OFFSET_ATTR:
                    ma.attrs[OFFSET_ATTR[kind]] = round(float(d[i, j]), 1)
            ma.sources |= mc.sources
            stimes = ma.attrs.setdefault("source_times", {})
            for src, tt in mc.attrs.get("source_times", {}).items():
                stimes[src] = max(stimes.get(src, -math.inf), tt)
            ma.sensors |= mc.sensors
            ma.labels |= mc.labels
            ma.cls_votes.update(mc.cls_votes)
            ma.operator = ma.operator or mc.operator
            ma.touched = True
            if mc.confirmed and mc.first_time <= ma.first_time:
                # the object keeps the id it has had longest (an aircraft re-acquired by radar
                # stays the same track); the newer radar track's id is the one that ends
                ma.id, mc.id = mc.id, ma.id
                ma.first_time, mc.first_time = mc.first_time, ma.first_time
            into[i] = ma.id
            taken.add(ka)
            drop.append(kc)
            self.stats.identity_fusions += 1
        if drop:
            merged = {coop[i]: tid for i, tid in into.items()}
            for k in drop:
                if st.meta[k].confirmed:
                    self.stats.tracks_deleted += 1
            self.lifecycle.remove(drop, merged)
