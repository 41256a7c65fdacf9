"""Analytics over a store for a time window and region: the numbers, the figures and the report.

:func:`analyse` is the one computation behind both ``lookout report`` and the
``/api/analytics`` endpoints, so the report and the API always show the same numbers:

* surveillance missions (from the stored track histories of aircraft) in the window, counts per
  period and the rate against a baseline window;
* border crossings (``border_crossing`` alerts, plus crossings found in drone track histories
  that no alert covers) clustered into corridors;
* launch points from Remote ID operator positions and their hotspots;
* alert statistics by rule, severity, state and day.

With an ``agency`` (:class:`lookout.share.releasability.Agency`), every input goes through the
releasability filters first: tracks, their points, alerts, Remote ID observations and zones
reach the computation only as that agency may receive them (withheld, unchanged or in the form
a share rule releases), so nothing it computes derives from a withheld record.

:func:`write_report` renders it as ``report.html`` with PNG figures, ``report.json`` and
(optionally) ``report.pdf``.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from shapely import contains_xy
from shapely.geometry import MultiPolygon, box, shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from lookout.analytics.corridors import (
    Crossings,
    crossings_from_alerts,
    crossings_from_tracks,
    find_corridors,
    launch_hotspots,
    launch_points,
)
from lookout.analytics.missions import (
    PERIODS,
    MissionConfig,
    MissionStream,
    PointHistory,
    baseline_comparison,
    count_missions,
)
from lookout.model import ObjectClass, SourceKind
from lookout.sector import Sector, load_sector
from lookout.share import releasability as rel
from lookout.store.base import BBox, Store

#: Extra margin (degrees) around a region when reading track points, so that orbits centred
#: inside the region but reaching out of it are read whole.
REGION_MARGIN_DEG = 0.3


def parse_time(value: str | float | int) -> float:
    """UNIX seconds from a number or an ISO 8601 date / date-time (UTC when no zone is given)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        t = float(value)
    else:
        s = str(value).strip()
        try:
            t = float(s)
        except ValueError:
            try:
                d = datetime.fromisoformat(s.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(f"time {value!r} is neither UNIX seconds nor an ISO 8601 date/time") from None
            if d.tzinfo is None:
                d = d.replace(tzinfo=UTC)
            t = d.timestamp()
    if not math.isfinite(t) or t < 0:
        raise ValueError(f"time {value!r} is out of range")
    return t


def _geojson_geometry(obj: dict[str, Any], name: str | None = None) -> tuple[BaseGeometry, str | None]:
    """The (Multi)Polygon geometry of a GeoJSON object and its name (the ``name`` property of a
    single Feature). ``name`` picks the Feature of that name out of a FeatureCollection."""
    t = obj.get("type")
    if t == "FeatureCollection":
        feats = [f for f in obj.get("features", [])
                 if (f.get("geometry") or {}).get("type") in ("Polygon", "MultiPolygon")]
        if name is not None:
            feats = [f for f in feats if str((f.get("properties") or {}).get("name")) == name]
            if not feats:
                raise ValueError(f"the GeoJSON region has no Polygon feature named {name!r}")
        if not feats:
            raise ValueError("the GeoJSON region has no Polygon feature")
        if len(feats) == 1:
            return _geojson_geometry(feats[0])
        return unary_union([shape(f["geometry"]) for f in feats]), name
    if name is not None:
        raise ValueError(f"a region name ({name!r}) picks a feature of a FeatureCollection")
    if t == "Feature":
        geom, _ = _geojson_geometry(obj["geometry"])
        fname = (obj.get("properties") or {}).get("name")
        return geom, None if fname is None else str(fname)
    if t not in ("Polygon", "MultiPolygon"):
        raise ValueError(f"a region must be a Polygon or MultiPolygon, got {t!r}")
    return shape(obj), None


def parse_bbox(text: str) -> BaseGeometry:
    """A box from ``lon_min,lat_min,lon_max,lat_max`` (degrees, GeoJSON order); ``lon_min >
    lon_max`` is a box across the antimeridian (two boxes)."""
    parts = str(text).split(",")
    try:
        if len(parts) != 4:
            raise ValueError("four numbers needed")
        x0, y0, x1, y1 = (float(p) for p in parts)
        if not all(math.isfinite(v) for v in (x0, y0, x1, y1)):
            raise ValueError("not finite")
        if not (-180.0 <= x0 <= 180.0 and -180.0 <= x1 <= 180.0 and -90.0 <= y0 < y1 <= 90.0) or x0 == x1:
            raise ValueError("out of range or empty")
    except ValueError as exc:
        raise ValueError(f"bad bbox {text!r} (lon_min,lat_min,lon_max,lat_max in degrees): {exc}") from None
    if x0 < x1:
        return box(x0, y0, x1, y1)
    return MultiPolygon([box(x0, y0, 180.0, y1), box(-180.0, y0, x1, y1)])


def parse_region(spec: str | None, store: Store | None = None, sector: Sector | None = None,
                 allow_files: bool = False) -> tuple[BaseGeometry | None, str]:
    """A region (shapely geometry, lon/lat) and its name from a specification.

    ``None``/empty: no region (everything); ``sector``: the sector polygon; ``zone:<id>``: a
    stored zone's polygon; ``bbox:lon_min,lat_min,lon_max,lat_max``: a box (across the
    antimeridian when ``lon_min > lon_max``); ``min_lat,min_lon,max_lat,max_lon``: a box; a
    GeoJSON geometry, Feature or FeatureCollection as text; with ``allow_files``, a GeoJSON file
    path, ``FILE#NAME`` for the feature named NAME in it. A region is named after its feature's
    ``name`` property, else the file name.
    """
    if spec is None or not str(spec).strip():
        return None, "all"
    s = str(spec).strip()
    if s == "sector":
        sec = sector or load_sector()
        return sec.polygon, sec.name
    if s.startswith("zone:"):
        if store is None:
            raise ValueError("a zone region needs a store")
        z = store.zone(s[5:])
        if z is None:
            raise ValueError(f"no zone {s[5:]!r} in the store")
        return _geojson_geometry(z.geometry)[0], z.name
    if s.startswith("bbox:"):
        return parse_bbox(s[5:]), s[5:]
    if s.startswith("{"):
        try:
            geom, name = _geojson_geometry(json.loads(s))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"bad GeoJSON region: {exc}") from None
        return geom, name or "custom"
    parts = s.split(",")
    if len(parts) == 4:
        try:
            b = BBox(*(float(p) for p in parts))
        except ValueError as exc:
            raise ValueError(f"bad region box {s!r} (min_lat,min_lon,max_lat,max_lon): {exc}") from None
        return box(b.min_lon, b.min_lat, b.max_lon, b.max_lat), s
    if allow_files:
        path, _, name = s.partition("#")
        if Path(path).is_file():
            try:
                geom, fname = _geojson_geometry(json.loads(Path(path).read_text()), name or None)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ValueError(f"bad GeoJSON region file {path}: {exc}") from None
            return geom, name or fname or Path(path).stem
    geojson = "a GeoJSON file" if allow_files else "GeoJSON text"
    raise ValueError(f"unknown region {s!r}: use 'sector', 'zone:<id>', 'bbox:lon_min,lat_min,lon_max,lat_max', "
                     f"'min_lat,min_lon,max_lat,max_lon' or {geojson}")


