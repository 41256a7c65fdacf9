"""Analytics benchmark: surveillance-mission detection and crossing-corridor clustering.

Targets (one core): mission detection over 30 days of a busy sector (1 million track points)
in under 60 s; corridor clustering of 100,000 crossings in under 10 s.

Data are synthetic with known ground truth (:mod:`lookout.analytics.synth`), so the run also
reports recall and precision of the detection and how well the scripted corridors were found.

    .venv/bin/python benchmarks/analytics.py [--quick]

Prints a table and writes ``benchmarks/results/analytics.json``.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")  # one core, as the target says

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from lookout.analytics.corridors import crossings_from_tracks, find_corridors  # noqa: E402
from lookout.analytics.missions import detect_missions  # noqa: E402
from lookout.analytics.synth import CorridorTruth, synth_crossing_tracks, synth_flights  # noqa: E402
from lookout.sector import load_sector  # noqa: E402

T0 = 1_767_225_600.0
DAY = 86400.0


def bench_missions(points_target: int) -> dict:
    # about 380 points per flight at 5 s reporting: choose the flight count for the target
    n_flights = max(50, int(points_target / 380))
    t = time.perf_counter()
    hist, truths = synth_flights(n_flights, seed=2024, days=30, dt=5.0, noise_m=20.0)
    gen_s = time.perf_counter() - t
    t = time.perf_counter()
    cpu0 = time.process_time()
    missions = detect_missions(hist)
    wall = time.perf_counter() - t
    cpu = time.process_time() - cpu0
    by = defaultdict(list)
    for m in missions:
        by[m.icao24].append(m)
    surveil = [tr for tr in truths if tr.is_mission]
    found = [tr for tr in surveil if any(m.start < tr.mission_end and m.end > tr.mission_start for m in by[tr.ident])]
    orbits = [tr for tr in surveil if tr.kind == "orbit"]
    orbit_found = [tr for tr in orbits if tr in found]
    truth_of = {tr.ident: tr for tr in truths}
    tp = sum(1 for m in missions if truth_of[m.icao24].is_mission)
    pattern_ok = sum(1 for m in missions if m.pattern == truth_of[m.icao24].kind)
    return {
        "points": len(hist), "flights": len(truths), "days": 30, "generate_s": round(gen_s, 2),
        "detect_wall_s": round(wall, 2), "detect_cpu_s": round(cpu, 2), "target_s": 60.0,
        "points_per_s": round(len(hist) / wall), "missions": len(missions), "scripted_missions": len(surveil),
        "recall": round(len(found) / max(1, len(surveil)), 4),
        "orbit_recall": round(len(orbit_found) / max(1, len(orbits)), 4),
        "precision": round(tp / max(1, len(missions)), 4),
        "pattern_accuracy": round(pattern_ok / max(1, len(missions)), 4),
    }


def bench_corridors(n_crossings: int) -> dict:
    sector = load_sector()
    share = [0.3, 0.2, 0.15, 0.1, 0.05]  # five corridors; 20 % noise along the whole line
    cors = [CorridorTruth(along, spread, int(n_crossings * s), start=T0, end=T0 + 30 * DAY)
            for along, spread, s in zip((5000, 12000, 20000, 29000, 38000), (150, 250, 120, 200, 100), share)]
    noise = n_crossings - sum(c.count for c in cors)
    t = time.perf_counter()
    ids, tt, lat, lon, labels, _ = synth_crossing_tracks(sector, cors, noise_count=noise, seed=7, points_each_side=1)
    gen_s = time.perf_counter() - t
    t = time.perf_counter()
    cr = crossings_from_tracks(ids, tt, lat, lon, sector)
    from_tracks_s = time.perf_counter() - t
    t = time.perf_counter()
    found = find_corridors(cr, frame=sector.frame, rank_by="count")
    cluster_s = time.perf_counter() - t
    from shapely.geometry import Point

    along = []
    for c in found:
        e, n, _ = sector.frame.to_enu(c.center_lat, c.center_lon, 0.0)
        along.append(sector.border_enu.project(Point(e, n)))
    matched = sum(1 for c in cors if any(abs(a - c.along_m) < 500 for a in along))
    return {
        "crossings": len(cr), "track_points": int(len(tt)), "generate_s": round(gen_s, 2),
        "crossings_from_tracks_s": round(from_tracks_s, 3), "cluster_s": round(cluster_s, 3), "target_s": 10.0,
        "corridors_found": len(found), "corridors_scripted": len(cors), "corridors_matched": matched,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="100k points and 10k crossings instead of 1M and 100k")
    args = ap.parse_args()
    m = bench_missions(100_000 if args.quick else 1_000_000)
    c = bench_corridors(10_000 if args.quick else 100_000)
    rows = [
        ("mission detection", f"{m['points']:,} points, {m['flights']} flights, 30 days", m["detect_wall_s"], 60.0,
         f"recall {m['recall']:.3f} (orbits {m['orbit_recall']:.3f}), precision {m['precision']:.3f}, "
         f"pattern {m['pattern_accuracy']:.3f}"),
        ("crossings from tracks", f"{c['track_points']:,} track points", c["crossings_from_tracks_s"], None,
         f"{c['crossings']:,} crossings"),
        ("corridor clustering", f"{c['crossings']:,} crossings", c["cluster_s"], 10.0,
         f"{c['corridors_matched']}/{c['corridors_scripted']} scripted corridors found ({c['corridors_found']} in all)"),
    ]
    print(f"{'benchmark':<24}{'size':<40}{'seconds':>9}{'target':>8}{'x under':>9}  quality")
    for name, size, sec, target, quality in rows:
        tgt = f"{target:.0f}" if target else "-"
        ratio = f"{target / sec:.1f}" if target and sec > 0 else "-"
        print(f"{name:<24}{size:<40}{sec:>9.2f}{tgt:>8}{ratio:>9}  {quality}")
    result = {"benchmark": "analytics", "quick": args.quick, "python": platform.python_version(),
              "machine": platform.machine(), "cpus": os.cpu_count(), "missions": m, "corridors": c,
              "targets_met": bool(m["detect_wall_s"] < 60.0 and c["cluster_s"] < 10.0)}
    out = ROOT / "benchmarks" / "results" / "analytics.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=1))
    tmp.replace(out)
    print(f"results: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
