"""``lookout track``: CSV in, CSV out, and clear errors naming the bad line."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from typer.testing import CliRunner

from lookout.cli import app
from lookout.commands.track import CsvInputError, read_detections_csv
from lookout.tracking.scenarios import make_scenario

runner = CliRunner()


def _write(path, text):
    path.write_text(text)
    return path


def test_track_command_round_trip(tmp_path):
    sc = make_scenario(8, 60, seed=21, area_m=5000.0, clutter_per_scan=3.0)
    det = tmp_path / "detections.csv"
    with det.open("w") as f:
        f.write("time_s,x_m,y_m,extra\n")
        for t, (x, y) in zip(sc.meas_time, sc.meas_xy):
            f.write(f"{t},{x:.3f},{y:.3f},ignored\n")
    out = tmp_path / "tracks.csv"
    res = runner.invoke(app, ["track", "--input", str(det), "--output", str(out), "--sigma", "10", "--pd", "0.9",
                              "--clutter-density", str(sc.clutter_density)])
    assert res.exit_code == 0, res.output
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0].keys()) == ["time_s", "track_id", "x_m", "y_m"]
    assert all(r["track_id"].startswith("T") and len(r["track_id"]) == 7 for r in rows)
    # at the last scan every live target has a confirmed track within 40 m
    last = sc.scan_times[-1]
    est = np.array([[float(r["x_m"]), float(r["y_m"])] for r in rows if float(r["time_s"]) == last])
    _, txy = sc.truth_at(len(sc.scan_times) - 1)
    d = np.hypot(*(est[:, None] - txy[None]).transpose(2, 0, 1))
    assert (d.min(axis=0) < 40).all()
    assert len(est) <= len(txy) + 1


@pytest.mark.parametrize(
    "text, pattern",
    [
        ("time_s,x_m\n0,1\n", r"line 1: missing column\(s\) y_m"),
        ("", "empty file"),
        ("time_s,x_m,y_m\n0,1,2\n1,nan,2\n", "line 3: column x_m must be finite, got 'nan'"),
        ("time_s,x_m,y_m\n0,1,2\n1,1,inf\n", "line 3: column y_m must be finite, got 'inf'"),
        ("time_s,x_m,y_m\n0,1,2\n1,abc,2\n", "line 3: column x_m is not a number: 'abc'"),
        ("time_s,x_m,y_m\n0,1,2\n5,1,2\n4,1,2\n", "line 4: time_s 4.0 is before the previous row's 5.0"),
        ("time_s,x_m,y_m\n0,1,2\n1,2\n", "line 3: expected 3 fields, got 2"),
    ],
)
def test_bad_input_names_the_line(tmp_path, text, pattern):
    p = _write(tmp_path / "bad.csv", text)
    with pytest.raises(CsvInputError, match=pattern):
        read_detections_csv(p)
    res = runner.invoke(app, ["track", "-i", str(p), "-o", str(tmp_path / "out.csv")])
    assert res.exit_code == 2
    assert not (tmp_path / "out.csv").exists()


def test_bad_option_is_reported(tmp_path):
    p = _write(tmp_path / "d.csv", "time_s,x_m,y_m\n0,1,2\n")
    res = runner.invoke(app, ["track", "-i", str(p), "-o", str(tmp_path / "o.csv"), "--pd", "1.5"])
    assert res.exit_code == 2
    assert "pd must be in (0, 1]" in res.output
