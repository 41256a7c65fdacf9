"""Access changes take effect on a running server at once, even when made by another process:
a role changed or a user disabled with ``lookout users ...`` (a subprocess over the same registry
file) applies to the very next request, and an open WebSocket of a disabled user is closed.
Sign-in and token checks do the same hashing work whether the user or token exists or not."""

from __future__ import annotations

import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

import lookout.auth.store as auth_store
from api.world import SECTOR, fill
from lookout.api import LiveHub, create_app
from lookout.auth import AuthStore
from lookout.auth.store import AuthError
from lookout.store.sqlite import SQLiteStore

ZONE = {"name": "OP", "kind": "no_drone", "geometry": {"type": "Point", "coordinates": [-110.94, 31.33]},
        "properties": {"radius_m": 200}}


def lookout_cli(*args: str) -> str:
    """Run the real command line in its own process (its own connection to the registry)."""
    r = subprocess.run([sys.executable, "-m", "lookout", *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


@pytest.fixture
def server(tmp_path):
    db = tmp_path / "auth.db"
    setup = AuthStore(db)
    setup.create_agency("USBP", ["PUBLIC", "REL-MX", "US-ONLY"])
    setup.create_agency("GN-MX", ["PUBLIC", "REL-MX"])
    setup.create_user("ana", "USBP", "operator")
    setup.create_user("bob", "USBP", "operator")
    tokens = {u: setup.issue_token(u) for u in ("ana", "bob")}
    setup.close()
    store = SQLiteStore(":memory:")
    fill(store)
    hub = LiveHub()
    auth = AuthStore(db)  # the server's own connection
    with TestClient(create_app(store, hub=hub, sector=SECTOR, auth=auth)) as c:
        yield c, str(db), {u: {"Authorization": f"Bearer {t}"} for u, t in tokens.items()}, tokens, hub
    auth.close()
    store.close()


def test_role_change_from_the_cli_applies_to_the_next_request(server):
    c, db, h, _, _ = server
    assert c.post("/api/zones", json=ZONE, headers=h["ana"]).status_code == 201
    assert c.get("/api/audit", headers=h["ana"]).status_code == 403
    lookout_cli("users", "role", "ana", "viewer", "--auth", db)
    r = c.post("/api/zones", json=ZONE, headers=h["ana"])
    assert r.status_code == 403 and "has role viewer" in r.json()["detail"]
    assert c.get("/api/auth/me", headers=h["ana"]).json()["role"] == "viewer"
    lookout_cli("users", "role", "ana", "admin", "--auth", db)
    assert c.get("/api/audit", headers=h["ana"]).status_code == 200


def test_disabled_from_the_cli_refused_at_once_and_websocket_closed(server):
    c, db, h, tokens, hub = server
    assert c.get("/api/tracks", headers=h["bob"]).status_code == 200
    with c.websocket_connect(f"/api/ws?token={tokens['bob']}") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        lookout_cli("users", "disable", "bob", "--auth", db)
        r = c.get("/api/tracks", headers=h["bob"])  # the next request
        assert r.status_code == 401 and r.json()["detail"] == "user bob is disabled"
        msg = ws.receive_json()
        while msg["type"] != "error":
            msg = ws.receive_json()
        assert msg["detail"] == "user bob is disabled; stream closed"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1008
    assert c.get("/api/tracks", headers=h["ana"]).status_code == 200  # others are not affected


def test_revoked_token_and_moved_agency_end_a_stream(server, tmp_path):
    c, db, h, tokens, _ = server
    lookout_cli("users", "revoke", tokens["ana"].split("_")[1], "--auth", db)
    assert c.get("/api/tracks", headers=h["ana"]).status_code == 401
    # a user moved to another agency (changed behind the server's back) gets a fresh stream
    with c.websocket_connect(f"/api/ws?token={tokens['bob']}") as ws:
        assert ws.receive_json()["type"] == "snapshot"
        other = AuthStore(db)
        other._db.execute("UPDATE users SET agency='GN-MX' WHERE name='bob'")
        other.close()
        msg = ws.receive_json()
        while msg["type"] != "error":
            msg = ws.receive_json()
        assert msg["detail"].startswith("the access of user bob changed (agency GN-MX)")
    assert c.get("/api/auth/me", headers=h["bob"]).json()["agency"] == "GN-MX"


def test_registry_read_each_time_secret_hashed_once(tmp_path, monkeypatch):
    """Two registries over one file stand for two processes; the second one's changes show in
    the first at once, while a token's secret is hashed only on its first check."""
    calls = []
    real = auth_store.verify_hash
    monkeypatch.setattr(auth_store, "verify_hash", lambda s, h: calls.append(h.split("$")[0]) or real(s, h))
    a, b = AuthStore(tmp_path / "a.db"), AuthStore(tmp_path / "a.db")
    a.create_agency("USBP", ["PUBLIC"])
    a.create_user("ana", "USBP", "operator")
    tok = a.issue_token("ana")
    for _ in range(3):
        assert a.authenticate(tok).role == "operator"
    assert calls == ["pbkdf2_sha256"]
    b.set_role("ana", "admin")
    assert a.authenticate(tok).role == "admin"
    b.update_agency("USBP", labels=["PUBLIC", "REL-MX"])
    assert a.authenticate(tok).agency.labels == {"PUBLIC", "REL-MX"}
    b.disable_user("ana")
    with pytest.raises(AuthError, match="user ana is disabled"):
        a.authenticate(tok)
    assert calls == ["pbkdf2_sha256"]
    a.close()
    b.close()


def _spy(monkeypatch) -> list[str]:
    """Record the parameters of every hash check (algorithm and cost, not salt or digest)."""
    calls: list[str] = []
    real = auth_store.verify_hash

    def spy(secret, stored):
        calls.append("$".join(stored.split("$")[:-2]))
        return real(secret, stored)

    monkeypatch.setattr(auth_store, "verify_hash", spy)
    return calls


def test_login_hashes_once_whoever_signs_in(tmp_path, monkeypatch):
    a = AuthStore(tmp_path / "a.db")
    a.create_agency("USBP", ["PUBLIC"])
    a.create_user("ana", "USBP", "operator", password="correct horse")
    a.create_user("tok-only", "USBP", "viewer")  # no password: API tokens only
    a.create_user("gone", "USBP", "operator", password="correct horse")
    a.disable_user("gone")
    calls = _spy(monkeypatch)
    per_attempt = {}
    for user, password in (("ana", "wrong password"), ("nobody", "wrong password"), ("tok-only", "any password"),
                           ("gone", "correct horse"), ("ana", "correct horse")):
        before = len(calls)
        try:
            a.login(user, password)
            outcome = "ok"
        except AuthError as exc:
            outcome = exc.detail
        per_attempt[user, password] = (outcome, calls[before:])
    scrypt = f"scrypt${auth_store.SCRYPT_N}${auth_store.SCRYPT_R}${auth_store.SCRYPT_P}"
    assert per_attempt.pop(("ana", "correct horse")) == ("ok", [scrypt])
    # every refusal: the same answer after exactly one password check with the real parameters
    assert len(per_attempt) == 4
    assert all(v == ("wrong user name or password", [scrypt]) for v in per_attempt.values()), per_attempt
    a.close()


def test_unknown_token_id_hashes_like_a_known_one(tmp_path, monkeypatch):
    a = AuthStore(tmp_path / "a.db")
    a.create_agency("USBP", ["PUBLIC"])
    a.create_user("ana", "USBP", "operator")
    tok = a.issue_token("ana")
    calls = _spy(monkeypatch)
    wrong = tok[:-4] + ("AAAA" if not tok.endswith("AAAA") else "BBBB")
    unknown = "lkt_0123456789ab_" + tok.split("_", 2)[2]
    for bad, detail in ((wrong, "wrong secret"), (unknown, "unknown token")):
        with pytest.raises(AuthError, match=detail):
            a.authenticate(bad)
    assert calls == [f"pbkdf2_sha256${auth_store.PBKDF2_ITERATIONS}"] * 2
    a.close()
