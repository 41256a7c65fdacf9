"""Analytics per agency: computed only from what the caller's agency may receive.

One store holds records of every label. The numbers an agency gets must equal the numbers of a
store holding only what it may receive (withheld records leave no trace), released records
count in their released form, the full-clearance numbers are unchanged, and no identity,
callsign, sensor or message of a withheld record appears in any answer (JSON, figures, report).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from lookout.analytics.api import clearance
from lookout.analytics.api import router as analytics_router
from lookout.analytics.report import AnalyticsQuery, analyse, write_report
from lookout.analytics.synth import CorridorTruth, synth_crossing_tracks, synth_flights
from lookout.api import LiveHub, create_app
from lookout.auth import AuthStore
from lookout.model import (
    Alert,
    GeoPoint,
    GeoPosition,
    ObjectClass,
    Observation,
    OperatorLocationType,
    Severity,
    SourceKind,
    Track,
    Zone,
    ZoneKind,
)
from lookout.sector import load_sector
from lookout.share.releasability import OPEN, Agency, ShareRule
from lookout.store.sqlite import SQLiteStore
from share.agencies import viewer_tokens

DAY = 86400.0
T0 = 1_767_225_600.0  # 2026-01-01
START, END = T0 + 14 * DAY, T0 + 28 * DAY
PARAMS = {"start": str(START), "end": str(END), "period": "day"}

RADAR_RULE = ShareRule("US-ONLY", "REL-MX", coarsen_m=1000.0, sources=frozenset({"radar"}), alerts=False)
PER_SOURCE = ShareRule("US-ONLY", "REL-MX", mode="per_source", coarsen_m=250.0,
                       sources=frozenset({"adsb", "remote_id"}), max_age_s=10.0)
AGENCIES = {
    "USBP": (["PUBLIC", "REL-MX", "US-ONLY"], []),
    "GN-MX": (["PUBLIC", "REL-MX"], [RADAR_RULE, PER_SOURCE]),
    "CIV": (["PUBLIC"], []),
    "CIV2": (["PUBLIC"], []),  # the same clearance as CIV
}
#: markers of U.S.-only records no partner may ever receive
SECRETS = ["USXCS", "usx", "RIDSECRET", "SECRETMSG", "radar-secret", "cam-secret", "rid-secret"]


def _flight_tracks(hist, label: str, sources: list[str], ident: bool, sensors: list[str], prefix: str):
    out = []
    for i in range(0, len(hist), 2):
        icao = str(hist.ident[i])
        t = float(hist.time[i])
        ids = {"icao24": prefix.lower() + icao, "callsign": prefix.upper() + "CS" + icao[-3:]} if ident else {}
        out.append(Track(id=f"t-{prefix}-{icao}", time=t,
                         position=GeoPoint(float(hist.lat[i]), float(hist.lon[i]), float(hist.alt[i])),
                         cls=ObjectClass.FIXED_WING, identities=ids, sources=sources, sensors=sensors, label=label,
                         attrs={"source_times": {s: t for s in sources}}))
    return out


def build(st: SQLiteStore, sector, labels: set[str]) -> dict:
    """Write the world's records whose label is in ``labels`` (all of them for the full store)."""
    def keep(label):
        return label in labels

    pub, _ = synth_flights(3, seed=31, start_time=START, days=13, mix={"orbit": 1.0}, dt=5.0)
    fused, _ = synth_flights(2, seed=41, start_time=START, days=13, mix={"orbit": 1.0}, dt=5.0)
    radar, _ = synth_flights(2, seed=51, start_time=START, days=13, mix={"racetrack": 1.0}, dt=5.0)
    if keep("PUBLIC"):
        st.write_tracks(_flight_tracks(pub, "PUBLIC", ["adsb"], True, ["adsb-1"], "pub"))
    if keep("US-ONLY"):  # ADS-B aircraft that a U.S. radar tracks too; radar-only aircraft
        st.write_tracks(_flight_tracks(fused, "US-ONLY", ["adsb", "radar"], True, ["adsb-1", "radar-secret"], "usx"))
        st.write_tracks(_flight_tracks(radar, "US-ONLY", ["radar"], False, ["radar-secret"], "rad"))
    # drones crossing the border: broadcasting ones (PUBLIC) and camera+radar ones (US-ONLY)
    cors = [CorridorTruth(9000, 150, 60, start=START, end=END), CorridorTruth(24000, 200, 60, start=START, end=END)]
    ids, t, lat, lon, cor, _ = synth_crossing_tracks(sector, cors, seed=4, dt=2.0)
    uniq = sorted(set(ids.tolist()))
    secret_drones = set(uniq[1::2])
    rows = []
    for i, tt, a, o in zip(ids, t, lat, lon):
        us = i in secret_drones
        if keep("US-ONLY" if us else "PUBLIC"):
            rows.append(Track(id=str(i), time=float(tt), position=GeoPoint(float(a), float(o), 1300.0),
                              cls=ObjectClass.UAS, identities={} if us else {"remote_id": f"rid-{i}"},
                              sources=["camera", "radar"] if us else ["remote_id"],
                              sensors=["cam-secret", "radar-secret"] if us else ["rid-1"],
                              label="US-ONLY" if us else "PUBLIC"))
    st.write_tracks(rows)
    alerts = []
    for k in range(6):  # crossing alerts of both labels, zone alerts
        us = k % 2 == 1
        a = Alert(rule="border_crossing", severity=Severity.HIGH,
                  message="SECRETMSG crossing" if us else "northbound crossing", start=START + (k + 1) * DAY,
                  track_ids=[f"alert-track-{k}"], position=GeoPoint(31.333, -110.95 + 0.01 * k),
                  evidence={"direction": "north", "who": "RIDSECRET" if us else "pub"},
                  label="US-ONLY" if us else "PUBLIC")
        if keep(a.label):
            alerts.append(a)
    if keep("REL-MX"):
        alerts += [Alert(rule="zone", severity=Severity.MEDIUM, message="zone entry", start=START + DAY * k,
                         position=GeoPoint(31.3, -110.9), label="REL-MX") for k in range(1, 3)]
    st.write_alerts(alerts)
    # Remote ID launch points: a public receiver (site A), a U.S.-only receiver (site B)
    obs = []
    for k, (site, n, label) in enumerate((((31.30, -110.96), 4, "PUBLIC"), ((31.22, -110.85), 3, "US-ONLY"))):
        if not keep(label):
            continue
        for f in range(n):
            for j in range(5):
                obs.append(Observation(time=START + DAY * (f + 1) + 3600 * k + j, source=SourceKind.REMOTE_ID,
                                       sensor="rid-1" if label == "PUBLIC" else "rid-secret",
                                       ident=f"pubrid-{f}" if label == "PUBLIC" else f"RIDSECRET-{f}",
                                       position=GeoPosition(site[0] + 0.01, site[1], 1400.0),
                                       operator=GeoPoint(*site), operator_location_type=OperatorLocationType.TAKE_OFF,
                                       label=label))
    st.write_observations(obs)
    for zid, label in (("west", "PUBLIC"), ("uszone", "US-ONLY")):
        if keep(label):
            st.put_zone(Zone(id=zid, name=zid, kind=ZoneKind.CUSTOM, label=label,
                             geometry={"type": "Polygon", "coordinates": [[[-111.3, 31.0], [-110.95, 31.0],
                                                                           [-110.95, 31.7], [-111.3, 31.7],
                                                                           [-111.3, 31.0]]]}))
    return {"secret_drones": secret_drones}


