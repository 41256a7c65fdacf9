"""Zones API input: only what the rules can load is stored. A Point without a radius, a line
without a buffer, lone surrogates, non-finite numbers, invalid geometry and bodies over the
documented size get 422 with a clear message, and the store is left exactly as it was."""

from __future__ import annotations

import json
import math
import socket
import time

import pytest

from api.world import SECTOR, fill
from lookout.api import create_app
from lookout.api.zones import MAX_ZONE_BODY
from lookout.rules import ZoneSet, zones_from_geojson, zones_to_geojson
from web.conftest import LiveServer

POINT = {"type": "Point", "coordinates": [-110.94, 31.33]}
LINE = {"type": "LineString", "coordinates": [[-110.96, 31.30], [-110.95, 31.31]]}
SQUARE = {"type": "Polygon", "coordinates": [[[-110.96, 31.30], [-110.95, 31.30], [-110.95, 31.31],
                                              [-110.96, 31.31], [-110.96, 31.30]]]}


def feature(geometry, **props):
    return {"type": "Feature", "geometry": geometry, "properties": {"name": "Ridge OP", "kind": "no_drone", **props}}


def snapshot(store):
    """Everything the store holds about zones: every version of every zone id, deleted ones too."""
    ids = {z.id for z in store.zones()} | {"z-poe", "z-new", "z-1"}
    return {zid: [(v, d, z.to_dict()) for v, d, z in store.zone_versions(zid)] for zid in sorted(ids)}


def raw(text: str) -> bytes:
    """A JSON body as the client sends it (escapes such as \\ud800 and NaN kept verbatim)."""
    return text.encode()


REJECTED = [
    (feature(POINT), "a point zone's 'radius_m' must be a positive number"),
    ({"name": "OP", "kind": "protected_site", "geometry": POINT}, "radius_m"),
    (feature(POINT, radius_m=0), "radius_m"),
    (feature(POINT, radius_m="300"), "radius_m"),
    (feature(LINE), "a line zone's 'buffer_m' must be a positive number"),
    (feature(SQUARE, buffer_m=-5), "'buffer_m' must be a positive number"),
    (feature({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}), "Self-intersection"),
    (feature({"type": "Polygon", "coordinates": [[[-110.96, 31.30], [-110.95, 31.30], [-110.96, 31.30]]]}),
     "Too few points"),
    ({"name": "OP", "kind": "custom", "geometry": SQUARE, "properties": {"kind": "moat"}}, "may not hold ['kind']"),
    (raw('{"type": "Feature", "geometry": {"type": "Point", "coordinates": [-110.94, 31.33]},'
         ' "properties": {"name": "OP \\ud800", "kind": "no_drone", "radius_m": 300}}'),
     "body.properties.name: text is not valid Unicode (a lone UTF-16 surrogate '\\ud800'"),
    (raw('{"name": "OP", "kind": "custom", "geometry": {"type": "Point", "coordinates": [-110.94, 31.33]},'
         ' "properties": {"radius_m": 300, "note": ["ok", "\\udfff"]}}'), "body.properties.note[1]: text is not valid"),
    (raw('{"name": "OP", "kind": "custom", "geometry": {"type": "Point", "coordinates": [-110.94, 31.33]},'
         ' "properties": {"radius_m": 300, "\\ud83d": 1}}'), "a key: text is not valid Unicode"),
    (raw('{"name": "OP", "kind": "custom", "label": "\\udc00", "geometry": {"type": "Point",'
         ' "coordinates": [-110.94, 31.33]}, "properties": {"radius_m": 300}}'), "body.label: text is not valid"),
    (raw('{"name": "OP", "kind": "custom", "geometry": {"type": "Point", "coordinates": [-110.94, 31.33]},'
         ' "properties": {"radius_m": NaN}}'), "numbers must be finite"),
    (raw('{"name": "OP", "kind": "custom", "geometry": {"type": "Point", "coordinates": [-110.94, Infinity]},'
         ' "properties": {"radius_m": 300}}'), "body.geometry.coordinates[1]: numbers must be finite"),
    (raw('{"name": "OP", "kind": "custom", "geometry": {"type": "Point", "coordinates": [-110.94, 31.33]},'
         ' "properties": {"radius_m": 300, "x": {"y": -Infinity}}}'), "body.properties.x.y: numbers must be finite"),
]


def _send(client, method, url, body):
    if isinstance(body, bytes):
        return client.request(method, url, content=body, headers={"content-type": "application/json"})
    return client.request(method, url, json=body)


