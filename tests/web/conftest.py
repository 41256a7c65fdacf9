"""End-to-end fixtures: a real server (uvicorn on a free loopback port) over a SQLite store with
stored history, a live feed publishing the simulated scenario's ground truth as tracks, and a
real headless Chromium driven by Playwright (Debian's chromium; never a downloaded browser)."""

from __future__ import annotations

import os
import shutil
import threading
import time as _time
from pathlib import Path

import numpy as np
import pytest

from api.world import free_port
from lookout.model import (
    Alert,
    GeoPoint,
    GeoPosition,
    ObjectClass,
    Observation,
    Severity,
    SourceKind,
    Track,
    TrackStatus,
    Velocity,
)

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


class LiveServer:
    """A scenario, a store, a hub and uvicorn on a free loopback port, in threads; ``feed`` runs
    :meth:`step` (one simulated second) every ``STEP_WALL_S`` until stopped."""

    def __init__(self, tmp: Path, name: str, scenario=None) -> None:
        from lookout.api import LiveHub
        from lookout.store.sqlite import SQLiteStore

        self.scenario = scenario
        self.store = SQLiteStore(tmp / f"{name}.db")
        self.hub = LiveHub()
        self._stop = threading.Event()
        if scenario is not None:
            self.t0 = scenario.config.start_time
            self.sensors = [dict(id=s.id, kind=str(s.kind), lat=s.site.lat, lon=s.site.lon,
                                 range_m=min(s.max_range_m, 30000.0)) for s in scenario.sensors]

    def serve(self, app) -> None:
        import uvicorn

        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    ws_per_message_deflate=False))
        self.threads = [threading.Thread(target=self.server.run, daemon=True),
                        threading.Thread(target=self.feed, daemon=True)]

    def step(self) -> bool:
        """One live step; False when there is nothing (more) to publish."""
        return False

    def feed(self) -> None:
        while not self._stop.is_set() and self.step():
            self._stop.wait(STEP_WALL_S)

    def start(self) -> LiveServer:
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


class DemoServer(LiveServer):
    """The scenario's ground truth as tracks (deterministic): 120 s of stored history, two
    alerts, own agents' reports, then the truth published live."""

    def __init__(self, tmp: Path, scenario) -> None:
        from lookout.api import create_app

        super().__init__(tmp, "e2e", scenario)
        for k in np.arange(HISTORY_FROM, LIVE_FROM):
            self.store.write_tracks(truth_tracks(self.scenario, self.t0 + float(k)))
        uas = next(t for t in truth_tracks(self.scenario, self.t0 + 400) if t.operator is not None)
        self.alerts = [
            Alert(rule="border_crossing", severity=Severity.HIGH,
                  message=f"{uas.identities['remote_id']} crossed northbound",
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
        self.sim_time = self.t0 + LIVE_FROM
        self._prev: set[str] = set()
        self.serve(create_app(self.store, hub=self.hub, sector=self.scenario.sector, sensors=self.sensors))

    def step(self) -> bool:
        if self.sim_time >= self.t0 + 890.0:
            return False
        tracks = truth_tracks(self.scenario, self.sim_time)
        ids = {t.id for t in tracks}
        self.store.write_tracks(tracks)
        self.hub.publish(self.sim_time, tracks, sorted(self._prev - ids), [])
        self._prev = ids
        self.sim_time += 1.0
        return True


class PipelineServer(LiveServer):
    """The demo's real pipeline (sensors -> tracker -> rules -> store -> hub) over the scenario:
    a short run first, then live, as ``lookout demo`` serves it."""

    def __init__(self, tmp: Path, scenario, warmup_steps: int = 40) -> None:
        from lookout.api import create_app
        from lookout.demo import build_pipeline

        super().__init__(tmp, "pipeline", scenario)
        self.pipe = build_pipeline(self.scenario, self.store, hub=self.hub)
        self.steps = self.scenario.steps(dt=1.0)
        for _ in range(warmup_steps):
            self.step()
        self.serve(create_app(self.store, hub=self.hub, sector=self.scenario.sector, sensors=self.sensors,
                              alert_manager=getattr(self.pipe.rules, "alerts", None)))

    def step(self) -> bool:
        st = next(self.steps, None)
        if st is None:
            return False
        self.pipe.step(st.time + 1.0, st.observations)
        return True


@pytest.fixture(scope="session")
def scenario():
    from lookout.sim import Scenario, ScenarioConfig

    return Scenario(ScenarioConfig(seed=7, duration_s=900.0))


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory, scenario):
    srv = DemoServer(tmp_path_factory.mktemp("e2e"), scenario).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def pipeline_server(tmp_path_factory, scenario):
    srv = PipelineServer(tmp_path_factory.mktemp("pipeline"), scenario).start()
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


def open_map(browser, url: str):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = ctx.new_page()
    pg.console_log = Console(pg)
    pg.goto(url + "/")
    pg.wait_for_function("() => window.lookout && window.lookout.state.wsOpen && window.lookout.displayed().length > 0",
                         timeout=20_000)
    return ctx, pg


@pytest.fixture(scope="module")
def page(browser, demo_server):
    """One map page for a module's tests (they run in file order and leave it in live mode)."""
    ctx, pg = open_map(browser, demo_server.url)
    yield pg
    ctx.close()


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
