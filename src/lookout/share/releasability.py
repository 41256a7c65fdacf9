"""Releasability: which records an agency may receive, and in what form.

Every source carries a label (``PUBLIC``, ``REL-MX``, ``US-ONLY``, see :data:`lookout.model.LABELS`);
a track carries the most restrictive label of the sources that fed it, an alert the label its
rule gave it. An :class:`Agency` lists the labels it may receive. A record whose label is not in
that list is withheld, unless one of the agency's :class:`ShareRule` releases it in a downgraded
form, relabelled with the rule's ``release_as`` label:

* ``position_only``: position snapped to a coarse grid (e.g. 1 km), identities, sensors,
  sources, velocity, operator positions and free-text details stripped;
* ``per_source``: a fused track that a releasable source (e.g. ADS-B, broadcast in the clear)
  fed recently is released with only what that source contributes: its identities, its
  source kind, a position snapped to the rule's grid; nothing of the restricted sensors.

This module is the one place that decides; the REST API, the WebSocket stream, the exports,
replay/history and Cursor-on-Target all call these functions:

* :func:`filter_tracks` / :func:`filter_track_dicts` (records / the API's JSON form),
* :func:`filter_alerts` / :func:`filter_alert_dicts`,
* :func:`filter_points` (a track's history), :func:`filter_observations`, :func:`filter_zones`.

The open agency :data:`OPEN` (``all_labels=True``) sees everything unchanged; it is what an API
without an auth registry uses (local demos, single-agency deployments).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from lookout.geo import LocalFrame
from lookout.model import AIR_CLASSES, LABELS, Alert, GeoPoint, ObjectClass, Observation, Track, TrackPoint, Zone

#: Release modes a share rule may apply.
MODES = ("position_only", "per_source")

#: What a cooperative source contributes to a fused track, for ``per_source`` releases: the
#: identity kinds it reports. Only these source kinds can justify a per-source release (a radar
#: or camera contributes no identity; its detections are released by ``position_only`` rules).
SOURCE_IDENTITIES: dict[str, tuple[str, ...]] = {
    "adsb": ("icao24", "callsign"),
    "remote_id": ("remote_id",),
    "ais": ("mmsi", "callsign"),
}


@dataclass(frozen=True)
class ShareRule:
    """Release records labelled ``label`` to an agency that may not otherwise see them.

    ``release_as``: the label the released record carries (one the agency may receive);
    ``mode``: ``position_only`` (position snapped to ``coarsen_m``, everything else stripped) or
    ``per_source`` (see below); ``alerts``: whether the rule also releases alerts (never for
    ``per_source``).

    ``sources`` with ``position_only``: when set, only tracks fed by nothing but these source
    kinds are released (e.g. ``{"radar"}``: radar-only tracks).

    ``sources`` with ``per_source`` (required; a subset of :data:`SOURCE_IDENTITIES`): the
    source kinds the deployment labels releasable to the agency (e.g. ``{"adsb", "remote_id"}``).
    A track labelled ``label`` that one of them updated within ``max_age_s`` of the track's time
    (``attrs["source_times"]``, kept by the tracker) is released with only what those sources
    contribute: their identities, their kinds as ``sources``, the position snapped to
    ``coarsen_m`` (height to 100 m), a class they can express; no velocity, sensors, other
    sources, attributes or history. When they stop feeding it (the restricted sensors carry the
    track alone), the rule no longer applies.
    """

    label: str
    release_as: str
    mode: str = "position_only"
    coarsen_m: float = 1000.0
    sources: frozenset[str] | None = None
    alerts: bool = True
    max_age_s: float = 10.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"share rule mode {self.mode!r} is unknown; use one of {list(MODES)}")
        if not self.label or not self.release_as:
            raise ValueError("a share rule needs a label and a release_as label")
        if not (isinstance(self.coarsen_m, (int, float)) and math.isfinite(self.coarsen_m) and self.coarsen_m >= 10):
            raise ValueError(f"share rule coarsen_m must be a number >= 10 metres, got {self.coarsen_m!r}")
        if self.sources is not None:
            object.__setattr__(self, "sources", frozenset(self.sources))
        if not (isinstance(self.max_age_s, (int, float)) and math.isfinite(self.max_age_s) and self.max_age_s >= 0):
            raise ValueError(f"share rule max_age_s must be a number >= 0 seconds, got {self.max_age_s!r}")
        if self.mode == "per_source":
            if not self.sources or not self.sources <= set(SOURCE_IDENTITIES):
                raise ValueError(f"a per_source share rule needs sources, a subset of {sorted(SOURCE_IDENTITIES)} "
                                 f"(the source kinds that carry an identity), got "
                                 f"{'+'.join(sorted(self.sources)) if self.sources else 'none'}")
            object.__setattr__(self, "alerts", False)  # an alert's reasons may be the restricted sensors'

    def applies(self, label: str, sources: Iterable[str] | None, source_times: dict[str, float] | None = None,
                time: float | None = None) -> bool:
        """Whether this rule releases a track with ``label`` fed by ``sources``; ``per_source``
        rules also need the track's ``source_times`` (source kind -> last update) and ``time``."""
        if label != self.label:
            return False
        if self.mode == "per_source":
            return bool(self.fresh_sources(sources, source_times, time))
        if self.sources is None:
            return True
        srcs = set(sources or ())
        return bool(srcs) and srcs <= self.sources

    def fresh_sources(self, sources: Iterable[str] | None, source_times: dict[str, float] | None,
                      time: float | None) -> list[str]:
        """``per_source``: the rule's source kinds that fed the track within ``max_age_s`` of
        ``time`` (none when the track does not say when each source last fed it)."""
        if self.mode != "per_source" or not isinstance(source_times, dict) or time is None:
            return []
        fed = set(sources or ())
        out = []
        for k in sorted(self.sources or ()):
            st = source_times.get(k)
            if k in fed and isinstance(st, (int, float)) and time - st <= self.max_age_s:
                out.append(k)
        return out

    def to_dict(self) -> dict[str, Any]:
        d = {"label": self.label, "release_as": self.release_as, "mode": self.mode, "coarsen_m": self.coarsen_m,
             "sources": sorted(self.sources) if self.sources is not None else None, "alerts": self.alerts}
        if self.mode == "per_source":
            d["max_age_s"] = self.max_age_s
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ShareRule:
        known = {"label", "release_as", "mode", "coarsen_m", "sources", "alerts", "max_age_s"}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown share rule field(s) {sorted(unknown)}; known: {sorted(known)}")
        d = dict(d)
        if d.get("sources") is not None:
            d["sources"] = frozenset(d["sources"])
        return cls(**d)


