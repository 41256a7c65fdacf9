"""Benchmark: the live picture's WebSocket fan-out and the web map's frame time.

1. 1,000 moving tracks published at 1 Hz to the LiveHub of a real server (uvicorn on loopback,
   the pipeline publishing from its own thread as ``lookout demo`` does), streamed to 50
   WebSocket clients in a separate process. Delivery latency per message = client receive time
   minus the server's publication time (``pub``, taken before serialisation), so it covers
   serialisation, filtering, the fan-out, the socket and the client's receive. Target: p99 < 100 ms.
2. The web map in real headless Chromium showing the same 1,000 moving tracks: frame intervals
   (requestAnimationFrame) and the track layer's draw time, idle (live updates arriving) and
   while the mouse drags the map around.

``python benchmarks/api.py [--quick] [--tracks N] [--clients N] [--duration S]`` prints a table
and writes ``benchmarks/results/api.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import re
import shutil
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("LOOKOUT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CLASSES = ["uas", "fixed_wing", "rotorcraft", "ground_vehicle", "person", "surveillance_aircraft"]
_PUB = re.compile(rb'"pub":([0-9.eE+-]+)')


class Traffic:
    """N tracks moving in straight lines (bouncing off the sector's edges), vectorised."""

    def __init__(self, n: int, seed: int = 1) -> None:
        from lookout.sector import load_sector

        rng = np.random.default_rng(seed)
        self.sector = load_sector()
        self.n = n
        self.enu = np.column_stack([rng.uniform(-18000, 18000, n), rng.uniform(-18000, 18000, n),
                                    rng.uniform(50, 3000, n)])
        speed, course = rng.uniform(3, 70, n), rng.uniform(0, 2 * np.pi, n)
        self.vel = np.column_stack([speed * np.sin(course), speed * np.cos(course), np.zeros(n)])
        self.cls = rng.choice(CLASSES, n)
        self.t0 = 1_790_000_000.0

    def step(self, t: float, dt: float = 1.0):
        from lookout.model import GeoPoint, Track, Velocity

        self.enu += self.vel * dt
        out = np.abs(self.enu[:, :2]) > 19000
        self.vel[:, :2][out] *= -1
        lat, lon, alt = self.sector.frame.to_geodetic(self.enu[:, 0], self.enu[:, 1],
                                                      self.enu[:, 2] + self.sector.ground_alt_m)
        tracks = []
        for i in range(self.n):
            ve, vn, vu = self.vel[i]
            c = str(self.cls[i])
            if c in ("fixed_wing", "rotorcraft", "surveillance_aircraft"):
                ids = {"icao24": f"{0xa00000 + i:06x}", "callsign": f"TST{i:04d}"}
            else:
                ids = {"remote_id": f"1581F{i:011d}"} if c == "uas" else {}
            tracks.append(Track(id=f"bench-{i:04d}", time=t,
                                position=GeoPoint(float(lat[i]), float(lon[i]), float(alt[i])),
                                velocity=Velocity(float(ve), float(vn), float(vu)), sigma_h_m=12.0, cls=c,
                                identities=ids, sources=["radar"], sensors=["radar-1"], first_time=self.t0, updates=1))
        return tracks


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, n_tracks: int) -> None:
        import uvicorn

        from lookout.api import LiveHub, create_app
        from lookout.store.sqlite import SQLiteStore

        self.store = SQLiteStore(":memory:")
        self.hub = LiveHub()
        self.traffic = Traffic(n_tracks)
        self.app = create_app(self.store, hub=self.hub)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    ws_per_message_deflate=False))
        self.stop_evt = threading.Event()
        self.publish_s: list[float] = []
        self.publish_cpu_s: list[float] = []  # CPU time of the publishing thread (contention-free cost)
        self.steps = 0

    def publisher(self, rate_hz: float) -> None:
        t = self.traffic.t0
        period = 1.0 / rate_hz
        nxt = time.monotonic()
        while not self.stop_evt.is_set():
            tracks = self.traffic.step(t, period)
            a, c = time.perf_counter(), time.thread_time()
            self.hub.publish(t, tracks, [], [])
            self.publish_s.append(time.perf_counter() - a)
            self.publish_cpu_s.append(time.thread_time() - c)
            self.steps += 1
            t += period
            nxt = max(nxt + period, time.monotonic())  # a late step is not made up by a burst
            self.stop_evt.wait(max(0.0, nxt - time.monotonic()))

    def start(self, rate_hz: float) -> None:
        self.threads = [threading.Thread(target=self.server.run, daemon=True),
                        threading.Thread(target=self.publisher, args=(rate_hz,), daemon=True)]
        self.threads[0].start()
        while not self.server.started:
            time.sleep(0.05)
        self.threads[1].start()

    def stop(self) -> None:
        self.stop_evt.set()
        self.server.should_exit = True
        for th in self.threads:
            th.join(timeout=10)


