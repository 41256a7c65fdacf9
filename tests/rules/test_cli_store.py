"""Zones versioned in the (SQLite) store, the engine following them, and the CLI commands."""

from __future__ import annotations

import json

import pytest
from rules_helpers import SECTOR, T0, World, straight
from typer.testing import CliRunner

from lookout.cli import app
from lookout.model import AlertState, Zone, ZoneKind
from lookout.rules import build_default_engine

SQLiteStore = pytest.importorskip("lookout.store.sqlite").SQLiteStore


def _disc(zid: str, e: float, n: float, r: float, kind=ZoneKind.NO_DRONE) -> Zone:
    lat, lon, _ = SECTOR.frame.to_geodetic(e, n, SECTOR.ground_alt_m)
    return Zone(id=zid, name=zid, kind=kind, geometry={"type": "Point", "coordinates": [float(lon), float(lat)]},
                properties={"radius_m": r})


def test_engine_with_store_zones_versions_and_lifecycle(tmp_path):
    st = SQLiteStore(tmp_path / "l.db")
    try:
        eng = build_default_engine(SECTOR, store=st)
        ids = {z.id for z in st.zones()}
        assert {"border-buffer", "poe-deconcini"} <= ids  # the default zones went into the store
        w = World(eng, dt=1.0)
        w.run(20.0, {"D": straight(6000.0, 9000.0, 10.0, 0.0, cls="uas", sources=["remote_id"],
                                   identities={"remote_id": "S"})})
        assert w.new("protected_site_drone") == []
        # an operator loads a no-drone zone ahead of the drone: the engine picks it up
        st.put_zone(_disc("ndz-x", 6600.0, 9000.0, 200.0))
        w.run(60.0, {"D": straight(6200.0, 9000.0, 10.0, 0.0, cls="uas", sources=["remote_id"],
                                   identities={"remote_id": "S"})}, start=T0 + 21.0)
        got = w.new("protected_site_drone")
        assert len(got) == 1 and got[0].evidence["zone_id"] == "ndz-x" and got[0].evidence["zone_version"] == 1
        # acknowledge / resolve through the manager write through to the store
        st.write_alerts([got[0]])
        eng.alerts.acknowledge(got[0].id, by="ops-1")
        assert st.alert(got[0].id).state == AlertState.ACKNOWLEDGED
        eng.alerts.resolve(got[0].id, by="ops-2")
        assert st.alert(got[0].id).resolved_by == "ops-2"
        # a new version of the zone replaces the old one
        st.put_zone(_disc("ndz-x", 6600.0, 9000.0, 50.0))
        assert eng.sync_zones() and eng.context.zones.zones[eng.context.zones.index["ndz-x"]].version == 2
        assert not eng.sync_zones()
    finally:
        st.close()


def test_cli_zones_and_rules(tmp_path):
    r = CliRunner()
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "camp", "kind": "protected_site", "radius_m": 300},
         "geometry": {"type": "Point", "coordinates": [-110.93, 31.35]}},
        {"type": "Feature", "properties": {"id": "fence", "buffer_m": 150},
         "geometry": {"type": "LineString", "coordinates": [[-110.99, 31.40], [-110.90, 31.40]]}}]}
    f = tmp_path / "z.geojson"
    f.write_text(json.dumps(fc))
    db = tmp_path / "out" / "l.db"
    res = r.invoke(app, ["zones", "check", str(f)])
    assert res.exit_code == 0 and "camp" in res.output and "fence" in res.output
    res = r.invoke(app, ["zones", "load", str(f), "--db", str(db)])
    assert res.exit_code == 0 and "camp: version 1, new" in res.output
    fc["features"][0]["properties"]["radius_m"] = 400
    f.write_text(json.dumps(fc))
    res = r.invoke(app, ["zones", "load", str(f), "--db", str(db)])
    assert "camp: version 2, new version" in res.output and "fence: version 1, unchanged" in res.output
    out = tmp_path / "export.geojson"
    res = r.invoke(app, ["zones", "export", "--db", str(db), "-o", str(out)])
    assert res.exit_code == 0
    assert {f["properties"]["id"]: f["properties"]["version"] for f in json.loads(out.read_text())["features"]} == {
        "camp": 2, "fence": 1}
    res = r.invoke(app, ["zones", "delete", "fence", "--db", str(db)])
    assert res.exit_code == 0
    res = r.invoke(app, ["zones", "list", "--db", str(db)])
    assert "camp" in res.output and "fence" not in res.output

    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"id": "l"}, '
                   '"geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}}]}')
    res = r.invoke(app, ["zones", "check", str(bad)])
    assert res.exit_code == 1 and "a line zone's 'buffer_m' must be a positive number" in res.output

    res = r.invoke(app, ["rules", "check"])
    assert res.exit_code == 0 and "border_crossing" in res.output
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: x\n    type: loiter\n    radius_m: -1\n    window_s: 60\n")
    res = r.invoke(app, ["rules", "check", str(rules)])
    assert res.exit_code == 1 and "rules.yaml:4: rules[0].radius_m: Input should be greater than 0" in res.output
    res = r.invoke(app, ["rules", "show"])
    assert res.exit_code == 0 and "type: border_crossing" in res.output


def test_cli_alerts_list_ack_resolve(tmp_path):
    from lookout.model import Alert, Severity

    db = tmp_path / "l.db"
    st = SQLiteStore(db)
    st.write_alerts([Alert(rule="dark_drone", severity=Severity.MEDIUM, message="drone T1 seen by radar with no "
                           "Remote ID for 20 s", start=T0, track_ids=["T1"], id="a-1")])
    st.close()
    r = CliRunner()
    res = r.invoke(app, ["alerts", "list", "--db", str(db)])
    assert res.exit_code == 0 and "a-1" in res.output and "dark_drone" in res.output
    res = r.invoke(app, ["alerts", "ack", "a-1", "--by", "agent-12", "--db", str(db)])
    assert res.exit_code == 0 and "a-1: acknowledged by agent-12" in res.output
    res = r.invoke(app, ["alerts", "ack", "a-1", "--by", "agent-13", "--db", str(db)])
    assert res.exit_code == 1 and "already acknowledged (by agent-12)" in res.output
    res = r.invoke(app, ["alerts", "resolve", "a-1", "--by", "lead", "--db", str(db)])
    assert res.exit_code == 0 and "resolved by lead" in res.output
    res = r.invoke(app, ["alerts", "resolve", "a-9", "--by", "lead", "--db", str(db)])
    assert res.exit_code == 1 and "no alert with id 'a-9'" in res.output
    res = r.invoke(app, ["alerts", "list", "--db", str(db), "--state", "resolved"], env={"COLUMNS": "200"})
    assert "a-1" in res.output and "resolved (lead)" in res.output
    with SQLiteStore(db) as st2:
        a = st2.alert("a-1")
        assert a.state == AlertState.RESOLVED and a.acknowledged_by == "agent-12" and a.resolved_by == "lead"
