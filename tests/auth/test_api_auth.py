"""API access control: tokens, session login, roles, refusals with clear errors and audit entries."""

from __future__ import annotations

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from api.world import SECTOR, SENSORS, fill
from lookout.api import LiveHub, create_app
from lookout.auth import AuthStore, setup_demo_agencies
from lookout.store.sqlite import SQLiteStore

extra = APIRouter(prefix="/api/extra")


@extra.get("/sum")
def _sum() -> dict:
    return {"n": 1}


@pytest.fixture
def env(tmp_path):
    store = SQLiteStore(":memory:")
    fill(store)
    auth = AuthStore(tmp_path / "auth.db")
    creds = {c["agency"]: c for c in setup_demo_agencies(auth)}
    auth.create_user("mx-admin", "GN-MX", "admin")
    auth.create_user("us-admin", "USBP", "admin")
    app = create_app(store, hub=LiveHub(), sector=SECTOR, sensors=SENSORS, auth=auth, routers=[extra])
    with TestClient(app) as c:
        yield c, auth, creds
    store.close()


def test_open_mode_unchanged():
    store = SQLiteStore(":memory:")
    fill(store)
    with TestClient(create_app(store, hub=LiveHub(), sector=SECTOR)) as c:
        assert len(c.get("/api/tracks?live=false").json()) == 5
        me = c.get("/api/auth/me").json()
        assert me["access_control"] is False and me["all_labels"] is True
        acked = c.post("/api/alerts/a-cross-1/acknowledge", json={"by": "agent-12"}).json()
        assert acked["acknowledged_by"] == "agent-12"
        assert c.post("/api/auth/login", json={"user": "x", "password": "y"}).status_code == 404
    store.close()


@pytest.mark.parametrize("header, detail", [
    (None, "authentication required"),
    ("Bearer lkt_0123456789ab_" + "x" * 43, "unknown token"),
    ("Bearer nonsense", "malformed token"),
    ("Basic dXNlcjpwYXNz", "must be 'Bearer <token>'"),
])
def test_bad_credentials_refused_and_audited(env, header, detail):
    c, auth, _ = env
    r = c.get("/api/tracks", headers={"Authorization": header} if header else {})
    assert r.status_code == 401 and detail in r.json()["detail"]
    last = auth.audit_entries(action="auth.denied")[-1]
    assert last["outcome"] == "denied" and "/api/tracks" in last["object"]


def test_websocket_bad_token(env):
    c, auth, _ = env
    with c.websocket_connect("/api/ws?token=lkt_bad") as ws:
        msg = ws.receive_json()
    assert msg["type"] == "error" and "malformed token" in msg["detail"]
    assert auth.audit_entries(action="auth.denied")[-1]["object"] == "websocket /api/ws"


def test_login_cookie_and_logout(env):
    c, auth, creds = env
    mx = creds["GN-MX"]
    assert c.get("/", follow_redirects=False).headers["location"] == "/login"
    assert "Sign in" in c.get("/login").text
    bad = c.post("/api/auth/login", json={"user": mx["user"], "password": "wrong-password"})
    assert bad.status_code == 401 and bad.json()["detail"] == "wrong user name or password"
    r = c.post("/api/auth/login", json={"user": mx["user"], "password": mx["password"]})
    assert r.status_code == 200 and r.json()["agency"] == "GN-MX" and r.json()["labels"] == ["PUBLIC", "REL-MX"]
    assert "httponly" in r.headers["set-cookie"].lower() and "samesite=strict" in r.headers["set-cookie"].lower()
    assert c.get("/api/auth/me").json()["user"] == mx["user"]  # the cookie authenticates
    # a cross-site page cannot ride on the cookie
    x = c.get("/api/tracks", headers={"Origin": "https://evil.example"})
    assert x.status_code == 403 and "cross-origin" in x.json()["detail"]
    with c.websocket_connect("/api/ws") as ws:
        assert ws.receive_json()["type"] == "snapshot"
    assert c.post("/api/auth/logout").json() == {"ok": True}
    session = r.json()["token"]
    assert c.get("/api/tracks", headers={"Authorization": f"Bearer {session}"}).status_code == 401
    actions = [e["action"] for e in auth.audit_entries(actor=mx["user"])]
    assert "login" in actions and "logout" in actions and "token.revoke" in actions


