"""``lookout agency/users/audit/demo-agencies/cot-out/cot-in`` through the real CLI."""

from __future__ import annotations

import threading
import time

from typer.testing import CliRunner

from lookout.auth import AuthStore
from lookout.cli import app
from lookout.model import GeoPoint, ObjectClass, SourceKind, Track, Velocity
from lookout.share.transport import CotSender
from lookout.store.sqlite import SQLiteStore
from share.test_cot import ATAK_SELF, BILLION_LAUGHS
from share.test_transport import TakReceiver, _free_udp_port

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_admin_commands(tmp_path):
    db = str(tmp_path / "auth.db")
    r = run("agency", "add", "GN-MX", "--labels", "PUBLIC,REL-MX", "--rule", "US-ONLY:REL-MX:500:radar", "--auth", db)
    assert r.exit_code == 0 and "1 share rule" in r.output
    bad = run("agency", "add", "X", "--labels", "PUBLIC", "--rule", "US-ONLY", "--auth", db)
    assert bad.exit_code == 2 and "LABEL:RELEASE_AS" in bad.output
    r = run("users", "add", "ana", "--agency", "GN-MX", "--role", "operator", "--auth", db)
    assert r.exit_code == 0 and "token: lkt_" in r.output
    token = r.output.split("token: ")[1].strip()
    assert run("users", "add", "ana", "--agency", "GN-MX", "--auth", db).exit_code == 2
    assert "GN-MX" in run("agency", "list", "--auth", db).output
    assert "operator" in run("users", "list", "--auth", db).output
    assert run("users", "role", "ana", "admin", "--auth", db).exit_code == 0
    assert run("users", "role", "ana", "boss", "--auth", db).exit_code == 2
    with AuthStore(db) as a:
        p = a.authenticate(token)
        assert p.role == "admin" and p.agency.rules[0].coarsen_m == 500.0
    tid = token.split("_")[1]
    assert run("users", "revoke", tid, "--auth", db).exit_code == 0
    out = run("audit", "--action", "token.*", "--auth", db).output
    assert "token.issue" in out and "token.revoke" in out
    assert "ok: " in run("audit", "--verify", "--auth", db).output
    r = run("demo-agencies", "--auth", db)
    assert r.exit_code == 0 and "USBP" in r.output and "gnmx-operator" in r.output and "token lkt_" in r.output


def test_cot_out_streams_the_store(tmp_path):
    db = tmp_path / "lookout.db"
    st = SQLiteStore(db)
    now = time.time()
    st.write_tracks([Track(id="T1", time=now, position=GeoPoint(31.34, -110.94, 1300.0), velocity=Velocity(1, 2),
                           cls=ObjectClass.UAS, identities={"remote_id": "RID-1"}, label="PUBLIC",
                           sources=["remote_id"]),
                     Track(id="T2", time=now, position=GeoPoint(31.35, -110.93, 1300.0), cls=ObjectClass.UAS,
                           identities={"remote_id": "RID-2"}, label="US-ONLY", sources=["radar", "camera"])])
    st.close()
    auth = str(tmp_path / "auth.db")
    run("demo-agencies", "--auth", auth)
    rx = TakReceiver()
    try:
        r = run("cot-out", "--to", f"tcp://127.0.0.1:{rx.port}", "--store", str(db), "--agency", "GN-MX",
                "--auth", auth, "--duration", "1.5", "--interval", "0.2")
        assert r.exit_code == 0, r.output
        assert "sent 1 events" in r.output
    finally:
        rx.close()
    assert [e.uid for e in rx.events] == ["lookout-T1"] and rx.events[0].type == "a-u-A-M-H-Q"
    bad = run("cot-out", "--to", "http://x:1", "--store", str(db))
    assert bad.exit_code == 2 and "scheme must be one of" in bad.output


def test_cot_in_writes_observations(tmp_path):
    db = tmp_path / "lookout.db"
    auth = str(tmp_path / "auth.db")
    port = _free_udp_port()
    result = {}

    def serve():
        result["r"] = run("cot-in", "--listen", f"udp://127.0.0.1:{port}", "--store", str(db), "--auth", auth,
                          "--duration", "2.0")

    th = threading.Thread(target=serve)
    th.start()
    time.sleep(0.8)
    s = CotSender(f"udp://127.0.0.1:{port}")
    s.send([ATAK_SELF, BILLION_LAUGHS])
    s.close()
    th.join(timeout=10)
    assert "accepted 1 observations, refused 1" in result["r"].output
    st = SQLiteStore(db)
    obs = st.observations()
    st.close()
    assert len(obs) == 1 and obs[0].source == SourceKind.BLUE_FORCE and obs[0].label == "REL-MX"
    with AuthStore(auth) as a:
        assert "forbidden_xml" in a.audit_entries(action="cot.refused")[0]["detail"]["reason"]


