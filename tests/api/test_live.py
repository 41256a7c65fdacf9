"""The live hub and the WebSocket stream: server-side area/class filtering, snapshots, alert
events, bounded queues that drop the oldest messages for a slow client."""

from __future__ import annotations

import asyncio
import json
import threading

from api.world import T0, TRACKS, bbox_around, track_at
from lookout.api import LiveHub
from lookout.model import GeoPoint, Track

ALL = list(range(len(TRACKS)))


def step(hub, t, which=ALL, deleted=(), alerts=()):
    hub.publish(t, [track_at(i, t) for i in which], list(deleted), list(alerts))


def test_ws_filters_by_area_and_class(client, hub):
    step(hub, T0)
    uas = track_at(0, T0 + 1).position
    box = bbox_around(uas.lat, uas.lon, 0.02)
    with client.websocket_connect(f"/api/ws?bbox={box}&cls=uas,fixed_wing") as ws:
        snap = ws.receive_json()
        assert snap["type"] == "snapshot" and [t["id"] for t in snap["tracks"]] == ["t-uas-1"]
        assert hub.clients == 1
        step(hub, T0 + 1)
        up = ws.receive_json()
        assert up["type"] == "update" and up["time"] == T0 + 1 and up["deleted"] == []
        assert [t["id"] for t in up["tracks"]] == ["t-uas-1"]
        w = up["tracks"][0]
        assert abs(w["lat"] - uas.lat) < 1e-7 and abs(w["lon"] - uas.lon) < 1e-7 and w["cls"] == "uas"
        assert w["t"] == T0 + 1 and w["ids"] == {"remote_id": "1581F5FJD239C00DW22E"} and w["src"] == ["remote_id"]
        assert w["spd"] == 12.65 and w["crs"] == 18.4 and (w["ve"], w["vn"]) == (4.0, 12.0)
        assert w["op"][:2] == [31.27, -110.96] and "attrs" not in w
        assert up["pub"] > 1.7e9
        # the UAS jumps out of the box: the client is told to drop it
        far = Track(id="t-uas-1", time=T0 + 2, position=GeoPoint(31.45, -110.80, 1300.0), cls="uas")
        hub.publish(T0 + 2, [far, track_at(1, T0 + 2)], [], [])
        up = ws.receive_json()
        assert up["tracks"] == [] and up["deleted"] == ["t-uas-1"]
        # change the filter with a subscribe message: a fresh snapshot of the new selection
        ws.send_text(json.dumps({"type": "subscribe", "bbox": None, "cls": ["fixed_wing", "rotorcraft"]}))
        snap = ws.receive_json()
        assert snap["type"] == "snapshot" and sorted(t["id"] for t in snap["tracks"]) == ["t-fw-1", "t-rot-1"]
        step(hub, T0 + 3, which=[1], deleted=["t-rot-1"])
        up = ws.receive_json()
        assert [t["id"] for t in up["tracks"]] == ["t-fw-1"] and up["deleted"] == ["t-rot-1"]
        ws.send_text(json.dumps({"type": "subscribe", "cls": ["martian"]}))
        err = ws.receive_json()
        assert err["type"] == "error" and "martian" in err["detail"]
        ws.send_text("hello")
        assert ws.receive_json()["type"] == "error"
        ws.send_bytes(b"\x00\x01")
        err = ws.receive_json()
        assert err["type"] == "error" and "text frames" in err["detail"]
        step(hub, T0 + 4, which=[1])  # the stream goes on after bad messages
        assert [t["id"] for t in ws.receive_json()["tracks"]] == ["t-fw-1"]


def test_ws_unfiltered_gets_everything_and_alert_events(client, hub, store):
    with client.websocket_connect("/api/ws") as ws:
        assert ws.receive_json() == {"type": "snapshot", "time": None, "tracks": [], "alerts": []}
        step(hub, T0)
        assert len(ws.receive_json()["tracks"]) == len(TRACKS)
        r = client.post("/api/alerts/a-cross-1/acknowledge", json={"by": "agent-3"})
        assert r.status_code == 200
        ev = ws.receive_json()
        assert ev["tracks"] == [] and ev["alerts"][0]["id"] == "a-cross-1"
        assert ev["alerts"][0]["state"] == "acknowledged" and ev["alerts"][0]["acknowledged_by"] == "agent-3"


def test_ws_bad_query_filter_is_an_error_message(client):
    with client.websocket_connect("/api/ws?bbox=1,2") as ws:
        msg = ws.receive_json()
        assert msg["type"] == "error" and "bbox" in msg["detail"]
    with client.websocket_connect("/api/ws?cls=tank") as ws:
        assert "unknown class" in ws.receive_json()["detail"]


def test_slow_client_drops_oldest_never_blocks():
    hub = LiveHub(queue_size=8)
    loop = asyncio.new_event_loop()  # never run: a client that reads nothing
    try:
        sub = hub.subscribe(loop)
        for k in range(30):
            step(hub, T0 + k)
        assert len(sub.queue) == 8 and sub.dropped == 31 - 8
        times = [json.loads(m)["time"] for m in sub.take()]
        assert times == [T0 + k for k in range(22, 30)]  # the newest survive
        assert hub.clients == 1
        hub.unsubscribe(sub)
        assert hub.clients == 0
    finally:
        loop.close()


def test_publish_from_threads_keeps_a_consistent_picture():
    hub = LiveHub()

    def run(i):
        for k in range(50):
            hub.publish(T0 + k, [track_at(i, T0 + k)], [], [])

    ths = [threading.Thread(target=run, args=(i,)) for i in ALL]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    snap = {d["id"]: d for d in hub.snapshot()}
    assert set(snap) == {t[0] for t in TRACKS} and all(d["time"] == T0 + 49 for d in snap.values())
    assert hub.steps == 50 * len(TRACKS)
