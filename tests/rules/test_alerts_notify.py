"""Alert lifecycle, dedup, labels, subscribers and the webhook sender (against a loopback server)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rules_helpers import T0, World, make_engine, straight

from lookout.model import AlertState, Severity
from lookout.rules import AlertManager, AlertNotFound, AlertStateError, SeverityFilter, WebhookSender
from lookout.rules.alerts import AlertEvent, Hit


def _hit(key=("r", "T1"), sev=Severity.MEDIUM, labels=("PUBLIC",), tracks=("T1",)):
    return Hit(key=key, track_ids=list(tracks), severity=sev, message="m", labels=list(labels))


def test_dedup_update_throttle_escalation_and_end():
    m = AlertManager()
    clear, every = {"r": 2.0}, {"r": 1.0}
    ev = m.apply(T0, [_hit()], {"T1"}, set(), clear, every)
    assert [e.kind for e in ev] == ["new"]
    aid = ev[0].alert.id
    kinds = []
    for k in range(1, 51):  # the same condition every 0.2 s for 10 s: an update about once a second
        kinds += [e.kind for e in m.apply(T0 + 0.2 * k, [_hit()], {"T1"}, set(), clear, every)]
    assert kinds.count("new") == 0 and 9 <= kinds.count("update") <= 11
    t = T0 + 10.0
    ev = m.apply(t + 0.2, [_hit(sev=Severity.HIGH, labels=("US-ONLY",))], {"T1"}, set(), clear, every)
    assert [e.kind for e in ev] == ["update"] and ev[0].alert.severity == Severity.HIGH  # at once
    assert ev[0].alert.label == "US-ONLY"
    # false for less than clear_after_s: still open; a hit in between resets the clock
    assert m.apply(t + 1.0, [], {"T1"}, set(), clear, every) == []
    m.apply(t + 2.0, [_hit(sev=Severity.LOW)], {"T1"}, set(), clear, every)
    assert m.get(aid).severity == Severity.HIGH  # episodes only escalate
    assert m.apply(t + 3.0, [], {"T1"}, set(), clear, every) == []
    # not evaluated (track not updated): no progress towards the end
    assert m.apply(t + 7.0, [], set(), set(), clear, every) == []
    ev = m.apply(t + 7.5, [], {"T1"}, set(), clear, every)
    assert [e.kind for e in ev] == ["end"] and ev[0].alert.end == t + 2.0
    ev = m.apply(t + 8.0, [_hit()], {"T1"}, set(), clear, every)
    assert [e.kind for e in ev] == ["new"] and ev[0].alert.id != aid  # a new episode


def test_deleted_track_ends_its_episode():
    m = AlertManager()
    m.apply(T0, [_hit()], {"T1"}, set(), {"r": 100.0}, {})
    ev = m.apply(T0 + 1, [], set(), {"T1"}, {"r": 100.0}, {})
    assert [e.kind for e in ev] == ["end"] and ev[0].alert.evidence["ended"] == "track deleted"
    assert m.active() == []


def test_lifecycle_with_state_checks():
    m = AlertManager()
    a = m.apply(T0, [_hit()], {"T1"}, set(), {}, {})[0].alert
    with pytest.raises(AlertNotFound, match="no alert with id 'nope'"):
        m.acknowledge("nope", by="ops")
    with pytest.raises(ValueError, match="needs the name"):
        m.acknowledge(a.id, by=" ")
    got = m.acknowledge(a.id, by="agent 12", time=T0 + 5)
    assert got.state == AlertState.ACKNOWLEDGED and got.acknowledged_by == "agent 12" and got.acknowledged_at == T0 + 5
    with pytest.raises(AlertStateError, match="already acknowledged \\(by agent 12\\)"):
        m.acknowledge(a.id, by="other")
    got = m.resolve(a.id, by="supervisor", time=T0 + 9)
    assert got.state == AlertState.RESOLVED and got.resolved_by == "supervisor"
    with pytest.raises(AlertStateError, match="already resolved"):
        m.resolve(a.id, by="x")
    with pytest.raises(AlertStateError, match="cannot be acknowledged"):
        m.acknowledge(a.id, by="x")
    # the condition still holds: the resolved episode stays the one alert (no fresh alert)
    ev = m.apply(T0 + 10, [_hit()], {"T1"}, set(), {}, {"r": 0.0})
    assert [e.kind for e in ev] == ["update"] and ev[0].alert.id == a.id and ev[0].alert.state == AlertState.RESOLVED


def test_lifecycle_writes_through_to_a_store():
    class FakeStore:
        def __init__(self):
            self.written = []

        def write_alerts(self, alerts):
            self.written += [a.state for a in alerts]

        def alert(self, alert_id):
            return None

    st = FakeStore()
    m = AlertManager(store=st)
    a = m.apply(T0, [_hit()], {"T1"}, set(), {}, {})[0].alert
    m.acknowledge(a.id, "ops")
    m.resolve(a.id, "ops")
    assert st.written == [AlertState.ACKNOWLEDGED, AlertState.RESOLVED]


def test_subscribers_errors_are_isolated_and_filters(world: World):
    got, high = [], []

    def broken(ev):
        raise RuntimeError("boom")

    world.engine.alerts.subscribe(broken)
    unsub = world.engine.alerts.subscribe(got.append)
    world.engine.alerts.subscribe(SeverityFilter(high.append, Severity.HIGH, frozenset({"new"})))
    world.run(40.0, {"D": straight(0.0, 5000.0, 5.0, 0.0, cls="uas", sources=["radar"], label="REL-MX")})
    assert [e.kind for e in got if e.kind == "new"] == ["new"] and got[0].alert.rule == "dark_drone"
    assert got[0].alert.label == "REL-MX"
    assert world.engine.alerts.subscriber_errors >= 1
    assert high == []  # dark_drone is medium
    unsub()
    n = len(got)
    world.run(5.0, {"D": straight(200.0, 5000.0, 5.0, 0.0, cls="uas", sources=["radar"])}, start=T0 + 41)
    assert len(got) == n


class _Server:
    """Loopback HTTP server answering 503 to the first ``fail`` requests, then ``ok_status``."""

    def __init__(self, fail: int, ok_status: int = 200):
        self.bodies, self.calls = [], 0
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.calls += 1
                status = 503 if outer.calls <= fail else ok_status
                if status == 200:
                    outer.bodies.append(json.loads(body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        self.th = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.th.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _event(rule="dark_drone"):
    m = AlertManager()
    return m.apply(T0, [_hit(key=(rule, "T9"), tracks=("T9",))], {"T9"}, set(), {}, {})[0]


@pytest.mark.timeout(30)
def test_webhook_retries_with_backoff_until_delivered():
    srv = _Server(fail=3)
    try:
        hook = WebhookSender(srv.url, max_retries=5, backoff_s=0.02, jitter=0.5, seed=1)
        hook(_event())
        assert hook.flush(10.0)
        hook.close()
        assert srv.calls == 4 and hook.stats.retries == 3 and hook.stats.sent == 1 and hook.stats.failed == 0
        assert srv.bodies[0]["event"] == "new" and srv.bodies[0]["alert"]["rule"] == "dark_drone"
        assert srv.bodies[0]["alert"]["track_ids"] == ["T9"]
    finally:
        srv.close()


@pytest.mark.timeout(30)
def test_webhook_gives_up_and_does_not_retry_client_errors():
    srv = _Server(fail=100)
    try:
        hook = WebhookSender(srv.url, max_retries=2, backoff_s=0.01, seed=1)
        hook(_event())
        assert hook.flush(10.0)
        assert srv.calls == 3 and hook.stats.failed == 1 and hook.stats.last_error == "HTTP 503"
        hook.close()
    finally:
        srv.close()
    srv = _Server(fail=0, ok_status=400)
    try:
        hook = WebhookSender(srv.url, max_retries=4, backoff_s=0.01)
        hook(_event())
        assert hook.flush(10.0)
        assert srv.calls == 1 and hook.stats.failed == 1 and hook.stats.retries == 0
        hook.close()
    finally:
        srv.close()


@pytest.mark.timeout(30)
def test_webhook_connection_refused_bounded_queue_and_backoff_shape():
    # nothing listens on this port: connection errors are retried then given up, never raised
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    hook = WebhookSender(f"http://127.0.0.1:{port}/", max_retries=1, backoff_s=0.01, queue_size=2, timeout_s=1.0)
    for _ in range(20):
        hook(_event())
    assert hook.flush(15.0)
    hook.close()
    st = hook.stats
    assert st.sent == 0 and st.failed + st.dropped == 20 and st.dropped > 0 and "ConnectError" in st.last_error
    h = WebhookSender("http://127.0.0.1:9/", backoff_s=1.0, max_backoff_s=5.0, jitter=0.25, seed=3)
    delays = [h.delay(k) for k in range(6)]
    h.close(0.1)
    for k, d in enumerate(delays):
        base = min(5.0, 2.0**k)
        assert 0.75 * base <= d <= 1.25 * base
    with pytest.raises(ValueError, match="must start with http"):
        WebhookSender("ftp://x")
    assert isinstance(_event(), AlertEvent)


def test_a_failing_rule_is_counted_and_the_others_still_run(world: World, monkeypatch):
    bad = next(r for r in world.engine.rules if r.name == "border_crossing")

    def boom(step):
        raise RuntimeError("bug")

    monkeypatch.setattr(bad, "evaluate", boom)
    world.run(30.0, {"D": straight(0.0, 5000.0, 5.0, 0.0, cls="uas", sources=["radar"])})
    assert world.engine.rule_errors["border_crossing"] == 61
    assert len(world.new("dark_drone")) == 1


@pytest.mark.timeout(60)
def test_webhooks_from_the_rules_file(tmp_path):
    from lookout.rules import build_default_engine

    srv = _Server(fail=1)
    try:
        rules = tmp_path / "rules.yaml"
        rules.write_text(f"""