@dataclass(frozen=True)
class Agency:
    """An agency: its name, the labels it may receive and its share rules."""

    name: str
    labels: frozenset[str] = frozenset({"PUBLIC"})
    rules: tuple[ShareRule, ...] = ()
    title: str = ""
    country: str = ""
    #: sees every record whatever its label (the open, single-agency mode)
    all_labels: bool = False

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ValueError("an agency needs a non-empty name")
        object.__setattr__(self, "labels", frozenset(self.labels))
        object.__setattr__(self, "rules", tuple(self.rules))
        for r in self.rules:
            if r.release_as not in self.labels:
                raise ValueError(f"agency {self.name}: share rule releases {r.label} as {r.release_as}, "
                                 f"a label the agency may not receive ({sorted(self.labels)})")

    def may_see(self, label: str) -> bool:
        return self.all_labels or label in self.labels

    def rule_for(self, label: str, sources: Iterable[str] | None = None, alert: bool = False,
                 source_times: dict[str, float] | None = None, time: float | None = None) -> ShareRule | None:
        """The first rule that releases such a record (``source_times``/``time``: the track's,
        for ``per_source`` rules)."""
        for r in self.rules:
            if alert and r.alerts and r.label == label:
                return r
            if not alert and r.applies(label, sources, source_times, time):
                return r
        return None

    @property
    def unrestricted(self) -> bool:
        """True when nothing is ever withheld from or downgraded for this agency."""
        return self.all_labels

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "country": self.country,
                "labels": [lab for lab in LABELS if lab in self.labels] + sorted(self.labels - set(LABELS)),
                "rules": [r.to_dict() for r in self.rules], "all_labels": self.all_labels}


#: The open agency: sees everything (an API without an auth registry).
OPEN = Agency(name="local", labels=frozenset(LABELS), all_labels=True, title="open (no access control)")


# -- coarsening ------------------------------------------------------------------------------
@lru_cache(maxsize=256)
def _cell_frame(lat_cell: int, lon_cell: int) -> LocalFrame:
    return LocalFrame(float(lat_cell), float(lon_cell), 0.0)


