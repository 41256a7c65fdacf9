"""`lookout detect` and `lookout ingest-eoir` on real files."""

import json

import cv2
from typer.testing import CliRunner

from lookout.cli import app
from lookout.sim.thermal import ThermalTarget, render

runner = CliRunner()


def _write_frames(folder, n=12):
    seq = render([ThermalTarget("a", "uas", 6, 6, 8.0, 100.0, 80.0, vx=3.0, vy=1.0),
                  ThermalTarget("b", "person", 4, 8, 5.0, 250.0, 200.0, vx=-1.0)], n, width=320, height=256, seed=3)
    folder.mkdir()
    for i, f in enumerate(seq.frames):
        cv2.imwrite(str(folder / f"frame_{i:04d}.png"), f)
    return seq


def test_detect_writes_one_object_per_detection(tmp_path):
    seq = _write_frames(tmp_path / "frames")
    out = tmp_path / "det.jsonl"
    r = runner.invoke(app, ["detect", str(tmp_path / "frames"), "--out", str(out)])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows and set(rows[0]) == {"frame", "x", "y", "w", "h", "confidence"}
    frames = {row["frame"] for row in rows}
    assert frames == set(range(len(seq.frames)))
    # every truth target found in every frame
    for i, truth in enumerate(seq.truth):
        for _, x, y, _, _ in truth:
            assert any(row["frame"] == i and abs(row["x"] - x) < 1.5 and abs(row["y"] - y) < 1.5 for row in rows)


def test_detect_missing_input_is_a_clear_error(tmp_path):
    r = runner.invoke(app, ["detect", str(tmp_path / "nothing"), "--out", str(tmp_path / "o.jsonl")])
    assert r.exit_code == 2
    assert "no such file" in r.output


def test_ingest_eoir_writes_camera_observations(tmp_path):
    _write_frames(tmp_path / "frames", n=5)
    cam = tmp_path / "cam.yaml"
    cam.write_text("sensor: eoir-1\nlabel: US-ONLY\nwidth: 320\nheight: 256\nhfov_deg: 20\n"
                   "site: {lat: 31.345, lon: -110.95, alt_m: 1250}\nyaw_deg: 150\npitch_deg: -2\n"
                   "start_time: 1793628000\nfps: 10\n")
    out = tmp_path / "obs.jsonl"
    r = runner.invoke(app, ["ingest-eoir", str(tmp_path / "frames"), "--camera", str(cam), "--out", str(out)])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) >= 10
    assert all(row["source"] == "camera" and row["sensor"] == "eoir-1" and row["label"] == "US-ONLY" for row in rows)
    assert all(140 < row["azimuth_deg"] < 160 and row["range_m"] is None for row in rows)
    assert min(row["time"] for row in rows) == 1793628000.0
    bad = tmp_path / "bad.yaml"
    bad.write_text("width: 320\n")
    r = runner.invoke(app, ["ingest-eoir", str(tmp_path / "frames"), "--camera", str(bad), "--out", str(out)])
    assert r.exit_code == 2 and "missing setting" in r.output


def test_lookout_ingest_eoir_is_the_same_path(tmp_path):
    _write_frames(tmp_path / "frames", n=3)
    cam = tmp_path / "cam.yaml"
    cam.write_text("sensor: eoir-2\nwidth: 320\nheight: 256\nhfov_deg: 20\n"
                   "site: {lat: 31.345, lon: -110.95, alt_m: 1250}\nyaw_deg: 150\nstart_time: 1793628000\nfps: 10\n")
    out = tmp_path / "obs.jsonl"
    r = runner.invoke(app, ["ingest", "eoir", str(tmp_path / "frames"), "--camera", str(cam), "--out", str(out)])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) >= 6 and {row["sensor"] for row in rows} == {"eoir-2"}
    r = runner.invoke(app, ["ingest", "eoir", str(tmp_path / "frames")])
    assert r.exit_code == 2 and "--camera" in r.output
