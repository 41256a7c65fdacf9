"""Per-source release of fused tracks, and the leak matrix for it.

An aircraft that broadcasts ADS-B (releasable) and that a U.S.-only radar also tracks carries the
track label ``US-ONLY``. A ``per_source`` share rule releases it to the partner in the form its
ADS-B alone justifies: its ADS-B identity, ``sources == ["adsb"]``, a coarse position, nothing of
the radar. When the ADS-B stops feeding it, the rule no longer applies. Every output (REST,
history, replay, exports, WebSocket, CoT, analytics) follows the one decision.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from lookout.analytics.api import router as analytics_router
from lookout.api import LiveHub, create_app
from lookout.api.serialize import track_json
from lookout.auth import AuthStore
from lookout.auth.demo import DEMO_AGENCIES
from lookout.geo import distance_m
from lookout.model import GeoPoint, ObjectClass, Track, TrackPoint, Velocity
from lookout.sector import load_sector
from lookout.share.feed import CotFeed
from lookout.share.releasability import (
    Agency,
    ShareRule,
    filter_points,
    filter_track_dicts,
    filter_track_points,
    filter_tracks,
)
from lookout.share.transport import CotSender
from lookout.store.sqlite import SQLiteStore
from share.agencies import viewer_tokens

T0 = 1_790_000_000.0
SECTOR = load_sector()
RADAR = ShareRule("US-ONLY", "REL-MX", coarsen_m=1000.0, sources=frozenset({"radar"}), alerts=False)
PER_SOURCE = ShareRule("US-ONLY", "REL-MX", mode="per_source", coarsen_m=250.0,
                       sources=frozenset({"adsb", "remote_id"}), max_age_s=10.0)
MX = Agency("GN-MX", frozenset({"PUBLIC", "REL-MX"}), (RADAR, PER_SOURCE))
MX_RID_ONLY = Agency("GN-MX-rid", frozenset({"PUBLIC", "REL-MX"}),
                     (ShareRule("US-ONLY", "REL-MX", mode="per_source", sources=frozenset({"remote_id"})),))
CIV = Agency("CIV", frozenset({"PUBLIC"}))

#: id, sources, identities, class, source times (seconds before the track's time), ENU start
SPECS = [
    ("t-fused", ["adsb", "radar"], {"icao24": "a1b2c3", "callsign": "FUSED01", "remote_id": "RIDNOTADSB-SECRET"},
     ObjectClass.SURVEILLANCE_AIRCRAFT, {"adsb": 0.5, "radar": 0.0}, (-4000.0, 3000.0)),
    ("t-stale", ["adsb", "radar"], {"icao24": "stale9", "callsign": "STALECS-SECRET"},
     ObjectClass.FIXED_WING, {"adsb": 60.0, "radar": 0.0}, (3000.0, 2500.0)),
    ("t-rid", ["radar", "remote_id"], {"remote_id": "RIDOK123"}, ObjectClass.UAS, {"remote_id": 1.0, "radar": 0.0},
     (1500.0, -2500.0)),
    ("t-radar", ["radar"], {}, ObjectClass.UAS, {"radar": 0.0}, (2500.0, 1500.0)),
    ("t-cam", ["camera", "radar"], {"callsign": "CAMCS-SECRET"}, ObjectClass.GROUND_VEHICLE, {"camera": 0.0},
     (-1500.0, -3500.0)),
]
IDS = [s[0] for s in SPECS]


def make_track(i: int, t: float) -> Track:
    tid, sources, ids, cls, ages, (e0, n0) = SPECS[i]
    lat, lon, alt = SECTOR.frame.to_geodetic(e0 + 30.0 * (t - T0), n0 + 20.0 * (t - T0), 1500.0)
    lat, lon = round(float(lat), 4) + 0.0000137, round(float(lon), 4) - 0.0000137  # never a coarsened form
    return Track(id=tid, time=t, position=GeoPoint(lat, lon, float(alt) + 3.3), velocity=Velocity(30.0, 20.0, 0.0),
                 sigma_h_m=35.0, cls=cls, identities=dict(ids), sources=list(sources),
                 sensors=[f"{s}-{tid}-SECRET" for s in sources], label="US-ONLY", first_time=T0 - 3600.0,
                 updates=321, operator=GeoPoint(31.3011111, -110.9511111, 1200.0) if "remote_id" in sources else None,
                 attrs={"source_times": {k: t - a for k, a in ages.items()}, "adsb_offset_m": 17.3,
                        "identity_inconsistent": False, "note": f"ATTR-{tid}-SECRET"})


def tracks_at(t: float) -> list[Track]:
    return [make_track(i, t) for i in range(len(SPECS))]


# -- the rule --------------------------------------------------------------------------------
def test_fused_track_released_as_its_adsb_justifies():
    tr = make_track(0, T0)
    [d] = [t for t in filter_tracks([tr], MX)]
    assert d.id == "t-fused" and d.label == "REL-MX"
    assert d.identities == {"icao24": "a1b2c3", "callsign": "FUSED01"}  # not the identity ADS-B did not give
    assert d.sources == ["adsb"] and d.sensors == [] and d.velocity is None
    assert d.cls == ObjectClass.FIXED_WING  # a class ADS-B can express, not the sensors' finer one
    assert d.sigma_h_m >= 250.0 and d.updates == 0 and d.first_time == d.time and d.operator is None
    assert d.attrs == {"released": "per_source adsb 250 m grid", "release_rule": "US-ONLY->REL-MX",
                       "release_mode": "per_source"}
    assert 0 < distance_m(tr.position.lat, tr.position.lon, d.position.lat, d.position.lon) <= 250 * 0.7072 + 1
    assert d.position.alt_m % 100 == 0


def test_remote_id_drone_keeps_its_broadcast_only():
    tr = make_track(2, T0)
    d = filter_tracks([tr], MX)[0]
    assert d.identities == {"remote_id": "RIDOK123"} and d.sources == ["remote_id"] and d.cls == ObjectClass.UAS
    assert d.operator is not None and d.operator != tr.operator  # the broadcast operator position, on the grid
    assert distance_m(tr.operator.lat, tr.operator.lon, d.operator.lat, d.operator.lon) <= 250 * 0.7072 + 1
    assert filter_tracks([tr], MX_RID_ONLY)[0].identities == {"remote_id": "RIDOK123"}


def test_rule_stops_when_the_releasable_source_stops():
    assert [t.id for t in filter_tracks(tracks_at(T0), MX)] == ["t-fused", "t-rid", "t-radar"]
    assert filter_tracks(tracks_at(T0), CIV) == []
    assert [t.id for t in filter_tracks(tracks_at(T0), MX_RID_ONLY)] == ["t-rid"]
    old = make_track(0, T0)
    old.attrs["source_times"]["adsb"] = T0 - 10.5
    assert filter_tracks([old], MX) == []
    old.attrs.pop("source_times")  # a track that does not say when its sources fed it: withheld
    assert filter_tracks([old], MX) == []
    assert not PER_SOURCE.applies("US-ONLY", ["adsb", "radar"])  # no source times: never applies


def test_dicts_match_records_and_history_is_withheld():
    trs = tracks_at(T0)
    a = [track_json(t) for t in filter_tracks(trs, MX)]
    b = filter_track_dicts([track_json(t) for t in trs], MX)
    assert [x["id"] for x in a] == [x["id"] for x in b]
    for x, y in zip(a, b):
        assert x["identities"] == y["identities"] and x["sources"] == y["sources"] and x["cls"] == y["cls"]
        assert x["position"] == y["position"] and x["operator"] == y["operator"] and x["attrs"] == y["attrs"]
    pts = [TrackPoint(T0 - 10 + k, 31.34 + k * 1e-4, -110.94, 1500.0, 36.0, 56.3) for k in range(5)]
    assert filter_points(trs[0], pts, MX) == []  # no point says which source fed it
    assert filter_points(b[0], pts, MX) == []  # the released form: the same
    assert len(filter_points(trs[3], pts, MX)) == 5  # radar-only: coarsened by the radar rule
    many = [(t.id, p) for t in trs for p in pts]
    got = filter_track_points({t.id: t for t in trs}, many, MX)
    assert {tid for tid, _ in got} == {"t-radar"} and len(got) == 5
    assert got == [("t-radar", p) for p in filter_points(trs[3], pts, MX)]


def test_rule_validation_and_round_trip():
    with pytest.raises(ValueError, match="per_source"):
        ShareRule("US-ONLY", "REL-MX", mode="per_source")
    with pytest.raises(ValueError, match="per_source"):
        ShareRule("US-ONLY", "REL-MX", mode="per_source", sources=frozenset({"radar"}))
    with pytest.raises(ValueError, match="max_age_s"):
        ShareRule("US-ONLY", "REL-MX", mode="per_source", sources=frozenset({"adsb"}), max_age_s=-1)
    assert PER_SOURCE.alerts is False  # alerts are never released per source
    assert ShareRule.from_dict(PER_SOURCE.to_dict()) == PER_SOURCE
    assert ShareRule.from_dict(RADAR.to_dict()) == RADAR and "max_age_s" not in RADAR.to_dict()


def test_demo_partner_has_the_rule():
    gn = next(a for a in DEMO_AGENCIES if a[0] == "GN-MX")
    ag = Agency("GN-MX", frozenset(gn[3]), tuple(gn[4]))
    assert [t.id for t in filter_tracks(tracks_at(T0), ag)] == ["t-fused", "t-rid", "t-radar"]


# -- the leak matrix -------------------------------------------------------------------------
AGENCIES = {"USBP": (["PUBLIC", "REL-MX", "US-ONLY"], []), "GN-MX": (["PUBLIC", "REL-MX"], [RADAR, PER_SOURCE]),
            "CIV": (["PUBLIC"], [])}
RELEASED = {"USBP": IDS, "GN-MX": ["t-fused", "t-rid", "t-radar"], "CIV": []}


def forbidden(agency: str) -> list[str]:
    if agency == "USBP":
        return []
    out = ["SECRET", "source_times", "adsb_offset_m", "identity_inconsistent", "surveillance", "a-u-A-M-F-R"]
    out += [f'"{tid}"' for tid in IDS if tid not in RELEASED[agency]] + [f"lookout-{tid}" for tid in IDS
                                                                         if tid not in RELEASED[agency]]
    for i in range(len(SPECS)):
        out += [f"{make_track(i, T0 + k).position.lat:.7f}" for k in range(6)]  # exact positions
    out += ["31.3011111", "-110.9511111"]  # the exact operator position
    if agency == "CIV":
        out += ["a1b2c3", "FUSED01", "RIDOK123"]
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("per-source")
    store = SQLiteStore(d / "store.db")
    for k in range(6):
        store.write_tracks(tracks_at(T0 + k))
    auth = AuthStore(d / "auth.db")
    tokens = viewer_tokens(auth, AGENCIES)
    hub = LiveHub(queue_size=64)
    app = create_app(store, hub=hub, sector=SECTOR, auth=auth, routers=[analytics_router])
    hub.publish(T0 + 5, tracks_at(T0 + 5), [], [])
    with TestClient(app) as client:
        yield {"client": client, "tokens": tokens, "hub": hub, "auth": auth}
    store.close()
    auth.close()


ENDPOINTS = ["/api/tracks", "/api/tracks?live=false", "/api/replay", "/api/export/tracks.geojson?history=true",
             "/api/export/tracks.kml?history=true", f"/api/analytics/summary?start={T0 - 60}&end={T0 + 60}"] \
    + [f"/api/tracks/{t}" for t in IDS] + [f"/api/tracks/{t}/history" for t in IDS]


@pytest.mark.parametrize("agency", list(AGENCIES))
def test_rest_never_leaks_and_releases_identity(world, agency):
    c = world["client"]
    h = {"Authorization": f"Bearer {world['tokens'][agency]}"}
    seen = ""
    for ep in ENDPOINTS:
        r = c.get(ep, headers=h)
        assert r.status_code in (200, 404), (ep, r.status_code, r.text[:200])
        for m in forbidden(agency):
            assert m not in r.text, f"{agency} {ep} leaks {m!r}"
        seen += r.text
    for tid in RELEASED[agency]:
        assert f'"{tid}"' in seen
    if agency == "GN-MX":
        d = c.get("/api/tracks/t-fused", headers=h).json()
        assert d["identities"] == {"icao24": "a1b2c3", "callsign": "FUSED01"} and d["sources"] == ["adsb"]
        assert d["label"] == "REL-MX" and d["sensors"] == [] and d["velocity"] is None
        assert c.get("/api/tracks/t-fused/history", headers=h).json() == []
        assert c.get("/api/tracks/t-stale", headers=h).status_code == 404
        live = {t["id"]: t for t in c.get("/api/tracks", headers=h).json()}
        assert set(live) == {"t-fused", "t-rid", "t-radar"} and live["t-rid"]["identities"] == {"remote_id": "RIDOK123"}


@pytest.mark.parametrize("agency", list(AGENCIES))
def test_websocket_and_cot_never_leak(world, agency):
    c, hub = world["client"], world["hub"]
    hub.publish(T0 + 5, tracks_at(T0 + 5), [], [])  # every source feeding again
    with c.websocket_connect(f"/api/ws?token={world['tokens'][agency]}") as ws:
        snap = ws.receive_text()
        assert json.loads(snap)["type"] == "snapshot"
        nxt = tracks_at(T0 + 6)
        nxt[0].attrs["source_times"]["adsb"] = T0 - 30  # the fused aircraft's ADS-B stops: radar alone
        hub.publish(T0 + 6, nxt, [], [])
        upd = ws.receive_text()
    feed = CotFeed(CotSender("udp://127.0.0.1:9"), agency=world["auth"].agency(agency))
    try:
        cot = b"".join(feed.encode(T0 + 5, tracks_at(T0 + 5))).decode()
        cot2 = b"".join(feed.encode(T0 + 6, nxt)).decode()
    finally:
        feed.close()
    for body in (snap, upd, cot, cot2):
        for m in forbidden(agency):
            assert m not in body, f"{agency} leaks {m!r}"
    if agency == "GN-MX":
        assert "a1b2c3" in snap and "FUSED01" in cot and "a-n-A-C-F" in cot  # a known ADS-B aircraft in TAK
        u = json.loads(upd)
        assert "t-fused" in u.get("deleted", []) and "t-fused" not in {t["id"] for t in u.get("tracks", [])}
        assert "lookout-t-fused" in cot2 and "t-x-d-d" in cot2  # TAK is told to drop it
