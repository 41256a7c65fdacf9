"""The demo's two agencies over the simulator's real labels: the U.S. and Mexican pictures differ
as their labels say (ADS-B and Remote ID PUBLIC, radar and cameras US-ONLY, agent reports
REL-MX or US-ONLY)."""

from __future__ import annotations

from collections import Counter

import pytest
from fastapi.testclient import TestClient

from lookout.api import LiveHub, create_app
from lookout.auth import AuthStore, setup_demo_agencies


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from lookout.demo import build_pipeline
    from lookout.sim import Scenario, ScenarioConfig
    from lookout.store.sqlite import SQLiteStore

    d = tmp_path_factory.mktemp("demo")
    scenario = Scenario(ScenarioConfig(seed=7, duration_s=240.0))
    store = SQLiteStore(d / "lookout.db")
    hub = LiveHub()
    auth = AuthStore(d / "auth.db")
    creds = {c["agency"]: c for c in setup_demo_agencies(auth)}
    sensors = [dict(id=s.id, kind=str(s.kind), lat=s.site.lat, lon=s.site.lon, range_m=s.max_range_m, label=s.label)
               for s in scenario.sensors]
    app = create_app(store, hub=hub, sector=scenario.sector, sensors=sensors, auth=auth)
    pipe = build_pipeline(scenario, store, hub=hub)
    with TestClient(app) as c:
        for step in scenario.steps(dt=1.0):
            pipe.step(step.time + 1.0, step.observations)
        yield c, creds, store
    store.close()


def test_two_pictures_differ_as_the_labels_say(demo):
    c, creds, store = demo
    pics = {}
    for agency, cr in creds.items():
        h = {"Authorization": f"Bearer {cr['token']}"}
        pics[agency] = {"live": c.get("/api/tracks", headers=h).json(),
                        "stored": c.get("/api/tracks?live=false", headers=h).json(),
                        "sensors": c.get("/api/sensors", headers=h).json(),
                        "alerts": c.get("/api/alerts", headers=h).json()}
    us, mx = pics["USBP"], pics["GN-MX"]
    stored = store.tracks()
    assert len(us["stored"]) == len(stored)  # the U.S. agency is cleared for every label the simulator uses
    assert Counter(t["label"] for t in us["stored"])["US-ONLY"] > 0
    assert 0 < len(mx["stored"]) < len(us["stored"])
    assert {t["label"] for t in mx["stored"] + mx["live"]} <= {"PUBLIC", "REL-MX"}
    by_id = {t.id: t for t in stored}
    per_source = []
    for t in mx["stored"]:
        src = by_id[t["id"]]
        if src.label == "US-ONLY" and t["attrs"].get("release_mode") == "per_source":
            # an ADS-B / Remote ID broadcast that a U.S. sensor also tracks: what the broadcast justifies
            assert t["sources"] and set(t["sources"]) <= {"adsb", "remote_id"} & set(src.sources)
            assert set(t["identities"]) <= {"icao24", "callsign", "remote_id"} and t["sensors"] == []
            assert all(src.identities[k] == v for k, v in t["identities"].items()) and t["velocity"] is None
            per_source.append(t["id"])
        elif src.label == "US-ONLY":  # released by the radar rule: radar-only, position only
            assert set(src.sources) == {"radar"} and t["identities"] == {} and t["velocity"] is None
        else:
            assert t["identities"] == src.identities
    assert per_source  # ADS-B aircraft the U.S. radar also tracks reach the partner with their identity
    # sensors: the Mexican map has no U.S.-only radar or camera sites
    assert {s["label"] for s in mx["sensors"] if "label" in s} <= {"PUBLIC", "REL-MX"}
    assert any(s.get("label") == "US-ONLY" for s in us["sensors"])
    assert {a["label"] for a in mx["alerts"]} <= {"PUBLIC", "REL-MX"}