def coarsen(lat, lon, alt, step_m: float):
    """Snap positions to a ``step_m`` grid (east/north in the local frame of their 1-degree cell)
    and heights to 100 m. Scalars or arrays; returns ``(lat, lon, alt)`` of the same shape."""
    lat_a, lon_a = np.atleast_1d(np.asarray(lat, dtype=float)), np.atleast_1d(np.asarray(lon, dtype=float))
    out_lat, out_lon = np.empty_like(lat_a), np.empty_like(lon_a)
    cells = np.stack([np.floor(lat_a), np.floor(lon_a)], axis=1).astype(int) if lat_a.size else np.empty((0, 2), int)
    for cell in {tuple(c) for c in cells.tolist()}:
        m = (cells[:, 0] == cell[0]) & (cells[:, 1] == cell[1])
        f = _cell_frame(*cell)
        e, n, _u = f.to_enu(lat_a[m], lon_a[m])
        e, n = np.round(np.asarray(e) / step_m) * step_m, np.round(np.asarray(n) / step_m) * step_m
        la, lo, _ = f.to_geodetic(e, n, np.zeros_like(e))
        out_lat[m], out_lon[m] = np.round(la, 6), np.round(lo, 6)
    if alt is None:
        alt_out = None
    else:
        alt_out = np.round(np.asarray(alt, dtype=float) / 100.0) * 100.0
    if np.ndim(lat) == 0:
        return float(out_lat[0]), float(out_lon[0]), None if alt_out is None else float(alt_out)
    return out_lat, out_lon, alt_out


def _coarse_point(p: GeoPoint | None, step: float) -> GeoPoint | None:
    if p is None:
        return None
    la, lo, al = coarsen(p.lat, p.lon, p.alt_m, step)
    return GeoPoint(la, lo, al)


def _released_note(rule: ShareRule, kinds: list[str] | None = None) -> dict[str, Any]:
    if rule.mode == "per_source":
        return {"released": f"per_source {'+'.join(kinds or ())} {rule.coarsen_m:g} m grid",
                "release_rule": f"{rule.label}->{rule.release_as}", "release_mode": rule.mode}
    return {"released": f"{rule.mode} {rule.coarsen_m:g} m grid", "release_rule": f"{rule.label}->{rule.release_as}"}


def _source_times(attrs: Any) -> dict[str, float] | None:
    st = attrs.get("source_times") if isinstance(attrs, dict) else None
    return st if isinstance(st, dict) else None


def _released_identities(identities: dict[str, str] | None, kinds: list[str]) -> dict[str, str]:
    allowed = {k for kind in kinds for k in SOURCE_IDENTITIES.get(kind, ())}
    return {k: v for k, v in (identities or {}).items() if k in allowed}


_CLASSES = frozenset(ObjectClass)


def _released_class(cls: Any, kinds: list[str]) -> ObjectClass:
    """The class a per-source release carries: one its sources can express (Remote ID: a drone;
    AIS: a vessel; ADS-B: its emitter category's fixed wing, rotorcraft or drone), never a
    restricted sensor's finer classification."""
    if "remote_id" in kinds:
        return ObjectClass.UAS
    c = ObjectClass(cls) if cls in _CLASSES else ObjectClass.UNKNOWN
    if "adsb" in kinds:
        return c if c in (ObjectClass.FIXED_WING, ObjectClass.ROTORCRAFT, ObjectClass.UAS) else (
            ObjectClass.FIXED_WING)
    if "ais" in kinds:
        return ObjectClass.VESSEL
    return ObjectClass.UNKNOWN if c not in AIR_CLASSES else c


# -- tracks ----------------------------------------------------------------------------------
def decide(label: str, sources: Iterable[str] | None, agency: Agency, alert: bool = False,
           source_times: dict[str, float] | None = None, time: float | None = None) -> ShareRule | bool:
    """``True``: release as is; ``False``: withhold; a :class:`ShareRule`: release downgraded.
    ``source_times`` and ``time`` (a track's) let ``per_source`` rules apply."""
    if agency.may_see(label):
        return True
    rule = agency.rule_for(label, sources, alert=alert, source_times=source_times, time=time)
    return rule if rule is not None else False


_NOT_GIVEN: Any = object()


