"""A zone belongs to the agency that made it: that agency's operators may change or delete it,
another agency's operators get 403 (audited) and the store keeps the zone as it was; an admin
of an agency cleared for every label may change any zone; zones no agency made (zone files,
the command line, the rules' defaults) belong to the host agencies (cleared for every label)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.world import SECTOR, fill
from lookout.api import LiveHub, create_app
from lookout.auth import AuthStore, setup_demo_agencies
from lookout.cli import app as cli
from lookout.model import Zone, ZoneKind
from lookout.store.sqlite import SQLiteStore

SQUARE = {"type": "Polygon", "coordinates": [[[-110.96, 31.30], [-110.95, 31.30], [-110.95, 31.31],
                                              [-110.96, 31.31], [-110.96, 31.30]]]}


@pytest.fixture
def world(tmp_path):
    store = SQLiteStore(tmp_path / "s.db")
    fill(store)
    auth = AuthStore(tmp_path / "auth.db")
    setup_demo_agencies(auth, passwords=False)
    auth.create_agency("CIV", ["PUBLIC"])
    for user, agency, role in (("usbp-op", "USBP", "operator"), ("usbp-admin", "USBP", "admin"),
                               ("mx-op", "GN-MX", "operator"), ("mx-op2", "GN-MX", "operator"),
                               ("mx-admin", "GN-MX", "admin"), ("civ-op", "CIV", "operator")):
        auth.create_user(user, agency, role)
    heads = {u["name"]: {"Authorization": f"Bearer {auth.issue_token(u['name'])}"} for u in auth.users()}
    with TestClient(create_app(store, hub=LiveHub(), sector=SECTOR, auth=auth)) as c:
        yield c, store, auth, heads
    store.close()


def body(name: str, label: str = "PUBLIC") -> dict:
    return {"name": name, "kind": "no_drone", "label": label, "geometry": SQUARE}


def versions(store, zid: str) -> list:
    return [(v, d, z.to_dict()) for v, d, z in store.zone_versions(zid)]


def test_the_making_agency_owns_its_zone(world):
    c, store, auth, h = world
    r = c.post("/api/zones", json=body("MX post"), headers=h["mx-op"])
    assert r.status_code == 201 and r.json()["properties"]["agency"] == "GN-MX"
    zid = r.json()["id"]
    assert store.zone(zid).agency == "GN-MX"
    # a colleague in the same agency may change it; the owner stays
    r = c.put(f"/api/zones/{zid}", json=body("MX post 2"), headers=h["mx-op2"])
    assert r.status_code == 200 and r.json()["properties"]["version"] == 2
    assert store.zone(zid).agency == "GN-MX" and "agency" not in store.zone(zid).properties
    before = versions(store, zid)
    # another agency's operators may not change or delete it: 403, audited, nothing stored
    for user in ("usbp-op", "civ-op"):
        for method, payload in (("PUT", body("taken over")), ("DELETE", None)):
            r = c.request(method, f"/api/zones/{zid}", json=payload, headers=h[user])
            assert r.status_code == 403, (user, method, r.text)
            assert f"zone '{zid}' belongs to agency GN-MX" in r.json()["detail"]
    assert versions(store, zid) == before
    denied = auth.audit_entries(action="zone.*", outcome="denied")
    assert [(e["actor"], e["action"]) for e in denied] == [("usbp-op", "zone.update"), ("usbp-op", "zone.delete"),
                                                           ("civ-op", "zone.update"), ("civ-op", "zone.delete")]
    assert all(e["object"] == zid and e["detail"] == {"owner": "GN-MX"} for e in denied)
    # PUT of a new id is a create: it belongs to whoever made it
    r = c.put("/api/zones/z-us-1", json=body("US post"), headers=h["usbp-op"])
    assert r.status_code == 200 and store.zone("z-us-1").agency == "USBP"
    assert c.delete("/api/zones/z-us-1", headers=h["mx-admin"]).status_code == 403  # an admin of a partner
    assert c.delete(f"/api/zones/{zid}", headers=h["mx-op2"]).status_code == 204
    assert store.zone(zid) is None


def test_host_admin_may_change_any_zone(world):
    c, store, _, h = world
    zid = c.post("/api/zones", json=body("MX post", "REL-MX"), headers=h["mx-op"]).json()["id"]
    r = c.put(f"/api/zones/{zid}", json=body("MX post (fixed)", "REL-MX"), headers=h["usbp-admin"])
    assert r.status_code == 200 and store.zone(zid).agency == "GN-MX"  # still GN-MX's zone
    assert c.put(f"/api/zones/{zid}", json=body("again", "REL-MX"), headers=h["mx-op"]).status_code == 200
    # an agency that may not see the zone's label is told it does not exist
    assert c.delete(f"/api/zones/{zid}", headers=h["civ-op"]).status_code == 404
    assert c.delete(f"/api/zones/{zid}", headers=h["usbp-admin"]).status_code == 204


def test_zones_no_agency_made_belong_to_the_host(world):
    c, store, _, h = world
    # z-poe came from the store directly (as from a zone file or the rules' defaults)
    assert store.zone("z-poe").agency is None
    assert "agency" not in c.get("/api/zones/z-poe", headers=h["mx-op"]).json()["properties"]
    before = versions(store, "z-poe")
    for user in ("mx-op", "mx-admin", "civ-op"):
        r = c.put("/api/zones/z-poe", json=body("moved"), headers=h[user])
        assert r.status_code == 403 and "belongs to the host" in r.json()["detail"]
        assert c.delete("/api/zones/z-poe", headers=h[user]).status_code == 403
    assert versions(store, "z-poe") == before
    r = c.put("/api/zones/z-poe", json=body("POE"), headers=h["usbp-op"])
    assert r.status_code == 200 and store.zone("z-poe").agency is None


def test_zone_file_reload_keeps_the_owner(world, tmp_path):
    c, store, _, h = world
    zid = c.post("/api/zones", json=body("MX post"), headers=h["mx-op"]).json()["id"]
    path = tmp_path / "zones.geojson"
    feats = [{"type": "Feature", "properties": {"id": i, "name": name, "kind": "no_drone"}, "geometry": SQUARE}
             for i, name in ((zid, "MX post (file)"), ("z-file", "file zone"))]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    r = CliRunner().invoke(cli, ["zones", "load", str(path), "--db", str(tmp_path / "s.db")], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert store.zone(zid).name == "MX post (file)" and store.zone(zid).agency == "GN-MX"
    assert store.zone("z-file").agency is None
    assert c.put(f"/api/zones/{zid}", json=body("MX"), headers=h["mx-op"]).status_code == 200


def test_open_mode_zones_have_no_owner():
    store = SQLiteStore(":memory:")
    with TestClient(create_app(store, sector=SECTOR)) as c:
        r = c.post("/api/zones", json=body("anyone's"))
        assert r.status_code == 201 and "agency" not in r.json()["properties"]
        assert c.put(f"/api/zones/{r.json()['id']}", json=body("still")).status_code == 200
    assert store.zones()[0].agency is None
    assert Zone(id="z", name="z", kind=ZoneKind.CUSTOM, geometry=SQUARE).agency is None
    store.close()