@pytest.mark.parametrize("body, words", REJECTED)
def test_rejected_with_nothing_stored(client, store, body, words):
    before = snapshot(store)
    for method, url in (("POST", "/api/zones"), ("PUT", "/api/zones/z-poe"), ("PUT", "/api/zones/z-new")):
        r = _send(client, method, url, body)
        assert r.status_code == 422, (method, url, r.text)
        assert words in r.json()["detail"], r.json()["detail"]
        assert snapshot(store) == before
    assert len(client.get("/api/zones").json()["features"]) == 1


def test_accepted_zones_load_in_the_rules(client, store):
    """What the API stores, the rules load: the store's zones exported as a zone file go back
    through the rules' loader, and project and buffer as the engine does."""
    made = [
        feature(POINT, radius_m=300),
        feature(LINE, buffer_m=150.5),
        feature(SQUARE, note="Río Santa Cruz \U0001f335", tags=["a", 1, 2.5, None, True]),
        {"name": "Pad", "kind": "protected_site", "geometry": SQUARE, "properties": {"buffer_m": 50}},
    ]
    for body in made:
        assert client.post("/api/zones", json=body).status_code == 201
    zones = store.zones()
    assert len(zones) == 5
    again = zones_from_geojson(json.loads(json.dumps(zones_to_geojson(zones))))
    assert [(z.id, z.name, str(z.kind), z.geometry) for z in again] == [(z.id, z.name, str(z.kind), z.geometry)
                                                                          for z in zones]
    zs = ZoneSet.build(again, SECTOR)
    disc = zs.geoms[zs.index[next(z.id for z in zones if z.geometry["type"] == "Point")]]
    assert math.isclose(disc.area, math.pi * 300**2, rel_tol=0.01)
    # a Feature read back and sent again as it was keeps version and owner out of its properties
    f = client.get(f"/api/zones/{zones[0].id}").json()
    assert client.put(f"/api/zones/{zones[0].id}", json=f).status_code == 200
    assert set(store.zone(zones[0].id).properties) <= {"radius_m", "buffer_m", "note", "tags"}


def test_body_size_limit_streamed(client, store):
    before = snapshot(store)
    pad = "x" * (MAX_ZONE_BODY + 10)
    body = json.dumps(feature(POINT, radius_m=300, note=pad)).encode()

    def chunks():  # no Content-Length: the body arrives in pieces and is counted as it comes
        for i in range(0, len(body), 65536):
            yield body[i:i + 65536]

    r = client.post("/api/zones", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"].startswith(f"the zone body is over {MAX_ZONE_BODY} bytes long, more than the "
                                         f"{MAX_ZONE_BODY} bytes (1 MiB) this API accepts")
    r = client.put("/api/zones/z-poe", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and f"{len(body)} bytes long" in r.json()["detail"]
    assert snapshot(store) == before


def test_large_zone_under_the_limit_is_accepted(client, store):
    n = 30_000  # a circle of 30,000 vertices: about 0.85 MB of JSON
    angles = [2 * math.pi * k / n for k in range(n)]
    ring = [[round(-110.94 + 0.01 * math.cos(a), 7), round(31.33 + 0.01 * math.sin(a), 7)] for a in angles]
    body = json.dumps(feature({"type": "Polygon", "coordinates": [ring + [ring[0]]]}))
    assert MAX_ZONE_BODY * 0.6 < len(body) < MAX_ZONE_BODY
    r = client.post("/api/zones", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 201, r.text[:300]
    assert len(store.zone(r.json()["id"]).geometry["coordinates"][0]) == n + 1


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = LiveServer(tmp_path_factory.mktemp("zones"), "zones")
    fill(srv.store)
    srv.serve(create_app(srv.store, hub=srv.hub, sector=SECTOR))
    srv.start()
    yield srv
    srv.stop()


def test_declared_oversize_refused_before_the_body_is_read(server):
    """A client announcing a body over the limit gets the answer at once, without sending it."""
    before = snapshot(server.store)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(f"POST /api/zones HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {50 * MAX_ZONE_BODY}\r\n\r\n".encode() + b'{"type": "Feature"')
        t0 = time.monotonic()
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            part = s.recv(65536)
            if not part:
                break
            answer += part
        waited = time.monotonic() - t0
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 422"), answer[:200]
    assert f"is {50 * MAX_ZONE_BODY} bytes long, more than the {MAX_ZONE_BODY} bytes" in json.loads(payload)["detail"]
    assert waited < 10  # answered without waiting for the 50 MiB that never come
    assert snapshot(server.store) == before
