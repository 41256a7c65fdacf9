"""``lookout ingest`` and the ingest loop: JSON lines out, summary, bounds, pacing, errors."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time

import pytest
from typer.testing import CliRunner

from lookout.cli import app
from lookout.sources.replay import Ingest, Pacer, make_decoder
from lookout.sources.sbs import format_line

runner = CliRunner()


def test_cli_ingest_writes_flat_json_lines(adsb_data, tmp_path):
    out = tmp_path / "obs.jsonl"
    r = runner.invoke(app, ["ingest", "raw", str(adsb_data / "flights.raw.csv"), "--out", str(out),
                            "--sensor", "rx-1", "--label", "US-ONLY"])
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    # no receiver position: each aircraft's first frame waits for its CPR pair (3 of 360)
    assert len(rows) == 357
    first = rows[0]
    assert {"time", "source", "sensor", "ident", "lat", "lon", "alt_m"} <= set(first)
    assert first["source"] == "adsb" and first["sensor"] == "rx-1" and first["label"] == "US-ONLY"
    assert "rejected: 1 (implausible_speed 1)" in r.stderr
    assert "357 observations from 578 messages" in r.stderr and "cpr_pending 3" in r.stderr


def test_cli_errors_are_clear(adsb_data, tmp_path):
    r = runner.invoke(app, ["ingest", "nosuch", "x"])
    assert r.exit_code == 2 and "unknown format 'nosuch'" in r.stderr and "sbs" in r.stderr
    r = runner.invoke(app, ["ingest", "sbs", str(tmp_path / "missing.sbs")])
    assert r.exit_code == 2 and "no such file" in r.stderr
    r = runner.invoke(app, ["ingest", "sbs", str(adsb_data / "flights.sbs"), "-o", "bogus=1"])
    assert r.exit_code == 2 and "no option(s) ['bogus']" in r.stderr
    r = runner.invoke(app, ["ingest", "sbs", str(adsb_data / "flights.sbs"), "--reference", "31.3"])
    assert r.exit_code == 2 and "LAT,LON" in r.stderr
    r = runner.invoke(app, ["ingest", "--list"])
    assert r.exit_code == 0 and "beast" in r.stdout.split()
    r = runner.invoke(app, ["ingest"])
    assert r.exit_code == 2 and "missing FORMAT" in r.stderr
    r = runner.invoke(app, ["ingest", "sbs"])
    assert r.exit_code == 2 and "missing SOURCE" in r.stderr


def test_cli_options_gz_and_max_messages(adsb_data, tmp_path):
    g = tmp_path / "f.sbs.gz"
    g.write_bytes(gzip.compress((adsb_data / "flights.sbs").read_bytes()))
    out = tmp_path / "o.jsonl"
    r = runner.invoke(app, ["ingest", "sbs", str(g), "--out", str(out), "--max-messages", "100",
                            "--reference", "31.33,-110.95", "-o", "max_range_m=12000"])
    assert r.exit_code == 0, r.output
    assert "--max-messages 100" in r.stderr
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    # only the helicopter flies within 12 km of the receiver; the others are out of range
    assert rows and all(x["ident"] == "a0f1b2" for x in rows) and "out_of_range" in r.stderr


def test_every_adsb_format_through_the_cli(adsb_data, tmp_path):
    # without --reference the frame formats decode globally: each aircraft's first frame waits
    # for its pair (3 of 360); SBS and aircraft.json carry positions
    for fmt, name, n in [("avr", "flights.avr", 357), ("beast", "flights.beast", 357),
                         ("aircraft-json", "aircraft.json", 24), ("sbs", "flights.sbs", 360)]:
        out = tmp_path / f"{fmt}.jsonl"
        r = runner.invoke(app, ["ingest", fmt, str(adsb_data / name), "--out", str(out)])
        assert r.exit_code == 0, r.output
        assert len(out.read_text().splitlines()) == n, fmt


def test_replay_at_recorded_pace(adsb_data):
    run = Ingest("raw", adsb_data / "flights.raw.csv", replay_speed=10.0, max_messages=80)
    t = time.monotonic()
    obs = list(run)
    took = time.monotonic() - t
    span = obs[-1].time - obs[0].time
    assert span > 6
    assert span / 10.0 - 0.05 <= took <= span / 10.0 + 0.6


def test_pacer_uses_the_recorded_times():
    now = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    p = Pacer(2.0, clock=lambda: now[0], sleep=sleep, max_sleep_s=100)
    for t in (100.0, 101.0, 105.0, 104.0):
        p.wait(t)
    assert now[0] == pytest.approx(2.5)
    with pytest.raises(ValueError):
        Pacer(-1)


def test_live_tcp_ingest_is_bounded():
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    t0 = 1_700_000_000.0

    def serve():
        conn, _ = srv.accept()
        for i in range(5):
            conn.sendall((format_line(3, "a1b2c3", t0 + i, alt_ft=5000, lat=31.3 + i * 1e-3, lon=-110.9)
                          + "\n").encode())
        time.sleep(1.5)
        conn.close()
        srv.close()

    threading.Thread(target=serve, daemon=True).start()
    run = Ingest("sbs", f"tcp://127.0.0.1:{port}", max_seconds=0.8, source_options={"poll_s": 0.05})
    t = time.monotonic()
    obs = list(run)
    assert len(obs) == 5 and time.monotonic() - t < 3
    assert run.summary.stopped_by == "--max-seconds"


def test_make_decoder_passes_options():
    d = make_decoder("raw", "rx", reference=(52.25, 3.9), max_range_m=100_000)
    assert d.modes.reference == (52.25, 3.9) and d.modes.max_range_m == 100_000
    with pytest.raises(ValueError, match="unknown format"):
        make_decoder("nope")


def test_cli_ingest_into_a_store(adsb_data, tmp_path):
    from lookout.store import open_store

    db = tmp_path / "lookout.db"
    r = runner.invoke(app, ["ingest", "sbs", str(adsb_data / "flights.sbs"), "--store", f"sqlite:///{db}",
                            "--sensor", "rx-store"])
    assert r.exit_code == 0, r.output
    assert r.stdout == ""  # with --store and no --out, no JSON lines on stdout
    assert "stored: 360 observations" in r.stderr
    with open_store(f"sqlite:///{db}") as st:
        assert st.count_observations(by="sensor") == {"rx-store": 360}
    r = runner.invoke(app, ["ingest", "sbs", str(adsb_data / "flights.sbs"), "--store", "bogus://x"])
    assert r.exit_code == 2 and "cannot open store" in r.stderr


def test_cli_reads_stdin(adsb_data, tmp_path):
    out = tmp_path / "o.jsonl"
    data = (adsb_data / "flights_plain.avr").read_text()
    r = runner.invoke(app, ["ingest", "avr", "-", "--out", str(out)], input=data)
    assert r.exit_code == 0, r.output
    assert len(out.read_text().splitlines()) == 33  # no receiver position: 3 first frames wait for a pair
    r = runner.invoke(app, ["ingest", "avr", "-", "--out", str(out), "--reference", "31.33,-110.95"], input=data)
    assert r.exit_code == 0, r.output
    assert len(out.read_text().splitlines()) == 36


def test_tcp_listen_beast_sensors_get_their_own_decoder(adsb_data):
    """Two Beast receivers push to one tcp-listen port at once; each connection is framed by its
    own decoder, so interleaved chunks do not corrupt each other."""
    from lookout.sources.transport import open_source

    src = open_source("tcp-listen://127.0.0.1:0", framing="bytes", poll_s=0.05)
    host, port = src.address
    data = (adsb_data / "flights.beast").read_bytes()

    def push():
        with socket.create_connection((host, port)) as s:
            for i in range(0, len(data), 97):
                s.sendall(data[i:i + 97])
                time.sleep(0.0005)

    ths = [threading.Thread(target=push) for _ in range(2)]
    run = Ingest("beast", src, max_seconds=6)
    for th in ths:
        th.start()
    got = []
    for obs in run:
        got.append(obs)
        if len(got) == 714:  # 2 x 357: no receiver position, the first frames wait for a pair
            src.stop()
    for th in ths:
        th.join(5)
    assert len(got) == 714
    assert run.summary.stats.rejected == {"implausible_speed": 2}
    assert len(run._decoders) == 2


def test_http_polled_aircraft_json(adsb_data):
    import http.server

    body = (adsb_data / "aircraft.json").read_bytes().split(b"\n{")[0]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}/data/aircraft.json"
        run = Ingest("aircraft-json", url, max_seconds=1.5, source_options={"interval_s": 0.3, "poll_s": 0.05})
        obs = list(run)
    finally:
        srv.shutdown()
    assert len(obs) == 4  # the first poll; later polls of the same snapshot are repeats
    assert run.summary.stats.skipped["repeat"] >= 4 and run.summary.transport.connects >= 2


def test_live_lines_are_decoded_a_received_chunk_at_a_time(adsb_data):
    """A live feed of lines: each received chunk's complete lines go to ``decode_batch`` as one
    batch (one rs1090 call), nothing waits for more; a line split across chunks or cut by a
    reconnect is still decoded once, and the result equals line-by-line decoding."""
    lines = [ln for ln in (adsb_data / "flights.raw.csv").read_bytes().split(b"\n") if ln][1:]
    ref = (31.3, -110.9)
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    blob = b"\n".join(lines) + b"\n"
    cut = blob.index(b"\n", len(blob) // 2) + 9  # the connection drops in the middle of a line
    # what arrives: the line cut by the reconnect comes as two partial lines
    sent = [ln for part in (blob[:cut], blob[cut:]) for ln in part.split(b"\n") if ln]
    expected = [o for dec in [make_decoder("raw", reference=ref)] for ln in sent for o in dec.decode(ln)]

    def serve():
        conn, _ = srv.accept()
        for k in range(0, cut, 3000):  # chunks that end anywhere in a line
            conn.sendall(blob[k:min(k + 3000, cut)])
            time.sleep(0.02)
        conn.close()
        conn, _ = srv.accept()
        conn.sendall(blob[cut:])
        time.sleep(1.0)
        conn.close()
        srv.close()

    threading.Thread(target=serve, daemon=True).start()
    run = Ingest("raw", f"tcp://127.0.0.1:{port}", decoder_options={"reference": ref}, max_seconds=4,
                 max_messages=len(sent),
                 source_options={"poll_s": 0.05, "backoff_initial_s": 0.05})
    calls = []
    orig = run.decoder.decode_batch
    run.decoder.decode_batch = lambda recs: calls.append(len(recs)) or orig(recs)
    got = list(run)
    assert len(sent) == len(lines) + 1 and run.summary.stats.messages == len(sent)
    assert len(calls) >= 3 and max(calls) > 1 and sum(calls) == len(sent)
    assert run.summary.stopped_by == f"--max-messages {len(sent)}"
    assert len(got) > 300
    assert [(o.time, o.ident, o.position.lat, o.position.lon, o.position.alt_m, o.attrs) for o in got] == \
        [(o.time, o.ident, o.position.lat, o.position.lon, o.position.alt_m, o.attrs) for o in expected]


def test_live_chunks_stop_exactly_at_max_messages():
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    t0 = 1_700_000_000.0
    blob = b"".join((format_line(3, "a1b2c3", t0 + i, alt_ft=5000, lat=31.3 + i * 1e-3, lon=-110.9)
                     + "\n").encode() for i in range(50))

    def serve():
        conn, _ = srv.accept()
        conn.sendall(blob)  # one chunk of 50 lines
        time.sleep(1.0)
        conn.close()
        srv.close()

    threading.Thread(target=serve, daemon=True).start()
    run = Ingest("sbs", f"tcp://127.0.0.1:{port}", max_seconds=3, max_messages=7,
                 source_options={"poll_s": 0.05})
    obs = list(run)
    assert len(obs) == 7 and run.summary.stats.messages == 7
