"""Store throughput: write and read 100k observations and 100k track points, SQLite and PostgreSQL.

``python benchmarks/store.py [--quick] [--postgres URL]``. Prints a table and writes
``benchmarks/results/store.json``. PostgreSQL runs in a throw-away schema (dropped afterwards)
and is left out, with a note, when no server answers at the URL. The peer is a bare
``sqlite3.executemany`` of the same pre-built rows into the same table (no JSON encoding, no
record checks): the ``vs peer`` column is the store's time over the peer's.
Target: writing 100k observations to SQLite takes under 5 s. Each row also gives this process's
CPU seconds (steadier than wall time on a shared machine; PostgreSQL's server time is not in it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from lookout.model import GeoPoint, GeoPosition, ObjectClass, Observation, SourceKind, Track, Velocity  # noqa: E402
from lookout.sector import load_sector  # noqa: E402
from lookout.store.base import BBox  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "store.json"
T0 = 1_790_000_000.0
TARGET_WRITE_100K_OBS_S = 5.0


def make_observations(n: int, seed: int = 1) -> list[Observation]:
    """``n`` ADS-B-like observations of 200 aircraft flying straight across the sector, 1 Hz."""
    rng = np.random.default_rng(seed)
    sector = load_sector()
    k = 200
    start = rng.uniform(-20000, 20000, (k, 2))
    vel = rng.uniform(-80, 80, (k, 2))
    i = np.arange(n)
    ac, step = i % k, i // k
    e = start[ac, 0] + vel[ac, 0] * step
    nn = start[ac, 1] + vel[ac, 1] * step
    lat, lon, alt = sector.frame.to_geodetic(e, nn, np.full(n, 2000.0))
    out = []
    for j in range(n):
        a = int(ac[j])
        out.append(Observation(
            time=T0 + float(step[j]) + a * 1e-3, source=SourceKind.ADSB, sensor=f"adsb-{a % 3}",
            ident=f"{0xa00000 + a:06x}", callsign=f"N{a:04d}",
            position=GeoPosition(float(lat[j]), float(lon[j]), float(alt[j]), sigma_h_m=15.0),
            velocity=Velocity(float(vel[a, 0]), float(vel[a, 1])), cls=ObjectClass.FIXED_WING,
        ))
    return out


def make_track_steps(n: int, tracks: int = 100, seed: int = 2) -> list[list[Track]]:
    """``n`` track states as the tracker emits them: one batch of ``tracks`` states per second."""
    rng = np.random.default_rng(seed)
    sector = load_sector()
    steps = n // tracks
    start = rng.uniform(-20000, 20000, (tracks, 2))
    vel = rng.uniform(-40, 40, (tracks, 2))
    s = np.arange(steps)[:, None]
    e = start[None, :, 0] + vel[None, :, 0] * s
    nn = start[None, :, 1] + vel[None, :, 1] * s
    lat, lon, alt = sector.frame.to_geodetic(e.ravel(), nn.ravel(), np.full(e.size, 1500.0))
    lat, lon, alt = lat.reshape(e.shape), lon.reshape(e.shape), alt.reshape(e.shape)
    out = []
    for si in range(steps):
        out.append([Track(id=f"t-{k:04d}", time=T0 + si, position=GeoPoint(float(lat[si, k]), float(lon[si, k]),
                                                                           float(alt[si, k])),
                          velocity=Velocity(float(vel[k, 0]), float(vel[k, 1])), sigma_h_m=20.0,
                          identities={"icao24": f"{0xb00000 + k:06x}"}, sources=["adsb", "radar"],
                          sensors=["adsb-0", "radar-1"], first_time=T0, updates=si + 1)
                    for k in range(tracks)])
    return out


_CPU: list[float] = []


def timed(fn):
    """Wall-clock seconds of ``fn()`` and its result; this process's CPU seconds go to ``_CPU``
    (steadier than wall time on a busy machine; PostgreSQL's server time is not in it)."""
    c, t = time.process_time(), time.perf_counter()
    r = fn()
    wall = time.perf_counter() - t
    _CPU.append(time.process_time() - c)
    return wall, r


def bench_store(name: str, store, obs: list[Observation], steps: list[list[Track]]) -> list[dict]:
    n, npts = len(obs), sum(len(s) for s in steps)
    rows: list[dict] = []

    def add(op: str, count: int, seconds: float, note: str = "") -> None:
        rows.append(dict(backend=name, op=op, n=count, seconds=round(seconds, 4), cpu_s=round(_CPU[-1], 4),
                         per_s=round(count / seconds) if seconds > 0 else None, note=note))

    s, new = timed(lambda: store.write_observations(obs))
    assert new == n, (new, n)
    add("write observations (one batch)", n, s)
    s, new = timed(lambda: store.write_observations(obs))
    assert new == 0
    add("rewrite same observations (all duplicates)", n, s)
    s, got = timed(lambda: store.observations())
    assert len(got) == n
    add("read all observations", n, s)
    t_mid = obs[n // 2].time
    box = BBox(31.30, -111.00, 31.40, -110.90)
    q = 50
    s, got = timed(lambda: [store.observations(start=t_mid + i, end=t_mid + i + 10, bbox=box) for i in range(q)])
    add("query 10 s window + bbox", q, s, note=f"{sum(map(len, got)) // q} rows per query")
    s, counts = timed(lambda: store.count_observations())
    assert counts == {"adsb": n}
    add("count_observations", 1, s)

    s, _ = timed(lambda: [store.write_tracks(batch) for batch in steps])
    add(f"write tracks, {len(steps[0])} per call (points)", npts, s)
    s, _ = timed(lambda: [store.write_tracks(batch) for batch in steps[: max(1, len(steps) // 10)]])
    add("rewrite 10% of track steps (duplicates)", npts // 10, s)
    s, pts = timed(lambda: store.track_points())
    assert len(pts) == npts, (len(pts), npts)
    add("read all track points (replay)", npts, s)
    s, hist = timed(lambda: [store.track_history(f"t-{k:04d}") for k in range(len(steps[0]))])
    add("track_history of every track", sum(map(len, hist)), s)
    s, tr = timed(lambda: store.tracks())
    add("tracks() latest states", len(tr), s)
    return rows


def bench_peer(obs: list[Observation], tmp: Path) -> list[dict]:
    """A bare sqlite3 executemany of pre-built rows, same table, same WAL settings."""
    from lookout.store._sql import OBS_COLS, _obs_row
    from lookout.store.sqlite import SQLiteStore

    db = tmp / "peer.db"
    SQLiteStore(db).close()  # the same schema and indexes
    prebuilt = [_obs_row(o) for o in obs]
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA cache_size=-65536")
    sql = f"INSERT INTO observations ({', '.join(OBS_COLS)}) VALUES ({', '.join('?' * len(OBS_COLS))})"

    def write():
        conn.execute("BEGIN")
        conn.executemany(sql, prebuilt)
        conn.execute("COMMIT")

    s, _ = timed(write)
    conn.close()
    return [dict(backend="peer: bare sqlite3", op="write observations (one batch)", n=len(obs),
                 seconds=round(s, 4), cpu_s=round(_CPU[-1], 4), per_s=round(len(obs) / s),
                 note="rows pre-built, no JSON encoding")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10k records instead of 100k")
    ap.add_argument("--postgres", default=os.environ.get("LOOKOUT_BENCH_POSTGRES_URL",
                                                         "postgresql://postgres@127.0.0.1:5432/test"))
    args = ap.parse_args()
    n = 10_000 if args.quick else 100_000

    print(f"building {n:,} observations and {n:,} track states ...", flush=True)
    obs = make_observations(n)
    steps = make_track_steps(n)
    rows: list[dict] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="lookout-bench-store-") as d:
        from lookout.store.sqlite import SQLiteStore

        tmp = Path(d)
        with SQLiteStore(tmp / "bench.db") as st:
            rows += bench_store("sqlite", st, obs, steps)
        rows += bench_peer(obs, tmp)

    try:
        from lookout.store.postgres import PostgresStore

        schema = f"lookout_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        st = PostgresStore(args.postgres, schema=schema, connect_timeout_s=5)
    except Exception as exc:  # noqa: BLE001 - reported in the results
        notes.append(f"PostgreSQL not benchmarked: {exc}")
        st = None
    if st is not None:
        try:
            rows += bench_store("postgres", st, obs, steps)
        finally:
            st.drop_schema()

    peer = next(r for r in rows if r["backend"].startswith("peer"))
    for r in rows:
        if r["op"] == peer["op"] and r is not peer:
            r["vs_peer"] = round(r["seconds"] / peer["seconds"], 2)
            r["vs_peer_cpu"] = round(r["cpu_s"] / peer["cpu_s"], 2)
    sqlite_write = next(r for r in rows if r["backend"] == "sqlite" and r["op"] == peer["op"])
    scaled = sqlite_write["seconds"] * (100_000 / n)
    target = dict(name="write 100k observations to SQLite", limit_s=TARGET_WRITE_100K_OBS_S,
                  measured_s=round(scaled, 3), scaled_from=n, ok=scaled < TARGET_WRITE_100K_OBS_S)

    print()
    hdr = f"{'backend':<20} {'operation':<45} {'n':>8} {'seconds':>9} {'cpu s':>8} {'per s':>10} {'vs peer':>8}  note"
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        vs = f"{r['vs_peer']:.2f}x" if "vs_peer" in r else ""
        per = f"{r['per_s']:,}" if r["per_s"] else ""
        print(f"{r['backend']:<20} {r['op']:<45} {r['n']:>8,} {r['seconds']:>9.3f} {r['cpu_s']:>8.3f} {per:>10} {vs:>8}"
              f"  {r['note']}")
    for note in notes:
        print("note:", note)
    print(f"\ntarget: {target['name']} < {target['limit_s']} s: {target['measured_s']} s"
          f"{' (scaled from ' + format(n, ',') + ')' if n != 100_000 else ''} -> {'OK' if target['ok'] else 'MISSED'}")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(dict(
        benchmark="store", quick=args.quick, records=n, rows=rows, target=target, notes=notes,
        machine=dict(python=platform.python_version(), platform=platform.platform(), cpus=os.cpu_count(),
                     sqlite=sqlite3.sqlite_version, load_avg_1m_at_end=round(os.getloadavg()[0], 2)),
        when=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    ), indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
