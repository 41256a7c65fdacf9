"""``lookout sim``: files written, readable back, and clear errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from lookout.cli import app
from lookout.model import Observation


def test_sim_command_writes_observations_truth_and_events(tmp_path):
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["sim", "--duration", "240", "--seed", "5", "--out", str(out)])
    assert res.exit_code == 0, res.output
    lines = (out / "observations.jsonl").read_text().splitlines()
    obs = [Observation.from_dict(json.loads(x)) for x in lines]
    assert len(obs) > 500 and f"wrote {len(obs)} observations" in res.output
    assert [o.time for o in obs] == sorted(o.time for o in obs)
    truth = [json.loads(x) for x in (out / "truth.jsonl").read_text().splitlines()]
    assert {t["id"] for t in truth} >= {"surv-1", "uas-dark-1"}
    dark = next(t for t in truth if t["id"] == "uas-dark-1")
    assert dark["ident"] is None and len(dark["samples"][0]) == len(dark["sample_fields"])
    events = json.loads((out / "events.json").read_text())
    assert any(e["kind"] == "dark_drone" for e in events)
    sensors = json.loads((out / "sensors.json").read_text())
    assert {s["kind"] for s in sensors} >= {"radar", "adsb", "remote_id", "camera"}


def test_sim_command_rejects_bad_input(tmp_path):
    res = CliRunner().invoke(app, ["sim", "--duration", "-5", "--out", str(tmp_path / "x")])
    assert res.exit_code == 2 and "duration_s" in res.output
    res = CliRunner().invoke(app, ["sim", "--sector", str(tmp_path / "missing.geojson"), "--out", str(tmp_path)])
    assert res.exit_code == 2 and "missing.geojson" in res.output