WIDE = {"COLUMNS": "250"}  # rich tables: one line per cell line


def _rules(db: str, name: str):
    with AuthStore(db) as a:
        return a.agency(name).rules


def test_agency_add_per_source_rule(tmp_path):
    db = str(tmp_path / "auth.db")
    r = run("agency", "add", "GN-MX", "--labels", "PUBLIC,REL-MX", "--rule", "US-ONLY:REL-MX:1000:radar:alerts=no",
            "--rule", "US-ONLY:REL-MX:250:adsb+remote_id:mode=per_source:max_age=8", "--auth", db)
    assert r.exit_code == 0, r.output
    assert "2 share rule(s)" in r.output and "per_source US-ONLY->REL-MX" in r.output
    radar, per_source = _rules(db, "GN-MX")
    assert (radar.mode, radar.coarsen_m, radar.sources, radar.alerts) == ("position_only", 1000.0,
                                                                         frozenset({"radar"}), False)
    assert (per_source.mode, per_source.coarsen_m, per_source.sources, per_source.max_age_s, per_source.alerts) == (
        "per_source", 250.0, frozenset({"adsb", "remote_id"}), 8.0, False)
    # keywords alone, in any order, hyphenated mode
    r = run("agency", "add", "AMO", "--labels", "PUBLIC,REL-MX",
            "--rule", "US-ONLY:REL-MX:max_age=5:sources=ais:mode=per-source:grid=500", "--auth", db)
    assert r.exit_code == 0, r.output
    (rule,) = _rules(db, "AMO")
    assert (rule.mode, rule.coarsen_m, rule.sources, rule.max_age_s) == ("per_source", 500.0, frozenset({"ais"}), 5.0)
    # the released form follows the rule: a fused ADS-B + radar track that ADS-B fed 3 s ago
    with AuthStore(db) as a:
        ag = a.agency("GN-MX")
    t = 1000.0
    fed = {"adsb": t - 3, "radar": t}
    assert ag.rule_for("US-ONLY", ["adsb", "radar"], source_times=fed, time=t) == per_source
    stale = {"adsb": t - 9, "radar": t}
    assert ag.rule_for("US-ONLY", ["adsb", "radar"], source_times=stale, time=t) is None
    assert ag.rule_for("US-ONLY", ["radar"], source_times={"radar": t}, time=t) == radar

    # list shows every rule with its mode, in the --rule syntax, which reads back to the same rules
    out = runner.invoke(app, ["agency", "list", "--auth", db], env=WIDE).output
    specs = [w for w in out.split() if w.startswith("US-ONLY:")]
    assert specs == ["US-ONLY:REL-MX:500:ais:mode=per_source:max_age=5",
                     "US-ONLY:REL-MX:1000:radar:mode=position_only:alerts=no",
                     "US-ONLY:REL-MX:250:adsb+remote_id:mode=per_source:max_age=8"]
    r = run("agency", "add", "COPY", "--labels", "PUBLIC,REL-MX", *[x for s in specs[1:] for x in ("--rule", s)],
            "--auth", db)
    assert r.exit_code == 0 and _rules(db, "COPY") == _rules(db, "GN-MX")


def test_agency_rule_errors(tmp_path):
    db = str(tmp_path / "auth.db")
    cases = {
        "US-ONLY:REL-MX:250:radar:mode=per_source": "per_source share rule needs sources",    # ShareRule decides
        "US-ONLY:REL-MX:250:adsb+camera:mode=per_source": "per_source share rule needs sources",
        "US-ONLY:REL-MX:mode=per_source": "per_source share rule needs sources",
        "US-ONLY:REL-MX:250:adsb:mode=per_source:alerts=yes": "never release alerts",
        "US-ONLY:REL-MX:250:radar:max_age=10": "max_age applies to per_source rules only",
        "US-ONLY:REL-MX:250:adsb:mode=coarse": "mode 'coarse' is unknown",
        "US-ONLY:REL-MX:250:adsb:mode=per_source:max_age=soon": "max_age 'soon' is not a number",
        "US-ONLY:REL-MX:250:adsb:mode=per_source:max_age=-1": "max_age_s must be a number >= 0",
        "US-ONLY:REL-MX:1km": "grid '1km' is not a number",
        "US-ONLY:REL-MX:5:radar": "coarsen_m must be a number >= 10",
        "US-ONLY:REL-MX:nan": "coarsen_m must be a number >= 10",
        "US-ONLY:REL-MX:1000:radr": "unknown source kind(s) ['radr']",
        "US-ONLY:REL-MX:1000:radar:colour=red": "unknown key 'colour'",
        "US-ONLY:REL-MX:1000:mode=position_only:radar": "field 'radar' needs a KEY=",
        "US-ONLY:REL-MX:1000:radar:extra": "field 'extra' needs a KEY=",
        "US-ONLY:REL-MX:1000:grid=500": "grid given twice",
        "US-ONLY:REL-MX:alerts=maybe": "use yes or no",
        "US-ONLY": "LABEL:RELEASE_AS",
        ":REL-MX": "LABEL:RELEASE_AS",
    }
    for spec, msg in cases.items():
        r = run("agency", "add", "GN-MX", "--labels", "PUBLIC,REL-MX", "--rule", spec, "--auth", db)
        assert r.exit_code == 2 and f"share rule {spec!r}" in r.output and msg in r.output, (spec, r.output)
    r = run("agency", "add", "GN-MX", "--labels", "PUBLIC,REL-MX", "--rule", "US-ONLY:US-ONLY:1000:radar", "--auth", db)
    assert r.exit_code == 2 and "releases US-ONLY as US-ONLY, a label the agency may not receive" in r.output
    with AuthStore(db) as a:
        assert a.agencies() == []  # nothing half-created