def downgrade_track(t: Track, rule: ShareRule, position: GeoPoint | None = None,
                    operator: GeoPoint | None = _NOT_GIVEN) -> Track:
    """A track released under ``rule``: coarsened position, nothing else but class and times
    (``position``: the coarsened position when already computed); for a ``per_source`` rule,
    also the identities and source kinds of the releasable sources that fed it (``operator``:
    its coarsened operator position when already computed)."""
    if rule.mode == "per_source":
        kinds = rule.fresh_sources(t.sources, _source_times(t.attrs), t.time)
        if operator is _NOT_GIVEN:
            operator = _coarse_point(t.operator, rule.coarsen_m) if "remote_id" in kinds else None
        op = operator if "remote_id" in kinds else None
        # first_time and updates would tell when and how often the restricted sensors saw it
        return Track(id=t.id, time=t.time, position=position or _coarse_point(t.position, rule.coarsen_m),
                     velocity=None, sigma_h_m=max(float(rule.coarsen_m), t.sigma_h_m), status=t.status,
                     cls=_released_class(t.cls, kinds), identities=_released_identities(t.identities, kinds),
                     sources=kinds, sensors=[], label=rule.release_as, first_time=t.time, updates=0,
                     operator=op, attrs=_released_note(rule, kinds))
    return Track(id=t.id, time=t.time, position=position or _coarse_point(t.position, rule.coarsen_m), velocity=None,
                 sigma_h_m=max(float(rule.coarsen_m), t.sigma_h_m), status=t.status, cls=t.cls, identities={},
                 sources=[], sensors=[], label=rule.release_as, first_time=t.first_time, updates=t.updates,
                 operator=None, attrs=_released_note(rule))


def _coarse_batch(points: list[tuple[float, float, float | None]],
                  step: float) -> list[tuple[float, float, float | None]]:
    """Coarsen many positions in one vectorised call."""
    lat = np.fromiter((p[0] for p in points), float, len(points))
    lon = np.fromiter((p[1] for p in points), float, len(points))
    alt = np.fromiter((np.nan if p[2] is None else p[2] for p in points), float, len(points))
    la, lo, al = coarsen(lat, lon, alt, step)
    return [(float(la[i]), float(lo[i]), None if points[i][2] is None else float(al[i])) for i in range(len(points))]


def filter_tracks(tracks: Iterable[Track], agency: Agency) -> list[Track]:
    """The tracks ``agency`` may receive, downgraded where a share rule says so."""
    if agency.unrestricted:
        return list(tracks)
    out: list[Track | None] = []
    pending: dict[ShareRule, list[tuple[int, Track]]] = {}
    for t in tracks:
        d = decide(t.label, t.sources, agency, source_times=_source_times(t.attrs), time=t.time)
        if d is True:
            out.append(t)
        elif d is not False:
            pending.setdefault(d, []).append((len(out), t))
            out.append(None)
    for rule, items in pending.items():
        raw = [(t.position.lat, t.position.lon, t.position.alt_m) for _, t in items]
        ops = [k for k, (_, t) in enumerate(items) if rule.mode == "per_source" and t.operator is not None]
        raw += [(items[k][1].operator.lat, items[k][1].operator.lon, items[k][1].operator.alt_m) for k in ops]
        pts = _coarse_batch(raw, rule.coarsen_m)  # positions and operator positions in one call
        op_of = {k: GeoPoint(*pts[len(items) + j]) for j, k in enumerate(ops)}
        for k, ((i, t), (la, lo, al)) in enumerate(zip(items, pts)):
            out[i] = downgrade_track(t, rule, GeoPoint(la, lo, al), op_of.get(k))
    return out  # type: ignore[return-value]


