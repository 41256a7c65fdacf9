"""``/api/analytics``: the report's numbers as JSON and its figures as PNG, for the web UI.

Mount with ``create_app(store, routers=[lookout.analytics.api.router])`` (or include it in any
FastAPI app whose ``app.state.store`` is a :class:`~lookout.store.base.Store`; an optional
``app.state.sector`` is used for the maps). Every endpoint takes the same query parameters as
``lookout report``: ``start``, ``end`` (UNIX seconds or ISO 8601; default the last 30 days),
``region`` (``sector``, ``zone:<id>``, ``min_lat,min_lon,max_lat,max_lon`` or GeoJSON text),
``period`` (day/week/month), ``baseline_start``, ``baseline_end``. Results are computed by
:func:`lookout.analytics.report.analyse` and cached for a short while per parameter set, so a
page asking for the summary and five figures computes once.

With access control on, every answer is computed for the caller's agency from what it may
receive (:mod:`lookout.share.releasability`: withheld records left out, released ones in their
released form), and cached per clearance (labels, share rules): agencies with different
clearances never share a cache entry.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from lookout.analytics.figures import FIGURES, figure
from lookout.analytics.report import AnalyticsQuery, AnalyticsResult, analyse, parse_time
from lookout.api.security import WHO, per_agency
from lookout.auth.store import Principal
from lookout.share.releasability import OPEN, Agency

router = APIRouter(prefix="/api/analytics", tags=["analytics"])

CACHE_TTL_S = 60.0
CACHE_SIZE = 32
_lock = threading.Lock()


def _query(start: str | None, end: str | None, region: str | None, period: str,
           baseline_start: str | None, baseline_end: str | None) -> AnalyticsQuery:
    try:
        t1 = parse_time(end) if end else time.time()
        t0 = parse_time(start) if start else t1 - 30 * 86400.0
        return AnalyticsQuery(start=t0, end=t1, region=region or None, period=period,
                              baseline_start=parse_time(baseline_start) if baseline_start else None,
                              baseline_end=parse_time(baseline_end) if baseline_end else None)
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None


def clearance(agency: Agency) -> tuple:
    """What an agency's analytics depend on: everything, or its labels and share rules (two
    agencies with the same clearance get the same numbers; any difference, a different entry)."""
    if agency.unrestricted:
        return ("all",)
    return ("labels", tuple(sorted(agency.labels)), agency.rules)


def _result(request: Request, q: AnalyticsQuery, who: Principal | None = None) -> AnalyticsResult:
    state = request.app.state
    store = getattr(state, "store", None)
    if store is None:
        raise HTTPException(status_code=503, detail="no store configured")
    agency = who.agency if who is not None else OPEN
    key = (clearance(agency), q)
    with _lock:
        cache = getattr(state, "analytics_cache", None)
        if cache is None:
            cache = state.analytics_cache = OrderedDict()
        hit = cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < CACHE_TTL_S:
            return hit[1]
    try:
        res = analyse(store, q, sector=getattr(state, "sector", None), agency=agency)
    except ValueError as exc:  # a bad region (unknown zone, bad GeoJSON)
        raise HTTPException(status_code=400, detail=str(exc)) from None
    with _lock:
        cache[key] = (time.monotonic(), res)
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
    return res


def _params(start: str | None = Query(None, description="UNIX seconds or ISO 8601 (default: end - 30 days)"),
            end: str | None = Query(None, description="UNIX seconds or ISO 8601 (default: now)"),
            region: str | None = Query(None,
                                       description="sector, zone:<id>, min_lat,min_lon,max_lat,max_lon or GeoJSON"),
            period: str = Query("week", description="day, week or month"),
            baseline_start: str | None = Query(None), baseline_end: str | None = Query(None)) -> AnalyticsQuery:
    return _query(start, end, region, period, baseline_start, baseline_end)


@router.get("/summary")
@per_agency
def summary(request: Request, q: AnalyticsQuery = Depends(_params), who: Principal | None = WHO) -> dict:
    """Every number of the report (the same object as the report's ``report.json``)."""
    return _result(request, q, who).to_dict()


@router.get("/missions")
@per_agency
def missions(request: Request, q: AnalyticsQuery = Depends(_params), who: Principal | None = WHO) -> dict:
    """Missions in the window, counts per period and the baseline comparison."""
    return _result(request, q, who).to_dict()["missions"]


@router.get("/corridors")
@per_agency
def corridors(request: Request, q: AnalyticsQuery = Depends(_params), who: Principal | None = WHO) -> dict:
    """Crossing totals and ranked corridors."""
    d = _result(request, q, who).to_dict()
    return {"crossings": d["crossings"], "corridors": d["corridors"]}


@router.get("/launch-points")
@per_agency
def launch_points(request: Request, q: AnalyticsQuery = Depends(_params), who: Principal | None = WHO) -> dict:
    """Launch-point count and hotspots (H3 cells)."""
    return _result(request, q, who).to_dict()["launch_points"]


@router.get("/alerts")
@per_agency
def alert_stats(request: Request, q: AnalyticsQuery = Depends(_params), who: Principal | None = WHO) -> dict:
    """Alert statistics by rule, severity, state and day."""
    return _result(request, q, who).to_dict()["alerts"]


@router.get("/figures")
@per_agency
def figure_names() -> list[str]:
    return list(FIGURES)


@router.get("/figures/{name}.png", response_class=Response,
            responses={200: {"content": {"image/png": {}}}})
@per_agency
def figure_png(name: str, request: Request, q: AnalyticsQuery = Depends(_params),
               who: Principal | None = WHO) -> Response:
    """One report figure as PNG (names: see ``/api/analytics/figures``)."""
    if name not in FIGURES:
        raise HTTPException(status_code=404, detail=f"unknown figure {name!r}; known: {', '.join(FIGURES)}")
    res = _result(request, q, who)
    sector = getattr(request.app.state, "sector", None)
    if sector is None:
        from lookout.sector import load_sector

        sector = load_sector()
    return Response(content=figure(name, res, sector), media_type="image/png")
