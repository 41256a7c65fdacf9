"""Transports on loopback: files (plain, gz), line framing limits, TCP client with reconnect and
backoff, TCP listen, UDP, MQTT and NATS (real local brokers). Every test is bounded in time."""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
import time

import pytest

from lookout.sources.sbs import format_line
from lookout.sources.transport import LineFramer, TransportStats, open_source
from tests.conftest import require_service


def _sbs(n: int, start: int = 0) -> list[bytes]:
    t0 = 1_700_000_000.0
    return [format_line(3, "a1b2c3", t0 + i, alt_ft=5000, lat=31.3 + i * 1e-4, lon=-110.9).encode()
            for i in range(start, start + n)]


def test_line_framer_limits_and_partial_lines():
    st = TransportStats()
    fr = LineFramer(max_line=10, stats=st)
    assert fr.feed(b"abc\r\nde") == [b"abc"]
    assert fr.feed(b"f\n\n") == [b"def"]
    assert fr.feed(b"x" * 25) == []  # oversized, not buffered
    assert fr.feed(b"yyy\nok\n") == [b"ok"]
    assert st.oversized == 1
    assert fr.feed(b"0123456789AB\nlast") == []
    assert st.oversized == 2
    assert fr.flush() == [b"last"]
    # a 10 MB line without a newline never makes the buffer grow past the limit
    big = LineFramer(max_line=1024, stats=st)
    for _ in range(160):
        assert big.feed(b"z" * 65536) == []
        assert len(big._buf) <= 1024
    assert big.feed(b"tail\nnext\n") == [b"next"] and st.oversized == 3


def test_file_plain_gz_and_missing(tmp_path):
    lines = _sbs(50)
    p = tmp_path / "f.sbs"
    p.write_bytes(b"\n".join(lines))  # no trailing newline: the last line still arrives
    assert list(open_source(p)) == lines
    g = tmp_path / "f.sbs.gz"
    with gzip.open(g, "wb") as fh:
        fh.write(b"\n".join(lines) + b"\n")
    assert list(open_source(str(g))) == lines
    assert list(open_source(f"file://{p}")) == lines
    chunks = list(open_source(p, framing="bytes"))
    assert b"".join(chunks) == b"\n".join(lines)
    with pytest.raises(FileNotFoundError, match="no such file"):
        open_source(tmp_path / "missing.sbs")
    with pytest.raises(ValueError, match="unsupported source"):
        open_source("gopher://x:1")
    with pytest.raises(ValueError, match="host:port"):
        open_source("tcp://localhost")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tcp_client_reconnects_with_backoff_without_losing_lines():
    """A feed that sends lines, drops the connection, and comes back later: the client
    reconnects with growing delays and receives every line sent before and after."""
    port = _free_port()
    lines = _sbs(30)
    first, second = lines[:18], lines[18:]
    events = []

    def server():
        srv = socket.create_server(("127.0.0.1", port))
        srv.settimeout(5)
        conn, _ = srv.accept()
        conn.sendall(b"\n".join(first[:-1]) + b"\n" + first[-1])  # last line without newline
        time.sleep(0.05)
        conn.close()
        srv.close()  # the server is down: connection attempts are refused for a while
        events.append(time.monotonic())
        time.sleep(0.8)
        srv = socket.create_server(("127.0.0.1", port))
        srv.settimeout(5)
        conn, _ = srv.accept()
        events.append(time.monotonic())
        conn.sendall(b"\n".join(second) + b"\n")
        time.sleep(0.05)
        conn.close()
        srv.close()

    th = threading.Thread(target=server, daemon=True)
    th.start()
    time.sleep(0.1)
    src = open_source(f"tcp://127.0.0.1:{port}", backoff_initial_s=0.1, backoff_max_s=1.0, poll_s=0.05)
    src.deadline = time.monotonic() + 10
    got = []
    for line in src:
        got.append(line)
        if len(got) == len(lines):
            src.stop()
    th.join(5)
    assert got == lines
    assert src.stats.connects == 2 and src.stats.disconnects >= 1
    assert src.stats.errors.get("connect:ConnectionRefusedError", 0) >= 1
    d = src.delays
    assert len(d) >= 3 and all(b > a for a, b in zip(d[:3], d[1:4]))  # exponential backoff
    assert d[0] == pytest.approx(0.1, rel=0.25)


def test_tcp_listen_several_sensors_push():
    src = open_source("tcp-listen://127.0.0.1:0", poll_s=0.05)
    host, port = src.address
    a, b = _sbs(5), _sbs(5, start=100)

    def push(lines):
        with socket.create_connection((host, port)) as s:
            for ln in lines:
                s.sendall(ln + b"\n")

    ths = [threading.Thread(target=push, args=(x,)) for x in (a, b)]
    for th in ths:
        th.start()
    src.deadline = time.monotonic() + 5
    got = []
    for ch, rec in src.records():
        if rec is not None:
            got.append((ch, rec))
        if len(got) == 10:
            src.stop()
    assert sorted(r for _, r in got) == sorted(a + b)
    assert len({ch for ch, _ in got}) == 2


def test_udp_datagrams():
    src = open_source("udp://127.0.0.1:0", poll_s=0.05)
    host, port = src.address
    lines = _sbs(6)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(b"\n".join(lines[:3]), (host, port))  # last line of a datagram needs no newline
        s.sendto(b"\n".join(lines[3:]) + b"\n", (host, port))
    src.deadline = time.monotonic() + 5
    got = []
    for rec in src:
        got.append(rec)
        if len(got) == 6:
            src.stop()
    assert got == lines


def test_live_source_stops_at_deadline_when_quiet():
    src = open_source("udp://127.0.0.1:0", poll_s=0.05)
    src.deadline = time.monotonic() + 0.3
    t = time.monotonic()
    assert list(src) == []
    assert time.monotonic() - t < 2


@pytest.mark.services
def test_mqtt_subscriber():
    require_service("Mosquitto", 1883)
    import paho.mqtt.client as mqtt

    topic = f"lookout-test/{time.time_ns()}/adsb"
    src = open_source(f"mqtt://127.0.0.1:1883/{topic.rsplit('/', 1)[0]}/#", poll_s=0.05)
    lines = _sbs(4)
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    pub.connect("127.0.0.1", 1883)
    pub.loop_start()

    def publish():
        time.sleep(0.5)
        pub.publish(topic, b"\n".join(lines[:2]), qos=1).wait_for_publish(5)
        pub.publish(topic, b"\n".join(lines[2:]), qos=1).wait_for_publish(5)

    th = threading.Thread(target=publish, daemon=True)
    th.start()
    src.deadline = time.monotonic() + 8
    got = []
    for rec in src:
        got.append(rec)
        if len(got) == 4:
            src.stop()
    pub.loop_stop()
    pub.disconnect()
    assert got == lines and src.stats.connects >= 1


@pytest.mark.services
def test_nats_subscriber():
    require_service("NATS", 4222)
    import nats

    subject = f"lookout.test.{time.time_ns()}.adsb"
    src = open_source(f"nats://127.0.0.1:4222/{subject}", poll_s=0.05)
    lines = _sbs(3)

    async def publish():
        await asyncio.sleep(0.5)
        nc = await nats.connect("nats://127.0.0.1:4222")
        for ln in lines:
            await nc.publish(subject, ln)
        await nc.flush()
        await nc.close()

    th = threading.Thread(target=lambda: asyncio.run(publish()), daemon=True)
    th.start()
    src.deadline = time.monotonic() + 8
    got = []
    for rec in src:
        got.append(rec)
        if len(got) == 3:
            src.stop()
    th.join(5)
    assert got == lines