def downgrade_track_dict(d: dict[str, Any], rule: ShareRule,
                         position: tuple[float, float, float | None] | None = None) -> dict[str, Any]:
    """The API JSON form of a track released under ``rule`` (same keys, stripped values)."""
    if position is None:
        pos = d.get("position") or {}
        position = coarsen(pos["lat"], pos["lon"], pos.get("alt_m"), rule.coarsen_m)
    la, lo, al = position
    out = {k: None for k in d}
    if rule.mode == "per_source":
        kinds = rule.fresh_sources(d.get("sources"), _source_times(d.get("attrs")), d.get("time"))
        op = d.get("operator") if "remote_id" in kinds else None
        if op:
            ola, olo, oal = coarsen(op["lat"], op["lon"], op.get("alt_m"), rule.coarsen_m)
            op = {"lat": ola, "lon": olo, "alt_m": oal}
        out.update(id=d["id"], time=d["time"], position={"lat": la, "lon": lo, "alt_m": al},
                   sigma_h_m=max(float(rule.coarsen_m), float(d.get("sigma_h_m") or 0.0)), status=d.get("status"),
                   cls=str(_released_class(d.get("cls"), kinds)),
                   identities=_released_identities(d.get("identities"), kinds), sources=kinds, sensors=[],
                   label=rule.release_as, first_time=d["time"], updates=0, operator=op or None,
                   attrs=_released_note(rule, kinds))
        return out
    out.update(id=d["id"], time=d["time"], position={"lat": la, "lon": lo, "alt_m": al},
               sigma_h_m=max(float(rule.coarsen_m), float(d.get("sigma_h_m") or 0.0)), status=d.get("status"),
               cls=d.get("cls"), identities={}, sources=[], sensors=[], label=rule.release_as,
               first_time=d.get("first_time"), updates=d.get("updates"), attrs=_released_note(rule))
    return out


def filter_track_dicts(tracks: Iterable[dict[str, Any]], agency: Agency) -> list[dict[str, Any]]:
    """:func:`filter_tracks` for the API's JSON form of tracks (``lookout.api.serialize.track_json``)."""
    if agency.unrestricted:
        return list(tracks)
    out: list[dict[str, Any] | None] = []
    pending: dict[ShareRule, list[tuple[int, dict[str, Any]]]] = {}
    for t in tracks:
        d = decide(t.get("label", "PUBLIC"), t.get("sources"), agency, source_times=_source_times(t.get("attrs")),
                   time=t.get("time"))
        if d is True:
            out.append(t)
        elif d is not False:
            pending.setdefault(d, []).append((len(out), t))
            out.append(None)
    for rule, items in pending.items():
        pts = _coarse_batch([(t["position"]["lat"], t["position"]["lon"], t["position"].get("alt_m"))
                             for _, t in items], rule.coarsen_m)
        for (i, t), p in zip(items, pts):
            out[i] = downgrade_track_dict(t, rule, p)
    return out  # type: ignore[return-value]


def _points_decision(track: Track | dict[str, Any] | None, agency: Agency) -> ShareRule | bool:
    """How a track's history reaches ``agency``: ``True`` as is, ``False`` not at all, or
    coarsened by the returned ``position_only`` rule."""
    if agency.unrestricted:
        return True
    if track is None:
        return False
    label = track.label if isinstance(track, Track) else track.get("label", "PUBLIC")
    sources = track.sources if isinstance(track, Track) else track.get("sources")
    attrs = (track.attrs if isinstance(track, Track) else track.get("attrs")) or {}
    if attrs.get("release_rule"):  # an already downgraded record: coarsen by the rule that released it
        mode = attrs.get("release_mode", "position_only")
        d: ShareRule | bool = next((r for r in agency.rules if f"{r.label}->{r.release_as}" == attrs["release_rule"]
                                    and r.mode == mode), False)
    else:
        time = track.time if isinstance(track, Track) else track.get("time")
        d = decide(label, sources, agency, source_times=_source_times(attrs), time=time)
    if isinstance(d, ShareRule) and d.mode == "per_source":
        return False
    return d


def _coarse_points(points: list[TrackPoint], step: float) -> list[TrackPoint]:
    if not points:
        return []
    lat, lon, alt = coarsen(np.array([p.lat for p in points]), np.array([p.lon for p in points]),
                            np.array([np.nan if p.alt_m is None else p.alt_m for p in points]), step)
    return [TrackPoint(time=p.time, lat=float(lat[i]), lon=float(lon[i]),
                       alt_m=None if p.alt_m is None else float(alt[i])) for i, p in enumerate(points)]


def filter_points(track: Track | dict[str, Any] | None, points: list[TrackPoint], agency: Agency) -> list[TrackPoint]:
    """A track's history as ``agency`` may receive it: all points, coarsened points (position
    only, no speed/course) or none. ``track`` None (unknown) releases nothing unless unrestricted.
    A track released by a ``per_source`` rule has no history: its points do not say which
    source fed each (the releasable source's own observations are released by their label)."""
    if agency.unrestricted:
        return points
    d = _points_decision(track, agency)
    if d is True:
        return points
    if d is False or not points:
        return []
    return _coarse_points(points, d.coarsen_m)


