"""Benchmark: Lookout's tracker against Stone Soup's KD-tree GNN and JPDA on fresh scenarios.

    .venv/bin/python benchmarks/tracker.py                    # 5 fresh seeds x 10, 100, 500 targets
    .venv/bin/python benchmarks/tracker.py --seeds 11,22,33   # reproduce a run (seeds from its results)
    .venv/bin/python benchmarks/tracker.py --quick            # a short smoke run

Every run draws its scenario seeds afresh from ``os.urandom`` (unless ``--seeds`` is given) and
records them, so the numbers are never those of scenarios anything was tuned on. Each seed and
density gives one scenario (``lookout.tracking.scenarios.make_scenario``): nearly-constant-velocity
targets (q = 0.5 m^2/s^3, 2-40 m/s) in 20 x 20 km, scan every 1 s, sigma 10 m, pd 0.9, Poisson
clutter (10 per scan), Poisson births and exponential lifetimes (and deaths on leaving the area).

Trackers, all on the same measurements:

* **Lookout**: ``PositionTracker`` with the configuration ``lookout track --sigma 10 --pd 0.9
  --clutter-density D`` runs (``lookout.commands.track.tracker_config``: every other option at
  the command's default, so it does *not* know the scenario's process noise), through the same
  ``PositionTracker.run`` the command calls.
* **Stone Soup GNN**: ``DetectionKDTreeGNN2D`` + ``DistanceHypothesiser(Mahalanobis)``, Kalman
  predictor/updater with the scenario's true model (q = 0.5, sigma 10), 99.9 % gate,
  ``MultiMeasurementInitiator`` (3 updates; its holding tracks deleted after 2 missed scans;
  new tracks at a detection with 25 m/s velocity sigma) and ``UpdateTimeStepsDeleter(4)``.
* **Stone Soup JPDA**: ``JPDAwithEHM2`` (Stone Soup's ``JPDA`` with efficient hypothesis
  management: the same exact joint-association marginals as ``JPDA``, whose plain enumeration
  over the product of every track's hypotheses cannot run with more than a few tracks) +
  ``PDAHypothesiser`` (true pd and clutter density, 99.9 % gate) + ``PDAUpdater``; initiation and
  deletion as for the GNN (a track coasts on a scan where no detection fell in its gate).

Scan counts per density are sized so that the whole default run (5 seeds) stays around 15 minutes
on a 2-core machine; Stone Soup's JPDA is run at every density, on fewer scans than the others
where noted by ``jpda_scans`` (it is several times slower than its GNN). GOSPA (c = 100 m, p = 2,
alpha = 2) is averaged over every scan of a run; a tracker's run over fewer scans is compared with
the others over the same scans. Throughput is observations / CPU seconds of the tracking loop alone
(BLAS pinned to one thread); Lookout's is the best of 3 repeats. Results: a per-seed table and a
per-density summary on stdout, everything in ``benchmarks/results/tracker.json``.
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

from lookout.commands.track import tracker_config  # noqa: E402
from lookout.tracking import PositionTracker  # noqa: E402
from lookout.tracking.metrics import gospa, id_switches  # noqa: E402
from lookout.tracking.scenarios import Scenario2D, make_scenario  # noqa: E402

Q = 0.5  # the scenarios' process noise (Stone Soup is given it; Lookout runs the CLI default)
SIGMA = 10.0
PD = 0.9
CLUTTER_PER_SCAN = 10.0
INIT_SPEED_SIGMA = 25.0
GATE_PROB = 0.999
SS_MIN_POINTS = 3
SS_HOLD_MISSES = 2
SS_DELETE_MISSES = 4
#: targets -> (scans, scans of Stone Soup's JPDA)
PLAN = {10: (300, 300), 100: (100, 50), 500: (20, 8)}
QUICK_PLAN = {10: (40, 40), 100: (12, 8), 500: (5, 4)}
TRACKERS = ("lookout", "ss_gnn", "ss_jpda")


def evaluate(sc: Scenario2D, outputs: list[tuple[np.ndarray, np.ndarray]]) -> dict:
    """Mean GOSPA and its parts, track count vs truth, id switches of per-scan ``(ids, xy)`` outputs."""
    g, missed, false, n_tracks, n_truth, at, ak = [], [], [], [], [], [], []
    for k, (ids, xy) in enumerate(outputs):
        tid, txy = sc.truth_at(k)
        r = gospa(txy, xy, c=100.0, p=2.0)
        g.append(r.gospa)
        missed.append(r.missed)
        false.append(r.false)
        n_tracks.append(len(ids))
        n_truth.append(len(tid))
        at.append(tid[r.assigned_truth])
        ak.append(np.asarray(ids)[r.assigned_est])
    return {"scans": len(outputs), "gospa_mean": float(np.mean(g)), "missed_mean": float(np.mean(missed)),
            "false_mean": float(np.mean(false)), "tracks_mean": float(np.mean(n_tracks)),
            "truth_mean": float(np.mean(n_truth)), "id_switches": id_switches(at, ak)}


def run_lookout(sc: Scenario2D, repeats: int = 3, n_obs: int | None = None) -> tuple[float, list]:
    """``lookout track``'s configuration and ``PositionTracker.run`` (on the first ``n_obs``
    observations when given); per-scan confirmed tracks."""
    cfg = tracker_config(sigma=SIGMA, pd=PD, clutter_density=sc.clutter_density)
    times, xy = sc.meas_time[:n_obs], sc.meas_xy[:n_obs]
    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        out_t, out_id, out_xy = PositionTracker(cfg).run(times, xy)
        best = min(best, time.process_time() - t0)
    a = np.searchsorted(out_t, sc.scan_times, "left")
    b = np.searchsorted(out_t, sc.scan_times, "right")
    return best, [(out_id[i:j], out_xy[i:j]) for i, j in zip(a, b)]


def _stonesoup_parts(clutter_density: float):
    from scipy.stats import chi2
    from stonesoup.dataassociator.tree import DetectionKDTreeGNN2D
    from stonesoup.deleter.time import UpdateTimeStepsDeleter
    from stonesoup.hypothesiser.distance import DistanceHypothesiser
    from stonesoup.initiator.simple import MultiMeasurementInitiator
    from stonesoup.measures import Mahalanobis
    from stonesoup.models.measurement.linear import LinearGaussian
    from stonesoup.models.transition.linear import CombinedLinearGaussianTransitionModel, ConstantVelocity
    from stonesoup.predictor.kalman import KalmanPredictor
    from stonesoup.types.array import CovarianceMatrix, StateVector
    from stonesoup.types.state import GaussianState
    from stonesoup.updater.kalman import KalmanUpdater

    transition = CombinedLinearGaussianTransitionModel([ConstantVelocity(Q), ConstantVelocity(Q)])
    mmodel = LinearGaussian(ndim_state=4, mapping=(0, 2), noise_covar=np.eye(2) * SIGMA ** 2)
    predictor = KalmanPredictor(transition)
    updater = KalmanUpdater(mmodel)
    gate = float(np.sqrt(chi2.ppf(GATE_PROB, 2)))

    def kd_gnn():
        # the kd-tree only pre-selects detections (Euclidean); the hypothesiser's Mahalanobis gate decides
        return DetectionKDTreeGNN2D(
            hypothesiser=DistanceHypothesiser(predictor, updater, measure=Mahalanobis(), missed_distance=gate),
            predictor=predictor, updater=updater, max_distance=2000.0)

    prior = GaussianState(StateVector([0, 0, 0, 0]),
                          CovarianceMatrix(np.diag([0, INIT_SPEED_SIGMA ** 2, 0, INIT_SPEED_SIGMA ** 2])))
    initiator = MultiMeasurementInitiator(
        prior_state=prior, measurement_model=mmodel,
        deleter=UpdateTimeStepsDeleter(time_steps_since_update=SS_HOLD_MISSES),
        data_associator=kd_gnn(), updater=updater, min_points=SS_MIN_POINTS)
    deleter = UpdateTimeStepsDeleter(time_steps_since_update=SS_DELETE_MISSES)
    return locals()


def run_stonesoup(sc: Scenario2D, kind: str, n_scans: int | None = None) -> tuple[float, list]:
    """Stone Soup's KD-tree GNN (``kind="gnn"``) or JPDA (``"jpda"``) over the first ``n_scans`` scans."""
    from stonesoup.types.array import StateVector
    from stonesoup.types.detection import Detection

    parts = _stonesoup_parts(sc.clutter_density)
    mmodel, predictor, initiator, deleter = parts["mmodel"], parts["predictor"], parts["initiator"], parts["deleter"]
    if kind == "gnn":
        associator, updater = parts["kd_gnn"](), parts["updater"]
    else:
        from stonesoup.dataassociator.probability import JPDAwithEHM2
        from stonesoup.hypothesiser.probability import PDAHypothesiser
        from stonesoup.updater.probability import PDAUpdater

        updater = PDAUpdater(mmodel)
        associator = JPDAwithEHM2(PDAHypothesiser(predictor, updater, clutter_spatial_density=sc.clutter_density,
                                                  prob_detect=PD, prob_gate=GATE_PROB))
    epoch = _dt.datetime(2025, 1, 1)
    scans = []
    for t, zs in list(sc.scans())[:n_scans]:
        ts = epoch + _dt.timedelta(seconds=float(t))
        scans.append((ts, [Detection(StateVector(z), timestamp=ts, measurement_model=mmodel) for z in zs]))
    tracks: set = set()
    number: dict = {}
    outputs = []
    t0 = time.process_time()
    for ts, dets in scans:
        dets = set(dets)
        hyps = associator.associate(tracks, dets, ts)
        used = set()
        for trk, hyp in hyps.items():
            if kind == "gnn":
                if hyp:
                    trk.append(updater.update(hyp))
                    used.add(hyp.measurement)
                else:
                    trk.append(hyp.prediction)
            elif any(h for h in hyp):  # JPDA: a weighted update when a detection fell in the gate
                trk.append(updater.update(hyp))
                used.update(h.measurement for h in hyp if h)
            else:
                trk.append(hyp.single_hypotheses[0].prediction)
        tracks -= deleter.delete_tracks(tracks)
        tracks |= initiator.initiate(dets - used, ts)
        ids, xy = [], []
        for trk in tracks:
            ids.append(number.setdefault(trk.id, len(number) + 1))
            xy.append([trk.state_vector[0, 0], trk.state_vector[2, 0]])
        outputs.append((np.array(ids, dtype=np.int64), np.array(xy).reshape(-1, 2)))
    return time.process_time() - t0, outputs


