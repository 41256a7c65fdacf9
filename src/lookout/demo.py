"""``lookout demo``: the default Nogales border-sector scenario, end to end.

The simulator produces every sensor's observations; the pipeline tracks, evaluates the rules,
stores everything in ``OUT/lookout.db`` and prints a summary. With serving on (the default) the
map and API then come up on localhost and the scenario carries on live at wall-clock pace, so the
map shows tracks moving; Ctrl-C stops it.
"""

from __future__ import annotations

import math
import time as _time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
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
    # the scenario ends its fast part within a minute of now, so the live part that follows runs
    # about on the wall clock. The start is a whole minute: every run of a seed is then the same
    # run shifted in time, alerts included (the rules sample tracks every 2 or 5 s of absolute
    # time, so a start off the minute could change which samples they judge)
    start = default_start(duration) if start_time is None else start_time
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
    print_summary(pipe, store, scenario, loop, end=end)
    if serve:
        _serve_live(pipe, scenario, store, hub, steps, host, port, health, store_dir=out)
    store.close()
    return pipe


def default_start(duration: float, now: float | None = None) -> float:
    """The demo's start when none is given: the whole minute (UNIX seconds) at or before
    ``now - duration``."""
    now = _time.time() if now is None else now
    return 60.0 * math.floor((now - duration) / 60.0)


#: a track follows a true object when it is within this distance of it (horizontally) at
#: least half of the times it was stored
MATCH_GATE_M = 500.0

#: plain names of the object classes, singular and plural
CLASS_NOUNS = {"uas": ("drone", "drones"), "fixed_wing": ("aircraft", "aircraft"),
               "rotorcraft": ("helicopter", "helicopters"),
               "surveillance_aircraft": ("surveillance aircraft", "surveillance aircraft"),
               "ground_vehicle": ("vehicle", "vehicles"), "person": ("group on foot", "groups on foot"),
               "vessel": ("boat", "boats"), "agent": ("own agent", "own agents"), "unknown": ("unknown", "unknown")}


def _n(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count:,} {singular if count == 1 else (plural or singular + 's')}"


def _of(part: int, whole: int) -> str:
    """``all 4``, ``3 of 4``, ``0 of 4``, ``1 of 1``."""
    return f"all {whole:,}" if part == whole > 1 else f"{part:,} of {whole:,}"


@dataclass
class TruthComparison:
    """The run's tracks against the scenario's true objects (see :func:`compare_with_truth`)."""

    objects: dict[str, str]  # true object id -> class, for every object moving during the run
    tracks: dict[str, str]  # confirmed track id -> the class the tracker gave it
    truth_of: dict[str, str | None]  # confirmed track id -> the true object it follows, or None

    def lines(self) -> list[str]:
        """The comparison in plain sentences: overall, then per class of true object."""
        followed: dict[str, list[str]] = {}
        for tid, oid in self.truth_of.items():
            if oid is not None:
                followed.setdefault(oid, []).append(tid)
        false = sorted(tid for tid, oid in self.truth_of.items() if oid is None)
        n_obj, n_trk = len(self.objects), len(self.tracks)
        out = [f"{_n(n_trk, 'track')} for {_n(n_obj, 'true object')}: {_of(len(followed), n_obj)} objects tracked; "
               f"{n_trk - len(false):,} {'track follows' if n_trk - len(false) == 1 else 'tracks follow'} "
               "a true object, "
               f"{len(false):,} {'follows' if len(false) == 1 else 'follow'} none"]
        for cls in [c for c in CLASS_NOUNS if c in set(self.objects.values())]:
            objs = [oid for oid, c in self.objects.items() if c == cls]
            n_tracks = sum(len(followed.get(oid, [])) for oid in objs)
            n_tracked = sum(1 for oid in objs if oid in followed)
            out.append(f"{CLASS_NOUNS[cls][1]}: {_n(n_tracks, 'track')} for {_n(len(objs), 'true object')}, "
                       f"{_of(n_tracked, len(objs))} tracked")
        several = sum(1 for v in followed.values() if len(v) > 1)
        if several:
            out.append(f"{_n(several, 'object')} had more than one track (a track lost and started again, "
                       "or tracks of one object not fused)")
        if false:
            by_cls = Counter(self.tracks[tid] for tid in false)
            out.append(f"{_n(len(false), 'track')} following no true object "
                       "(clutter, false alarms, spoofed positions): "
                       + ", ".join(f"{n:,} {CLASS_NOUNS.get(c, (c, c))[0 if n == 1 else 1]}"
                                   for c, n in by_cls.most_common()))
        return out