def test_audit_endpoint_roles(env):
    c, auth, creds = env
    op = {"Authorization": f"Bearer {creds['USBP']['token']}"}
    r = c.get("/api/audit", headers=op)
    assert r.status_code == 403 and "needs role admin" in r.json()["detail"]
    us_admin = {"Authorization": f"Bearer {auth.issue_token('us-admin')}"}
    mx_admin = {"Authorization": f"Bearer {auth.issue_token('mx-admin')}"}
    c.get("/api/tracks", headers={"Authorization": f"Bearer {creds['GN-MX']['token']}"})
    everything = c.get("/api/audit?limit=5000", headers=us_admin).json()
    assert {"USBP", "GN-MX"} <= {e["agency"] for e in everything}
    mine = c.get("/api/audit?action=view", headers=mx_admin).json()
    assert mine and {e["agency"] for e in mine} == {"GN-MX"}
    assert c.get("/api/audit?agency=USBP", headers=mx_admin).status_code == 403
    assert any(e["action"] == "auth.forbidden" and e["outcome"] == "denied"
               for e in c.get("/api/audit?outcome=denied", headers=us_admin).json())


def test_extra_routers_need_full_clearance(env):
    c, _, creds = env
    assert c.get("/api/extra/sum").status_code == 401
    assert c.get("/api/extra/sum", headers={"Authorization": f"Bearer {creds['USBP']['token']}"}).json() == {"n": 1}
    r = c.get("/api/extra/sum", headers={"Authorization": f"Bearer {creds['GN-MX']['token']}"})
    assert r.status_code == 403 and "not filtered by releasability" in r.json()["detail"]


def test_zone_writes_need_operator_and_a_visible_label(env):
    c, auth, creds = env
    auth.create_user("mx-viewer", "GN-MX", "viewer")
    viewer = {"Authorization": f"Bearer {auth.issue_token('mx-viewer')}"}
    op = {"Authorization": f"Bearer {creds['GN-MX']['token']}"}
    zone = {"name": "OP", "kind": "protected_site", "geometry": {"type": "Point", "coordinates": [-110.94, 31.33]},
            "properties": {"radius_m": 300}}
    assert c.post("/api/zones", json=zone, headers=viewer).status_code == 403
    assert c.post("/api/zones", json=zone | {"label": "US-ONLY"}, headers=op).status_code == 403
    r = c.post("/api/zones", json=zone | {"label": "REL-MX"}, headers=op)
    assert r.status_code == 201
    assert auth.audit_entries(action="zone.create")[-1]["actor"] == creds["GN-MX"]["user"]


def test_views_are_audited_and_polling_coalesced(env):
    c, auth, creds = env
    h = {"Authorization": f"Bearer {creds['GN-MX']['token']}"}
    for _ in range(3):  # the map polls
        assert c.get("/api/alerts?state=new", headers=h).status_code == 200
    c.get("/api/alerts?state=acknowledged", headers=h)
    views = [e["object"] for e in auth.audit_entries(actor=creds["GN-MX"]["user"], action="view")]
    assert views.count("/api/alerts?state=new") == 1 and views.count("/api/alerts?state=acknowledged") == 1
    c.get("/api/export/tracks.geojson", headers=h)
    exp = auth.audit_entries(actor=creds["GN-MX"]["user"], action="export")
    assert exp and exp[-1]["object"] == "tracks" and exp[-1]["detail"]["tracks"] >= 1


def test_revoked_token_ends_an_open_websocket(env, monkeypatch):
    import lookout.api.security as sec

    c, auth, creds = env
    monkeypatch.setattr(sec, "WS_RECHECK_S", 0.2)
    tok = auth.issue_token(creds["GN-MX"]["user"])
    with c.websocket_connect(f"/api/ws?token={tok}") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        auth.revoke_token(tok.split("_")[1])
        msg = ws.receive_json()
        while msg["type"] != "error":
            msg = ws.receive_json()
    assert "was revoked; stream closed" in msg["detail"]
