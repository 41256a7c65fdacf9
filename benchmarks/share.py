"""Sharing costs: releasability filtering, per-agency live views, CoT encode/parse, token checks.

``python benchmarks/share.py [--quick]``. Prints a table and writes ``benchmarks/results/share.json``.

* filter: :func:`filter_tracks` of one step of N tracks for the Mexican agency (a quarter of
  the tracks U.S.-only radar-only, released coarsened; a quarter withheld);
* live views: ``LiveHub.publish`` of one step with two restricted agencies' views attached, as a
  ratio to the plain hub's publish of the same step (the peer);
* CoT encode: Lookout's XML events for N tracks vs the peer takproto converting the same events
  to TAK protobuf; CoT parse: Lookout's hardened parser (defusedxml, range checks) vs the peer
  takproto's parser (plain ElementTree) on the same events;
* tokens: a first check (PBKDF2-SHA256, 60,000 iterations) and a cached check.

Targets (shares of the 1 s pipeline step): per-agency views add under 50 ms per step for two
agencies at 1,000 tracks; CoT encoding of 1,000 tracks under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from lookout.model import GeoPoint, ObjectClass, Track, Velocity  # noqa: E402
from lookout.sector import load_sector  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "share.json"
T0 = 1_790_000_000.0
CLASSES = [ObjectClass.UAS, ObjectClass.FIXED_WING, ObjectClass.GROUND_VEHICLE, ObjectClass.PERSON]
TARGET_VIEWS_MS = 50.0
TARGET_COT_MS = 100.0


def make_tracks(n: int, t: float) -> list[Track]:
    import numpy as np

    frame = load_sector().frame
    rng = np.random.default_rng(5)
    e, nn = rng.uniform(-15000, 15000, n), rng.uniform(-15000, 15000, n)
    lat, lon, alt = frame.to_geodetic(e + 5.0 * (t - T0), nn, np.full(n, 200.0))
    out = []
    for i in range(n):
        kind = i % 4  # PUBLIC, REL-MX, US-ONLY radar-only, US-ONLY radar+camera
        label = ["PUBLIC", "REL-MX", "US-ONLY", "US-ONLY"][kind]
        sources = [["adsb"], ["report"], ["radar"], ["radar", "camera"]][kind]
        out.append(Track(id=f"T{i:06d}", time=t, position=GeoPoint(float(lat[i]), float(lon[i]), float(alt[i])),
                         velocity=Velocity(5.0, 1.0, 0.0), sigma_h_m=15.0, cls=CLASSES[i % len(CLASSES)],
                         identities={"remote_id": f"RID{i:08d}"}, sources=sources, sensors=["s1"], label=label,
                         first_time=T0, updates=10))
    return out


def timed(fn, repeat: int) -> tuple[float, float]:
    """Best wall seconds and its CPU seconds over ``repeat`` runs."""
    best, cpu = float("inf"), 0.0
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        w, c = time.perf_counter() - w0, time.process_time() - c0
        if w < best:
            best, cpu = w, c
    return best, cpu


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="300 tracks and fewer repeats instead of 1,000")
    args = ap.parse_args()
    n = 300 if args.quick else 1000
    repeat = 3 if args.quick else 7

    import takproto

    from lookout.api.live import LiveHub
    from lookout.api.security import AgencyViews
    from lookout.auth.store import AuthStore
    from lookout.share import cot
    from lookout.share.releasability import Agency, ShareRule, filter_tracks

    mx = Agency("GN-MX", frozenset({"PUBLIC", "REL-MX"}),
                (ShareRule("US-ONLY", "REL-MX", coarsen_m=1000.0, sources=frozenset({"radar"})),))
    civ = Agency("CIV", frozenset({"PUBLIC"}))
    step = make_tracks(n, T0 + 10)
    rows: list[dict] = []

    def row(op, seconds, cpu, peer=None, note=""):
        r = dict(op=op, n=n, ms=round(seconds * 1000, 3), cpu_ms=round(cpu * 1000, 3), note=note)
        if peer is not None:
            r["vs_peer"] = round(seconds / peer, 2)
        rows.append(r)
        return r

    s, c = timed(lambda: filter_tracks(step, mx), repeat)
    row("filter_tracks, one step, GN-MX", s, c, note="1/4 coarsened to 1 km, 1/2 withheld")

    # live hub: plain publish (peer) vs with two restricted agencies' views
    loop = asyncio.new_event_loop()
    plain = LiveHub()
    plain.subscribe(loop)
    peer_s, peer_c = timed(lambda: plain.publish(T0 + 10, step, [], []), repeat)
    row("peer: LiveHub.publish, one step, no views", peer_s, peer_c, note="one unfiltered subscriber")
    hub = LiveHub()
    hub.subscribe(loop)
    views = AgencyViews(hub)
    for ag in (mx, civ):
        views.view(ag).subscribe(loop)
    s, c = timed(lambda: hub.publish(T0 + 10, step, [], []), repeat)
    views_row = row("LiveHub.publish + 2 agency views", s, c, peer_s, note="one subscriber per view")
    views_extra_ms = views_row["ms"] - peer_s * 1000
    loop.close()

    # CoT encode: ours (XML) vs takproto converting the same events to protobuf
    events: list[bytes] = []
    s, c = timed(lambda: events.__setitem__(slice(None), [cot.track_event(t) for t in step]), repeat)
    peer_s, _pc = timed(lambda: [takproto.xml2proto(e.decode()) for e in events], repeat)
    cot_row = row("CoT XML encode (track_event)", s, c, peer_s, note="peer: takproto.xml2proto of the same events")
    rows.append(dict(op="peer: takproto.xml2proto", n=n, ms=round(peer_s * 1000, 3), cpu_ms=None, note=""))
    s, c = timed(lambda: [cot.parse_event(e) for e in events], repeat)
    peer_s, _pc = timed(lambda: [takproto.parse_proto(bytearray(e)) for e in events], repeat)
    row("CoT hardened parse (parse_event)", s, c, peer_s, note="peer: takproto.parse_proto (plain ElementTree)")
    rows.append(dict(op="peer: takproto.parse_proto", n=n, ms=round(peer_s * 1000, 3), cpu_ms=None, note=""))

    # tokens
    a = AuthStore(":memory:")
    a.create_agency("GN-MX", ["PUBLIC", "REL-MX"])
    a.create_user("u", "GN-MX")
    tok = a.issue_token("u")
    c0, w0 = time.process_time(), time.perf_counter()
    a.authenticate(tok)
    first = time.perf_counter() - w0, time.process_time() - c0
    rows.append(dict(op="token check, first (PBKDF2 60k)", n=1, ms=round(first[0] * 1000, 3),
                     cpu_ms=round(first[1] * 1000, 3), note=""))
    k = 200
    s, c = timed(lambda: [a.authenticate(tok) for _ in range(k)], 3)
    rows.append(dict(op="token check, cached", n=1, ms=round(s * 1000 / k, 4), cpu_ms=round(c * 1000 / k, 4),
                     note=f"mean of {k}"))
    a.close()

    scale = 1000 / n
    targets = [
        dict(name="per-agency views add per step, 2 agencies, 1,000 tracks", limit_ms=TARGET_VIEWS_MS,
             measured_ms=round(views_extra_ms * scale, 2), scaled_from=n, ok=views_extra_ms * scale < TARGET_VIEWS_MS),
        dict(name="CoT encode of 1,000 tracks", limit_ms=TARGET_COT_MS, measured_ms=round(cot_row["ms"] * scale, 2),
             scaled_from=n, ok=cot_row["ms"] * scale < TARGET_COT_MS),
    ]
    hdr = f"{'operation':<44} {'n':>6} {'ms':>10} {'cpu ms':>9} {'vs peer':>8}  note"
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        vs = f"{r['vs_peer']:.2f}x" if "vs_peer" in r else ""
        cpu = f"{r['cpu_ms']:.3f}" if r.get("cpu_ms") is not None else ""
        print(f"{r['op']:<44} {r['n']:>6,} {r['ms']:>10.3f} {cpu:>9} {vs:>8}  {r['note']}")
    for t in targets:
        print(f"target: {t['name']} < {t['limit_ms']} ms: {t['measured_ms']} ms"
              f"{' (scaled from ' + str(n) + ')' if n != 1000 else ''} -> {'OK' if t['ok'] else 'MISSED'}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(dict(
        benchmark="share", quick=args.quick, tracks=n, rows=rows, targets=targets,
        machine=dict(python=platform.python_version(), platform=platform.platform(), cpus=os.cpu_count(),
                     load_avg_1m_at_end=round(os.getloadavg()[0], 2)),
        when=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    ), indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