def filter_track_points(tracks: dict[str, Track], points: Iterable[tuple[str, TrackPoint]],
                        agency: Agency) -> list[tuple[str, TrackPoint]]:
    """:func:`filter_points` for many tracks' ``(track id, point)`` pairs at once (e.g. a
    store's ``track_points``), order kept; ``tracks``: the tracks by id (a point of a track
    not in it is withheld unless the agency is unrestricted). Coarsening is batched per rule."""
    if agency.unrestricted:
        return list(points)
    decisions: dict[str, ShareRule | bool] = {}
    out: list[tuple[str, TrackPoint] | None] = []
    pending: dict[ShareRule, list[tuple[int, str, TrackPoint]]] = {}
    for tid, p in points:
        d = decisions.get(tid)
        if d is None:
            d = decisions[tid] = _points_decision(tracks.get(tid), agency)
        if d is True:
            out.append((tid, p))
        elif d is not False:
            pending.setdefault(d, []).append((len(out), tid, p))
            out.append(None)
    for rule, items in pending.items():
        for (i, tid, _p), cp in zip(items, _coarse_points([p for _i, _t, p in items], rule.coarsen_m)):
            out[i] = (tid, cp)
    return [x for x in out if x is not None]


# -- alerts ----------------------------------------------------------------------------------
def downgrade_alert(a: Alert, rule: ShareRule) -> Alert:
    """An alert released under ``rule``: rule name, severity, state and times, coarsened
    position; message text, evidence, operator position and people's names stripped."""
    return Alert(rule=a.rule, severity=a.severity, message=f"{a.rule.replace('_', ' ')} ({rule.release_as} release)",
                 start=a.start, track_ids=list(a.track_ids), state=a.state, updated=a.updated, end=a.end,
                 position=_coarse_point(a.position, rule.coarsen_m), operator=None, evidence=_released_note(rule),
                 label=rule.release_as, acknowledged_at=a.acknowledged_at, resolved_at=a.resolved_at, id=a.id)


def filter_alerts(alerts: Iterable[Alert], agency: Agency) -> list[Alert]:
    """The alerts ``agency`` may receive, downgraded where a share rule says so."""
    if agency.unrestricted:
        return list(alerts)
    out = []
    for a in alerts:
        d = decide(a.label, None, agency, alert=True)
        if d is True:
            out.append(a)
        elif d is not False:
            out.append(downgrade_alert(a, d))
    return out


def filter_alert_dicts(alerts: Iterable[dict[str, Any]], agency: Agency) -> list[dict[str, Any]]:
    """:func:`filter_alerts` for the JSON form of alerts (``Alert.to_dict``)."""
    if agency.unrestricted:
        return list(alerts)
    out = []
    for a in alerts:
        d = decide(a.get("label", "PUBLIC"), None, agency, alert=True)
        if d is True:
            out.append(a)
        elif d is not False:
            rec = Alert.from_dict({k: v for k, v in a.items() if k in Alert.__dataclass_fields__})
            dj = downgrade_alert(rec, d).to_dict()
            dj["severity"], dj["state"] = str(dj["severity"]), str(dj["state"])
            out.append(dj)
    return out


# -- observations, zones ---------------------------------------------------------------------
def filter_observations(observations: Iterable[Observation], agency: Agency) -> list[Observation]:
    """Raw observations are released only when their label is allowed (never downgraded: a raw
    observation is sensor detail)."""
    if agency.unrestricted:
        return list(observations)
    return [o for o in observations if agency.may_see(o.label)]


def filter_zones(zones: Iterable[Zone], agency: Agency) -> list[Zone]:
    if agency.unrestricted:
        return list(zones)
    return [z for z in zones if agency.may_see(z.label)]


def may_see_label(label: str | None, agency: Agency) -> bool:
    """Whether a record with ``label`` reaches ``agency`` unchanged (no label: treated as the most
    restrictive known label, ``US-ONLY``)."""
    return agency.may_see(label or LABELS[-1])


__all__ = ["Agency", "ShareRule", "OPEN", "MODES", "SOURCE_IDENTITIES", "coarsen", "decide", "downgrade_track",
           "downgrade_alert", "downgrade_track_dict", "filter_tracks", "filter_track_dicts", "filter_alerts",
           "filter_alert_dicts", "filter_points", "filter_track_points", "filter_observations", "filter_zones",
           "may_see_label"]
