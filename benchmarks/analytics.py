"""Analytics benchmark: surveillance-mission detection and crossing-corridor clustering.

Targets (one core): mission detection over 30 days of a busy sector (1 million track points)
in under 60 s; corridor clustering of 100,000 crossings in under 10 s.

Wide area: a month of an aggregated ADS-B history over six regions thousands of km apart
(Texas, France, Alaska, Fiji across the antimeridian, Australia, northern Norway), written as
SBS-1 lines and run through what ``lookout missions FILE`` does (the file read in chunks,
decoded with no receiver position, missions streamed), in a fresh process each: its time and
peak memory (maximum resident set), against reading the whole history first.

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


def _wide_area_run(path: str, streamed: bool, out, max_pending: int | None = None) -> None:
    """In a child process: the missions of the SBS file at ``path``; puts the numbers on ``out``."""
    import resource

    from lookout.analytics.history import ReadStats, iter_history_file, read_history_file
    from lookout.analytics.missions import MissionStream, detect_missions

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    if streamed:
        stats = ReadStats()
        stream = MissionStream() if max_pending is None else MissionStream(max_pending_points=max_pending)
        for chunk in iter_history_file(path, "sbs", stats=stats):
            stream.add(chunk)
        missions = stream.finish()
    else:
        hist, stats = read_history_file(path, "sbs")
        missions = detect_missions(hist)
    wall = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out.put({"wall_s": wall, "peak_rss_mb": rss / 1024.0, "start_rss_mb": rss0 / 1024.0,
             "positions": stats.positions, "lines": stats.lines, "rejected": dict(stats.rejected),
             "missions": [(m.icao24, m.start, m.end) for m in missions]})


#: the pending-point bound of the third wide-area run (memory held whatever the history's size)
BOUNDED_PENDING = 200_000


def bench_wide_area(n_flights: int) -> dict:
    import multiprocessing as mp
    import tempfile

    from lookout.analytics.synth import WIDE_AREA, sbs_lines, synth_wide_area

    t = time.perf_counter()
    hist, truths, region_of = synth_wide_area(n_flights, seed=77, start_time=T0, days=30, dt=5.0, noise_m=20.0)
    gen_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "month.sbs"
        t = time.perf_counter()
        with open(path, "w") as f:
            for line in sbs_lines(hist):
                f.write(line + "\n")
        write_s = time.perf_counter() - t
        size_mb = path.stat().st_size / 1e6
        runs = {}
        ctx = mp.get_context("spawn")
        for key, streamed, bound in (("stream", True, None), ("whole", False, None),
                                     ("bounded", True, BOUNDED_PENDING)):
            q = ctx.Queue()
            proc = ctx.Process(target=_wide_area_run, args=(str(path), streamed, q, bound))
            proc.start()
            runs[key] = q.get()
            proc.join()
    got = runs["stream"]
    by = defaultdict(list)
    for icao, m0, m1 in got["missions"]:
        by[icao].append((m0, m1))
    surveil = [tr for tr in truths if tr.is_mission]
    found = [tr for tr in surveil if any(a < tr.mission_end and b > tr.mission_start for a, b in by[tr.ident])]
    truth_of = {tr.ident: tr for tr in truths}
    tp = sum(1 for icao, _, _ in got["missions"] if truth_of[icao].is_mission)
    lat, lon = hist.lat, hist.lon
    return {
        "regions": [r[0] for r in WIDE_AREA], "days": 30, "flights": len(truths), "aircraft": len(region_of),
        "points": len(hist), "sbs_lines": got["lines"], "sbs_mb": round(size_mb, 1),
        "span_deg": {"lat": [round(float(lat.min()), 1), round(float(lat.max()), 1)],
                     "lon": [round(float(lon.min()), 1), round(float(lon.max()), 1)]},
        "generate_s": round(gen_s, 2), "write_s": round(write_s, 2),
        "streamed_wall_s": round(got["wall_s"], 2), "streamed_peak_rss_mb": round(got["peak_rss_mb"], 1),
        "whole_wall_s": round(runs["whole"]["wall_s"], 2), "whole_peak_rss_mb": round(runs["whole"]["peak_rss_mb"], 1),
        "bounded_pending_points": BOUNDED_PENDING, "bounded_wall_s": round(runs["bounded"]["wall_s"], 2),
        "bounded_peak_rss_mb": round(runs["bounded"]["peak_rss_mb"], 1),
        "process_start_rss_mb": round(got["start_rss_mb"], 1),
        "lines_per_s": round(got["lines"] / got["wall_s"]), "positions": got["positions"],
        "rejected": got["rejected"], "missions": len(got["missions"]), "scripted_missions": len(surveil),
        "same_as_whole": got["missions"] == runs["whole"]["missions"] == runs["bounded"]["missions"],
        "recall": round(len(found) / max(1, len(surveil)), 4),
        "precision": round(tp / max(1, len(got["missions"])), 4),
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
    w = bench_wide_area(300 if args.quick else 3000)
    rows = [
        ("mission detection", f"{m['points']:,} points, {m['flights']} flights, 30 days", m["detect_wall_s"], 60.0,
         f"recall {m['recall']:.3f} (orbits {m['orbit_recall']:.3f}), precision {m['precision']:.3f}, "
         f"pattern {m['pattern_accuracy']:.3f}"),
        ("crossings from tracks", f"{c['track_points']:,} track points", c["crossings_from_tracks_s"], None,
         f"{c['crossings']:,} crossings"),
        ("corridor clustering", f"{c['crossings']:,} crossings", c["cluster_s"], 10.0,
         f"{c['corridors_matched']}/{c['corridors_scripted']} scripted corridors found "
         f"({c['corridors_found']} in all)"),
        ("wide-area month (SBS)", f"{w['sbs_lines']:,} lines, {w['aircraft']} aircraft, 6 regions",
         w["streamed_wall_s"], None, f"peak {w['streamed_peak_rss_mb']:.0f} MB; {w['bounded_pending_points']:,} held: "
         f"{w['bounded_peak_rss_mb']:.0f} MB, {w['bounded_wall_s']:.1f} s; "
         f"whole file: {w['whole_peak_rss_mb']:.0f} MB, "
         f"{w['whole_wall_s']:.1f} s (process {w['process_start_rss_mb']:.0f} MB); recall {w['recall']:.3f}, "
         f"precision {w['precision']:.3f}, same missions {w['same_as_whole']}"),
    ]
    print(f"{'benchmark':<24}{'size':<46}{'seconds':>9}{'target':>8}{'x under':>9}  quality")
    for name, size, sec, target, quality in rows:
        tgt = f"{target:.0f}" if target else "-"
        ratio = f"{target / sec:.1f}" if target and sec > 0 else "-"
        print(f"{name:<24}{size:<46}{sec:>9.2f}{tgt:>8}{ratio:>9}  {quality}")
    result = {"benchmark": "analytics", "quick": args.quick, "python": platform.python_version(),
              "machine": platform.machine(), "cpus": os.cpu_count(), "load_avg": list(os.getloadavg()),
              "missions": m, "corridors": c, "wide_area": w,
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
