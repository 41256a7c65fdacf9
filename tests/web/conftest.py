"""End-to-end fixtures: a real server (uvicorn on a free loopback port) over a SQLite store with
stored history, a live feed publishing the simulated scenario's ground truth as tracks, and a
real headless Chromium driven by Playwright (Debian's chromium; never a downloaded browser)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time as _time
from pathlib import Path

import numpy as np
import pytest

from lookout.model import (Alert, GeoPoint, GeoPosition, ObjectClass, Observation, Severity, SourceKind, Track,
                           TrackStatus, Velocity)

CHROMIUM = os.environ.get("LOOKOUT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "web"
HISTORY_FROM, LIVE_FROM = 300.0, 420.0  # seconds after the scenario start
STEP_WALL_S = 0.25  # one simulated second per quarter second of wall time


def truth_tracks(scenario, t: float) -> list[Track]:
    """The scenario's ground truth at ``t`` as Track records (what a perfect tracker would say)."""
    frame = scenario.sector.frame
    out = []
    for obj in scenario.truth:
        if not obj.active(t):
            continue
        p, v = obj.state_at(t)
        lat, lon, alt = frame.to_geodetic(p[0], p[1], p[2])
        ids = {}
        if obj.ident:
            ids["remote_id" if obj.cls == ObjectClass.UAS else "icao24"] = obj.ident
        if obj.callsign:
            ids["callsign"] = obj.callsign
        sources = ["remote_id"] if obj.broadcasts_remote_id else ["adsb"] if obj.ident else ["radar"]
        out.append(Track(id=f"trk-{obj.id}", time=t, position=GeoPoint(float(lat), float(lon), float(alt)),
                         velocity=Velocity(float(v[0]), float(v[1]), float(v[2])), sigma_h_m=10.0,
                         status=TrackStatus.CONFIRMED, cls=obj.cls, identities=ids, sources=sources,
                         sensors=["sim"], label=obj.label, first_time=max(obj.start, scenario.config.start_time),
                         updates=1, operator=obj.operator))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DemoServer:
    """Store + hub + uvicorn in threads; ``feed`` keeps publishing the scenario live."""

    def __init__(self, tmp: Path) -> None:
        import uvicorn

        from lookout.api import LiveHub, create_app
        from lookout.sim import Scenario, ScenarioConfig
        from lookout.store.sqlite import SQLiteStore

        self.scenario = Scenario(ScenarioConfig(seed=7, duration_s=900.0))
        self.t0 = self.scenario.config.start_time
        self.store = SQLiteStore(tmp / "e2e.db")
        self.hub = LiveHub()
        for k in np.arange(HISTORY_FROM, LIVE_FROM):
            self.store.write_tracks(truth_tracks(self.scenario, self.t0 + float(k)))
        uas = next(t for t in truth_tracks(self.scenario, self.t0 + 400) if t.operator is not None)
        self.alerts = [
            Alert(rule="border_crossing", severity=Severity.HIGH, message=f"{uas.identities['remote_id']} crossed northbound",
                  start=self.t0 + 400, track_ids=[uas.id], position=uas.position, operator=uas.operator, id="a-e2e-1"),
            Alert(rule="loiter", severity=Severity.MEDIUM, message="Loitering near the port of entry",
                  start=self.t0 + 410, track_ids=[], position=GeoPoint(31.333, -110.94), id="a-e2e-2"),
        ]
        self.store.write_alerts(self.alerts)
        # own agents report their posts (blue force), shown with friendly symbols
        self.agents = self.scenario.agents
        self.store.write_observations(
            Observation(time=self.t0 + 400 + k, source=SourceKind.BLUE_FORCE, sensor="blue-force", ident=a.id,
                        callsign=a.name, cls=ObjectClass.AGENT,
                        position=GeoPosition(a.position.lat, a.position.lon, a.position.alt_m, 4.0))
            for k, a in enumerate(self.agents))
        sensors = [dict(id=s.id, kind=str(s.kind), lat=s.site.lat, lon=s.site.lon, range_m=min(s.max_range_m, 30000.0))
                   for s in self.scenario.sensors]
        self.app = create_app(self.store, hub=self.hub, sector=self.scenario.sector, sensors=sensors)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    ws_per_message_deflate=False))
        self._stop = threading.Event()
        self.sim_time = self.t0 + LIVE_FROM
        self.threads = [threading.Thread(target=self.server.run, daemon=True),
                        threading.Thread(target=self.feed, daemon=True)]

    def feed(self) -> None:
        end = self.t0 + 890.0
        prev: set[str] = set()
        while not self._stop.is_set() and self.sim_time < end:
            tracks = truth_tracks(self.scenario, self.sim_time)
            ids = {t.id for t in tracks}
            self.store.write_tracks(tracks)
            self.hub.publish(self.sim_time, tracks, sorted(prev - ids), [])
            prev = ids
            self.sim_time += 1.0
            self._stop.wait(STEP_WALL_S)

    def start(self) -> "DemoServer":
        for th in self.threads:
            th.start()
        deadline = _time.monotonic() + 20
        while not self.server.started:
            if _time.monotonic() > deadline:
                raise RuntimeError("the server did not start in 20 s")
            _time.sleep(0.05)
        return self

    def stop(self) -> None:
        self._stop.set()
        self.server.should_exit = True
        for th in self.threads:
            th.join(timeout=10)
        self.store.close()


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    srv = DemoServer(tmp_path_factory.mktemp("e2e")).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        if os.environ.get("LOOKOUT_REQUIRE_SERVICES"):
            pytest.fail(f"Chromium not found at {CHROMIUM} (scripts/services.sh installs Debian's chromium)")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
                               args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


class Console:
    def __init__(self, page) -> None:
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url} {r.failure}"))


@pytest.fixture
def page(browser, demo_server):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = ctx.new_page()
    pg.console_log = Console(pg)
    pg.goto(demo_server.url + "/")
    pg.wait_for_function("() => window.lookout && window.lookout.state.wsOpen && window.lookout.displayed().length > 0",
                         timeout=20_000)
    yield pg
    ctx.close()


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
