"""``lookout demo``: the default Nogales border-sector scenario, end to end.

The simulator produces every sensor's observations; the pipeline tracks, evaluates the rules,
stores everything in ``OUT/lookout.db`` and prints a summary. With serving on (the default) the
map and API then come up on localhost and the scenario carries on live at wall-clock pace, so the
map shows tracks moving; Ctrl-C stops it.
"""

from __future__ import annotations

import time as _time
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from lookout.model import track_name
from lookout.pipeline import Pipeline

console = Console()


def build_pipeline(scenario, store, hub=None):
    """The demo's pipeline over a scenario: tracker and rules with the embedded defaults."""
    from lookout.tracking import Tracker, TrackerConfig

    tracker = Tracker(TrackerConfig(), frame=scenario.sector.frame)
    rules = None
    try:
        from lookout.rules import build_default_engine
    except ImportError:
        build_default_engine = None
    if build_default_engine is not None:
        rules = build_default_engine(scenario.sector, store=store)
    return Pipeline(store, tracker=tracker, rules=rules, hub=hub)


def run_demo(*, duration: float, seed: int, out: Path, realtime: bool, serve: bool, host: str, port: int,
             live_s: float = 3600.0, wire: bool = True, start_time: float | None = None) -> Pipeline:
    from lookout.sim import Scenario, ScenarioConfig
    from lookout.store.sqlite import SQLiteStore

    out.mkdir(parents=True, exist_ok=True)
    db = out / "lookout.db"
    for p in (db, Path(str(db) + "-wal"), Path(str(db) + "-shm")):
        p.unlink(missing_ok=True)
    store = SQLiteStore(db)

    total = duration + (live_s if serve else 0.0)
    # the scenario ends its fast part now, so the live part that follows runs on the wall clock
    start = float(int(_time.time() - duration)) if start_time is None else start_time
    with console.status("building the scenario"):
        scenario = Scenario(ScenarioConfig(seed=seed, duration_s=total, start_time=start))
    hub = None
    if serve:
        from lookout.api.live import LiveHub

        hub = LiveHub()
    pipe = build_pipeline(scenario, store, hub=hub)
    t0 = scenario.config.start_time
    health = None
    if wire:
        from lookout.sim.wire import WireLoop

        from lookout.sources.health import SensorHealth

        health = SensorHealth(silent_after_s=60.0, clock=lambda: pipe.stats.last_time or t0)
        loop = WireLoop(scenario.sensors, health=health)
        steps = ((st, loop(st.observations)) for st in scenario.steps(dt=1.0))
    else:
        loop = None
        steps = ((st, st.observations) for st in scenario.steps(dt=1.0))
    end = t0 + duration

    cols = (TextColumn("[bold]simulating[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("s"),
            TextColumn("{task.fields[info]}"), TimeElapsedColumn())
    wall0 = _time.monotonic()
    with Progress(*cols, console=console, transient=False) as progress:
        task = progress.add_task("run", total=int(duration), info="")
        for step, observations in steps:
            if realtime:
                lag = (step.time - t0) - (_time.monotonic() - wall0)
                if lag > 0:
                    _time.sleep(lag)
            pipe.step(step.time + 1.0, observations)
            progress.update(task, completed=int(step.time + 1.0 - t0),
                            info=f"obs {sum(pipe.stats.observations.values()):,}  tracks {len(pipe.stats.track_ids)}"
                                 f"  alerts {len(pipe.stats.alerts)}")
            if step.time + 1.0 >= end:
                break
    store.set_meta("scenario", f"default seed={seed} start={t0} duration={duration}")
    print_summary(pipe, store, scenario, loop)
    if serve:
        _serve_live(pipe, scenario, store, hub, steps, host, port, health, store_dir=out)
    store.close()
    return pipe


def print_summary(pipe: Pipeline, store, scenario, wire=None) -> None:
    st = pipe.stats
    t = Table(title="Observations by source" + (" (each sensor's wire format through Lookout's decoders)" if wire else ""))
    t.add_column("source")
    t.add_column("count", justify="right")
    for src, n in sorted(st.observations.items()):
        t.add_row(src, f"{n:,}")
    t.add_row("[bold]total[/]", f"[bold]{sum(st.observations.values()):,}[/]")
    console.print(t)
    if wire is not None:
        t = Table(title="Sensor feeds")
        for col in ("sensor", "format", "decoded", "rejected"):
            t.add_column(col, justify="right" if col in ("decoded", "rejected") else "left")
        for sid, d in wire.stats().items():
            rej = sum(d["rejected"].values())
            t.add_row(sid, d["format"], f"{d['accepted']:,}", f"{rej:,}" + (f" {dict(d['rejected'])}" if rej else ""))
        console.print(t)

    tracks = store.tracks()
    confirmed = [tr for tr in tracks if tr.updates > 0 and not tr.attrs.get("merged_into")]
    merged = sum(1 for tr in tracks if tr.attrs.get("merged_into"))
    by_cls = Counter(str(tr.cls) for tr in confirmed)
    t = Table(title=f"Tracks: {len(confirmed)} ({len(scenario.truth)} true objects in the scenario; "
                    f"{merged} short tracks merged into these when their identities fused)")
    t.add_column("class")
    t.add_column("tracks", justify="right")
    t.add_column("examples")
    for cls, n in by_cls.most_common():
        ex = [tr for tr in confirmed if str(tr.cls) == cls][:3]
        names = ", ".join(
            track_name(tr) + f" ({'+'.join(sorted(set(tr.sources)))})" for tr in ex)
        t.add_row(cls, str(n), names)
    console.print(t)

    alerts = sorted(st.alerts.values(), key=lambda a: a.start)
    t = Table(title=f"Alerts: {len(alerts)}")
    t.add_column("time (UTC)")
    t.add_column("rule")
    t.add_column("severity")
    t.add_column("message")
    for a in alerts[:40]:
        t.add_row(_time.strftime("%H:%M:%S", _time.gmtime(a.start)), a.rule, str(a.severity), a.message)
    if len(alerts) > 40:
        t.add_row("...", f"{len(alerts) - 40} more", "", "")
    console.print(t)


def _serve_live(pipe, scenario, store, hub, steps, host, port, health=None, store_dir: Path = Path(".")) -> None:
    import threading

    import uvicorn

    from lookout.api.app import create_app

    from lookout.auth import AuthStore
    from lookout.auth.demo import setup_demo_agencies

    sensors = [dict(id=s.id, kind=str(s.kind), lat=s.site.lat, lon=s.site.lon, range_m=s.max_range_m, label=s.label)
               for s in scenario.sensors]
    auth = AuthStore(Path(store_dir) / "auth.db")
    logins = setup_demo_agencies(auth)
    from lookout.analytics.api import router as analytics_router

    app = create_app(store, hub=hub, sector=scenario.sector, sensors=sensors, health=health,
                     alert_manager=getattr(pipe.rules, "alerts", None), routers=[analytics_router], auth=auth)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                           ws_per_message_deflate=False))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    console.print(f"\n[bold green]Map and API:[/] http://{host}:{port}/   (API docs: http://{host}:{port}/docs)")
    t = Table(title="Logins: each agency sees only what its releasability labels allow")
    for col in ("agency", "user", "password", "labels"):
        t.add_column(col)
    for lg in logins:
        t.add_row(f"{lg['agency']} ({lg['title']})", lg["user"], lg["password"] or "", ", ".join(lg["labels"]))
    console.print(t)
    for lg in logins:
        console.print(f"API token for {lg['agency']}: {lg['token']}", soft_wrap=True)
    console.print(f"e.g. curl -H 'Authorization: Bearer {logins[0]['token']}' http://{host}:{port}/api/tracks",
                  soft_wrap=True)
    console.print("The scenario carries on live at wall-clock pace. Ctrl-C stops.")
    try:
        wall0, sim0 = _time.monotonic(), None
        for step, observations in steps:
            sim0 = step.time if sim0 is None else sim0
            lag = (step.time - sim0) - (_time.monotonic() - wall0)
            if lag > 0:
                _time.sleep(lag)
            pipe.step(step.time + 1.0, observations)
            if not th.is_alive():
                break
        th.join()
    except KeyboardInterrupt:
        pass
    finally:
        server.should_exit = True
        th.join(timeout=5)