def one(n_targets: int, seed: int, scans: int, jpda_scans: int, stonesoup: bool) -> dict:
    sc = make_scenario(n_targets, scans, seed=seed, sigma=SIGMA, pd=PD, clutter_per_scan=CLUTTER_PER_SCAN, q=Q)
    n_obs = len(sc.meas_time)
    row: dict = {"targets": n_targets, "seed": seed, "scans": scans, "observations": n_obs}
    cpu, out = run_lookout(sc)
    row["lookout"] = {"cpu_s": cpu, "obs_per_s": n_obs / cpu, **evaluate(sc, out)}
    if stonesoup:
        ss_cpu, ss_out = run_stonesoup(sc, "gnn")
        row["ss_gnn"] = {"cpu_s": ss_cpu, "obs_per_s": n_obs / ss_cpu, **evaluate(sc, ss_out)}
        row["speed_ratio_gnn"] = ss_cpu / cpu
        jp_cpu, jp_out = run_stonesoup(sc, "jpda", jpda_scans)
        jp_obs = int(np.searchsorted(sc.meas_time, sc.scan_times[jpda_scans - 1], "right"))
        row["ss_jpda"] = {"cpu_s": jp_cpu, "obs_per_s": jp_obs / jp_cpu, **evaluate(sc, jp_out)}
        # Lookout over the same scans, for the comparison with the shorter JPDA run
        row["lookout_on_jpda_scans"] = evaluate(sc, out[:jpda_scans])
        row["ss_gnn_on_jpda_scans"] = evaluate(sc, ss_out[:jpda_scans])
        lk_cpu_part, _ = run_lookout(sc, n_obs=jp_obs)
        row["lookout_on_jpda_scans"]["cpu_s"] = lk_cpu_part
        row["speed_ratio_jpda"] = jp_cpu / lk_cpu_part
    return row