# -- WebSocket clients (a separate process) --------------------------------------------------------
async def _clients(url: str, n: int, duration: float, warmup: float) -> dict:
    from websockets.asyncio.client import connect

    lat: list[float] = []
    per_step: dict[float, list[float]] = {}
    counts = [0] * n
    sizes: list[int] = []
    t_end = time.time() + warmup + duration
    t_measure = time.time() + warmup

    async def one(k: int) -> None:
        async with connect(url, max_size=None, compression=None, open_timeout=30) as ws:
            while True:
                left = t_end - time.time()
                if left <= 0:
                    return
                try:
                    msg = await asyncio.wait_for(ws.recv(decode=False), timeout=left)
                except TimeoutError:
                    return
                now = time.time()
                m = _PUB.search(msg, 0, 120)
                if m is None or now < t_measure:
                    continue
                pub = float(m.group(1))
                lat.append(now - pub)
                per_step.setdefault(pub, []).append(now - pub)
                counts[k] += 1
                if k == 0:
                    sizes.append(len(msg))

    await asyncio.gather(*(one(k) for k in range(n)))
    return {"latency_s": lat, "counts": counts, "sizes": sizes, "per_step": per_step}


def _client_proc(url: str, n: int, duration: float, warmup: float, q) -> None:
    q.put(asyncio.run(_clients(url, n, duration, warmup)))


