"""Benchmark: Lookout's tracker against Stone Soup on identical seeded 2-D scenarios.

    .venv/bin/python benchmarks/tracker.py            # 10, 100 and 500 targets
    .venv/bin/python benchmarks/tracker.py --quick    # a short run

Each scenario (``lookout.tracking.scenarios.make_scenario``): nearly-constant-velocity targets
in 20 x 20 km, scan every 1 s, sigma 10 m, pd 0.9, Poisson clutter (10 per scan), births and
deaths. Both trackers get the same measurements and the same model: NCV Kalman filter
(q = 0.5 m^2/s^3), measurement sigma 10 m, new tracks at a measurement with zero velocity and
25 m/s velocity sigma, Mahalanobis gate at 99.9 %, global nearest neighbour, deletion after 4
missed scans in a row. Confirmation: Lookout 3 hits in the last 5 scans; Stone Soup's
``MultiMeasurementInitiator`` 3 updates, its holding tracks deleted after 2 missed scans.
Stone Soup runs ``GNNWith2DAssignment`` + ``DistanceHypothesiser(Mahalanobis)`` with
``MultiMeasurementInitiator`` and ``UpdateTimeStepsDeleter``.

Throughput is observations / CPU seconds of the tracking loop alone (one core: BLAS threads are
pinned to 1), best of the repeats. Mean GOSPA (c = 100 m, p = 2, alpha = 2) over all scans,
mean confirmed tracks vs mean true targets, and identity switches come from the same runs.
Results: a table on stdout and ``benchmarks/results/tracker.json``.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import datetime as _dt  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from lookout.tracking import PositionTracker, TrackerConfig  # noqa: E402
from lookout.tracking.metrics import gospa, id_switches  # noqa: E402
from lookout.tracking.scenarios import Scenario2D, make_scenario  # noqa: E402

Q = 0.5
SIGMA = 10.0
INIT_SPEED_SIGMA = 25.0
GATE_PROB = 0.999
CONFIRM = 3
CONFIRM_WINDOW = 5
DELETE_MISSES = 4


def evaluate(sc: Scenario2D, outputs: list[tuple[np.ndarray, np.ndarray]]) -> dict:
    """Mean GOSPA and its parts, track count vs truth, id switches of per-scan (ids, xy) outputs."""
    g, loc, missed, false, n_tracks, n_truth, at, ak = [], [], [], [], [], [], [], []
    for k, (ids, xy) in enumerate(outputs):
        tid, txy = sc.truth_at(k)
        r = gospa(txy, xy, c=100.0, p=2.0)
        g.append(r.gospa)
        loc.append(r.localisation)
        missed.append(r.missed)
        false.append(r.false)
        n_tracks.append(len(ids))
        n_truth.append(len(tid))
        at.append(tid[r.assigned_truth])
        ak.append(np.asarray(ids)[r.assigned_est])
    return {"gospa_mean": float(np.mean(g)), "missed_mean": float(np.mean(missed)),
            "false_mean": float(np.mean(false)), "tracks_mean": float(np.mean(n_tracks)),
            "truth_mean": float(np.mean(n_truth)), "id_switches": id_switches(at, ak)}


def run_lookout(sc: Scenario2D, repeats: int) -> tuple[float, list]:
    scans = list(sc.scans())
    cfg = TrackerConfig(sigma=SIGMA, pd=sc.pd, clutter_density=sc.clutter_density, q_h=Q,
                        init_speed_sigma=INIT_SPEED_SIGMA, gate_prob=GATE_PROB, confirm_m=CONFIRM,
                        confirm_n=CONFIRM_WINDOW, delete_misses=DELETE_MISSES)
    best, outputs = float("inf"), []
    for _ in range(repeats):
        tr = PositionTracker(cfg)
        outs = []
        t0 = time.process_time()
        for t, z in scans:
            tr.step(t, z)
            ids, st = tr.confirmed_tracks()
            outs.append((ids, st[:, :2]))
        best = min(best, time.process_time() - t0)
        outputs = outs
    return best, outputs


def run_stonesoup(sc: Scenario2D) -> tuple[float, list]:
    from scipy.stats import chi2
    from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
    from stonesoup.deleter.time import UpdateTimeStepsDeleter
    from stonesoup.hypothesiser.distance import DistanceHypothesiser
    from stonesoup.initiator.simple import MultiMeasurementInitiator
    from stonesoup.measures import Mahalanobis
    from stonesoup.models.measurement.linear import LinearGaussian
    from stonesoup.models.transition.linear import CombinedLinearGaussianTransitionModel, ConstantVelocity
    from stonesoup.predictor.kalman import KalmanPredictor
    from stonesoup.types.array import CovarianceMatrix, StateVector
    from stonesoup.types.detection import Detection
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.kalman import KalmanUpdater

    transition = CombinedLinearGaussianTransitionModel([ConstantVelocity(Q), ConstantVelocity(Q)])
    mmodel = LinearGaussian(ndim_state=4, mapping=(0, 2), noise_covar=np.eye(2) * SIGMA ** 2)
    predictor = KalmanPredictor(transition)
    updater = KalmanUpdater(mmodel)
    gate = float(np.sqrt(chi2.ppf(GATE_PROB, 2)))
    hypothesiser = DistanceHypothesiser(predictor, updater, measure=Mahalanobis(), missed_distance=gate)
    associator = GNNWith2DAssignment(hypothesiser)
    deleter = UpdateTimeStepsDeleter(time_steps_since_update=DELETE_MISSES)
    prior = GaussianState(StateVector([0, 0, 0, 0]),
                          CovarianceMatrix(np.diag([0, INIT_SPEED_SIGMA ** 2, 0, INIT_SPEED_SIGMA ** 2])))
    initiator = MultiMeasurementInitiator(
        prior_state=prior, measurement_model=mmodel, deleter=UpdateTimeStepsDeleter(time_steps_since_update=2),
        data_associator=GNNWith2DAssignment(DistanceHypothesiser(predictor, updater, measure=Mahalanobis(),
                                                                 missed_distance=gate)),
        updater=updater, min_points=CONFIRM)
    epoch = _dt.datetime(2025, 1, 1)
    scans = [(epoch + _dt.timedelta(seconds=float(t)),
              [Detection(StateVector(z), timestamp=epoch + _dt.timedelta(seconds=float(t)), measurement_model=mmodel)
               for z in zs]) for t, zs in sc.scans()]
    tracks: set = set()
    number: dict = {}
    outputs = []
    t0 = time.process_time()
    for ts, dets in scans:
        dets = set(dets)
        hyps = associator.associate(tracks, dets, ts)
        used = set()
        for trk, hyp in hyps.items():
            if hyp:
                trk.append(updater.update(hyp))
                used.add(hyp.measurement)
            else:
                trk.append(hyp.prediction)
        tracks -= deleter.delete_tracks(tracks)
        tracks |= initiator.initiate(dets - used, ts)
        ids, xy = [], []
        for trk in tracks:
            ids.append(number.setdefault(trk.id, len(number) + 1))
            xy.append([trk.state_vector[0, 0], trk.state_vector[2, 0]])
        outputs.append((np.array(ids, dtype=np.int64), np.array(xy).reshape(-1, 2)))
    return time.process_time() - t0, outputs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="short scenarios (a smoke run)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-stonesoup", action="store_true", help="run Lookout only")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "tracker.json")
    args = ap.parse_args(argv)
    # (targets, scans compared with Stone Soup, scans of the longer Lookout-only throughput run)
    plan = [(10, 40, 200), (100, 10, 100), (500, 4, 30)] if args.quick else \
        [(10, 200, 600), (100, 40, 300), (500, 10, 300)]
    rows = []
    for n, scans_cmp, scans_long in plan:
        sc = make_scenario(n, scans_cmp, seed=args.seed)
        n_obs = len(sc.meas_time)
        lk_cpu, lk_out = run_lookout(sc, repeats=3)
        row = {"targets": n, "scans": scans_cmp, "observations": n_obs,
               "lookout_obs_per_s": n_obs / lk_cpu, "lookout": evaluate(sc, lk_out)}
        if not args.no_stonesoup:
            ss_cpu, ss_out = run_stonesoup(sc)
            row["stonesoup_obs_per_s"] = n_obs / ss_cpu
            row["speed_ratio"] = ss_cpu / lk_cpu
            row["stonesoup"] = evaluate(sc, ss_out)
        long_sc = make_scenario(n, scans_long, seed=args.seed + 1000)
        long_cpu, long_out = run_lookout(long_sc, repeats=1 if args.quick else 2)
        row["lookout_long"] = {"scans": scans_long, "observations": len(long_sc.meas_time),
                               "obs_per_s": len(long_sc.meas_time) / long_cpu, **evaluate(long_sc, long_out)}
        rows.append(row)
        print(f"  done: {n} targets", file=sys.stderr, flush=True)

    hdr = (f"{'targets':>7} {'scans':>5} {'obs':>7} | {'Lookout obs/s':>13} {'StoneSoup obs/s':>15} {'ratio':>7} | "
           f"{'GOSPA LK':>8} {'GOSPA SS':>8} | {'tracks LK/SS/true':>19} | {'id sw LK/SS':>11}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        lk, ss = r["lookout"], r.get("stonesoup")
        print(f"{r['targets']:>7} {r['scans']:>5} {r['observations']:>7} | {r['lookout_obs_per_s']:>13,.0f} "
              + (f"{r['stonesoup_obs_per_s']:>15,.0f} {r['speed_ratio']:>6.0f}x | " if ss else f"{'-':>15} {'-':>7} | ")
              + f"{lk['gospa_mean']:>8.1f} " + (f"{ss['gospa_mean']:>8.1f}" if ss else f"{'-':>8}")
              + f" | {lk['tracks_mean']:>5.1f}/" + (f"{ss['tracks_mean']:.1f}" if ss else "-")
              + f"/{lk['truth_mean']:.1f}".ljust(8)
              + f" | {lk['id_switches']:>4}/" + (f"{ss['id_switches']}" if ss else "-"))
    print("\nLookout alone on longer runs (other seed):")
    print(f"{'targets':>7} {'scans':>5} {'obs':>8} | {'obs/s':>10} | {'GOSPA':>7} | {'tracks/true':>13} | {'id sw':>5}")
    for r in rows:
        lg = r["lookout_long"]
        print(f"{r['targets']:>7} {lg['scans']:>5} {lg['observations']:>8} | {lg['obs_per_s']:>10,.0f} | "
              f"{lg['gospa_mean']:>7.1f} | {lg['tracks_mean']:>6.1f}/{lg['truth_mean']:<6.1f} | {lg['id_switches']:>5}")
    result = {"benchmark": "tracker", "quick": args.quick, "seed": args.seed,
              "python": platform.python_version(), "machine": platform.machine(), "rows": rows,
              "settings": {"q": Q, "sigma": SIGMA, "pd": 0.9, "clutter_per_scan": 10, "area_m": 20000,
                           "gate_prob": GATE_PROB, "confirm": CONFIRM, "confirm_window": CONFIRM_WINDOW, "delete_misses": DELETE_MISSES,
                           "gospa": {"c": 100.0, "p": 2, "alpha": 2}, "throughput": "observations / CPU s"}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"\nresults: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