def summarise(rows: list[dict]) -> dict:
    out = {}
    for n in sorted({r["targets"] for r in rows}):
        rs = [r for r in rows if r["targets"] == n]
        s = {"seeds": [r["seed"] for r in rs], "scans": rs[0]["scans"],
             "gospa_lookout": float(np.mean([r["lookout"]["gospa_mean"] for r in rs])),
             "lookout_obs_per_s": float(np.mean([r["lookout"]["obs_per_s"] for r in rs]))}
        if "ss_gnn" in rs[0]:
            s.update({
                "gospa_ss_gnn": float(np.mean([r["ss_gnn"]["gospa_mean"] for r in rs])),
                "jpda_scans": rs[0]["ss_jpda"]["scans"],
                "gospa_ss_jpda": float(np.mean([r["ss_jpda"]["gospa_mean"] for r in rs])),
                "gospa_lookout_on_jpda_scans": float(np.mean([r["lookout_on_jpda_scans"]["gospa_mean"] for r in rs])),
                "gospa_ss_gnn_on_jpda_scans": float(np.mean([r["ss_gnn_on_jpda_scans"]["gospa_mean"] for r in rs])),
                "speed_ratio_gnn_min": float(min(r["speed_ratio_gnn"] for r in rs)),
                "speed_ratio_gnn_median": float(np.median([r["speed_ratio_gnn"] for r in rs])),
                "speed_ratio_jpda_min": float(min(r["speed_ratio_jpda"] for r in rs)),
                "seeds_lookout_le_gnn": sum(r["lookout"]["gospa_mean"] <= r["ss_gnn"]["gospa_mean"] for r in rs),
                "seeds_lookout_le_jpda": sum(r["lookout_on_jpda_scans"]["gospa_mean"] <= r["ss_jpda"]["gospa_mean"]
                                             for r in rs),
            })
        out[str(n)] = s
    return out


