"""Authentication, roles, per-agency views and the audit trail of the API.

``create_app(store, auth=AuthStore(...))`` turns access control on: every ``/api`` route needs a
token (``Authorization: Bearer <token>``, or the ``lookout_token`` cookie the web login sets;
the WebSocket also takes ``?token=``), roles gate the writes (operator: alert actions, zones;
admin: the audit log), every answer goes through :mod:`lookout.share.releasability` for the
caller's agency, and reads, exports, changes and refusals are written to the audit log.

Without an auth registry (``auth=None``) the API is open and single-agency as before: every
caller is :data:`OPEN_PRINCIPAL` (the open agency, role admin) and nothing is filtered.
"""

from __future__ import annotations

import json
import logging
from html import escape
from typing import Any

from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request, Security, WebSocket
from fastapi.params import Depends as DependsParam
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import APIKeyCookie, HTTPBearer
from starlette.requests import HTTPConnection

from lookout.api.params import ApiError, parse_window
from lookout.auth.store import AuthError, AuthStore, Principal
from lookout.geo import destination
from lookout.model import LABELS
from lookout.share.releasability import OPEN, Agency, filter_alerts, filter_tracks
from lookout.store.base import BBox

log = logging.getLogger(__name__)

COOKIE = "lookout_token"
#: Most bytes of a request body the API reads for login (a name and a password).
MAX_LOGIN_BODY = 4096

OPEN_PRINCIPAL = Principal(user="local", role="admin", agency=OPEN)


def auth_of(app: FastAPI) -> AuthStore | None:
    return getattr(app.state, "auth", None)


def _token_from(conn: HTTPConnection, allow_query: bool) -> tuple[str | None, str]:
    h = conn.headers.get("authorization")
    if h:
        scheme, _, value = h.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return "\x00bad-scheme", "header"
        return value.strip(), "header"
    if allow_query and conn.query_params.get("token"):
        return conn.query_params.get("token"), "query"
    c = conn.cookies.get(COOKIE)
    if c:
        return c, "cookie"
    return None, "none"


def _same_origin(conn: HTTPConnection) -> bool:
    """A cookie-authenticated browser request must come from this server's own pages."""
    origin = conn.headers.get("origin")
    if origin is None:
        return True
    host = conn.headers.get("host", "")
    return origin.split("://", 1)[-1].rstrip("/") == host


def authenticate(conn: HTTPConnection, allow_query: bool = False) -> Principal:
    """The caller of an HTTP request or WebSocket handshake; raises :class:`AuthError`."""
    auth = auth_of(conn.app)
    if auth is None:
        return OPEN_PRINCIPAL
    token, how = _token_from(conn, allow_query)
    where = f"{conn.scope.get('type')} {conn.url.path}"
    if token == "\x00bad-scheme":
        auth.audit("anonymous", "-", "auth.denied", where, outcome="denied",
                   detail={"reason": "Authorization header is not 'Bearer <token>'"})
        raise AuthError("the Authorization header must be 'Bearer <token>'")
    if how == "cookie" and not _same_origin(conn):
        auth.audit("anonymous", "-", "auth.denied", where, outcome="denied",
                   detail={"reason": "cross-origin request with a session cookie",
                           "origin": conn.headers.get("origin")})
        raise AuthError("cross-origin request refused (send the token in the Authorization header)", status=403)
    return auth.authenticate(token, where=where)


def principal(conn: HTTPConnection) -> Principal | None:
    """FastAPI dependency: the authenticated caller (401 JSON answer when not). WebSocket
    routes authenticate in the handler (see :func:`ws_principal`), so this returns None there."""
    if conn.scope.get("type") == "websocket":
        return None
    try:
        who = authenticate(conn)
    except AuthError as exc:
        raise ApiError(exc.status, exc.detail) from None
    auth = auth_of(conn.app)
    if auth is not None and conn.scope.get("method") == "GET":
        q = str(conn.url.query)
        obj = conn.url.path + (f"?{q[:500]}" if q else "")
        if _first_view(conn.app, who.user, obj):
            auth.audit(who.user, who.agency.name, "view", obj)
    return who


