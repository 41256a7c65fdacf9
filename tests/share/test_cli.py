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
                           cls=ObjectClass.UAS, identities={"remote_id": "RID-1"}, label="PUBLIC", sources=["remote_id"]),
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