# -- browser frame time -------------------------------------------------------------------------
def browser_frames(url: str, n_tracks: int, seconds: float) -> dict:
    exe = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not exe:
        return {"skipped": f"no Chromium at {CHROMIUM}"}
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True)
        page = b.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url + "/")
        page.wait_for_function(f"() => window.lookout && window.lookout.displayed().length >= {int(n_tracks * 0.95)}",
                               timeout=60_000)
        page.evaluate("() => window.lookout.map.setZoom(12)")
        page.wait_for_timeout(500)
        start_rec = """() => { const L = window.lookout, st = L.trackLayer.stats;
            window.__rec = {frames: [], d0: st.draws, m0: st.drawMs, on: true};
            let last = performance.now();
            const f = (now) => { const r = window.__rec; if (!r.on) return; r.frames.push(now - last); last = now;
                                 requestAnimationFrame(f); };
            requestAnimationFrame(f); }"""
        stop_rec = """() => { const r = window.__rec, st = window.lookout.trackLayer.stats; r.on = false;
            return {frames: r.frames.slice(1), draws: st.draws - r.d0, drawMs: st.drawMs - r.m0,
                    shown: window.lookout.displayed().length}; }"""
        phases = {}
        # idle: live updates arriving, nobody touching the map
        page.evaluate(start_rec)
        page.wait_for_timeout(int(seconds * 1000))
        phases["idle"] = page.evaluate(stop_rec)
        # drag: a user panning the map with the mouse in small circles
        box = page.locator("#map").bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(cx, cy)
        page.mouse.down()
        page.evaluate(start_rec)
        t_end = time.monotonic() + seconds
        a = 0.0
        while time.monotonic() < t_end:
            a += 0.15
            page.mouse.move(cx + 120 * np.cos(a), cy + 120 * np.sin(a), steps=2)
        phases["drag"] = page.evaluate(stop_rec)
        page.mouse.up()
        b.close()
    out = {"tracks_shown": phases["drag"]["shown"], "page_errors": errors}
    for name, r in phases.items():
        f = np.array(r["frames"]) if r["frames"] else np.array([np.nan])
        out.update({f"{name}_frames": int(f.size), f"{name}_frame_ms_p50": float(np.percentile(f, 50)),
                    f"{name}_frame_ms_p95": float(np.percentile(f, 95)), f"{name}_frame_ms_max": float(np.max(f)),
                    f"{name}_draws": r["draws"], f"{name}_draw_ms_mean": float(r["drawMs"] / max(1, r["draws"]))})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="short run (5 s of streaming, 3 s of frames)")
    ap.add_argument("--tracks", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--rate", type=float, default=1.0, help="publication rate, Hz")
    ap.add_argument("--client-procs", type=int, default=2, help="processes the WebSocket clients run in")
    ap.add_argument("--duration", type=float, default=None, help="seconds of measured streaming (default 20, quick 5)")
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    duration = args.duration or (5.0 if args.quick else 20.0)
    warmup = 2.0

    srv = Server(args.tracks)
    srv.start(args.rate)
    try:
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        ws_url = f"ws://127.0.0.1:{srv.port}/api/ws"
        # the clients run in separate processes (as browsers would run on other machines)
        share = [args.clients // args.client_procs + (k < args.clients % args.client_procs)
                 for k in range(args.client_procs)]
        procs = [ctx.Process(target=_client_proc, args=(ws_url, n, duration, warmup, q)) for n in share if n]
        steps0 = srv.steps
        for p in procs:
            p.start()
        parts = [q.get(timeout=duration + warmup + 120) for _ in procs]
        for p in procs:
            p.join(timeout=30)
        per_step: dict[float, list[float]] = {}
        for part in parts:
            for pub, v in part["per_step"].items():
                per_step.setdefault(pub, []).extend(v)
        res = {"latency_s": [x for part in parts for x in part["latency_s"]],
               "counts": [c for part in parts for c in part["counts"]],
               "sizes": [x for part in parts for x in part["sizes"]],
               "first_s": [min(v) for v in per_step.values()], "last_s": [max(v) for v in per_step.values()]}
        steps = srv.steps - steps0
        pub_ms = np.array(srv.publish_s[-max(1, steps):]) * 1000
        pub_cpu_ms = np.array(srv.publish_cpu_s[-max(1, steps):]) * 1000
        lat = np.array(res["latency_s"]) * 1000
        expected = args.rate * duration
        ws = {"tracks": args.tracks, "clients": args.clients, "client_processes": len(procs), "rate_hz": args.rate,
              "duration_s": duration,
              "messages": int(lat.size), "expected_messages": int(round(expected * args.clients)),
              "latency_ms_p50": float(np.percentile(lat, 50)), "latency_ms_p95": float(np.percentile(lat, 95)),
              "latency_ms_p99": float(np.percentile(lat, 99)), "latency_ms_max": float(lat.max()),
              "message_kb": float(np.mean(res["sizes"]) / 1024) if res["sizes"] else None,
              "publish_ms_mean": float(pub_ms.mean()), "publish_ms_max": float(pub_ms.max()),
              "publish_cpu_ms_mean": float(pub_cpu_ms.mean()),
              "first_client_ms_mean": float(np.mean(res["first_s"]) * 1000),
              "last_client_ms_mean": float(np.mean(res["last_s"]) * 1000),
              "messages_per_client_min": int(min(res["counts"])), "messages_per_client_max": int(max(res["counts"])),
              "target_p99_ms": 100.0}
        ws["meets_target"] = ws["latency_ms_p99"] < 100.0
        frames = {"skipped": "--no-browser"} if args.no_browser else browser_frames(srv.url, args.tracks,
                                                                                      3.0 if args.quick else 8.0)
    finally:
        srv.stop()

    print(f"\nWebSocket fan-out: {args.tracks} tracks at {args.rate:g} Hz to {args.clients} clients, "
          f"{duration:g} s (loopback, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})")
    print(f"{'metric':32s} {'value':>12s}")
    for k in ("messages", "expected_messages", "messages_per_client_min", "messages_per_client_max", "message_kb",
              "publish_ms_mean", "publish_ms_max", "publish_cpu_ms_mean", "first_client_ms_mean", "last_client_ms_mean",
              "latency_ms_p50", "latency_ms_p95", "latency_ms_p99", "latency_ms_max"):
        v = ws[k]
        print(f"{k:32s} {v:12.1f}" if isinstance(v, float) else f"{k:32s} {v!s:>12s}")
    print(f"{'p99 < 100 ms':32s} {'yes' if ws['meets_target'] else 'NO':>12s}")
    print(f"\nWeb map in headless Chromium with {args.tracks} moving tracks (idle, then dragged)")
    for k, v in frames.items():
        print(f"{k:32s} {v:12.1f}" if isinstance(v, float) else f"{k:32s} {v!s:>12s}")

    out = {"benchmark": "api", "quick": args.quick, "loadavg_1min": os.getloadavg()[0],
           "python": sys.version.split()[0], "machine": platform.machine(), "cpus": os.cpu_count(), "time": time.time(),
           "websocket": ws, "map": frames}
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "api.json").write_text(json.dumps(out, indent=2))
    print(f"\nwrote {HERE / 'results' / 'api.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