#: the same user reading the same URL again within this many seconds (the map's polling) is
#: written to the audit log once
VIEW_COALESCE_S = 60.0


def _first_view(app: FastAPI, user: str, obj: str) -> bool:
    import time as _t

    seen = getattr(app.state, "audit_views", None)
    if seen is None:
        seen = app.state.audit_views = {}
    now = _t.monotonic()
    key = (user, obj)
    last = seen.get(key)
    if last is not None and now - last < VIEW_COALESCE_S:
        return False
    if len(seen) > 50_000:
        seen.clear()
    seen[key] = now
    return True


WHO = Depends(principal)

#: how the OpenAPI schema says to authenticate (Swagger UI's *Authorize* dialog): an API token
#: as a bearer token, or the session cookie the login sets. Either one is enough.
BEARER = HTTPBearer(auto_error=False, scheme_name="bearerToken", bearerFormat="lkt_<id>_<secret>",
                    description="An API token (`lookout users token NAME`) or the session token "
                                "`POST /api/auth/login` returns: `Authorization: Bearer <token>`.")
SESSION_COOKIE = APIKeyCookie(name=COOKIE, auto_error=False, scheme_name="sessionCookie",
                              description="The session cookie `POST /api/auth/login` (or the /login page) "
                                          "sets; a browser sends it by itself on same-origin requests.")


def _declared_credentials(_bearer: Any = Security(BEARER), _cookie: Any = Security(SESSION_COOKIE)) -> None:
    """Only declares the security schemes on the routes (the check itself is :func:`principal`)."""


def credentials(auth: AuthStore | None) -> list[DependsParam]:
    """Route dependencies that declare the security schemes in ``/openapi.json``: one when
    access control is on (``auth`` given), none when it is off (the API is open)."""
    return [Depends(_declared_credentials)] if auth is not None else []


def require(role: str):
    """A dependency that admits callers with at least ``role`` (403 otherwise, audited)."""

    def dep(conn: HTTPConnection, who: Principal | None = WHO) -> Principal:
        if who is None:
            raise ApiError(401, "authentication required")
        if not who.has_role(role):
            auth = auth_of(conn.app)
            if auth is not None:
                auth.audit(who.user, who.agency.name, "auth.forbidden", f"{conn.scope.get('method')} {conn.url.path}",
                           outcome="denied", detail={"role": who.role, "needs": role})
            raise ApiError(403, f"user {who.user} has role {who.role}; this needs role {role} or higher")
        return who

    return dep


def per_agency(endpoint):
    """Mark a route of an extra router (``create_app(routers=[...])``) as answering per agency:
    it computes from what the caller's agency may receive (through
    :mod:`lookout.share.releasability`), so :func:`require_full_access` admits every agency."""
    endpoint.lookout_per_agency = True
    return endpoint


def require_full_access(conn: HTTPConnection, who: Principal | None = WHO) -> Principal:
    """For routes that are not filtered per agency (e.g. aggregate views over every track):
    only agencies cleared for every label may call them. Routes marked :func:`per_agency`
    (the analytics) filter by themselves and admit every authenticated caller."""
    if who is None:
        raise ApiError(401, "authentication required")
    if getattr(conn.scope.get("endpoint"), "lookout_per_agency", False):
        return who
    if not cleared_for_everything(who.agency):
        auth = auth_of(conn.app)
        if auth is not None:
            auth.audit(who.user, who.agency.name, "auth.forbidden", conn.url.path, outcome="denied",
                       detail={"reason": "route not filtered per agency"})
        raise ApiError(403, f"{conn.url.path} is not filtered by releasability; agency {who.agency.name} "
                            f"(labels {sorted(who.agency.labels)}) may not use it")
    return who


def cleared_for_everything(agency: Agency) -> bool:
    """Whether an agency may receive every label (the host agency of a sector): its admins read
    every agency's audit entries, it may use routes not filtered per agency, and it holds the
    zones no agency made."""
    return agency.all_labels or set(LABELS) <= agency.labels