@pytest.fixture(scope="module")
def sector():
    return load_sector()


@pytest.fixture(scope="module")
def world(tmp_path_factory, sector):
    d = tmp_path_factory.mktemp("agency-analytics")
    full = SQLiteStore(d / "full.db")
    build(full, sector, {"PUBLIC", "REL-MX", "US-ONLY"})
    public = SQLiteStore(d / "public.db")
    build(public, sector, {"PUBLIC"})
    auth = AuthStore(d / "auth.db")
    tokens = viewer_tokens(auth, AGENCIES)
    app = create_app(full, hub=LiveHub(), sector=sector, auth=auth, routers=[analytics_router])
    with TestClient(app) as client:
        yield {"full": full, "public": public, "auth": auth, "tokens": tokens, "client": client, "app": app}
    full.close()
    public.close()
    auth.close()


def _get(world, agency, path, params=PARAMS):
    return world["client"].get(path, params=params, headers={"Authorization": f"Bearer {world['tokens'][agency]}"})


Q = AnalyticsQuery(start=START, end=END, period="day")


def test_full_clearance_result_unchanged(world, sector):
    base = analyse(world["full"], Q, sector=sector).to_dict()
    us = analyse(world["full"], Q, sector=sector, agency=world["auth"].agency("USBP")).to_dict()
    assert us == base
    assert analyse(world["full"], Q, sector=sector, agency=OPEN).to_dict() == base
    assert base["missions"]["count"] >= 5 and base["launch_points"]["count"] == 7


def test_withheld_records_leave_no_trace(world, sector):
    """PUBLIC only, no share rule: exactly the numbers of a store that holds only PUBLIC records."""
    civ = analyse(world["full"], Q, sector=sector, agency=world["auth"].agency("CIV")).to_dict()
    ref = analyse(world["public"], Q, sector=sector).to_dict()
    assert civ == ref
    base = analyse(world["full"], Q, sector=sector).to_dict()
    # the difference is visible: missions, crossings, launch points and alerts all drop
    assert civ["missions"]["count"] < base["missions"]["count"]
    assert civ["crossings"]["count"] < base["crossings"]["count"]
    assert civ["launch_points"]["count"] == 4 < base["launch_points"]["count"]
    assert civ["alerts"]["total"] == 3 < base["alerts"]["total"]
    assert not any(m["icao24"].startswith(("usx", "t-rad")) for m in civ["missions"]["items"])


