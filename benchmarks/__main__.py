"""Run Lookout's benchmarks: ``python -m benchmarks [--quick] [NAME ...]``.

Each benchmark is a script ``benchmarks/NAME.py`` that prints its own table and writes
``benchmarks/results/NAME.json``; this runner runs them one after another (each in its own
process, so one's memory does not weigh on the next) and prints an index of the results.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["sim", "store", "tracker", "sources", "alerts", "api", "analytics", "eoir", "scale"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    ap.add_argument("--quick", action="store_true", help="short runs (smoke-test the benchmarks)")
    args = ap.parse_args()
    available = [n for n in ORDER if (HERE / f"{n}.py").exists()]
    available += sorted(p.stem for p in HERE.glob("*.py") if p.stem not in ORDER and not p.stem.startswith("_"))
    names = args.names or available
    unknown = [n for n in names if n not in available]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}", file=sys.stderr)
        return 2
    failed = []
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        t0 = time.perf_counter()
        cmd = [sys.executable, str(HERE / f"{name}.py")] + (["--quick"] if args.quick else [])
        rc = subprocess.call(cmd, cwd=HERE.parent)
        print(f"--- {name}: exit {rc} in {time.perf_counter() - t0:.1f} s", flush=True)
        if rc:
            failed.append(name)
    print("\nResults written:")
    for name in names:
        p = HERE / "results" / f"{name}.json"
        if p.exists():
            try:
                json.loads(p.read_text())
                print(f"  {p.relative_to(HERE.parent)}")
            except ValueError:
                print(f"  {p.relative_to(HERE.parent)} (unreadable)")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
