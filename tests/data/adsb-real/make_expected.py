"""Write expected_positions.csv: the positions an independent decoder (pyModeS) finds in
short_flights.csv, for tests/sources/test_adsb_real.py.

pyModeS is GPL-licensed, so it is not a dependency of Lookout: install it in a throwaway
virtual environment and run this script with that interpreter (the output is what is shipped):

    python3 -m venv /tmp/pymodes && /tmp/pymodes/bin/pip install pyModeS==3.6.1
    /tmp/pymodes/bin/python tests/data/adsb-real/make_expected.py

pyModeS's stateful ``PipeDecoder`` decodes each frame with its reception time, without a
receiver position: even/odd CPR pairs globally, then locally against the aircraft's last
accepted position, holding the first fixes of an aircraft until three agree.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pyModeS

HERE = Path(__file__).parent


def main() -> None:
    pipe = pyModeS.PipeDecoder()
    rows = []
    with open(HERE / "short_flights.csv") as f:
        for t, frame in csv.reader(f):
            d = pipe.decode(frame, timestamp=float(t))
            if d.get("latitude") is not None and d.get("longitude") is not None:
                rows.append((d["icao"].lower(), t, f"{d['latitude']:.7f}", f"{d['longitude']:.7f}"))
    with open(HERE / "expected_positions.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(("icao", "time", "lat", "lon"))
        w.writerows(rows)
    print(f"{len(rows)} positions of {len({r[0] for r in rows})} aircraft (pyModeS {pyModeS.__version__})")


if __name__ == "__main__":
    main()