def print_tables(rows: list[dict], summary: dict) -> None:
    ss = "ss_gnn" in rows[0]
    hdr = (f"{'targets':>7} {'seed':>10} {'scans':>5} {'obs':>7} | {'GOSPA LK':>8} "
           + (f"{'SS-GNN':>7} {'LK(J)':>7} {'SS-JPDA':>7} | " if ss else "| ")
           + f"{'LK obs/s':>9} " + (f"{'GNN obs/s':>9} {'x GNN':>6} {'x JPDA':>7} | " if ss else "| ")
           + "tracks LK/true | id sw LK" + ("/GNN/JPDA" if ss else ""))
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        lk = r["lookout"]
        line = f"{r['targets']:>7} {r['seed']:>10} {r['scans']:>5} {r['observations']:>7} | {lk['gospa_mean']:>8.1f} "
        if ss:
            line += (f"{r['ss_gnn']['gospa_mean']:>7.1f} {r['lookout_on_jpda_scans']['gospa_mean']:>7.1f} "
                     f"{r['ss_jpda']['gospa_mean']:>7.1f} | ")
        else:
            line += "| "
        line += f"{lk['obs_per_s']:>9,.0f} "
        if ss:
            line += (f"{r['ss_gnn']['obs_per_s']:>9,.0f} {r['speed_ratio_gnn']:>5.0f}x "
                     f"{r['speed_ratio_jpda']:>6.0f}x | ")
        else:
            line += "| "
        line += f"{lk['tracks_mean']:>6.1f}/{lk['truth_mean']:<6.1f} | {lk['id_switches']}"
        if ss:
            line += f"/{r['ss_gnn']['id_switches']}/{r['ss_jpda']['id_switches']}"
        print(line)
    print("\nPer density (mean over seeds; LK(J) / SS-GNN(J): over the JPDA run's scans):")
    for n, s in summary.items():
        line = f"  {n:>3} targets, {s['scans']} scans: GOSPA Lookout {s['gospa_lookout']:.1f}"
        if "gospa_ss_gnn" in s:
            line += (f", SS-GNN {s['gospa_ss_gnn']:.1f} (Lookout <= on {s['seeds_lookout_le_gnn']}/{len(s['seeds'])} "
                     f"seeds); over {s['jpda_scans']} scans: Lookout {s['gospa_lookout_on_jpda_scans']:.1f}, "
                     f"SS-GNN {s['gospa_ss_gnn_on_jpda_scans']:.1f}, SS-JPDA {s['gospa_ss_jpda']:.1f} (Lookout <= on "
                     f"{s['seeds_lookout_le_jpda']}/{len(s['seeds'])}); speed x GNN min {s['speed_ratio_gnn_min']:.0f} "
                     f"(median {s['speed_ratio_gnn_median']:.0f}), x JPDA min {s['speed_ratio_jpda_min']:.0f}")
        print(line)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="short scenarios (a smoke run)")
    ap.add_argument("--seeds", type=lambda s: [int(v) for v in s.split(",") if v], default=None,
                    help="comma-separated scenario seeds (default: --n-seeds drawn from os.urandom)")
    ap.add_argument("--n-seeds", type=int, default=5)
    ap.add_argument("--targets", type=lambda s: [int(v) for v in s.split(",") if v], default=None,
                    help="densities to run (default 10,100,500)")
    ap.add_argument("--no-stonesoup", action="store_true", help="run Lookout only")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "tracker.json")
    args = ap.parse_args(argv)
    plan = QUICK_PLAN if args.quick else PLAN
    targets = args.targets or list(plan)
    seeds = args.seeds or [int.from_bytes(os.urandom(4), "little") for _ in range(args.n_seeds)]
    load_before = os.getloadavg()
    t_start = time.time()
    rows = []
    for n in targets:
        scans, jpda_scans = plan.get(n, plan[min(plan, key=lambda k: abs(k - n))])
        for seed in seeds:
            rows.append(one(n, seed, scans, min(jpda_scans, scans), not args.no_stonesoup))
            print(f"  done: {n} targets, seed {seed} ({time.time() - t_start:.0f} s)", file=sys.stderr, flush=True)
    summary = summarise(rows)
    print_tables(rows, summary)
    result = {"benchmark": "tracker", "quick": args.quick, "seeds": seeds, "seeds_drawn": args.seeds is None,
              "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
              "load_avg_before": load_before, "load_avg_after": os.getloadavg(),
              "wall_s": round(time.time() - t_start, 1), "summary": summary, "rows": rows,
              "settings": {"q": Q, "sigma": SIGMA, "pd": PD, "clutter_per_scan": CLUTTER_PER_SCAN, "area_m": 20000,
                           "lookout_config": {k: v for k, v in vars(tracker_config(
                               sigma=SIGMA, pd=PD, clutter_density=CLUTTER_PER_SCAN / 20000.0 ** 2)).items()},
                           "stonesoup": {"gate_prob": GATE_PROB, "min_points": SS_MIN_POINTS,
                                         "hold_misses": SS_HOLD_MISSES, "delete_misses": SS_DELETE_MISSES,
                                         "init_speed_sigma": INIT_SPEED_SIGMA},
                           "plan": {str(k): v for k, v in plan.items()},
                           "gospa": {"c": 100.0, "p": 2, "alpha": 2}, "throughput": "observations / CPU s"}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"\nseeds {','.join(map(str, seeds))}; wall {result['wall_s']:.0f} s; load average "
          f"{load_before[0]:.1f} before, {result['load_avg_after'][0]:.1f} after; results: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