def test_agency_update_replaces_rules(tmp_path):
    db = str(tmp_path / "auth.db")
    assert run("agency", "add", "GN-MX", "--labels", "PUBLIC,REL-MX", "--rule", "US-ONLY:REL-MX:1000:radar",
               "--auth", db).exit_code == 0
    assert run("users", "add", "ana", "--agency", "GN-MX", "--auth", db).exit_code == 0
    r = run("agency", "update", "GN-MX", "--rule", "US-ONLY:REL-MX:2000:radar:alerts=no",
            "--rule", "US-ONLY:REL-MX:250:adsb+remote_id:mode=per_source", "--auth", db)
    assert r.exit_code == 0 and "2 share rule(s)" in r.output, r.output
    assert [(x.mode, x.coarsen_m) for x in _rules(db, "GN-MX")] == [("position_only", 2000.0), ("per_source", 250.0)]
    with AuthStore(db) as a:
        ag = a.agency("GN-MX")
        assert ag.labels == {"PUBLIC", "REL-MX"} and a.user("ana")["agency"] == "GN-MX"  # labels, users kept
        (entry,) = a.audit_entries(action="agency.update")
        assert entry["actor"] == "cli" and [x["mode"] for x in entry["detail"]["rules"]] == ["position_only",
                                                                                            "per_source"]
    out = runner.invoke(app, ["agency", "list", "--auth", db], env=WIDE).output
    assert "mode=per_source:max_age=10" in out and "mode=position_only:alerts=no" in out

    # refused changes leave the agency as it was
    before = _rules(db, "GN-MX")
    for args, msg in [(["--rule", "US-ONLY:REL-MX:250:radar:mode=per_source"], "needs sources"),
                      (["--labels", "PUBLIC"], "a label the agency may not receive"),
                      (["--labels", " , "], "at least one label"),
                      (["--rule", "US-ONLY:REL-MX", "--no-rules"], "not both"),
                      ([], "nothing to change")]:
        r = run("agency", "update", "GN-MX", *args, "--auth", db)
        assert r.exit_code == 2 and msg in r.output, (args, r.output)
    assert _rules(db, "GN-MX") == before
    r = run("agency", "update", "NOPE", "--no-rules", "--auth", db)
    assert r.exit_code == 2 and "no agency 'NOPE'" in r.output

    r = run("agency", "update", "GN-MX", "--labels", "PUBLIC", "--no-rules", "--title", "Guardia", "--auth", db)
    assert r.exit_code == 0, r.output
    with AuthStore(db) as a:
        ag = a.agency("GN-MX")
    assert (ag.labels, ag.rules, ag.title) == ({"PUBLIC"}, (), "Guardia")


def test_demo_agencies_upgrades_an_old_gnmx(tmp_path):
    db = str(tmp_path / "auth.db")
    # GN-MX as an older demo made it: the radar-only rule alone
    assert run("agency", "add", "GN-MX", "--labels", "PUBLIC,REL-MX", "--rule", "US-ONLY:REL-MX:1000:radar:alerts=no",
               "--title", "Guardia Nacional, Nogales, Sonora", "--country", "MX", "--auth", db).exit_code == 0
    assert run("demo-agencies", "--auth", db).exit_code == 0
    out = runner.invoke(app, ["agency", "list", "--auth", db], env=WIDE).output
    assert "US-ONLY:REL-MX:250:adsb+remote_id:mode=per_source:max_age=10" in out
    assert "US-ONLY:REL-MX:1000:radar:mode=position_only:alerts=no" in out
