"""CoT transports on loopback: TCP to a TAK-style receiver (live tracks of the demo scenario),
TLS with client certificates (valid and expired, both directions), UDP multicast, and the
CoT-in listener refusing hostile input with audit entries."""

from __future__ import annotations

import shutil
import socket
import ssl
import threading
import time

import pytest
import takproto

from lookout.auth import AuthStore
from lookout.model import SourceKind
from lookout.share.cot import parse_event
from lookout.share.feed import CotFeed, Tee
from lookout.share.releasability import OPEN, Agency, ShareRule
from lookout.share.transport import CotListener, CotSender, parse_url, tls_client_context, tls_server_context
from share.certs import make_pki
from share.test_cot import ATAK_MARKER, ATAK_SELF, BILLION_LAUGHS

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command line")


class TakReceiver:
    """A TAK-server-like loopback receiver: accepts one client at a time (TCP or TLS with a
    client certificate required), splits the stream into events and parses each with takproto."""

    def __init__(self, ctx: ssl.SSLContext | None = None) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.ctx = ctx
        self.events: list = []
        self.raw: list[bytes] = []
        self.handshake_errors: list[str] = []
        self.peers: list[str] = []
        self._stop = threading.Event()
        self._th = threading.Thread(target=self._run, daemon=True)
        self._th.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            try:
                conn.settimeout(5)
                if self.ctx is not None:
                    conn = self.ctx.wrap_socket(conn, server_side=True)
                    self.peers.append(dict(x[0] for x in conn.getpeercert()["subject"])["commonName"])
            except (ssl.SSLError, OSError) as exc:
                self.handshake_errors.append(str(exc))
                conn.close()
                continue
            buf = b""
            conn.settimeout(0.2)
            while not self._stop.is_set():
                try:
                    data = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not data:
                    break
                buf += data
                while b"</event>" in buf:
                    ev, buf = buf.split(b"</event>", 1)
                    ev = ev.strip() + b"</event>"
                    self.raw.append(ev)
                    self.events.append(takproto.parse_proto(bytearray(ev)).cotEvent)
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._th.join(timeout=3)
        self.sock.close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def _wait(cond, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def test_demo_live_tracks_reach_tak_receivers_per_agency(tmp_path):
    from lookout.demo import build_pipeline
    from lookout.sim import Scenario, ScenarioConfig
    from lookout.store.sqlite import SQLiteStore

    auth = AuthStore(tmp_path / "auth.db")
    us_rx, mx_rx = TakReceiver(), TakReceiver()
    mx = Agency("GN-MX", frozenset({"PUBLIC", "REL-MX"}),
                (ShareRule("US-ONLY", "REL-MX", sources=frozenset({"radar"}), alerts=False),))
    us_feed = CotFeed(CotSender(f"tcp://127.0.0.1:{us_rx.port}"), agency=OPEN, auth=auth)
    mx_feed = CotFeed(CotSender(f"tcp://127.0.0.1:{mx_rx.port}"), agency=mx, auth=auth)
    scenario = Scenario(ScenarioConfig(seed=7, duration_s=120.0))
    store = SQLiteStore(":memory:")
    pipe = build_pipeline(scenario, store, hub=Tee(us_feed, mx_feed))
    for step in scenario.steps(dt=1.0):
        pipe.step(step.time + 1.0, step.observations)
    for f in (us_feed, mx_feed):
        f.close()
    us_rx.close()
    mx_rx.close()
    tracks = {e.uid for e in us_rx.events if e.uid.startswith("lookout-T") and e.type.startswith("a-")}
    assert len(tracks) >= 5 and len(us_rx.events) > 100
    types = {e.type for e in us_rx.events}
    assert "a-u-A-M-H-Q" in types and any(t.endswith("-A-C-F") for t in types)
    assert {e.access for e in us_rx.events} >= {"PUBLIC", "US-ONLY"}
    # the Mexican feed: only what its labels allow; a state that was U.S.-only reaches it only
    # released (position only), and a track that stops being releasable is deleted there
    us_by = {(e.uid, e.sendTime): e for e in us_rx.events}
    mx_items = [e for e in mx_rx.events if e.type != "t-x-d-d"]
    assert mx_items and {e.access for e in mx_items} <= {"PUBLIC", "REL-MX"}
    for e in mx_items:
        twin = us_by[(e.uid, e.sendTime)]
        if twin.access == "US-ONLY":
            assert e.access == "REL-MX" and "released" in e.detail.xmlDetail and "remote_id" not in e.detail.xmlDetail
        else:
            assert e.access == twin.access and e.detail.xmlDetail == twin.detail.xmlDetail
    hidden_later = {e.uid for e in mx_items} & {e.uid for e in us_rx.events if e.access == "US-ONLY"}
    deleted = {e.detail.xmlDetail.split('uid="')[1].split('"')[0] for e in mx_rx.events if e.type == "t-x-d-d"}
    assert hidden_later and hidden_later <= deleted | {e.uid for e in mx_items if e.access == "REL-MX"}
    stored = {t.id for t in store.tracks()}
    assert {u.removeprefix("lookout-") for u in tracks} <= stored
    assert [e["action"] for e in auth.audit_entries(action="cot.*")] == ["cot.feed", "cot.feed"]
    store.close()


def test_tls_with_client_certificates(pki):
    rx = TakReceiver(tls_server_context(str(pki["server"]), str(pki["server"].with_suffix(".key")), str(pki["ca"])))
    try:
        ok = CotSender(f"tls://127.0.0.1:{rx.port}",
                       tls_client_context(str(pki["ca"]), str(pki["client"]), str(pki["client"].with_suffix(".key"))))
        assert ok.send([ATAK_SELF]) == 1
        assert _wait(lambda: len(rx.events) == 1)
        assert rx.peers == ["agent-12"] and rx.events[0].detail.contact.callsign == "BORDER-12"
        ok.close()
        # an expired client certificate is refused by the server
        bad = CotSender(f"tls://127.0.0.1:{rx.port}",
                        tls_client_context(str(pki["ca"]), str(pki["client-expired"]),
                                           str(pki["client-expired"].with_suffix(".key"))))
        bad.send([ATAK_SELF])
        bad.send([ATAK_SELF])
        assert _wait(lambda: rx.handshake_errors)
        assert "expired" in rx.handshake_errors[0].lower()
        bad.close()
        # no client certificate at all
        anon = CotSender(f"tls://127.0.0.1:{rx.port}", tls_client_context(str(pki["ca"])))
        anon.send([ATAK_SELF])
        anon.send([ATAK_SELF])
        assert _wait(lambda: len(rx.handshake_errors) >= 2)
        anon.close()
        assert len(rx.events) == 1
    finally:
        rx.close()


def test_expired_server_certificate_refused_with_clear_error_and_audit(pki, tmp_path):
    ctx = tls_server_context(str(pki["server-expired"]), str(pki["server-expired"].with_suffix(".key")), str(pki["ca"]))
    rx = TakReceiver(ctx)
    auth = AuthStore(tmp_path / "a.db")
    try:
        client = tls_client_context(str(pki["ca"]), str(pki["client"]), str(pki["client"].with_suffix(".key")))
        sender = CotSender(f"tls://127.0.0.1:{rx.port}", client)
        feed = CotFeed(sender, auth=auth)
        feed.publish(0.0, [], [], [])
        assert feed.sender.send([ATAK_SELF]) == 0  # never raises
        assert "certificate not accepted" in sender.last_error and "expired" in sender.last_error
        err = auth.audit_entries(action="cot.error")
        assert err and "expired" in err[0]["detail"]["error"] and err[0]["outcome"] == "error"
        feed.close()
    finally:
        rx.close()


def test_listener_tls_refuses_expired_client_and_audits(pki, tmp_path):
    auth = AuthStore(tmp_path / "a.db")
    got: list = []
    srv = tls_server_context(str(pki["server"]), str(pki["server"].with_suffix(".key")), str(pki["ca"]))
    with CotListener("tls://127.0.0.1:0", got.extend, ssl_context=srv, auth=auth, label="REL-MX") as lst:
        good = CotSender(f"tls://127.0.0.1:{lst.port}",
                         tls_client_context(str(pki["ca"]), str(pki["client"]), str(pki["client"].with_suffix(".key"))))
        good.send([ATAK_SELF, ATAK_MARKER])
        assert _wait(lambda: len(got) == 2)
        good.close()
        bad = CotSender(f"tls://127.0.0.1:{lst.port}",
                        tls_client_context(str(pki["ca"]), str(pki["client-expired"]),
                                           str(pki["client-expired"].with_suffix(".key"))))
        bad.send([ATAK_SELF])
        bad.send([ATAK_SELF])
        assert _wait(lambda: auth.audit_entries(action="cot.tls_refused"))
        bad.close()
    assert [o.source for o in got] == [SourceKind.BLUE_FORCE, SourceKind.REPORT] and got[0].label == "REL-MX"
    e = auth.audit_entries(action="cot.tls_refused")[0]
    assert e["outcome"] == "denied" and "expired" in e["detail"]["reason"]


def test_listener_tcp_refuses_hostile_input_keeps_the_rest(tmp_path):
    auth = AuthStore(tmp_path / "a.db")
    got: list = []
    with CotListener("tcp://127.0.0.1:0", got.extend, auth=auth, max_event_bytes=8192) as lst:
        s = CotSender(f"tcp://127.0.0.1:{lst.port}")
        s.send([ATAK_SELF, BILLION_LAUGHS, b"<event uid='x'>" + b"A" * 20000 + b"</event>", ATAK_MARKER])
        assert _wait(lambda: len(got) == 2 and len(auth.audit_entries(action="cot.refused")) >= 2)
        s.close()
    reasons = " ".join(e["detail"]["reason"] for e in auth.audit_entries(action="cot.refused"))
    assert "forbidden_xml" in reasons and "oversized" in reasons


def test_udp_multicast_loopback():
    got: list = []
    port = _free_udp_port()
    try:
        lst = CotListener(f"udp://239.2.3.1:{port}", got.extend).start()
        url = f"udp://239.2.3.1:{port}"
    except OSError:  # no multicast in this sandbox: unicast loopback
        lst = CotListener(f"udp://127.0.0.1:{port}", got.extend).start()
        url = f"udp://127.0.0.1:{port}"
    try:
        s = CotSender(url, multicast_interface="127.0.0.1")
        for _ in range(3):  # datagrams may be lost; a few tries
            s.send([ATAK_SELF])
            if _wait(lambda: got, 1.0):
                break
        s.close()
    finally:
        lst.stop()
    assert got and got[0].callsign == "BORDER-12" and got[0].source == SourceKind.BLUE_FORCE


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sender_errors_are_clear_and_never_raise():
    with pytest.raises(ValueError, match="scheme must be one of"):
        parse_url("http://127.0.0.1:8087")
    with pytest.raises(ValueError, match="needs a host and a port"):
        parse_url("tcp://127.0.0.1")
    with pytest.raises(ValueError, match="needs a TLS context"):
        CotSender("tls://127.0.0.1:8089")
    port = _free_udp_port()  # nothing listens on this TCP port (most likely)
    s = CotSender(f"tcp://127.0.0.1:{port}", backoff_s=0.0)
    assert s.send([ATAK_SELF]) == 0 and s.errors == 1
    assert s.last_error == f"connection to tcp://127.0.0.1:{port} refused (is the TAK server listening?)"
    assert parse_event(ATAK_SELF).uid  # the event itself was fine
