"""The leak matrix: agencies x roles x labels x endpoints (REST, WebSocket, exports, CoT).

Every record carries secret markers (identities, callsigns, messages, exact coordinates). For
each caller, every response is searched for the markers of records its agency may not receive
(or may receive only downgraded): none may appear. Positive checks make sure the allowed
records do arrive, so the matrix cannot pass by returning nothing.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from lookout.api import LiveHub, create_app
from lookout.auth import AuthStore
from lookout.model import (
    Alert,
    GeoPoint,
    GeoPosition,
    ObjectClass,
    Observation,
    Severity,
    SourceKind,
    Track,
    Velocity,
    Zone,
    ZoneKind,
)
from lookout.sector import load_sector
from lookout.share.feed import CotFeed
from lookout.share.releasability import ShareRule
from lookout.share.transport import CotSender
from lookout.store.sqlite import SQLiteStore

T0 = 1_790_000_000.0
SECTOR = load_sector()
#: id, label, sources, class, ENU start
SPECS = [
    ("t-pub", "PUBLIC", ["adsb"], ObjectClass.FIXED_WING, (-4000.0, 3000.0)),
    ("t-relmx", "REL-MX", ["report"], ObjectClass.PERSON, (1000.0, -2000.0)),
    ("t-usradar", "US-ONLY", ["radar"], ObjectClass.UAS, (2500.0, 1500.0)),
    ("t-uscam", "US-ONLY", ["radar", "camera"], ObjectClass.GROUND_VEHICLE, (-1500.0, -3500.0)),
    ("t-odd", "NOFORN-X", ["radar"], ObjectClass.UAS, (500.0, 500.0)),
]
AGENCIES = {
    "USBP": (["PUBLIC", "REL-MX", "US-ONLY"], []),
    "GN-MX": (["PUBLIC", "REL-MX"], [ShareRule("US-ONLY", "REL-MX", coarsen_m=1000.0, sources=frozenset({"radar"}),
                                               alerts=False)]),
    "CIV": (["PUBLIC"], []),
}
ROLES = ["viewer", "operator", "admin"]


def make_track(i: int, t: float) -> Track:
    tid, label, sources, cls, (e0, n0) = SPECS[i]
    lat, lon, alt = SECTOR.frame.to_geodetic(e0 + 3.0 * (t - T0), n0 + 2.0 * (t - T0), 150.0)
    # exact positions with a non-zero 7th decimal: never the form of a coarsened position
    lat, lon = round(float(lat), 4) + 0.0000137, round(float(lon), 4) - 0.0000137
    return Track(id=tid, time=t, position=GeoPoint(lat, lon, float(alt)), velocity=Velocity(3.0, 2.0, 0.0),
                 sigma_h_m=20.0, cls=cls, identities={"remote_id": f"RID-{tid}-SECRET", "callsign": f"CS-{tid}-SECRET"},
                 sources=sources, sensors=[f"sensor-{tid}-SECRET"], label=label, first_time=T0, updates=5,
                 operator=GeoPoint(31.3, -110.95, 1200.0) if cls == ObjectClass.UAS else None,
                 attrs={"note": f"ATTR-{tid}-SECRET"})


def alerts_for(t: float) -> list[Alert]:
    out = []
    for tid, label, _s, _c, _p in SPECS:
        tr = make_track([s[0] for s in SPECS].index(tid), t)
        out.append(Alert(rule="border_crossing", severity=Severity.HIGH, message=f"MSG-{tid}-SECRET", start=T0 + 1,
                         track_ids=[tid], position=tr.position, evidence={"remote_id": f"RID-{tid}-SECRET"},
                         label=label, id=f"a-{tid}"))
    return out


def forbidden(agency: str) -> list[str]:
    """Markers that must never reach ``agency``."""
    labels, rules = AGENCIES[agency]
    out = []
    for tid, label, sources, _c, _p in SPECS:
        if label in labels:
            continue
        out += [f"RID-{tid}-SECRET", f"CS-{tid}-SECRET", f"sensor-{tid}-SECRET", f"ATTR-{tid}-SECRET",
                f"MSG-{tid}-SECRET", f"OBS-{tid}-SECRET"]
        downgraded = any(r.applies(label, sources) for r in rules)
        if not downgraded:
            out += [f'"{tid}"', f"lookout-{tid}", f">{tid}<", f"a-{tid}"]
        i = [x[0] for x in SPECS].index(tid)
        out += [f"{make_track(i, T0 + k).position.lat:.7f}" for k in range(7)]  # exact positions
    return out


def allowed(agency: str) -> list[str]:
    labels, _ = AGENCIES[agency]
    return [tid for tid, label, *_ in SPECS if label in labels]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("leak")
    store = SQLiteStore(d / "store.db")
    for k in range(6):
        store.write_tracks([make_track(i, T0 + k) for i in range(len(SPECS))])
    store.write_alerts(alerts_for(T0 + 5))
    obs = []
    for tid, label, sources, _c, _p in SPECS:
        tr = make_track([s[0] for s in SPECS].index(tid), T0)
        obs.append(Observation(time=T0, source=SourceKind.RADAR if "radar" in sources else SourceKind.ADSB,
                               sensor=f"sensor-{tid}-SECRET", position=GeoPosition(tr.position.lat, tr.position.lon),
                               ident=f"OBS-{tid}-SECRET", label=label))
    store.write_observations(obs)
    for tid, label, *_ in SPECS:
        store.put_zone(Zone(id=f"z-{tid}", name=f"ZONE-{tid}", kind=ZoneKind.CUSTOM, label=label,
                            geometry={"type": "Point", "coordinates": [-110.94, 31.33]}))
    auth = AuthStore(d / "auth.db")
    tokens = {}
    for name, (labels, rules) in AGENCIES.items():
        auth.create_agency(name, labels, rules)
        for role in ROLES:
            user = f"{name.lower()}-{role}"
            auth.create_user(user, name, role)
            tokens[(name, role)] = auth.issue_token(user)
    hub = LiveHub(queue_size=64)
    sensors = [{"id": f"sensor-{tid}-SECRET", "kind": "radar", "lat": 31.3, "lon": -110.9, "range_m": 1000.0,
                "label": label} for tid, label, *_ in SPECS]
    app = create_app(store, hub=hub, sector=SECTOR, sensors=sensors, auth=auth)
    hub.publish(T0 + 5, [make_track(i, T0 + 5) for i in range(len(SPECS))], [], [])
    with TestClient(app) as client:
        yield {"client": client, "tokens": tokens, "hub": hub, "auth": auth, "store": store}
    store.close()
    auth.close()


def _text(r) -> str:
    return r.text if hasattr(r, "text") else json.dumps(r)


ENDPOINTS = [
    "/api/tracks", "/api/tracks?live=false", "/api/tracks?bbox=-111.0,31.2,-110.8,31.45",
    "/api/replay", "/api/replay?bbox=-110.95,31.3,-110.9,31.35", "/api/observations", "/api/observations/counts",
    "/api/observations/counts?by=sensor", "/api/sensors", "/api/alerts", "/api/zones", "/api/extent", "/api/health",
    "/api/export/tracks.geojson?history=true", "/api/export/tracks.kml?history=true",
    "/api/export/alerts.geojson", "/api/export/alerts.kml", "/api/auth/me",
] + [f"/api/tracks/{s[0]}" for s in SPECS] + [f"/api/tracks/{s[0]}/history" for s in SPECS] \
  + [f"/api/alerts/a-{s[0]}" for s in SPECS] + [f"/api/zones/z-{s[0]}" for s in SPECS]


@pytest.mark.parametrize("agency", list(AGENCIES))
@pytest.mark.parametrize("role", ROLES)
def test_rest_and_exports_never_leak(world, agency, role):
    c, tok = world["client"], world["tokens"][(agency, role)]
    h = {"Authorization": f"Bearer {tok}"}
    bad = forbidden(agency)
    seen = ""
    for ep in ENDPOINTS:
        r = c.get(ep, headers=h)
        assert r.status_code in (200, 404), (ep, r.status_code, r.text[:200])
        body = r.text
        if r.status_code == 404:  # the same answer as for an id that never existed
            assert set(r.json()) == {"detail"} and r.json()["detail"].startswith("no "), body
            continue
        for m in bad:
            assert m not in body, f"{agency}/{role} {ep} leaks {m!r}"
        seen += body
    for tid in allowed(agency):  # the matrix is not vacuous: allowed records arrive
        assert f"RID-{tid}-SECRET" in seen and f"MSG-{tid}-SECRET" in seen and f"OBS-{tid}-SECRET" in seen
    if agency != "USBP":  # even the live track count is the agency's own
        assert c.get("/api/health", headers=h).json()["live_tracks"] == {"GN-MX": 3, "CIV": 1}[agency]
    if agency == "GN-MX":  # the radar-only U.S. track arrives downgraded
        d = c.get("/api/tracks/t-usradar", headers=h).json()
        assert d["label"] == "REL-MX" and d["identities"] == {} and d["sensors"] == [] and d["velocity"] is None
        assert c.get("/api/tracks/t-uscam", headers=h).status_code == 404


@pytest.mark.parametrize("agency", list(AGENCIES))
def test_websocket_never_leaks(world, agency):
    c, hub = world["client"], world["hub"]
    bad = forbidden(agency)
    with c.websocket_connect(f"/api/ws?token={world['tokens'][(agency, 'viewer')]}") as ws:
        snap = ws.receive_text()
        assert json.loads(snap)["type"] == "snapshot"
        # the next step: tracks move, one U.S.-only track ends, alerts of every label fire
        hub.publish(T0 + 6, [make_track(i, T0 + 6) for i in range(len(SPECS)) if SPECS[i][0] != "t-uscam"],
                    ["t-uscam"], alerts_for(T0 + 6))
        upd = ws.receive_text()
    for body in (snap, upd):
        for m in bad:
            assert m not in body, f"{agency} WebSocket leaks {m!r}"
    for tid in allowed(agency):
        assert tid in snap and f"MSG-{tid}-SECRET" in upd
    if agency != "USBP":
        assert "t-uscam" not in upd  # not even its deletion


@pytest.mark.parametrize("agency", list(AGENCIES))
def test_cot_feed_never_leaks(world, agency):
    ag = world["auth"].agency(agency)
    feed = CotFeed(CotSender("udp://127.0.0.1:9"), agency=ag)
    try:
        events = feed.encode(T0 + 5, [make_track(i, T0 + 5) for i in range(len(SPECS))], [], alerts_for(T0 + 5))
    finally:
        feed.close()
    body = b"".join(events).decode()
    for m in forbidden(agency):
        assert m not in body, f"{agency} CoT leaks {m!r}"
    for tid in allowed(agency):
        assert f"lookout-{tid}" in body and f"MSG-{tid}-SECRET" in body


@pytest.mark.parametrize("agency", list(AGENCIES))
def test_alert_actions_by_role_and_visibility(world, agency):
    c = world["client"]
    for role in ROLES:
        h = {"Authorization": f"Bearer {world['tokens'][(agency, role)]}"}
        for tid, label, *_ in SPECS:
            r = c.post(f"/api/alerts/a-{tid}/acknowledge", headers=h, json={"by": "someone-else"})
            visible = label in AGENCIES[agency][0]
            if role == "viewer":
                assert r.status_code == 403 and "needs role operator" in r.json()["detail"]
            elif not visible:
                assert r.status_code == 404, r.text
            else:
                assert r.status_code in (200, 409), r.text  # 409: already acknowledged by another caller
            if r.status_code == 404:
                assert r.json() == {"detail": f"no alert with id 'a-{tid}'"}
            else:
                for m in forbidden(agency):
                    assert m not in r.text
    entries = world["auth"].audit_entries(agency=agency, action="alert.acknowledge")
    assert entries and all(e["actor"].startswith(agency.lower()) for e in entries)
    assert world["auth"].audit_entries(agency=agency, action="auth.forbidden")