@dataclass(frozen=True)
class AnalyticsQuery:
    """What to analyse: a window, a region specification, the counting period and baseline."""

    start: float
    end: float
    region: str | None = None
    period: str = "week"
    baseline_start: float | None = None
    baseline_end: float | None = None

    def __post_init__(self) -> None:
        if not self.end > self.start:
            raise ValueError(f"the window end ({self.end}) must be after its start ({self.start})")
        if self.period not in PERIODS:
            raise ValueError(f"period must be one of {', '.join(PERIODS)}, got {self.period!r}")
        b1 = self.start if self.baseline_end is None else self.baseline_end
        b0 = b1 - (self.end - self.start) if self.baseline_start is None else self.baseline_start
        if not b1 > b0:
            raise ValueError("the baseline window is empty (baseline end before its start)")

    @property
    def baseline(self) -> tuple[float, float]:
        b1 = self.start if self.baseline_end is None else self.baseline_end
        b0 = b1 - (self.end - self.start) if self.baseline_start is None else self.baseline_start
        return b0, b1


@dataclass
class AnalyticsResult:
    """The numbers (``to_dict``) plus the point arrays the figures draw."""

    query: AnalyticsQuery
    region_name: str
    region: BaseGeometry | None
    missions: list = field(default_factory=list)  # in the window
    baseline_missions: list = field(default_factory=list)
    counts: list = field(default_factory=list)
    baseline: dict = field(default_factory=dict)
    crossings: Crossings = field(default_factory=Crossings.empty)
    corridors: list = field(default_factory=list)
    launch_lat: np.ndarray = field(default_factory=lambda: np.empty(0))
    launch_lon: np.ndarray = field(default_factory=lambda: np.empty(0))
    hotspots: list = field(default_factory=list)
    alerts: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        q = self.query
        cr = self.crossings
        return {
            "window": {"start": q.start, "end": q.end, "period": q.period, "region": self.region_name,
                       "baseline_start": q.baseline[0], "baseline_end": q.baseline[1]},
            "missions": {
                "count": len(self.missions),
                "aircraft": len({m.icao24 for m in self.missions}),
                "by_pattern": dict(sorted(Counter(m.pattern for m in self.missions).items())),
                "per_period": [c.to_dict() for c in self.counts],
                "baseline": self.baseline,
                "items": [m.to_dict() for m in self.missions],
            },
            "crossings": {"count": len(cr), "north": int((cr.direction == "north").sum()),
                          "south": int((cr.direction == "south").sum())},
            "corridors": [c.to_dict() for c in self.corridors],
            "launch_points": {"count": int(self.launch_lat.size), "hotspots": [h.to_dict() for h in self.hotspots]},
            "alerts": self.alerts,
        }


