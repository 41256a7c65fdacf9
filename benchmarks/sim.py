"""Scenario generator speed: one simulated hour of the default scenario, and storing it.

``python benchmarks/sim.py [--quick]``. Prints a table and writes ``benchmarks/results/sim.json``.
Measures: building the scenario (truth, sensors, events), generating every sensor's observations
(columns, then Observation records), iterating ``steps(dt=1)``, writing them to the SQLite store,
and, as the peer, Stone Soup's multi-target ground-truth + detection simulators producing
radar-like detections (constant-velocity targets, clutter) for the same simulated time: the
``vs peer`` ratio is Lookout's observations per second over Stone Soup's detections per second,
both over 10 simulated minutes.
Target: one simulated hour generates in under 30 s on one core.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from lookout.sim import Scenario, ScenarioConfig  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "sim.json"
TARGET_1H_S = 30.0


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def bench_lookout(duration: float, seed: int = 7) -> tuple[list[dict], dict]:
    rows = []
    sc, t_build = _timed(lambda: Scenario(ScenarioConfig(seed=seed, duration_s=duration)))
    rows.append(dict(op="build scenario (truth, sensors, events)", n=len(sc.truth), unit="objects",
                     seconds=t_build))
    tab, t_cols = _timed(lambda: sc.table)
    rows.append(dict(op="generate observation columns (all sensors)", n=len(tab), unit="observations",
                     seconds=t_cols))
    obs, t_rec = _timed(lambda: list(sc.observations()))
    rows.append(dict(op="build Observation records", n=len(obs), unit="observations", seconds=t_rec))
    total = t_build + t_cols + t_rec
    rows.append(dict(op=f"total generation, {duration / 60:g} min simulated", n=len(obs), unit="observations",
                     seconds=total, target_s=TARGET_1H_S * duration / 3600.0))
    sc2 = Scenario(ScenarioConfig(seed=seed, duration_s=duration))
    n_steps, t_steps = _timed(lambda: sum(len(s.observations) for s in sc2.steps(dt=1.0)))
    rows.append(dict(op="fresh scenario iterated with steps(dt=1)", n=n_steps, unit="observations",
                     seconds=t_steps + 0.0))
    digest = lambda ob: hashlib.sha256("".join(f"{o.id}{o.time!r}" for o in ob).encode()).hexdigest()  # noqa: E731
    same = None
    if duration <= 600.0:
        again = Scenario(ScenarioConfig(seed=seed, duration_s=duration)).observations()
        same = digest(obs) == digest(list(again))
    by_source: dict[str, int] = {}
    for o in obs:
        by_source[str(o.source)] = by_source.get(str(o.source), 0) + 1
    info = dict(observations=len(obs), by_source=by_source, objects=len(sc.truth), events=len(sc.events),
                generation_s=total, obs_per_s=len(obs) / total, deterministic_recheck=same)
    try:
        from lookout.store.sqlite import SQLiteStore
    except ImportError:
        rows.append(dict(op="generate + store (SQLiteStore)", n=0, unit="", seconds=None,
                         note="lookout.store.sqlite not available"))
        return rows, info
    with tempfile.TemporaryDirectory() as d:
        def gen_and_store():
            s = SQLiteStore(Path(d) / "sim.db")
            sc3 = Scenario(ScenarioConfig(seed=seed, duration_s=duration))
            n, batch = 0, []
            for o in sc3.observations():
                batch.append(o)
                if len(batch) >= 20_000:
                    n += s.write_observations(batch)
                    batch = []
            n += s.write_observations(batch)
            s.close()
            return n

        n_stored, t_store = _timed(gen_and_store)
    rows.append(dict(op="generate + store (SQLiteStore, 20k batches)", n=n_stored, unit="observations",
                     seconds=t_store))
    info["generate_and_store_s"] = t_store
    return rows, info


def bench_stonesoup(duration: float, n_targets: int, seed: int = 7) -> dict:
    """Stone Soup: constant-velocity ground truth and detections (pd 0.9, 10 clutter/scan), 2 s scans."""
    from stonesoup.models.measurement.linear import LinearGaussian
    from stonesoup.models.transition.linear import CombinedLinearGaussianTransitionModel, ConstantVelocity
    from stonesoup.simulator.simple import MultiTargetGroundTruthSimulator, SimpleDetectionSimulator
    from stonesoup.types.array import StateVector
    from stonesoup.types.state import GaussianState

    period = 2.0
    steps = int(duration / period)
    truth = MultiTargetGroundTruthSimulator(
        transition_model=CombinedLinearGaussianTransitionModel([ConstantVelocity(0.05), ConstantVelocity(0.05)]),
        initial_state=GaussianState(StateVector([0, 0, 0, 0]), np.diag([5000.0, 10.0, 5000.0, 10.0]) ** 2,
                                    timestamp=dt.datetime(2026, 11, 1, 16, 0)),
        timestep=dt.timedelta(seconds=period), number_steps=steps, birth_rate=n_targets * period / duration,
        death_probability=period / duration, preexisting_states=[[0, 10, 0, 10]] * n_targets, seed=seed)
    meas = LinearGaussian(ndim_state=4, mapping=(0, 2), noise_covar=np.diag([10.0, 10.0]) ** 2)
    det = SimpleDetectionSimulator(groundtruth=truth, measurement_model=meas,
                                   meas_range=np.array([[-20000, 20000], [-20000, 20000]]),
                                   detection_probability=0.9, clutter_rate=10.0, seed=seed)

    def run():
        n = 0
        for _, dets in det:
            n += len(dets)
        return n

    n, t = _timed(run)
    return dict(n=n, seconds=t, per_s=n / t, steps=steps, targets=n_targets)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="10 simulated minutes instead of an hour")
    ap.add_argument("--no-peer", action="store_true", help="skip the Stone Soup comparison")
    args = ap.parse_args()
    duration = 600.0 if args.quick else 3600.0
    rows, info = bench_lookout(duration)
    peer = None
    if not args.no_peer:
        # the comparison runs 10 simulated minutes on both sides (Stone Soup is slow over an hour)
        try:
            peer_s = 600.0
            mine = Scenario(ScenarioConfig(seed=7, duration_s=peer_s))
            n_mine, t_mine = _timed(lambda: sum(1 for _ in mine.observations()))
            peer = bench_stonesoup(peer_s, n_targets=max(1, len(mine.truth)))
        except ImportError as exc:
            peer = dict(error=f"stonesoup not installed ({exc})")
    if peer and "per_s" in peer:
        rows.append(dict(op="Lookout, 10 min simulated (all sensors, records)", n=n_mine, unit="observations",
                         seconds=t_mine))
        rows.append(dict(op=f"peer: Stone Soup truth + detection simulators, 10 min ({peer['targets']} targets)",
                         n=peer["n"], unit="detections", seconds=peer["seconds"]))
        info["vs_peer"] = (n_mine / t_mine) / peer["per_s"]
    for r in rows:
        if r.get("seconds"):
            r["per_s"] = round(r["n"] / r["seconds"]) if r["n"] else None
            r["seconds"] = round(r["seconds"], 3)
    try:
        from rich.console import Console
        from rich.table import Table

        t = Table(title=f"lookout.sim: {duration / 60:g} simulated minutes of the default scenario (seed 7)")
        for c in ("operation", "n", "seconds", "per s", "note"):
            t.add_column(c, justify="left" if c in ("operation", "note") else "right")
        for r in rows:
            note = r.get("note", "")
            if "target_s" in r:
                note = f"target < {r['target_s']:g} s: {'met' if r['seconds'] < r['target_s'] else 'MISSED'}"
            if r["op"].startswith("peer") and "vs_peer" in info:
                note = f"Lookout obs/s over peer det/s: {info['vs_peer']:.2f}"
            t.add_row(r["op"], f"{r['n']:,} {r['unit']}", f"{r['seconds']}" if r.get("seconds") else "-",
                      f"{r.get('per_s') or '-':,}" if r.get("per_s") else "-", note)
        Console(width=150).print(t)
    except ImportError:
        for r in rows:
            print(r)
    print(f"observations by source: {info['by_source']}")
    result = dict(benchmark="sim", quick=args.quick, simulated_s=duration, rows=rows, info=info, peer=peer,
                  machine=dict(python=platform.python_version(), platform=platform.platform()))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    ok = info["generation_s"] < TARGET_1H_S * duration / 3600.0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
