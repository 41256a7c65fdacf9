"""The Lookout HTTP API (FastAPI): REST over the store, the live WebSocket stream, the web map.

``create_app(store, hub=...)`` builds the app; ``lookout serve`` and ``lookout demo`` run it with
uvicorn. OpenAPI docs are at ``/docs`` and ``/redoc``, served offline (:mod:`lookout.api.docs`).
Every list endpoint filters by time window (``start``/``end``: UNIX seconds or ISO 8601) and area
(``bbox=min_lon,min_lat,max_lon,max_lat``); bad input gets a 4xx JSON response
``{"detail": "..."}`` that names what is wrong.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time as _time
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from lookout import __version__
from lookout.api import security as sec
from lookout.api import serialize as ser
from lookout.api.docs import add_docs_routes
from lookout.api.live import LiveHub, parse_classes
from lookout.api.params import (
    ApiError,
    BodyLimit,
    bad_request,
    check_limit,
    not_found,
    parse_bbox,
    parse_bbox_list,
    parse_window,
)
from lookout.api.security import WHO, Principal
from lookout.api.zones import MAX_ZONE_BODY, zone_feature, zone_from_body
from lookout.model import Alert, AlertState, SourceKind, TrackStatus
from lookout.sector import Sector, load_sector
from lookout.share import releasability as rel
from lookout.store.base import Store

log = logging.getLogger(__name__)

#: Most track points one replay request may return (narrow the window or area beyond this).
MAX_REPLAY_POINTS = 500_000

START = Query(None, description="Window start: UNIX seconds or ISO 8601 (UTC when no zone is given).")
END = Query(None, description="Window end: UNIX seconds or ISO 8601.")
BBOX = Query(None, description="Area: min_lon,min_lat,max_lon,max_lat (WGS-84 degrees).")
CLS = Query(None, description="Object classes, comma-separated (e.g. uas,fixed_wing).")


def fast_json(obj: Any, status_code: int = 200) -> Response:
    """A JSON response encoded with orjson (for the large answers: replay, history, lists)."""
    return Response(orjson.dumps(obj), status_code=status_code, media_type="application/json")


def _r(x: float | None, nd: int) -> float | None:
    return None if x is None else round(x, nd)


def static_dir() -> Path:
    """The built web front end shipped inside the package."""
    return Path(str(resources.files("lookout.web"))) / "static"


def transition_alert(alert: Alert, action: str, by: str, now: float) -> Alert:
    """Apply an operator action to an alert: new -> acknowledged -> resolved (new -> resolved is
    allowed). Raises ValueError for any other transition."""
    if action == "acknowledge":
        if alert.state != AlertState.NEW:
            raise ValueError(f"alert {alert.id} is {alert.state}; only a new alert can be acknowledged")
        alert.state, alert.acknowledged_by, alert.acknowledged_at = AlertState.ACKNOWLEDGED, by, now
    elif action == "resolve":
        if alert.state == AlertState.RESOLVED:
            raise ValueError(f"alert {alert.id} is already resolved")
        alert.state, alert.resolved_by, alert.resolved_at = AlertState.RESOLVED, by, now
    else:
        raise ValueError(f"unknown alert action {action!r}")
    alert.updated = max(alert.updated or 0.0, now)
    return alert


def create_app(store: Store, hub: LiveHub | None = None, sector: Sector | None = None, health: Any = None,
               alert_manager: Any = None, routers: list[APIRouter] | None = None,
               sensors: list[dict[str, Any]] | None = None, auth: Any = None) -> FastAPI:
    """Build the API + web map app over ``store``.

    ``hub``: the live picture fed by the pipeline (``/api/ws`` streams it); ``sector``: the
    basemap and default view (the packaged Nogales sector when None); ``health``: an object with
    ``snapshot() -> list[dict]`` per sensor; ``alert_manager``: an object with
    ``acknowledge(id, by)`` / ``resolve(id, by)`` (KeyError unknown, ValueError illegal);
    ``routers``: extra APIRouters to include; ``sensors``: ``{id, kind, lat, lon, range_m}``
    dicts drawn as coverage rings (an optional ``label`` releasability key hides a sensor from
    agencies that may not see it); ``auth``: an :class:`lookout.auth.AuthStore` turns on access
    control (tokens, roles, per-agency releasability filtering, audit log; see
    :mod:`lookout.api.security`); without it the API is open and unfiltered.
    """
    app = FastAPI(title="Lookout API", version=__version__,
                  description="Common operating picture of a border sector: tracks, history, observations, "
                              "alerts, zones, sensors; live WebSocket stream at /api/ws; GeoJSON/KML export.",
                  docs_url=None, redoc_url=None)
    add_docs_routes(app)
    app.add_middleware(BodyLimit, prefix="/api/zones", max_bytes=MAX_ZONE_BODY, what="zone body",
                       hint="simplify the geometry or split the zone into several")
    app.state.store = store
    app.state.hub = hub
    app.state.sector = sector if sector is not None else load_sector()
    app.state.health = health
    app.state.alert_manager = alert_manager
    app.state.sensors = list(sensors or [])
    app.state.auth = auth
    app.state.agency_views = sec.AgencyViews(hub) if (auth is not None and hub is not None) else None

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(ValueError)
    async def _value_error(_request: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    api = APIRouter(prefix="/api", dependencies=[WHO, *sec.credentials(auth)])
    _add_status_routes(api, app)
    _add_track_routes(api, app)
    _add_alert_routes(api, app)
    _add_zone_routes(api, app)
    _add_export_routes(api, app)
    _add_websocket(api, app)
    app.include_router(api)
    app.include_router(sec.auth_router(app))
    for r in routers or []:
        # with access control, an extra router is open only to agencies cleared for every
        # label, unless its routes are marked as filtering per agency (see security.per_agency)
        app.include_router(r, dependencies=[Depends(sec.require_full_access), *sec.credentials(auth)]
                           if auth is not None else [])

    sdir = static_dir()
    if sdir.is_dir():
        app.mount("/static", StaticFiles(directory=sdir), name="static")

    @app.get("/", include_in_schema=False)
    def index(request: Request) -> Response:
        if not sec.signed_in(request):
            return RedirectResponse("/login", status_code=303)
        page = sdir / "index.html"
        if not page.is_file():
            return JSONResponse({"detail": "the web map is not built (npm --prefix web run build)"}, status_code=404)
        return FileResponse(page, media_type="text/html")

    return app


# -- status, basemap, sensors -----------------------------------------------------------------
def _add_status_routes(api: APIRouter, app: FastAPI) -> None:
    @api.get("/health", summary="Service status")
    def health(who: Principal = WHO) -> dict[str, Any]:
        hub: LiveHub | None = app.state.hub
        view: LiveHub | None = sec.live_view(app, who)
        return {"status": "ok", "version": __version__, "time": _time.time(),
                "live": hub is not None, "live_time": hub.time if hub else None,
                "live_tracks": view.live_tracks if view else 0, "clients": hub.clients if hub else 0}

    @api.get("/basemap", summary="Offline basemap: sector, border line, towns, roads (GeoJSON)")
    def basemap() -> JSONResponse:
        return JSONResponse(app.state.sector.geojson, media_type="application/geo+json")

    @api.get("/extent", summary="Time span of the stored tracks (for the replay slider)")
    def extent(who: Principal = WHO) -> dict[str, Any]:
        tracks = rel.filter_tracks(app.state.store.tracks(), who.agency)
        hub: LiveHub | None = app.state.hub
        if not tracks:
            return {"start": None, "end": None, "tracks": 0, "live_time": hub.time if hub else None}
        return {"start": min(t.first_time or t.time for t in tracks), "end": max(t.time for t in tracks),
                "tracks": len(tracks), "live_time": hub.time if hub else None}

    @api.get("/sensors", summary="Sensors: position, coverage, status, last seen, message rates, errors")
    def sensors(who: Principal = WHO) -> list[dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = {}
        for s in app.state.sensors:
            rows[str(s["id"])] = dict(s)
        if app.state.health is not None:
            for h in app.state.health.snapshot():
                sid = str(h.get("sensor") or h.get("id") or h.get("sensor_id"))
                rows.setdefault(sid, {"id": sid}).update(h)
        counts = app.state.store.count_observations(by="sensor")
        for sid, n in counts.items():
            rows.setdefault(sid, {"id": sid})["observations"] = n
        rows = {k: r for k, r in rows.items() if rel.may_see_label(r.get("label"), who.agency)}
        return sorted(rows.values(), key=lambda r: str(r["id"]))


# -- tracks, history, observations -------------------------------------------------------------
def _add_track_routes(api: APIRouter, app: FastAPI) -> None:
    def _get_track(track_id: str, who: Principal = sec.OPEN_PRINCIPAL):
        t = app.state.store.track(track_id)
        if t is not None:
            vis = rel.filter_tracks([t], who.agency)
            if vis:
                return ser.track_json(vis[0])
        hub: LiveHub | None = sec.live_view(app, who)
        d = hub.track(track_id) if hub else None
        if d is None:
            raise not_found(f"no track with id {track_id!r}")
        return d

    @api.get("/tracks", summary="Tracks: the live picture, or stored tracks by time window and area")
    def tracks(start: str | None = START, end: str | None = END, bbox: str | None = BBOX,
               cls: str | None = CLS,
               status: str | None = Query(None, description="tentative, confirmed or deleted"),
               live: bool | None = Query(None, description="Live picture (default when a live feed runs and "
                                                           "no window is given) or the store."),
               limit: int | None = Query(None, description="At most this many tracks (1..100000)."),
               who: Principal = WHO) -> list[dict]:
        s, e = parse_window(start, end)
        box, classes = parse_bbox(bbox), parse_classes(cls)
        check_limit(limit, 100_000)
        if status is not None and status not in {str(x) for x in TrackStatus}:
            raise bad_request(f"status={status!r} is unknown; use one of {[str(x) for x in TrackStatus]}")
        hub: LiveHub | None = app.state.hub
        if live and hub is None:
            raise bad_request("live=true but this server has no live feed; ask for stored tracks (live=false)")
        if live is None:
            live = hub is not None and s is None and e is None and hub.time is not None
        if live:
            out = sec.live_view(app, who).snapshot(box, classes)
            if status is not None:
                out = [d for d in out if d["status"] == status]
        else:
            restricted = not who.agency.unrestricted
            rows = app.state.store.tracks(start=s, end=e, bbox=sec.widen(box, sec.margin_m(who.agency)),
                                          status=status, limit=None if (classes or restricted) else limit)
            out = [ser.track_json(t) for t in rel.filter_tracks(rows, who.agency)
                   if classes is None or str(t.cls) in classes]
            if restricted:
                out = [d for d in out if sec.in_box(d, box)]
        return out[:limit] if limit else out

    @api.get("/tracks/{track_id}", summary="One track's latest state")
    def track(track_id: str, who: Principal = WHO) -> dict[str, Any]:
        return _get_track(track_id, who)

    @api.get("/tracks/{track_id}/history", summary="One track's history (points in a time window)",
             response_model=None)
    def history(track_id: str, start: str | None = START, end: str | None = END, who: Principal = WHO) -> Response:
        s, e = parse_window(start, end)
        d = _get_track(track_id, who)
        pts = app.state.store.track_history(track_id, start=s, end=e)
        if not who.agency.unrestricted:
            pts = rel.filter_points(app.state.store.track(track_id) or d, pts, who.agency)
        return fast_json([ser.point_json(p) for p in pts])

    @api.get("/replay", summary="Every track's points in a window and area, for replay", response_model=None,
             description="``points``: track id -> ``[[time, lat, lon, alt_m, speed_mps, course_deg], ...]`` "
                         "in time order; ``tracks``: track id -> class, name, identities, sources, label.")
    def replay(start: str | None = START, end: str | None = END, bbox: str | None = BBOX,
               who: Principal = WHO) -> Response:
        s, e = parse_window(start, end)
        box = parse_bbox(bbox)
        store: Store = app.state.store
        pts = store.track_points(start=s, end=e, bbox=sec.widen(box, sec.margin_m(who.agency)))
        if not who.agency.unrestricted:
            pts = _released_points(store, pts, who, box)
        if len(pts) > MAX_REPLAY_POINTS:
            raise ApiError(413, f"the window holds {len(pts)} track points, more than {MAX_REPLAY_POINTS}; "
                                "narrow start/end or bbox")
        series: dict[str, list[list[float | None]]] = {}
        for tid, p in pts:
            series.setdefault(tid, []).append([p.time, round(p.lat, 7), round(p.lon, 7), _r(p.alt_m, 2),
                                               _r(p.speed_mps, 2), _r(p.course_deg, 1)])
        meta: dict[str, dict[str, Any]] = {}
        for tid in series:
            t = store.track(tid)
            if t is not None and not who.agency.unrestricted:
                t = rel.filter_tracks([t], who.agency)[0]
            if t is not None:
                meta[tid] = {"cls": str(t.cls), "label": t.label, "name": ser.track_name(t),
                             "identities": t.identities, "sources": t.sources}
            else:
                meta[tid] = {"cls": "unknown", "label": "PUBLIC", "name": tid, "identities": {}, "sources": []}
        return fast_json({"start": s if s is not None else (pts[0][1].time if pts else None),
                          "end": e if e is not None else (pts[-1][1].time if pts else None),
                          "tracks": meta, "points": series})

    @api.get("/observations", summary="Stored observations by time window, area, source and sensor")
    def observations(start: str | None = START, end: str | None = END, bbox: str | None = BBOX,
                     source: str | None = Query(None, description="Source kind (adsb, remote_id, radar, ...)."),
                     sensor: str | None = Query(None, description="Sensor id."),
                     limit: int = Query(1000, description="At most this many (1..50000)."),
                     who: Principal = WHO) -> list[dict]:
        s, e = parse_window(start, end)
        box = parse_bbox(bbox)
        check_limit(limit, 50_000)
        if source is not None and source not in {str(k) for k in SourceKind}:
            raise bad_request(f"source={source!r} is unknown; use one of {[str(k) for k in SourceKind]}")
        rows = app.state.store.observations(start=s, end=e, bbox=box, source=source, sensor=sensor, limit=limit)
        return [o.to_dict() for o in rel.filter_observations(rows, who.agency)]

    @api.get("/observations/counts", summary="Observation counts by source kind or sensor")
    def observation_counts(by: str = Query("source", description="source or sensor"),
                           who: Principal = WHO) -> dict[str, int]:
        if by not in ("source", "sensor"):
            raise bad_request(f"by={by!r} must be 'source' or 'sensor'")
        counts = app.state.store.count_observations(by=by)
        if who.agency.unrestricted:
            return counts
        key = "kind" if by == "source" else "id"
        labels: dict[str, set[str]] = {}
        for sn in app.state.sensors:  # a source/sensor is shown when every sensor of it is releasable
            labels.setdefault(str(sn.get(key)), set()).add(str(sn.get("label") or ""))
        return {k: n for k, n in counts.items()
                if k in labels and all(rel.may_see_label(lab or None, who.agency) for lab in labels[k])}


def _released_points(store: Store, pts: list, who: Principal, box) -> list:
    """Replay points as ``who``'s agency may receive them (withheld, or coarsened and then
    re-selected by the requested area)."""
    by_track: dict[str, list] = {}
    for tid, p in pts:
        by_track.setdefault(tid, []).append(p)
    out = []
    for tid, plist in by_track.items():
        for p in rel.filter_points(store.track(tid), plist, who.agency):
            if box is None or box.contains(p.lat, p.lon):
                out.append((tid, p))
    out.sort(key=lambda x: x[1].time)
    return out


# -- alerts -----------------------------------------------------------------------------------
def _add_alert_routes(api: APIRouter, app: FastAPI) -> None:
    @api.get("/alerts", summary="Alerts overlapping a time window, newest first")
    def alerts(start: str | None = START, end: str | None = END, bbox: str | None = BBOX,
               state: str | None = Query(None, description="new, acknowledged or resolved"),
               rule: str | None = Query(None, description="Rule name."),
               limit: int | None = Query(None, description="At most this many (1..100000)."),
               who: Principal = WHO) -> list[dict]:
        s, e = parse_window(start, end)
        box = parse_bbox(bbox)
        check_limit(limit, 100_000)
        if state is not None and state not in {str(x) for x in AlertState}:
            raise bad_request(f"state={state!r} is unknown; use one of {[str(x) for x in AlertState]}")
        restricted = not who.agency.unrestricted
        rows = app.state.store.alerts(start=s, end=e, state=state, rule=rule,
                                      bbox=sec.widen(box, sec.margin_m(who.agency)),
                                      limit=None if restricted else limit)
        out = [ser.alert_json(a) for a in rel.filter_alerts(rows, who.agency)]
        if restricted:
            out = [d for d in out if box is None or sec.in_box(d, box)]
        return out[:limit] if limit else out

    @api.get("/alerts/{alert_id}", summary="One alert")
    def alert(alert_id: str, who: Principal = WHO) -> dict[str, Any]:
        a = app.state.store.alert(alert_id)
        vis = rel.filter_alerts([a], who.agency) if a is not None else []
        if not vis:
            raise not_found(f"no alert with id {alert_id!r}")
        return ser.alert_json(vis[0])

    def _act(alert_id: str, action: str, body: Any, who: Principal = sec.OPEN_PRINCIPAL) -> dict[str, Any]:
        by = "operator"
        if body is not None:
            if not isinstance(body, dict) or set(body) - {"by"}:
                raise ApiError(422, 'the body must be {"by": "<operator name>"} or empty')
            by = body.get("by", by)
            if not isinstance(by, str) or not by.strip() or len(by) > 200:
                raise ApiError(422, "'by' must be a non-empty string of at most 200 characters")
        store: Store = app.state.store
        if app.state.auth is not None:  # who acts is who is signed in
            by = who.user
            current = store.alert(alert_id)
            if current is None or not rel.filter_alerts([current], who.agency):
                raise not_found(f"no alert with id {alert_id!r}")
        mgr = app.state.alert_manager
        if mgr is not None:
            try:
                a = getattr(mgr, action)(alert_id, by)
            except KeyError:
                raise not_found(f"no alert with id {alert_id!r}") from None
            except ValueError as exc:
                sec.record(app, who, f"alert.{action}", alert_id, outcome="refused", detail={"reason": str(exc)})
                raise ApiError(409, str(exc)) from None
        else:
            a = store.alert(alert_id)
            if a is None:
                raise not_found(f"no alert with id {alert_id!r}")
            try:
                transition_alert(a, action, by, _time.time())
            except ValueError as exc:
                sec.record(app, who, f"alert.{action}", alert_id, outcome="refused", detail={"reason": str(exc)})
                raise ApiError(409, str(exc)) from None
        store.write_alerts([a])
        if app.state.hub is not None:
            app.state.hub.publish_alerts([a])
        sec.record(app, who, f"alert.{action}", alert_id, detail={"rule": a.rule, "state": str(a.state)})
        return ser.alert_json(rel.filter_alerts([a], who.agency)[0])

    @api.post("/alerts/{alert_id}/acknowledge", summary="Acknowledge a new alert (operator)")
    def acknowledge(alert_id: str, body: Any = Body(None, examples=[{"by": "agent-12"}]),
                    who: Principal = Depends(sec.require("operator"))) -> dict[str, Any]:
        return _act(alert_id, "acknowledge", body, who)

    @api.post("/alerts/{alert_id}/resolve", summary="Resolve an alert (new or acknowledged; operator)")
    def resolve(alert_id: str, body: Any = Body(None, examples=[{"by": "agent-12"}]),
                who: Principal = Depends(sec.require("operator"))) -> dict[str, Any]:
        return _act(alert_id, "resolve", body, who)


# -- zones ------------------------------------------------------------------------------------
ZONE_RULES = (f"Only zones the rules can load are stored: a Point needs `properties.radius_m`, a line "
              f"`properties.buffer_m` (metres, > 0); valid polygons; WGS-84 coordinates; valid Unicode text; "
              f"finite numbers; a body of at most {MAX_ZONE_BODY} bytes. Anything else gets 422 and nothing is "
              "stored. A zone belongs to the agency that made it: only that agency's operators (or an admin of "
              "an agency cleared for every label) may change or delete it.")


def _add_zone_routes(api: APIRouter, app: FastAPI) -> None:
    @api.get("/zones", summary="Zones (latest versions) as a GeoJSON FeatureCollection")
    def zones(kind: str | None = Query(None, description="Zone kind."), who: Principal = WHO) -> JSONResponse:
        rows = rel.filter_zones(app.state.store.zones(kind=kind), who.agency)
        return JSONResponse({"type": "FeatureCollection", "features": [zone_feature(z) for z in rows]},
                            media_type="application/geo+json")

    @api.get("/zones/{zone_id}", summary="One zone (latest or a given version) as a GeoJSON Feature")
    def zone(zone_id: str, version: int | None = Query(None, ge=1), who: Principal = WHO) -> dict[str, Any]:
        z = app.state.store.zone(zone_id, version=version)
        if z is None or not rel.filter_zones([z], who.agency):
            raise not_found(f"no zone with id {zone_id!r}" + (f" and version {version}" if version else ""))
        return zone_feature(z)

    @api.post("/zones", status_code=201, summary="Create a zone from a GeoJSON Feature or {name, kind, geometry}",
              description=ZONE_RULES)
    def create_zone(body: Any = Body(..., examples=[{
            "type": "Feature", "properties": {"name": "Ridge OP", "kind": "protected_site"},
            "geometry": {"type": "Polygon", "coordinates": [[[-110.95, 31.33], [-110.94, 31.33],
                                                             [-110.94, 31.34], [-110.95, 31.33]]]}}]),
                    who: Principal = Depends(sec.require("operator"))) -> dict:
        z = zone_from_body(body, sector=app.state.sector)
        _label_allowed(z, who)
        if z.id and app.state.store.zone(z.id) is not None:
            raise ApiError(409, f"zone {z.id!r} exists; update it with PUT /api/zones/{z.id}")
        z.agency = _maker(who)
        out = zone_feature(app.state.store.put_zone(z))
        sec.record(app, who, "zone.create", z.id, detail={"name": z.name, "kind": str(z.kind), "label": z.label})
        return out

    def _maker(who: Principal) -> str | None:
        return who.agency.name if app.state.auth is not None else None

    def _label_allowed(z, who: Principal) -> None:
        if not who.agency.may_see(z.label):
            raise ApiError(403, f"agency {who.agency.name} may not create a zone labelled {z.label!r}")

    def _changeable(zone_id: str, action: str, who: Principal):
        """The current zone (None when there is none) when ``who`` may change or delete it; 404
        when ``who`` may not see it, 403 (audited) when it belongs to another agency."""
        old = app.state.store.zone(zone_id)
        if old is None:
            return None
        if not who.agency.may_see(old.label):
            raise not_found(f"no zone with id {zone_id!r}")
        if not sec.may_change_zone(who, old):
            owner = f"agency {old.agency}" if old.agency else "the host (it was loaded, not made through the API)"
            sec.record(app, who, f"zone.{action}", zone_id, outcome="denied", detail={"owner": old.agency})
            raise ApiError(403, f"zone {zone_id!r} belongs to {owner}; {who.agency.name}'s users may not "
                                f"{action} it (see docs/sharing.md, 'Zones belong to their agency')")
        return old

    @api.put("/zones/{zone_id}", summary="Create or update a zone (a new version; operator)", description=ZONE_RULES)
    def put_zone(zone_id: str, body: Any = Body(...),
                 who: Principal = Depends(sec.require("operator"))) -> dict[str, Any]:
        z = zone_from_body(body, zone_id, sector=app.state.sector)
        old = _changeable(zone_id, "update", who)
        _label_allowed(z, who)
        z.agency = old.agency if old is not None else _maker(who)
        out = zone_feature(app.state.store.put_zone(z))
        sec.record(app, who, "zone.update", zone_id, detail={"name": z.name, "label": z.label})
        return out

    @api.delete("/zones/{zone_id}", status_code=204, summary="Delete a zone (operator)")
    def delete_zone(zone_id: str, who: Principal = Depends(sec.require("operator"))) -> Response:
        z = _changeable(zone_id, "delete", who)
        if z is None or not app.state.store.delete_zone(zone_id):
            raise not_found(f"no zone with id {zone_id!r}")
        sec.record(app, who, "zone.delete", zone_id)
        return Response(status_code=204)


# -- exports ----------------------------------------------------------------------------------
GEOJSON = "application/geo+json"
KML = "application/vnd.google-earth.kml+xml"


def _add_export_routes(api: APIRouter, app: FastAPI) -> None:
    def _tracks(start, end, bbox, cls, history, who: Principal):
        s, e = parse_window(start, end)
        box, classes = parse_bbox(bbox), parse_classes(cls)
        store: Store = app.state.store
        raw = {t.id: t for t in store.tracks(start=s, end=e, bbox=sec.widen(box, sec.margin_m(who.agency)))}
        rows = [t for t in rel.filter_tracks(raw.values(), who.agency) if classes is None or str(t.cls) in classes]
        if not who.agency.unrestricted and box is not None:
            rows = [t for t in rows if box.contains(t.position.lat, t.position.lon)]
        hist = {t.id: rel.filter_points(raw[t.id], store.track_history(t.id, start=s, end=e), who.agency)
                for t in rows} if history else None
        sec.record(app, who, "export", "tracks", detail={"tracks": len(rows), "history": bool(history),
                                                         "start": s, "end": e})
        return rows, hist

    def _alerts(start, end, bbox, state, who: Principal):
        s, e = parse_window(start, end)
        if state is not None and state not in {str(x) for x in AlertState}:
            raise bad_request(f"state={state!r} is unknown; use one of {[str(x) for x in AlertState]}")
        box = parse_bbox(bbox)
        raw = app.state.store.alerts(start=s, end=e, state=state, bbox=sec.widen(box, sec.margin_m(who.agency)))
        rows = rel.filter_alerts(raw, who.agency)
        if not who.agency.unrestricted and box is not None:
            rows = [a for a in rows if a.position is not None and box.contains(a.position.lat, a.position.lon)]
        sec.record(app, who, "export", "alerts", detail={"alerts": len(rows), "start": s, "end": e})
        return rows

    def _file(body: bytes, media: str, name: str) -> Response:
        return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    hist_q = Query(False, description="Add each track's history as a line.")

    @api.get("/export/tracks.geojson", summary="Tracks as GeoJSON (points, optional history lines)")
    def tracks_geojson(start: str | None = START, end: str | None = END, bbox: str | None = BBOX,
                       cls: str | None = CLS, history: bool = hist_q, who: Principal = WHO) -> Response:
        rows, hist = _tracks(start, end, bbox, cls, history, who)
        return _file(json.dumps(ser.tracks_geojson(rows, hist)).encode(), GEOJSON, "tracks.geojson")

    @api.get("/export/tracks.kml", summary="Tracks as KML (placemarks, optional history lines)")
    def tracks_kml(start: str | None = START, end: str | None = END, bbox: str | None = BBOX,
                   cls: str | None = CLS, history: bool = hist_q, who: Principal = WHO) -> Response:
        rows, hist = _tracks(start, end, bbox, cls, history, who)
        return _file(ser.tracks_kml(rows, hist), KML, "tracks.kml")

    @api.get("/export/alerts.geojson", summary="Alerts as GeoJSON")
    def alerts_geojson(start: str | None = START, end: str | None = END, bbox: str | None = BBOX,
                       state: str | None = Query(None), who: Principal = WHO) -> Response:
        return _file(json.dumps(ser.alerts_geojson(_alerts(start, end, bbox, state, who))).encode(), GEOJSON,
                     "alerts.geojson")

    @api.get("/export/alerts.kml", summary="Alerts as KML")
    def alerts_kml(start: str | None = START, end: str | None = END, bbox: str | None = BBOX,
                   state: str | None = Query(None), who: Principal = WHO) -> Response:
        return _file(ser.alerts_kml(_alerts(start, end, bbox, state, who)), KML, "alerts.kml")


# -- WebSocket --------------------------------------------------------------------------------
def _add_websocket(api: APIRouter, app: FastAPI) -> None:
    @api.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        """Live track/alert stream. Filter with query params ``bbox`` and ``cls`` or send
        ``{"type": "subscribe", "bbox": [min_lon, min_lat, max_lon, max_lat] | null,
        "cls": ["uas", ...] | null}`` at any time; bad filters get an ``error`` message."""
        await websocket.accept()
        who = await sec.ws_principal(websocket)
        if who is None:
            return
        hub: LiveHub | None = sec.live_view(app, who)
        if hub is None:
            await websocket.send_text(json.dumps({"type": "error", "detail": "this server has no live feed"}))
            await websocket.close(code=1008)
            return
        try:
            box = parse_bbox(websocket.query_params.get("bbox"))
            classes = parse_classes(websocket.query_params.get("cls"))
        except (ApiError, ValueError) as exc:
            await websocket.send_text(json.dumps({"type": "error", "detail": getattr(exc, "detail", str(exc))}))
            await websocket.close(code=1008)
            return
        sub = hub.subscribe(asyncio.get_running_loop(), box, classes)
        sec.record(app, who, "view", "/api/ws", detail={"bbox": websocket.query_params.get("bbox"),
                                                        "cls": websocket.query_params.get("cls")})

        async def receive() -> None:
            try:
                while True:
                    message = await websocket.receive()
                    if message["type"] == "websocket.disconnect":
                        break
                    try:
                        if message.get("text") is None:
                            raise ValueError("send subscribe messages as JSON text frames, not binary")
                        msg = json.loads(message["text"])
                        if not isinstance(msg, dict) or msg.get("type") != "subscribe":
                            raise ValueError('messages must be {"type": "subscribe", "bbox": [...], "cls": [...]}')
                        hub.refilter(sub, parse_bbox_list(msg.get("bbox")), parse_classes(msg.get("cls")))
                    except (ApiError, ValueError) as exc:
                        sub.offer(json.dumps({"type": "error", "detail": getattr(exc, "detail", str(exc))}))
            except (WebSocketDisconnect, RuntimeError):
                pass
            finally:
                sub.closed = True
                sub.event.set()

        reader = asyncio.create_task(receive())
        watcher = asyncio.create_task(sec.ws_watch(websocket, sub, who))  # revoked credentials end the stream
        try:
            while not sub.closed:
                await sub.event.wait()
                sub.event.clear()
                for msg in sub.take():
                    await websocket.send_text(msg)
        except (WebSocketDisconnect, RuntimeError, ConnectionError):
            pass
        finally:
            hub.unsubscribe(sub)
            reader.cancel()
            refused = watcher.done() and not watcher.cancelled() and watcher.exception() is None and watcher.result()
            watcher.cancel()
            if refused:
                try:
                    await websocket.close(code=1008)
                except (WebSocketDisconnect, RuntimeError, ConnectionError):
                    pass