def may_change_zone(who: Principal, zone: Any) -> bool:
    """Whether ``who`` (an operator or higher) may change or delete ``zone``: a zone belongs to
    the agency that made it (``zone.agency``), whose operators may; a zone no agency made (from
    a file, the command line or the rules' defaults) belongs to the host, the agencies cleared
    for every label. An admin of such an agency may change any zone."""
    if zone.agency is not None and zone.agency == who.agency.name:
        return True
    if not cleared_for_everything(who.agency):
        return False
    return zone.agency is None or who.has_role("admin")


def record(app: FastAPI, who: Principal, action: str, obj: str, outcome: str = "ok",
           detail: dict[str, Any] | None = None) -> None:
    """Write an audit entry when access control is on (no-op otherwise)."""
    auth = auth_of(app)
    if auth is not None:
        auth.audit(who.user, who.agency.name, action, obj, outcome=outcome, detail=detail)


async def ws_principal(websocket: WebSocket) -> Principal | None:
    """Authenticate an accepted WebSocket (``?token=``, Authorization header or the session
    cookie); on failure send ``{"type": "error", "detail"}``, close with 1008 and return None."""
    try:
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(authenticate, websocket, True)
    except AuthError as exc:
        await websocket.send_text(json.dumps({"type": "error", "detail": exc.detail}))
        await websocket.close(code=1008)
        return None


#: how often an open WebSocket's credentials are checked again (seconds): each check reads the
#: registry (one indexed query), so a revoked token or a disabled user ends the stream within this
WS_RECHECK_S = 1.0


def _end_stream(sub: Any, detail: str) -> None:
    sub.queue.clear()
    sub.offer(json.dumps({"type": "error", "detail": detail}))
    sub.closed = True
    sub.event.set()


async def ws_watch(websocket: WebSocket, sub: Any, who: Principal | None = None, interval: float | None = None) -> bool:
    """Re-check an open WebSocket's credentials every ``interval`` seconds (:data:`WS_RECHECK_S`)
    against the registry. When the token was revoked or expired, the user disabled, or the
    user's agency or its clearance changed from ``who`` (the stream was filtered for that),
    queue an error message, end the stream and return True (the handler then closes the
    socket with code 1008)."""
    import asyncio

    from starlette.concurrency import run_in_threadpool

    if auth_of(websocket.app) is None:
        return False
    while not sub.closed:
        await asyncio.sleep(WS_RECHECK_S if interval is None else interval)
        try:
            now = await run_in_threadpool(authenticate, websocket, True)
        except AuthError as exc:
            _end_stream(sub, f"{exc.detail}; stream closed")
            return True
        if who is not None and now.agency != who.agency:
            _end_stream(sub, f"the access of user {now.user} changed (agency {now.agency.name}); stream closed, "
                             "connect again")
            return True
    return False


# -- the live picture per agency -------------------------------------------------------------
class AgencyViews:
    """Per-agency live pictures: one child :class:`~lookout.api.live.LiveHub` per restricted
    agency, fed from the main hub's steps through the releasability filters (so WebSocket
    clients and ``/api/tracks`` of that agency only ever hold what it may receive, at the
    released positions). Unrestricted agencies use the main hub."""

    def __init__(self, hub: Any) -> None:
        import threading

        self.hub = hub
        self._views: dict[Agency, tuple[Any, set[str]]] = {}
        self._lock = threading.Lock()
        hub.listeners.append(self._on_step)

    def view(self, agency: Agency) -> Any:
        if agency.unrestricted:
            return self.hub
        with self._lock:
            hit = self._views.get(agency)
            if hit is not None:
                return hit[0]
            from lookout.api.live import LiveHub

            child = LiveHub(queue_size=self.hub.queue_size)
            known: set[str] = set()
            rel = filter_tracks(self.hub.records(), agency)
            if rel or self.hub.time is not None:
                child.publish(self.hub.time or 0.0, rel, [], [])
                known.update(t.id for t in rel)
            self._views[agency] = (child, known)
            return child

    def _on_step(self, time: float, tracks: list, deleted: list[str], alerts: list) -> None:
        with self._lock:
            views = list(self._views.items())
        for agency, (child, known) in views:
            rel = filter_tracks(tracks, agency)
            rel_ids = {t.id for t in rel}
            gone = [t for t in deleted if t in known] + [t.id for t in tracks if t.id not in rel_ids and t.id in known]
            known.difference_update(gone)
            known.update(rel_ids)
            child.publish(time, rel, gone, filter_alerts(alerts, agency))