def _in_region(region: BaseGeometry | None, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    if region is None:
        return np.ones(np.asarray(lat).size, bool)
    return contains_xy(region, np.asarray(lon, float), np.asarray(lat, float))


#: the store's track points are read a day at a time (bounded memory for any window)
READ_SLICE_S = 86400.0


def _slices(t0: float, t1: float, step: float) -> Iterator[tuple[float, float]]:
    """Back-to-back closed windows covering [t0, t1], none sharing an instant."""
    a = t0
    while a <= t1:
        b = min(a + step, t1)
        yield a, b
        a = float(np.nextafter(b, math.inf))


def analyse(store: Store, query: AnalyticsQuery, sector: Sector | None = None,
            config: MissionConfig | None = None, allow_region_files: bool = False,
            agency: rel.Agency | None = None, history: Iterable[PointHistory] | None = None) -> AnalyticsResult:
    """Compute every analytics number for ``query`` from ``store`` (see the module docs);
    ``agency``: compute only from what that agency may receive (default: everything).

    Missions come from the store's aircraft track histories, read a day at a time, or, with
    ``history`` (PointHistory chunks, e.g. :func:`lookout.analytics.history.iter_history_file`
    of an ADS-B history of any region and size), from those positions instead."""
    sector = sector or load_sector()
    restricted = agency is not None and not agency.unrestricted
    if restricted and query.region and str(query.region).strip().startswith("zone:"):
        z = store.zone(str(query.region).strip()[5:])
        if z is None or not rel.filter_zones([z], agency):  # the same answer as for an unknown zone
            raise ValueError(f"no zone {str(query.region).strip()[5:]!r} in the store")
    region, region_name = parse_region(query.region, store=store, sector=sector, allow_files=allow_region_files)
    b0, b1 = query.baseline
    read0, read1 = min(b0, query.start), max(b1, query.end)
    bbox = None
    if region is not None:
        x0, y0, x1, y1 = region.bounds
        m = REGION_MARGIN_DEG
        bbox = BBox(max(-90.0, y0 - m), max(-180.0, x0 - m), min(90.0, y1 + m), min(180.0, x1 + m))
    all_tracks = {t.id: t for t in store.tracks(start=read0)}
    tracks = ({t.id: t for t in rel.filter_tracks(all_tracks.values(), agency)} if restricted
              else all_tracks)
    # -- missions (and the drone tracks' points, for crossings) -----------------------------
    stream = MissionStream(config, region)
    drone_ids = {tid for tid, t in tracks.items() if t.cls == ObjectClass.UAS or "remote_id" in t.identities}
    rows = []
    if history is not None:
        for chunk in history:
            stream.add(chunk)
    for a, b in _slices(read0, read1, READ_SLICE_S):
        points = store.track_points(start=a, end=b, bbox=bbox)
        if restricted:
            points = rel.filter_track_points(all_tracks, points, agency)
        if history is None:
            stream.add(PointHistory.from_track_points(points, tracks))
        rows += [(tid, p.time, p.lat, p.lon) for tid, p in points
                 if tid in drone_ids and query.start <= p.time <= query.end]
    all_missions = stream.finish()
    missions = [m for m in all_missions if query.start <= m.start < query.end]
    base = [m for m in all_missions if b0 <= m.start < b1]
    counts = count_missions(missions, query.period, query.start, query.end)
    cmp = baseline_comparison(all_missions, query.start, query.end, b0, b1)
    # -- crossings and corridors -----------------------------------------------------------
    alerts = store.alerts(start=query.start, end=query.end)
    if restricted:
        alerts = rel.filter_alerts(alerts, agency)
    cr_alerts = crossings_from_alerts(alerts).window(query.start, query.end)
    covered = set(cr_alerts.track_id.tolist())
    rows = [r for r in rows if r[0] not in covered]
    cr_tracks = Crossings.empty()
    if rows:
        tid, t, la, lo = zip(*rows)
        cr_tracks = crossings_from_tracks(np.asarray(tid, object), np.asarray(t), np.asarray(la), np.asarray(lo),
                                          sector)
    crossings = Crossings.concat([cr_alerts, cr_tracks])
    crossings = crossings.select(_in_region(region, crossings.lat, crossings.lon))
    corridors = find_corridors(crossings, now=query.end, frame=sector.frame)
    # -- launch points ---------------------------------------------------------------------
    rid_obs = store.observations(start=query.start, end=query.end, source=SourceKind.REMOTE_ID)
    if restricted:
        rid_obs = rel.filter_observations(rid_obs, agency)
    op_tracks = [t for t in tracks.values() if t.operator is not None
                 and query.start <= (t.first_time or t.time) <= query.end]
    lp = launch_points(rid_obs, op_tracks)
    keep = _in_region(region, lp.lat, lp.lon)
    lp.time, lp.lat, lp.lon, lp.ident = lp.time[keep], lp.lat[keep], lp.lon[keep], lp.ident[keep]
    hotspots = launch_hotspots(lp, top=20)
    # -- alert statistics ------------------------------------------------------------------
    # alerts raised in the window (the store also returns older episodes still open), in the region
    in_win = [a for a in alerts if query.start <= a.start <= query.end and (
              a.position is None or region is None
              or bool(_in_region(region, np.array([a.position.lat]), np.array([a.position.lon]))[0]))]
    per_day = Counter(datetime.fromtimestamp(a.start, tz=UTC).strftime("%Y-%m-%d") for a in in_win)
    alert_stats = {
        "total": len(in_win),
        "by_rule": dict(sorted(Counter(a.rule for a in in_win).items())),
        "by_severity": dict(sorted(Counter(str(a.severity) for a in in_win).items())),
        "by_state": dict(sorted(Counter(str(a.state) for a in in_win).items())),
        "per_day": dict(sorted(per_day.items())),
    }
    return AnalyticsResult(query=query, region_name=region_name, region=region, missions=missions,
                           baseline_missions=base, counts=counts, baseline=cmp, crossings=crossings,
                           corridors=corridors, launch_lat=lp.lat, launch_lon=lp.lon, hotspots=hotspots,
                           alerts=alert_stats)


# ------------------------------------------------------------------------------------------
# HTML / PDF
# ------------------------------------------------------------------------------------------
_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Lookout analytics report {{ title }}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:3px 8px;font-size:13px}
th{background:#eee}img{max-width:100%;border:1px solid #ddd;margin:0.5em 0}.big{font-size:1.2em}
</style></head><body>
<h1>Lookout analytics report</h1>
<p>Window <b>{{ fmt(d.window.start) }}</b> to <b>{{ fmt(d.window.end) }}</b>, region <b>{{ d.window.region }}</b>;
baseline {{ fmt(d.window.baseline_start) }} to {{ fmt(d.window.baseline_end) }}.</p>

<h2>Surveillance missions</h2>
<p class="big" id="mission-summary">{{ d.missions.baseline.text }}</p>
<p>{{ d.missions.count }} missions by {{ d.missions.aircraft }} aircraft
({% for k, v in d.missions.by_pattern.items() %}{{ v }} {{ k }}{% if not loop.last %}, {% endif %}{% endfor %}).</p>
<img src="{{ figs.missions_timeline }}" alt="missions timeline">
<img src="{{ figs.mission_counts }}" alt="mission counts against baseline">
<table id="missions"><tr><th>aircraft</th><th>callsign</th><th>type</th><th>start (UTC)</th><th>duration</th>
<th>pattern</th><th>centre</th><th>radius km</th><th>score</th></tr>
{% for m in d.missions["items"] %}<tr><td>{{ m.icao24 }}</td><td>{{ m.callsign or "" }}</td>
<td>{{ m.aircraft_type or "" }}</td>
<td>{{ fmt(m.start) }}</td><td>{{ "%.0f"|format(m.duration_s / 60) }} min</td><td>{{ m.pattern }}</td>
<td>{{ "%.4f, %.4f"|format(m.center_lat, m.center_lon) }}</td><td>{{ "%.1f"|format(m.radius_m / 1000) }}</td>
<td>{{ m.score }}</td></tr>{% endfor %}
</table>

<h2>Crossing corridors</h2>
<p id="crossing-summary">{{ d.crossings.count }} crossings ({{ d.crossings.north }} northbound,
{{ d.crossings.south }} southbound) in {{ d.corridors|length }} corridors.</p>
<img src="{{ figs.corridor_map }}" alt="corridor map">
<table id="corridors"><tr><th>rank</th><th>crossings</th><th>recency-weighted</th><th>north / south</th>
<th>centre</th><th>width m</th><th>last crossing (UTC)</th></tr>
{% for c in d.corridors %}<tr><td>{{ c.rank }}</td><td>{{ c.count }}</td><td>{{ c.score }}</td>
<td>{{ c.north }} / {{ c.south }}</td><td>{{ "%.4f, %.4f"|format(c.center_lat, c.center_lon) }}</td>
<td>{{ "%.0f"|format(c.width_m) }}</td><td>{{ fmt(c.last_seen) }}</td></tr>{% endfor %}
</table>

<h2>Launch points</h2>
<p id="launch-summary">{{ d.launch_points.count }} drone launch points from Remote ID operator positions.</p>
<img src="{{ figs.launch_heatmap }}" alt="launch-point heatmap">
<table id="hotspots"><tr><th>H3 cell</th><th>launches</th><th>drones</th><th>centre</th><th>last (UTC)</th></tr>
{% for h in d.launch_points.hotspots %}<tr><td>{{ h.cell }}</td><td>{{ h.count }}</td><td>{{ h.drones }}</td>
<td>{{ "%.4f, %.4f"|format(h.center_lat, h.center_lon) }}</td><td>{{ fmt(h.last_seen) }}</td></tr>{% endfor %}
</table>

<h2>Alerts</h2>
<p id="alert-summary">{{ d.alerts.total }} alerts.</p>
<img src="{{ figs.alert_stats }}" alt="alert statistics">
<table id="alerts"><tr><th>rule</th><th>alerts</th></tr>
{% for k, v in d.alerts.by_rule.items() %}<tr><td>{{ k }}</td><td>{{ v }}</td></tr>{% endfor %}
</table>
<p><small>Numbers: report.json (the same as GET /api/analytics/summary with the same parameters).</small></p>
</body></html>
"""


def _fmt_time(t: float | None) -> str:
    if t is None:
        return ""
    return datetime.fromtimestamp(float(t), tz=UTC).strftime("%Y-%m-%d %H:%M")


def render_html(data: dict[str, Any], figures: dict[str, str]) -> str:
    """The report page for ``data`` (:meth:`AnalyticsResult.to_dict`), with figure URLs."""
    from jinja2 import Environment, select_autoescape

    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    title = f"{_fmt_time(data['window']['start'])} - {_fmt_time(data['window']['end'])}"
    return env.from_string(_TEMPLATE).render(d=data, figs=figures, fmt=_fmt_time, title=title)


def write_report(store: Store, query: AnalyticsQuery, out: str | Path, pdf: bool = True,
                 sector: Sector | None = None, allow_region_files: bool = False,
                 agency: rel.Agency | None = None, history: Iterable[PointHistory] | None = None,
                 config: MissionConfig | None = None) -> dict[str, Path]:
    """Analyse and write ``report.html``, ``report.json``, the PNG figures and ``report.pdf``
    into ``out``; returns the written paths by kind (``agency``, ``history``: as for
    :func:`analyse`)."""
    from lookout.analytics.figures import FIGURES, figure, pdf_report

    sector = sector or load_sector()
    res = analyse(store, query, sector=sector, config=config, allow_region_files=allow_region_files,
                  agency=agency, history=history)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = res.to_dict()
    files: dict[str, Path] = {}
    for name in FIGURES:
        p = out / f"{name}.png"
        p.write_bytes(figure(name, res, sector))
        files[name] = p
    (out / "report.json").write_text(json.dumps(data, indent=1))
    files["json"] = out / "report.json"
    html = render_html(data, {n: f"{n}.png" for n in FIGURES})
    (out / "report.html").write_text(html)
    files["html"] = out / "report.html"
    if pdf:
        files["pdf"] = out / "report.pdf"
        pdf_report(res, sector, files["pdf"])
    return files