def compare_with_truth(scenario, store, tracks, start: float, end: float,
                       gate_m: float = MATCH_GATE_M) -> TruthComparison:
    """Which true object each track follows: the one within ``gate_m`` of the track at most of
    the track's stored points in ``[start, end]``, when that is at least half of them; None
    when no object is (clutter, false alarms, a track that drifted off)."""
    objects = {o.id: str(o.cls) for o in scenario.truth if o.start <= end and o.end >= start}
    cls_of = {tr.id: str(tr.cls) for tr in tracks}
    index = {tid: k for k, tid in enumerate(cls_of)}
    rows = [(index[tid], p) for tid, p in store.track_points(start=start, end=end) if tid in index]
    truth_of: dict[str, str | None] = dict.fromkeys(cls_of)
    if not rows or not objects:
        return TruthComparison(objects, cls_of, truth_of)
    k = np.array([i for i, _ in rows])
    t = np.array([p.time for _, p in rows])
    g = scenario.sector.ground_alt_m
    alt = np.array([g if p.alt_m is None else p.alt_m for _, p in rows], dtype=float)
    e, n, _ = scenario.sector.frame.to_enu(np.array([p.lat for _, p in rows]), np.array([p.lon for _, p in rows]),
                                           alt)
    truth = [o for o in scenario.truth if o.id in objects]
    near = np.zeros((len(cls_of), len(truth)), dtype=np.int64)
    for j, o in enumerate(truth):
        m = (t >= o.start) & (t <= o.end)
        if not m.any():
            continue
        pos, _, _ = o.sample(t[m])
        hit = np.hypot(pos[:, 0] - e[m], pos[:, 1] - n[m]) <= gate_m
        near[:, j] = np.bincount(k[m][hit], minlength=len(cls_of))
    points = np.bincount(k, minlength=len(cls_of))
    best = near.argmax(axis=1)
    for tid, i in index.items():
        j = int(best[i])
        if points[i] and near[i, j] * 2 >= points[i]:
            truth_of[tid] = truth[j].id
    return TruthComparison(objects, cls_of, truth_of)


def print_summary(pipe: Pipeline, store, scenario, wire=None, end: float | None = None) -> None:
    st = pipe.stats
    t0 = scenario.config.start_time
    end = (st.last_time or scenario.config.end_time) if end is None else end
    n_sim = int(np.searchsorted(scenario.table["t"], end, side="left"))
    objects = [o for o in scenario.truth if o.start <= end and o.end >= t0]
    events = [e for e in scenario.events if t0 <= e.time <= end]
    run = f"{end - t0:,.0f} s" + ("" if end >= scenario.config.end_time
                                  else f" (of {scenario.config.duration_s:,.0f} s; the rest plays live)")
    console.print(f"Scenario: seed {scenario.config.seed}, {run} from "
                  f"{_time.strftime('%Y-%m-%d %H:%M:%S', _time.gmtime(t0))} UTC: {_n(len(objects), 'true object')}, "
                  f"{_n(n_sim, 'simulated observation')}, {_n(len(events), 'scripted event')}",
                  soft_wrap=True, highlight=False)
    t = Table(title="Observations by source"
              + (" (each sensor's wire format through Lookout's decoders)" if wire else ""))
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
    t = Table(title=f"Tracks by the class the tracker gave them: {len(confirmed)}"
                    + (f" ({merged} short tracks merged into these when their identities fused)" if merged else ""))
    t.add_column("class")
    t.add_column("tracks", justify="right")
    t.add_column("examples")
    for cls, n in by_cls.most_common():
        ex = [tr for tr in confirmed if str(tr.cls) == cls][:3]
        names = ", ".join(
            track_name(tr) + f" ({'+'.join(sorted(set(tr.sources)))})" for tr in ex)
        t.add_row(cls, str(n), names)
    console.print(t)
    cmp = compare_with_truth(scenario, store, confirmed, t0, end)
    console.print(f"[bold]Tracks vs true objects[/] (a track follows an object it stays within "
                  f"{MATCH_GATE_M:.0f} m of):", soft_wrap=True, highlight=False)
    for line in cmp.lines():
        console.print(f"  {line}", soft_wrap=True, highlight=False, markup=False)

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