def live_view(app: FastAPI, who: Principal) -> Any:
    """The live hub ``who`` reads: the main hub, or its agency's filtered view."""
    hub = app.state.hub
    views = getattr(app.state, "agency_views", None)
    if hub is None or views is None:
        return hub
    return views.view(who.agency)


# -- area filters after coarsening -----------------------------------------------------------
def margin_m(agency: Agency) -> float:
    """How far a released (coarsened) position may lie from the true one."""
    return max((r.coarsen_m for r in agency.rules), default=0.0)


def widen(box: BBox | None, metres: float) -> BBox | None:
    """``box`` grown by ``metres`` on every side (for store queries whose results are coarsened
    before the area is applied to what the caller receives)."""
    if box is None or metres <= 0:
        return box
    lat_n, _ = destination(box.max_lat, box.min_lon, 0.0, metres)
    lat_s, _ = destination(box.min_lat, box.min_lon, 180.0, metres)
    lat_ref = max(abs(box.min_lat), abs(box.max_lat))
    _, lon_e = destination(lat_ref, box.max_lon, 90.0, metres)
    _, lon_w = destination(lat_ref, box.min_lon, 270.0, metres)
    return BBox(min_lat=max(-90.0, float(lat_s)), min_lon=max(-180.0, float(lon_w)),
                max_lat=min(90.0, float(lat_n)), max_lon=min(180.0, float(lon_e)))


def in_box(d: dict[str, Any], box: BBox | None, key: str = "position") -> bool:
    if box is None:
        return True
    p = d.get(key)
    return p is not None and box.contains(p["lat"], p["lon"])


