"""``lookout missions`` on SBS, raw Mode S and Observation JSON-lines histories."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from lookout.analytics.synth import jsonl_lines, raw_lines, sbs_lines, synth_flights


@pytest.fixture(scope="module")
def flights():
    return synth_flights(6, seed=3, mix={"orbit": 0.4, "racetrack": 0.2, "transit": 0.4}, dt=5.0)


def _expected(truths):
    return {t.ident: t.kind for t in truths if t.is_mission}


@pytest.mark.parametrize("fmt,writer", [("sbs", sbs_lines), ("raw", raw_lines), ("jsonl", jsonl_lines)])
def test_missions_command_per_format(app, flights, tmp_path, fmt, writer):
    hist, truths = flights
    src = tmp_path / f"history.{fmt}"
    src.write_text("\n".join(writer(hist)) + "\n")
    out = tmp_path / "missions.json"
    r = CliRunner().invoke(app, ["missions", str(src), "--format", fmt, "--out", str(out)])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {m["icao24"]: m["pattern"] for m in rows} == _expected(truths)
    truth = {t.ident: t for t in truths}
    for m in rows:
        assert set(m) >= {"icao24", "callsign", "start", "end", "center_lat", "center_lon", "radius_m", "pattern",
                          "score"}
        t = truth[m["icao24"]]
        assert m["callsign"] == t.callsign
        assert m["start"] < t.mission_end and m["end"] > t.mission_start
    assert f"{len(rows)} missions from" in r.output


def test_missions_command_counts_bad_lines_and_guesses_format(app, flights, tmp_path):
    hist, truths = flights
    src = tmp_path / "history.jsonl"
    lines = list(jsonl_lines(hist))
    lines[5:5] = ["not json", '{"ident": "abc123", "time": 1, "lat": 95.0, "lon": 0}',
                  '{"time": 5, "lat": 1, "lon": 2}']
    src.write_text("\n".join(lines) + "\n")
    r = CliRunner().invoke(app, ["missions", str(src), "--counts", "day"])  # format from the file name
    assert r.exit_code == 0, r.output
    assert '"bad json": 1' in r.output and '"bad lat": 1' in r.output and '"no ident": 1' in r.output
    found = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    assert {m["icao24"] for m in found} == set(_expected(truths))
    assert "period" in r.stderr and "vs previous" in r.stderr
    day_rows = [ln.split() for ln in r.stderr.splitlines() if ln[:4] == "2026"]
    assert sum(int(row[1]) for row in day_rows) == len(found)


def test_missions_command_errors_name_the_problem(app, tmp_path):
    r = CliRunner().invoke(app, ["missions", str(tmp_path / "nope.sbs")])
    assert r.exit_code == 2 and "no such file" in r.output
    bad = tmp_path / "junk.sbs"
    bad.write_text("hello\nworld\n")
    r = CliRunner().invoke(app, ["missions", str(bad), "--format", "sbs"])
    assert r.exit_code == 1 and "no positions" in r.output
    r = CliRunner().invoke(app, ["missions", str(bad), "--format", "kml"])
    assert r.exit_code != 0 and "--format" in r.output
    r = CliRunner().invoke(app, ["missions", str(bad), "--region", "somewhere"])
    assert r.exit_code == 2 and "unknown region" in r.output