notify:
  webhooks:
    - {{url: "{srv.url}", min_severity: medium, kinds: [new], backoff_s: 0.01}}
rules:
  - {{name: dark, type: remote_id_missing, after_s: 5, severity: medium}}
  - {{name: quiet, type: remote_id_missing, after_s: 5, severity: low}}
""")
        eng = build_default_engine(rules_path=rules, zones=[])
        w = World(eng, dt=1.0)
        w.run(20.0, {"D": straight(0.0, 5000.0, 5.0, 0.0, cls="uas", sources=["radar"])})
        assert {a.rule for a in w.new()} == {"dark", "quiet"}
        eng.close()
        # only the medium "new" event went out (after one 503 and a retry)
        assert [b["alert"]["rule"] for b in srv.bodies] == ["dark"] and srv.calls == 2
        assert eng.webhooks[0].stats.sent == 1
    finally:
        srv.close()


def test_engine_state_checkpoints_and_carries_on(world: World):
    """Scale-out workers checkpoint the engine as JSON; a restored engine keeps its episodes."""
    world.run(30.0, {"D": straight(0.0, 5000.0, 5.0, 0.0, cls="uas", sources=["radar"])})
    assert len(world.new("dark_drone")) == 1
    blob = json.dumps(world.engine.checkpoint(), allow_nan=False)
    assert len(blob) < 2_000_000
    engine = make_engine()
    engine.load_checkpoint(json.loads(blob))
    again = World(engine)
    again.run(10.0, {"D": straight(155.0, 5000.0, 5.0, 0.0, cls="uas", sources=["radar"])}, start=T0 + 31.0)
    assert again.new() == [] and {e.kind for e in again.events} == {"update"}