# -- login, me, audit ------------------------------------------------------------------------
LOGIN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Lookout sign-in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px system-ui,sans-serif;background:#0f1720;color:#e6edf3;display:flex;justify-content:center;
align-items:center;height:100vh;margin:0}form{background:#17212b;padding:2em;border-radius:8px;min-width:18em}
label{display:block;margin:.6em 0 .2em}input{width:100%;padding:.5em;box-sizing:border-box}
button{margin-top:1em;width:100%;padding:.6em}#err{color:#ff7b72;min-height:1.2em}</style></head>
<body><form id="f"><h2>Lookout</h2><div id="err">{error}</div>
<label for="u">User</label><input id="u" name="user" autocomplete="username" required>
<label for="p">Password</label><input id="p" name="password" type="password" autocomplete="current-password">
<label for="t">or API token</label><input id="t" name="token" autocomplete="off">
<button type="submit">Sign in</button></form>
<script>
document.getElementById('f').addEventListener('submit', async (e) => {
  e.preventDefault();
  const user = document.getElementById('u').value, password = document.getElementById('p').value,
        token = document.getElementById('t').value.trim();
  const body = token ? {token} : {user, password};
  const r = await fetch('/api/auth/login', {method: 'POST', headers: {'content-type': 'application/json'},
                                            body: JSON.stringify(body)});
  const j = await r.json();
  if (!r.ok) { document.getElementById('err').textContent = j.detail || 'sign-in failed'; return; }
  localStorage.setItem('lookout.token', j.token);
  location.href = '/';
});
document.getElementById('u').required = false;
</script></body></html>"""


def auth_router(app: FastAPI) -> APIRouter:
    """``/login`` (page), ``/api/auth/login``, ``/api/auth/logout``, ``/api/auth/me``, ``/api/audit``."""
    r = APIRouter()

    @r.get("/login", include_in_schema=False)
    def login_page() -> Response:
        if auth_of(app) is None:
            return RedirectResponse("/", status_code=303)
        return HTMLResponse(LOGIN_PAGE.replace("{error}", escape("")))

    @r.post("/api/auth/login", summary="Sign in with user and password (or an API token); sets the session cookie",
            tags=["auth"])
    def login(request: Request,
              body: Any = Body(..., examples=[{"user": "usbp-operator", "password": "..."}])) -> Response:
        auth = auth_of(app)
        if auth is None:
            raise ApiError(404, "access control is off on this server; no login needed")
        if not isinstance(body, dict) or not (set(body) <= {"user", "password", "token"}):
            raise ApiError(422, 'the body must be {"user": "...", "password": "..."} or {"token": "..."}')
        if len(json.dumps(body)) > MAX_LOGIN_BODY:
            raise ApiError(413, "login body too large")
        try:
            if body.get("token"):
                token = str(body["token"])
                who = auth.authenticate(token, where="login")
                auth.audit(who.user, who.agency.name, "login", "web (token)")
            else:
                user, password = body.get("user"), body.get("password")
                if not isinstance(user, str) or not isinstance(password, str):
                    raise ApiError(422, "'user' and 'password' must be strings")
                token = auth.login(user, password)
                who = auth.authenticate(token, where="login")
        except AuthError as exc:
            raise ApiError(exc.status, exc.detail) from None
        resp = JSONResponse({"token": token, **_me(who)})
        resp.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https",
                        max_age=12 * 3600)
        return resp

    creds = credentials(auth_of(app))

    @r.post("/api/auth/logout", summary="End the session (revokes a session token, clears the cookie)", tags=["auth"],
            dependencies=creds)
    def logout(request: Request, who: Principal | None = WHO) -> Response:
        auth = auth_of(app)
        if auth is not None and who is not None and who.token_id:
            tok = next((t for t in auth.tokens(who.user) if t["id"] == who.token_id), None)
            if tok is not None and tok["note"] == "web session":
                auth.revoke_token(who.token_id, by=who.user)
            auth.audit(who.user, who.agency.name, "logout", "web")
        resp = JSONResponse({"ok": True})
        resp.delete_cookie(COOKIE)
        return resp

    @r.get("/api/auth/me", summary="Who am I: user, role, agency and the labels it may receive", tags=["auth"],
           dependencies=creds)
    def me(who: Principal | None = WHO) -> dict[str, Any]:
        return _me(who or OPEN_PRINCIPAL) | {"access_control": auth_of(app) is not None}

    @r.get("/api/audit", summary="The audit log (admins; an admin sees their own agency's entries unless the "
                                 "agency is cleared for every label)", tags=["auth"], dependencies=creds)
    def audit(conn: HTTPConnection, start: str | None = Query(None), end: str | None = Query(None),
              actor: str | None = Query(None), agency: str | None = Query(None),
              action: str | None = Query(None, description="Action, or a prefix with a trailing * (auth.*)"),
              outcome: str | None = Query(None, description="ok or denied"),
              limit: int = Query(1000, ge=1, le=100_000),
              who: Principal = Depends(require("admin"))) -> list[dict[str, Any]]:
        auth = auth_of(app)
        if auth is None:
            raise ApiError(404, "access control is off on this server; there is no audit log")
        s, e = parse_window(start, end)
        if not cleared_for_everything(who.agency):
            if agency is not None and agency != who.agency.name:
                raise ApiError(403, f"an admin of {who.agency.name} may read only {who.agency.name}'s audit entries")
            agency = who.agency.name
        return auth.audit_entries(start=s, end=e, actor=actor, agency=agency, action=action, outcome=outcome,
                                  limit=limit)

    return r


def _me(who: Principal) -> dict[str, Any]:
    return {"user": who.user, "role": who.role, "agency": who.agency.name, "agency_title": who.agency.title,
            "labels": sorted(who.agency.labels), "all_labels": who.agency.all_labels}


def signed_in(conn: HTTPConnection) -> bool:
    """Whether a browser may see the web page: always without access control, else only with a
    valid session cookie (the page then sends it to ``/login``)."""
    auth = auth_of(conn.app)
    if auth is None:
        return True
    token = conn.cookies.get(COOKIE)
    if token is None:
        return False
    try:
        auth.authenticate(token, where="page /")
    except AuthError:
        return False
    return True


__all__ = ["AgencyViews", "BEARER", "SESSION_COOKIE", "cleared_for_everything", "credentials", "may_change_zone",
           "live_view", "COOKIE", "OPEN_PRINCIPAL", "WHO", "auth_router", "authenticate", "in_box", "margin_m",
           "per_agency", "principal", "record", "require", "require_full_access", "signed_in", "widen", "ws_principal"]
