"""Releasability: which records an agency may receive, and in what form.

Every source carries a label (``PUBLIC``, ``REL-MX``, ``US-ONLY``, see :data:`lookout.model.LABELS`);
a track carries the most restrictive label of the sources that fed it, an alert the label its
rule gave it. An :class:`Agency` lists the labels it may receive. A record whose label is not in
that list is withheld, unless one of the agency's :class:`ShareRule` releases it in a downgraded
form: position only, snapped to a coarse grid (e.g. 1 km), identities, sensors, sources,
velocity, operator positions and free-text details stripped, relabelled with the rule's
``release_as`` label.

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
from lookout.model import LABELS, Alert, GeoPoint, Observation, Track, TrackPoint, Zone

#: Release modes a share rule may apply.
MODES = ("position_only",)


@dataclass(frozen=True)
class ShareRule:
    """Release records labelled ``label`` to an agency that may not otherwise see them.

    ``release_as``: the label the released record carries (one the agency may receive);
    ``mode``: ``position_only`` (position snapped to ``coarsen_m``, everything else stripped);
    ``sources``: when set, only tracks fed by nothing but these source kinds are released
    (e.g. ``{"radar"}``: radar-only tracks); ``alerts``: whether the rule also releases alerts.
    """

    label: str
    release_as: str
    mode: str = "position_only"
    coarsen_m: float = 1000.0
    sources: frozenset[str] | None = None
    alerts: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"share rule mode {self.mode!r} is unknown; use one of {list(MODES)}")
        if not self.label or not self.release_as:
            raise ValueError("a share rule needs a label and a release_as label")
        if not (isinstance(self.coarsen_m, (int, float)) and math.isfinite(self.coarsen_m) and self.coarsen_m >= 10):
            raise ValueError(f"share rule coarsen_m must be a number >= 10 metres, got {self.coarsen_m!r}")
        if self.sources is not None:
            object.__setattr__(self, "sources", frozenset(self.sources))

    def applies(self, label: str, sources: Iterable[str] | None) -> bool:
        if label != self.label:
            return False
        if self.sources is None:
            return True
        srcs = set(sources or ())
        return bool(srcs) and srcs <= self.sources

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "release_as": self.release_as, "mode": self.mode, "coarsen_m": self.coarsen_m,
                "sources": sorted(self.sources) if self.sources is not None else None, "alerts": self.alerts}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ShareRule":
        known = {"label", "release_as", "mode", "coarsen_m", "sources", "alerts"}
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

    def rule_for(self, label: str, sources: Iterable[str] | None = None, alert: bool = False) -> ShareRule | None:
        for r in self.rules:
            if alert and r.alerts and r.label == label:
                return r
            if not alert and r.applies(label, sources):
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


def _released_note(rule: ShareRule) -> dict[str, Any]:
    return {"released": f"{rule.mode} {rule.coarsen_m:g} m grid", "release_rule": f"{rule.label}->{rule.release_as}"}


# -- tracks ----------------------------------------------------------------------------------
def decide(label: str, sources: Iterable[str] | None, agency: Agency, alert: bool = False) -> ShareRule | bool:
    """``True``: release as is; ``False``: withhold; a :class:`ShareRule`: release downgraded."""
    if agency.may_see(label):
        return True
    rule = agency.rule_for(label, sources, alert=alert)
    return rule if rule is not None else False


def downgrade_track(t: Track, rule: ShareRule, position: GeoPoint | None = None) -> Track:
    """A track released under ``rule``: coarsened position, nothing else but class and times
    (``position``: the coarsened position when already computed)."""
    return Track(id=t.id, time=t.time, position=position or _coarse_point(t.position, rule.coarsen_m), velocity=None,
                 sigma_h_m=max(float(rule.coarsen_m), t.sigma_h_m), status=t.status, cls=t.cls, identities={},
                 sources=[], sensors=[], label=rule.release_as, first_time=t.first_time, updates=t.updates,
                 operator=None, attrs=_released_note(rule))


def _coarse_batch(points: list[tuple[float, float, float | None]], step: float) -> list[tuple[float, float, float | None]]:
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
        d = decide(t.label, t.sources, agency)
        if d is True:
            out.append(t)
        elif d is not False:
            pending.setdefault(d, []).append((len(out), t))
            out.append(None)
    for rule, items in pending.items():
        pts = _coarse_batch([(t.position.lat, t.position.lon, t.position.alt_m) for _, t in items], rule.coarsen_m)
        for (i, t), (la, lo, al) in zip(items, pts):
            out[i] = downgrade_track(t, rule, GeoPoint(la, lo, al))
    return out  # type: ignore[return-value]


def downgrade_track_dict(d: dict[str, Any], rule: ShareRule,
                         position: tuple[float, float, float | None] | None = None) -> dict[str, Any]:
    """The API JSON form of a track released under ``rule`` (same keys, stripped values)."""
    if position is None:
        pos = d.get("position") or {}
        position = coarsen(pos["lat"], pos["lon"], pos.get("alt_m"), rule.coarsen_m)
    la, lo, al = position
    out = {k: None for k in d}
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
        d = decide(t.get("label", "PUBLIC"), t.get("sources"), agency)
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


def filter_points(track: Track | dict[str, Any] | None, points: list[TrackPoint], agency: Agency) -> list[TrackPoint]:
    """A track's history as ``agency`` may receive it: all points, coarsened points (position
    only, no speed/course) or none. ``track`` None (unknown) releases nothing unless unrestricted."""
    if agency.unrestricted:
        return points
    if track is None:
        return []
    label = track.label if isinstance(track, Track) else track.get("label", "PUBLIC")
    sources = track.sources if isinstance(track, Track) else track.get("sources")
    attrs = (track.attrs if isinstance(track, Track) else track.get("attrs")) or {}
    if attrs.get("release_rule"):  # an already downgraded record: coarsen by the rule that released it
        d = next((r for r in agency.rules if f"{r.label}->{r.release_as}" == attrs["release_rule"]), False)
    else:
        d = decide(label, sources, agency)
    if d is True:
        return points
    if d is False or not points:
        return []
    lat, lon, alt = coarsen(np.array([p.lat for p in points]), np.array([p.lon for p in points]),
                            np.array([np.nan if p.alt_m is None else p.alt_m for p in points]), d.coarsen_m)
    return [TrackPoint(time=p.time, lat=float(lat[i]), lon=float(lon[i]),
                       alt_m=None if p.alt_m is None else float(alt[i])) for i, p in enumerate(points)]


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


__all__ = ["Agency", "ShareRule", "OPEN", "MODES", "coarsen", "decide", "downgrade_track", "downgrade_alert",
           "downgrade_track_dict", "filter_tracks", "filter_track_dicts", "filter_alerts", "filter_alert_dicts",
           "filter_points", "filter_observations", "filter_zones", "may_see_label"]