def test_partner_counts_released_records_in_released_form(world, sector):
    mx = analyse(world["full"], Q, sector=sector, agency=world["auth"].agency("GN-MX")).to_dict()
    civ = analyse(world["full"], Q, sector=sector, agency=world["auth"].agency("CIV")).to_dict()
    # REL-MX zone alerts count; U.S.-only crossing alerts (no alert rule) do not
    assert mx["alerts"]["total"] == civ["alerts"]["total"] + 2 and mx["alerts"]["by_rule"]["zone"] == 2
    # the radar-only aircraft count (their 1 km-grid history), the fused ones carry no history
    items = mx["missions"]["items"]
    assert not any(m["icao24"].startswith("usx") for m in items)
    radar_only = [m for m in items if m["icao24"].startswith("t-rad")]
    assert len(radar_only) == 2 and mx["missions"]["count"] == civ["missions"]["count"] + 2
    assert all(m["callsign"] is None and m["aircraft_type"] is None for m in radar_only)
    # camera+radar drones are withheld: the crossings are the public ones
    assert mx["crossings"] == civ["crossings"] and mx["launch_points"] == civ["launch_points"]


@pytest.mark.parametrize("agency", ["GN-MX", "CIV"])
def test_api_answers_partners_without_leaks(world, agency):
    full = _get(world, "USBP", "/api/analytics/summary").json()
    seen = ""
    for path in ("/api/analytics/summary", "/api/analytics/missions", "/api/analytics/corridors",
                 "/api/analytics/launch-points", "/api/analytics/alerts", "/api/analytics/figures"):
        r = _get(world, agency, path)
        assert r.status_code == 200, (path, r.text[:200])
        seen += r.text
    for s in SECRETS:
        assert s not in seen, f"{agency} analytics leak {s!r}"
    mine = _get(world, agency, "/api/analytics/summary").json()
    assert mine == analyse(world["full"], Q, sector=load_sector(), agency=world["auth"].agency(agency)).to_dict()
    assert mine["launch_points"]["count"] < full["launch_points"]["count"]
    assert mine["crossings"]["count"] < full["crossings"]["count"]
    for name in ("missions_timeline", "mission_counts", "corridor_map", "launch_heatmap", "alert_stats"):
        r = _get(world, agency, f"/api/analytics/figures/{name}.png")
        assert r.status_code == 200 and r.content[:4] == b"\x89PNG", name


def test_figures_differ_from_the_full_picture(world):
    a = _get(world, "USBP", "/api/analytics/figures/launch_heatmap.png").content
    b = _get(world, "CIV", "/api/analytics/figures/launch_heatmap.png").content
    assert a[:4] == b[:4] == b"\x89PNG" and a != b


def test_cache_is_per_clearance(world):
    world["app"].state.analytics_cache = None
    civ = _get(world, "CIV", "/api/analytics/summary").json()
    us = _get(world, "USBP", "/api/analytics/summary").json()  # after CIV: not CIV's cached entry
    assert us["launch_points"]["count"] == 7 and civ["launch_points"]["count"] == 4
    assert _get(world, "CIV", "/api/analytics/summary").json() == civ
    keys = {k[0] for k in world["app"].state.analytics_cache}
    ag = world["auth"].agency
    assert keys == {clearance(ag("CIV")), clearance(ag("USBP"))}
    _get(world, "CIV2", "/api/analytics/summary")  # the same clearance shares CIV's entry
    assert clearance(ag("CIV2")) == clearance(ag("CIV")) and len(world["app"].state.analytics_cache) == 2
    assert clearance(ag("GN-MX")) != clearance(Agency("X", frozenset({"PUBLIC", "REL-MX"})))


def test_zone_region_follows_zone_visibility(world):
    ok = _get(world, "CIV", "/api/analytics/summary", PARAMS | {"region": "zone:west"})
    assert ok.status_code == 200 and ok.json()["window"]["region"] == "west"
    hidden = _get(world, "CIV", "/api/analytics/summary", PARAMS | {"region": "zone:uszone"})
    unknown = _get(world, "CIV", "/api/analytics/summary", PARAMS | {"region": "zone:nothing"})
    assert hidden.status_code == unknown.status_code == 400
    assert hidden.json()["detail"] == "no zone 'uszone' in the store"
    assert _get(world, "USBP", "/api/analytics/summary", PARAMS | {"region": "zone:uszone"}).status_code == 200


def test_written_report_for_a_partner(world, sector, tmp_path):
    files = write_report(world["full"], Q, tmp_path / "rep", pdf=False, sector=sector,
                         agency=world["auth"].agency("CIV"))
    text = files["html"].read_text() + files["json"].read_text()
    for s in SECRETS:
        assert s not in text
    assert json.loads(files["json"].read_text())["launch_points"]["count"] == 4
    assert np.all([f.exists() for f in files.values()])
