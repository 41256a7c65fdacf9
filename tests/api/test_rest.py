"""REST endpoints over a filled store: results, filters and bad input (4xx with a clear message)."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

import pytest

from api.world import OPERATOR, T0, bbox_around, track_at
from lookout.model import AlertState


def test_health_basemap_docs(rclient):
    h = rclient.get("/api/health").json()
    assert h["status"] == "ok" and h["live"] is True and h["clients"] == 0
    bm = rclient.get("/api/basemap")
    assert bm.status_code == 200 and bm.headers["content-type"].startswith("application/geo+json")
    kinds = {f["properties"]["kind"] for f in bm.json()["features"]}
    assert {"sector", "border", "town", "road"} <= kinds
    assert rclient.get("/docs").status_code == 200
    paths = rclient.get("/openapi.json").json()["paths"]
    for p in ("/api/tracks", "/api/tracks/{track_id}/history", "/api/alerts/{alert_id}/acknowledge",
              "/api/zones", "/api/sensors", "/api/export/tracks.kml", "/api/replay", "/api/observations"):
        assert p in paths


def test_stored_tracks_by_window_area_class(rclient):
    rows = rclient.get("/api/tracks", params={"live": "false"}).json()
    assert {r["id"] for r in rows} == {"t-uas-1", "t-fw-1", "t-rot-1", "t-veh-1", "t-surv-1"}
    uas = next(r for r in rows if r["id"] == "t-uas-1")
    last = track_at(0, T0 + 60)
    assert uas["time"] == T0 + 60
    assert uas["position"]["lat"] == pytest.approx(last.position.lat, abs=1e-7)
    assert uas["speed_mps"] == pytest.approx(12.649, abs=0.01)
    assert uas["course_deg"] == pytest.approx(18.4, abs=0.1)
    assert uas["operator"]["lat"] == OPERATOR.lat
    # area: a small box around the UAS's last position selects it alone
    rows = rclient.get("/api/tracks", params={"live": "false",
                                             "bbox": bbox_around(last.position.lat, last.position.lon)}).json()
    assert [r["id"] for r in rows] == ["t-uas-1"]
    # class filter
    rows = rclient.get("/api/tracks", params={"live": "false", "cls": "fixed_wing,rotorcraft"}).json()
    assert sorted(r["cls"] for r in rows) == ["fixed_wing", "rotorcraft"]
    # a window that ends before the last updates holds none of them
    assert rclient.get("/api/tracks", params={"end": T0 + 30}).json() == []
    assert len(rclient.get("/api/tracks", params={"start": T0 + 30, "limit": 2}).json()) == 2


def test_live_tracks_from_hub(client, hub):
    assert client.get("/api/tracks", params={"live": "true"}).json() == []
    hub.publish(T0 + 100, [track_at(0, T0 + 100), track_at(1, T0 + 100)], [], [])
    rows = client.get("/api/tracks").json()  # live by default once the hub has a picture
    assert {r["id"] for r in rows} == {"t-uas-1", "t-fw-1"} and rows[0]["time"] == T0 + 100
    hub.publish(T0 + 101, [], ["t-fw-1"], [])
    assert [r["id"] for r in client.get("/api/tracks").json()] == ["t-uas-1"]
    assert [r["id"] for r in client.get("/api/tracks", params={"cls": "fixed_wing", "live": True}).json()] == []


def test_track_and_history(rclient):
    t = rclient.get("/api/tracks/t-fw-1").json()
    assert t["identities"] == {"icao24": "a1b2c3", "callsign": "N123AB"} and t["cls"] == "fixed_wing"
    assert t["sources"] == ["adsb", "radar"]
    hist = rclient.get("/api/tracks/t-fw-1/history").json()
    assert len(hist) == 61 and hist[0]["time"] == T0 and hist[-1]["time"] == T0 + 60
    p10 = track_at(1, T0 + 10).position
    h10 = rclient.get("/api/tracks/t-fw-1/history", params={"start": T0 + 10, "end": T0 + 10}).json()
    assert len(h10) == 1 and h10[0]["lat"] == pytest.approx(p10.lat) and h10[0]["lon"] == pytest.approx(p10.lon)
    iso = rclient.get("/api/tracks/t-fw-1/history",
                     params={"start": "2026-09-21T14:13:20Z", "end": "2026-09-21T14:13:30Z"}).json()
    assert [p["time"] for p in iso] == [T0 + k for k in range(11)]


def test_replay_points(rclient):
    r = rclient.get("/api/replay", params={"start": T0 + 10, "end": T0 + 12}).json()
    assert set(r["points"]) == {"t-uas-1", "t-fw-1", "t-rot-1", "t-veh-1", "t-surv-1"}
    assert [p[0] for p in r["points"]["t-rot-1"]] == [T0 + 10, T0 + 11, T0 + 12]
    assert r["tracks"]["t-rot-1"]["name"] == "CBP41" and r["tracks"]["t-rot-1"]["cls"] == "rotorcraft"
    assert r["start"] == T0 + 10 and r["end"] == T0 + 12
    ext = rclient.get("/api/extent").json()
    assert ext["start"] == T0 and ext["end"] == T0 + 60 and ext["tracks"] == 5


def test_observations(rclient):
    rows = rclient.get("/api/observations", params={"source": "adsb", "start": T0, "end": T0 + 4}).json()
    assert len(rows) == 5 and all(r["source"] == "adsb" and r["ident"] == "a1b2c3" for r in rows)
    assert len(rclient.get("/api/observations", params={"limit": 7}).json()) == 7
    assert rclient.get("/api/observations", params={"sensor": "rid-1"}).json()[0]["sensor"] == "rid-1"
    assert rclient.get("/api/observations/counts").json() == {"adsb": 61, "remote_id": 61}
    assert rclient.get("/api/observations/counts", params={"by": "sensor"}).json() == {"adsb-1": 61, "rid-1": 61}


def test_sensors_merge_config_health_counts(store, hub):
    from fastapi.testclient import TestClient

    from api.world import SENSORS
    from lookout.api import create_app

    class Health:
        def snapshot(self):
            return [{"sensor": "radar-1", "kind": "radar", "last_seen": T0 + 60, "rate_hz": 1.0,
                     "errors": {"checksum": 2}, "silent": False}]

    with TestClient(create_app(store, hub=hub, sensors=SENSORS, health=Health())) as c:
        rows = {r["id"]: r for r in c.get("/api/sensors").json()}
    assert rows["radar-1"]["range_m"] == 12000.0 and rows["radar-1"]["errors"] == {"checksum": 2}
    assert rows["radar-1"]["last_seen"] == T0 + 60 and rows["radar-1"]["silent"] is False
    assert rows["rid-1"]["observations"] == 61 and rows["rid-1"]["lat"] == 31.34
    assert rows["adsb-1"]["observations"] == 61  # seen in the store, not configured


def test_alerts_list_ack_resolve(client, store):
    rows = client.get("/api/alerts").json()
    assert [a["id"] for a in rows] == ["a-norid-1", "a-cross-1", "a-loiter-1"]  # newest first
    assert client.get("/api/alerts", params={"rule": "loiter"}).json()[0]["id"] == "a-loiter-1"
    assert client.get("/api/alerts", params={"start": T0 + 30}).json()[0]["id"] == "a-norid-1"
    a = client.get("/api/alerts/a-cross-1").json()
    assert a["state"] == "new" and a["operator"]["lat"] == OPERATOR.lat
    r = client.post("/api/alerts/a-cross-1/acknowledge", json={"by": "agent-7"})
    assert r.status_code == 200 and r.json()["state"] == "acknowledged" and r.json()["acknowledged_by"] == "agent-7"
    assert store.alert("a-cross-1").state == AlertState.ACKNOWLEDGED
    assert [x["id"] for x in client.get("/api/alerts", params={"state": "acknowledged"}).json()] == ["a-cross-1"]
    again = client.post("/api/alerts/a-cross-1/acknowledge")
    assert again.status_code == 409 and "only a new alert" in again.json()["detail"]
    r = client.post("/api/alerts/a-cross-1/resolve")
    assert r.status_code == 200 and r.json()["state"] == "resolved" and r.json()["resolved_by"] == "operator"
    assert client.post("/api/alerts/a-cross-1/resolve").status_code == 409
    assert client.post("/api/alerts/a-norid-1/resolve").json()["state"] == "resolved"  # new -> resolved


def test_alert_manager_is_used(store, hub):
    from fastapi.testclient import TestClient

    from lookout.api import create_app

    calls = []

    class Manager:
        def acknowledge(self, alert_id, by):
            calls.append((alert_id, by))
            if alert_id == "nope":
                raise KeyError(alert_id)
            a = store.alert(alert_id)
            a.state, a.acknowledged_by = AlertState.ACKNOWLEDGED, by
            return a

        def resolve(self, alert_id, by):
            raise ValueError("cannot resolve while the condition holds")

    with TestClient(create_app(store, hub=hub, alert_manager=Manager())) as c:
        assert c.post("/api/alerts/a-cross-1/acknowledge", json={"by": "x"}).json()["state"] == "acknowledged"
        assert c.post("/api/alerts/nope/acknowledge").status_code == 404
        r = c.post("/api/alerts/a-cross-1/resolve")
        assert r.status_code == 409 and "condition holds" in r.json()["detail"]
    assert calls == [("a-cross-1", "x"), ("nope", "operator")]
    assert store.alert("a-cross-1").state == AlertState.ACKNOWLEDGED


SQUARE = {"type": "Polygon", "coordinates": [[[-110.96, 31.30], [-110.95, 31.30], [-110.95, 31.31],
                                              [-110.96, 31.31], [-110.96, 31.30]]]}


def test_zone_crud(client):
    fc = client.get("/api/zones").json()
    assert fc["type"] == "FeatureCollection" and [f["id"] for f in fc["features"]] == ["z-poe"]
    r = client.post("/api/zones", json={"type": "Feature", "geometry": SQUARE,
                                        "properties": {"name": "Ridge OP", "kind": "no_drone", "note": "x"}})
    assert r.status_code == 201
    z = r.json()
    zid = z["id"]
    assert z["properties"] == {"name": "Ridge OP", "kind": "no_drone", "version": 1, "label": "PUBLIC", "note": "x"}
    r = client.put(f"/api/zones/{zid}", json={"name": "Ridge OP 2", "kind": "no_drone", "geometry": SQUARE})
    assert r.status_code == 200 and r.json()["properties"]["version"] == 2
    assert client.get(f"/api/zones/{zid}").json()["properties"]["name"] == "Ridge OP 2"
    assert client.get(f"/api/zones/{zid}", params={"version": 1}).json()["properties"]["name"] == "Ridge OP"
    assert [f["id"] for f in client.get("/api/zones", params={"kind": "no_drone"}).json()["features"]] == [zid]
    dup = {"id": zid, "name": "dup", "kind": "custom", "geometry": SQUARE}
    assert client.post("/api/zones", json=dup).status_code == 409
    assert client.delete(f"/api/zones/{zid}").status_code == 204
    assert client.get(f"/api/zones/{zid}").status_code == 404
    assert client.delete(f"/api/zones/{zid}").status_code == 404


@pytest.mark.parametrize("body, words", [
    ({"type": "Feature", "properties": {"name": "a"}, "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1]]]}},
     "coordinates"),
    ({"type": "Feature", "properties": {"name": "a"}, "geometry": {"type": "Circle", "coordinates": [0, 0]}},
     "geometry type must be one of"),
    ({"type": "Feature", "properties": {"name": "a"}, "geometry": None}, "geometry must be an object"),
    ({"type": "Feature", "properties": {"name": "a"},
      "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}}, "Self-intersection"),
    ({"type": "Feature", "properties": {"name": "a"},
      "geometry": {"type": "Point", "coordinates": [31.3, -110.9]}}, "outside WGS-84"),
    ({"type": "Feature", "properties": {"name": "a"}, "geometry": {"type": "LineString", "coordinates": []}},
     "non-empty 'coordinates'"),
    ({"type": "Feature", "properties": {"kind": "custom"}, "geometry": SQUARE}, "non-empty 'name'"),
    ({"type": "Feature", "properties": {"name": "a", "kind": "moat"}, "geometry": SQUARE}, "kind 'moat' is unknown"),
    ({"type": "FeatureCollection", "features": []}, "one zone"),
    (SQUARE, "not a bare geometry"),
    ({"name": "a", "kind": "custom", "geometry": SQUARE, "colour": "red"}, "unknown zone field"),
    ([1, 2, 3], "JSON object"),
])
def test_zone_bad_input(rclient, body, words):
    r = rclient.post("/api/zones", json=body)
    assert r.status_code == 422, r.text
    assert words in r.json()["detail"]


def test_zone_body_not_json(rclient):
    r = rclient.post("/api/zones", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "JSON" in json.dumps(r.json()["detail"])
    r = rclient.put("/api/zones/z-1",
                    json={"type": "Feature", "id": "z-2", "properties": {"name": "a"}, "geometry": SQUARE})
    assert r.status_code == 422 and "differs" in r.json()["detail"]


@pytest.mark.parametrize("url, params, status, words", [
    ("/api/tracks/no-such", {}, 404, "no track with id 'no-such'"),
    ("/api/tracks/no-such/history", {}, 404, "no track"),
    ("/api/alerts/no-such", {}, 404, "no alert"),
    ("/api/zones/no-such", {}, 404, "no zone"),
    ("/api/tracks", {"start": T0 + 50, "end": T0}, 400, "start"),
    ("/api/tracks", {"start": "yesterday"}, 400, "not a time"),
    ("/api/tracks", {"end": "nan"}, 400, "out of range"),
    ("/api/tracks", {"bbox": "1,2,3"}, 400, "4 comma-separated"),
    ("/api/tracks", {"bbox": "a,b,c,d"}, 400, "not a number"),
    ("/api/tracks", {"bbox": "-110,31,-111,32"}, 400, "min must not exceed max"),
    ("/api/tracks", {"bbox": "31,-110,32,-111"}, 400, "order is min_lon,min_lat"),
    ("/api/tracks", {"bbox": "-200,31,-110,32"}, 400, "outside WGS-84"),
    ("/api/tracks", {"cls": "ufo"}, 400, "unknown class"),
    ("/api/tracks", {"status": "flying"}, 400, "status='flying'"),
    ("/api/tracks", {"limit": 0}, 400, "limit=0"),
    ("/api/tracks/t-fw-1/history", {"start": T0 + 5, "end": T0}, 400, "bad time range"),
    ("/api/replay", {"start": "2026-13-45"}, 400, "not a time"),
    ("/api/observations", {"source": "sonar"}, 400, "source='sonar'"),
    ("/api/observations", {"limit": 10**6}, 400, "limit"),
    ("/api/observations/counts", {"by": "colour"}, 400, "by='colour'"),
    ("/api/alerts", {"state": "open"}, 400, "state='open'"),
    ("/api/alerts", {"bbox": "x"}, 400, "bbox"),
    ("/api/export/tracks.geojson", {"start": 5, "end": 1}, 400, "bad time range"),
    ("/api/export/alerts.kml", {"state": "gone"}, 400, "state='gone'"),
    ("/api/zones/z-poe", {"version": 0}, 422, "greater than or equal to 1"),
])
def test_bad_queries_are_4xx_with_a_message(rclient, url, params, status, words):
    r = rclient.get(url, params=params)
    assert r.status_code == status, r.text
    assert words in json.dumps(r.json()["detail"])


def test_bad_alert_actions(client):
    assert client.post("/api/alerts/no-such/acknowledge").status_code == 404
    r = client.post("/api/alerts/a-cross-1/acknowledge", json={"by": ""})
    assert r.status_code == 422 and "'by'" in r.json()["detail"]
    r = client.post("/api/alerts/a-cross-1/acknowledge", json={"who": "x"})
    assert r.status_code == 422
    assert client.get("/api/alerts/a-cross-1").json()["state"] == "new"


def test_live_without_hub_is_400(store):
    from fastapi.testclient import TestClient

    from lookout.api import create_app

    with TestClient(create_app(store)) as c:
        r = c.get("/api/tracks", params={"live": "true"})
        assert r.status_code == 400 and "no live feed" in r.json()["detail"]
        assert len(c.get("/api/tracks").json()) == 5  # the store without a hub


def test_geojson_exports(rclient):
    r = rclient.get("/api/export/tracks.geojson", params={"history": "true", "cls": "fixed_wing"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    assert "attachment" in r.headers["content-disposition"]
    feats = r.json()["features"]
    assert [f["geometry"]["type"] for f in feats] == ["Point", "LineString"]
    pos = track_at(1, T0 + 60).position
    assert feats[0]["geometry"]["coordinates"][:2] == pytest.approx([pos.lon, pos.lat])
    assert feats[0]["properties"]["name"] == "N123AB"
    assert len(feats[1]["geometry"]["coordinates"]) == 61
    al = rclient.get("/api/export/alerts.geojson").json()["features"]
    assert {f["id"] for f in al} == {"a-cross-1", "a-norid-1", "a-loiter-1"}
    assert next(f for f in al if f["id"] == "a-loiter-1")["geometry"] is None
    assert next(f for f in al if f["id"] == "a-cross-1")["geometry"]["type"] == "Point"


def test_kml_exports(rclient):
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    r = rclient.get("/api/export/tracks.kml", params={"history": "true"})
    assert r.headers["content-type"].startswith("application/vnd.google-earth.kml+xml")
    root = ET.fromstring(r.content)
    marks = root.findall(".//k:Placemark", ns)
    assert len(marks) == 10  # 5 positions + 5 history lines
    fw = next(m for m in marks if m.get("id") == "t-fw-1")
    assert fw.find("k:name", ns).text == "N123AB"
    lon, lat, _ = map(float, fw.find(".//k:coordinates", ns).text.split(","))
    pos = track_at(1, T0 + 60).position
    assert lat == pytest.approx(pos.lat, abs=1e-6) and lon == pytest.approx(pos.lon, abs=1e-6)
    root = ET.fromstring(rclient.get("/api/export/alerts.kml", params={"state": "new"}).content)
    names = [m.find("k:name", ns).text for m in root.findall(".//k:Placemark", ns)]
    assert "high: UAS crossed the border northbound" in names



def test_with_the_rules_alert_manager(store, hub):
    """The API over the rules engine's AlertManager: its lifecycle rules and errors map to 4xx."""
    from fastapi.testclient import TestClient

    from lookout.api import create_app
    from lookout.rules.alerts import AlertManager

    with TestClient(create_app(store, hub=hub, alert_manager=AlertManager(store=store))) as c:
        r = c.post("/api/alerts/a-norid-1/acknowledge", json={"by": "agent-9"})
        assert r.status_code == 200 and r.json()["acknowledged_by"] == "agent-9"
        r = c.post("/api/alerts/a-norid-1/acknowledge")
        assert r.status_code == 409 and "already acknowledged" in r.json()["detail"]
        assert c.post("/api/alerts/a-missing/resolve").status_code == 404
        assert c.post("/api/alerts/a-norid-1/resolve").json()["state"] == "resolved"
    assert store.alert("a-norid-1").state == AlertState.RESOLVED
