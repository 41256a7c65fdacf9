"""`lookout demo --no-serve`: the whole flow on the default scenario, into a real SQLite store;
the same seed gives the same run whatever the start time, and the summary compares the tracks
with the scenario's true objects in plain words."""

import re

import numpy as np
import pytest
from typer.testing import CliRunner

from lookout.cli import app
from lookout.demo import compare_with_truth, default_start
from lookout.model import GeoPoint, Track, TrackStatus
from lookout.store.sqlite import SQLiteStore

DURATION = 480
START = 1793628000  # 2026-11-02 14:00 UTC
OTHER_START = START + 3 * 86400 + 5 * 3600 + 17 * 60 + 7  # three days, five hours, 17 minutes and 7 s later


def _demo(out, start):
    r = CliRunner().invoke(app, ["demo", "--duration", str(DURATION), "--no-serve", "--out", str(out),
                                 "--start", str(start)])
    assert r.exit_code == 0, r.output
    return r.output


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same seed run twice, from two start times."""
    a, b = tmp_path_factory.mktemp("demo-a"), tmp_path_factory.mktemp("demo-b")
    return (a, _demo(a, START)), (b, _demo(b, OTHER_START))


def test_demo_runs_end_to_end_and_stores_everything(runs):
    (out, output), _ = runs
    assert "Observations by source" in output and "Tracks vs true objects" in output and "Alerts:" in output
    with SQLiteStore(out / "lookout.db") as store:
        counts = store.count_observations("source")
        assert {"adsb", "radar", "camera", "remote_id", "blue_force"} <= set(counts)
        tracks = store.tracks()
        assert len(tracks) >= 5
        srcs = {s for t in tracks for s in t.sources}
        assert {"adsb", "radar", "remote_id"} <= srcs
        # cooperative identities fused with sensor tracks
        assert any("icao24" in t.identities and "radar" in t.sources for t in tracks)
        assert any("remote_id" in t.identities and "radar" in t.sources for t in tracks)
        assert store.track_history(tracks[0].id)
        alerts = store.alerts()
        rules = {a.rule for a in alerts}
        assert "border_crossing" in rules
        assert all(a.message for a in alerts)


def _run_of(out, t0):
    """What a demo stored, with its times taken relative to the start."""
    clock = re.compile(r"\d\d:\d\d:\d\dZ")
    with SQLiteStore(out / "lookout.db") as store:
        tracks = sorted((t.id, str(t.cls), t.updates, round(t.first_time - t0, 3), round(t.time - t0, 3),
                         tuple(sorted(t.identities.items())), tuple(t.sources), round(t.position.lat, 7),
                         round(t.position.lon, 7)) for t in store.tracks())
        alerts = sorted((a.rule, str(a.severity), round(a.start - t0, 3), tuple(a.track_ids),
                         clock.sub("", a.message)) for a in store.alerts())
        return store.count_observations("source"), tracks, alerts


def _section(output, first, last):
    lines = output.splitlines()
    i = next(k for k, x in enumerate(lines) if x.startswith(first))
    j = next(k for k, x in enumerate(lines) if k > i and last in x)
    return lines[i:j]


def test_the_same_seed_from_another_start_is_the_same_run_shifted(runs):
    (a, out_a), (b, out_b) = runs
    obs_a, tracks_a, alerts_a = _run_of(a, START)
    obs_b, tracks_b, alerts_b = _run_of(b, OTHER_START)
    assert obs_a == obs_b
    assert tracks_a == tracks_b and len(tracks_a) >= 5
    assert alerts_a == alerts_b and len(alerts_a) >= 5
    # the summary says the same, but for the start
    scen_a, scen_b = (next(x for x in o.splitlines() if x.startswith("Scenario:")) for o in (out_a, out_b))
    assert "2026-11-02 14:00:00 UTC" in scen_a and "2026-11-05 19:17:07 UTC" in scen_b
    assert scen_a.replace("2026-11-02 14:00:00", "") == scen_b.replace("2026-11-05 19:17:07", "")
    assert (_section(out_a, "Tracks vs true objects", "Alerts:")
            == _section(out_b, "Tracks vs true objects", "Alerts:"))


def test_the_demo_summary_counts_what_lookout_sim_writes(runs, tmp_path):
    (_, output), _ = runs
    r = CliRunner().invoke(app, ["sim", "--duration", str(DURATION), "--seed", "7", "--start", str(START),
                                 "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    n_obs, n_obj, n_ev = map(int, re.search(r"wrote (\d+) observations of (\d+) objects and (\d+) events",
                                            r.output).groups())
    scen = next(x for x in output.splitlines() if x.startswith("Scenario:"))
    assert scen == (f"Scenario: seed 7, {DURATION} s from 2026-11-02 14:00:00 UTC: {n_obj} true objects, "
                    f"{n_obs:,} simulated observations, {n_ev} scripted events")
    # the observations the demo decoded are the ones the simulator wrote
    total = re.search(r"total\s*│\s*([\d,]+)", output)
    assert total and int(total.group(1).replace(",", "")) == n_obs


def test_the_summary_says_tracks_for_true_objects_per_class(runs):
    (_, output), _ = runs
    lines = [x.strip() for x in _section(output, "Tracks vs true objects", "Alerts:")]
    head = re.fullmatch(r"(\d+) tracks? for (\d+) true objects?: (?:all (\d+)|(\d+) of (\d+)) objects tracked; "
                        r"(\d+) tracks? follows? a true object, (\d+) follows? none", lines[1])
    assert head, lines
    n_tracks, n_obj = int(head[1]), int(head[2])
    assert n_obj == int(re.search(r"(\d+) true objects", next(x for x in output.splitlines()
                                                             if x.startswith("Scenario:")))[1])
    assert int(head[6]) + int(head[7]) == n_tracks
    per_class = [re.fullmatch(r"([a-z ]+): (\d+) tracks? for (\d+) true objects?, (?:all (\d+)|(\d+) of (\d+)) tracked",
                              x) for x in lines[2:]]
    per_class = [m for m in per_class if m]
    assert {m[1] for m in per_class} >= {"drones", "surveillance aircraft", "vehicles", "groups on foot"}
    assert sum(int(m[3]) for m in per_class) == n_obj
    assert sum(int(m[2]) for m in per_class) == int(head[6])  # every following track counted once


# -- the comparison itself, on tracks made from the truth -------------------------------------
def _track(tid, scenario, obj, t, offset_m=0.0):
    p, _ = obj.state_at(t)
    lat, lon, alt = scenario.sector.frame.to_geodetic(p[0] + offset_m, p[1], p[2])
    return Track(id=tid, time=float(t), position=GeoPoint(float(lat), float(lon), float(alt)),
                 status=TrackStatus.CONFIRMED, cls=obj.cls, updates=1)


def test_compare_with_truth_finds_each_tracks_object(tmp_path):
    from lookout.sim import Scenario, ScenarioConfig

    sc = Scenario(ScenarioConfig(seed=7, duration_s=600.0, start_time=START))
    t0, t1 = sc.config.start_time, sc.config.end_time
    objs = sc.truth
    untracked = next(o for o in objs if o.cls.value == "person")
    twice = next(o for o in objs if o.cls.value == "ground_vehicle")
    rows, tracks = [], {}
    for o in objs:
        if o is untracked:
            continue
        times = np.arange(np.ceil(o.start), o.end, 5.0)
        rows += [_track(f"trk-{o.id}", sc, o, t) for t in times]
        tracks[f"trk-{o.id}"] = o.cls
    # a second, shorter track of one vehicle, 150 m off (still that vehicle's), and one that
    # keeps 2 km off any object for most of its life (no object's)
    half = np.arange(np.ceil(twice.start), twice.end, 5.0)[: max(2, int((twice.end - twice.start) / 10))]
    rows += [_track("trk-again", sc, twice, t, offset_m=150.0) for t in half]
    ghost = GeoPoint(31.60, -110.60, 1500.0)  # far north-east of everything in the sector
    rows += [Track(id="trk-ghost", time=float(t), position=ghost, updates=1) for t in np.arange(t0, t1, 10.0)]
    with SQLiteStore(tmp_path / "s.db") as store:
        store.write_tracks(sorted(rows, key=lambda r: r.time))
        confirmed = store.tracks()
        cmp = compare_with_truth(sc, store, confirmed, t0, t1)
    assert cmp.truth_of["trk-again"] == twice.id and cmp.truth_of["trk-ghost"] is None
    assert all(cmp.truth_of[f"trk-{o.id}"] == o.id for o in objs if o is not untracked)
    n, m = len(confirmed), len(objs)
    lines = cmp.lines()
    assert lines[0] == (f"{n} tracks for {m} true objects: {m - 1} of {m} objects tracked; "
                        f"{n - 1} tracks follow a true object, 1 follows none")
    n_veh = sum(o.cls.value == "ground_vehicle" for o in objs)
    n_foot = sum(o.cls.value == "person" for o in objs)
    assert f"vehicles: {n_veh + 1} tracks for {n_veh} true objects, all {n_veh} tracked" in lines
    def n(k, word):
        return f"{k} {word}{'' if k == 1 else 's'}"

    assert (f"groups on foot: {n(n_foot - 1, 'track')} for {n(n_foot, 'true object')}, "
            f"{n_foot - 1} of {n_foot} tracked") in lines
    assert ("1 object had more than one track (a track lost and started again, "
            "or tracks of one object not fused)") in lines
    assert lines[-1] == "1 track following no true object (clutter, false alarms, spoofed positions): 1 unknown"


def test_the_default_start_is_a_whole_minute_before_the_run():
    now = 1793628123.75
    assert default_start(600.0, now) == 1793627520.0
    assert default_start(600.0, 1793628060.0) == 1793627460.0
    assert default_start(1800.0, now) % 60 == 0 and now - 1800.0 - 60 < default_start(1800.0, now) <= now - 1800.0
