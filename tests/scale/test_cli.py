"""The scale-out commands' arguments and errors, and the bus -> live hub bridge."""

from __future__ import annotations

import asyncio
import threading

from typer.testing import CliRunner

from lookout.bus import open_bus
from lookout.cli import app
from lookout.model import Alert, GeoPoint, Track, TrackStatus

runner = CliRunner()


def test_partition_command_lists_sectors_and_locates_a_position():
    r = runner.invoke(app, ["partition", "--sectors", "2", "--lat", "31.34", "--lon", "-111.05"])
    assert r.exit_code == 0, r.output
    assert "s0: 132 H3 cells" in r.output and "s1: 132 H3 cells" in r.output
    assert "-> s0" in r.output  # west of the sector origin


def test_worker_errors_name_the_problem(tmp_path):
    r = runner.invoke(app, ["worker", "--sector", "s5", "--sectors", "2", "--bus", "memory://",
                            "--store", f"sqlite:///{tmp_path}/x.db"])
    assert r.exit_code == 2 and "unknown sector 's5'" in r.output and "['s0', 's1']" in r.output
    bad = tmp_path / "lookout.toml"
    bad.write_text("[worker]\nstep = 1\n")
    r = runner.invoke(app, ["worker", "--sector", "s0", "--config", str(bad)])
    assert r.exit_code == 2 and "unknown key(s) in [worker]: ['step']" in r.output
    r = runner.invoke(app, ["worker", "--sector", "s0", "--bus", "kafka://x", "--store", f"sqlite:///{tmp_path}/x.db"])
    assert r.exit_code == 2 and "unsupported bus URL" in r.output
    r = runner.invoke(app, ["publish", "nosuch", "-", "--bus", "memory://"])
    assert r.exit_code == 2 and "unknown format 'nosuch'" in r.output


def test_worker_command_runs_a_sector_from_the_in_process_bus(tmp_path):
    # memory:// buses are per process: an idle worker starts, finds nothing, checkpoints nothing, exits
    r = runner.invoke(app, ["worker", "--sector", "s0", "--bus", "memory://cli", "--store",
                            f"sqlite:///{tmp_path}/w.db", "--max-idle", "0.5", "--no-rules"])
    assert r.exit_code == 0, r.output
    assert "sector s0: 0 observations in 0 steps (resumed after seq 0" in r.output


class _Hub:
    def __init__(self) -> None:
        self.calls = []

    def publish(self, time, tracks, deleted=(), alerts=()):
        self.calls.append((time, [t.id for t in tracks], list(deleted), [a.id for a in alerts]))


def test_bridge_relays_live_tracks_and_alerts():
    from lookout.scale.live import bridge

    hub, stop = _Hub(), threading.Event()

    async def main():
        bus = open_bus("memory://bridge")
        await bus.connect()
        task = asyncio.create_task(bridge(open_bus("memory://bridge"), hub, stop, timeout=0.1))
        await asyncio.sleep(0.3)
        t = Track(id="s0-aa00-T000001", time=10.0, position=GeoPoint(31.3, -110.9))
        gone = Track(id="s0-aa00-T000002", time=10.0, position=GeoPoint(31.3, -110.9), status=TrackStatus.DELETED)
        a = Alert(rule="border_crossing", severity="high", message="m", start=9.0, track_ids=[t.id], id="a-1")
        await bus.publish("tracks.s0", t, None)
        await bus.publish("tracks.s0", gone, None)
        await bus.publish("tracks.s0", b"not json", None)  # logged and skipped
        await bus.publish("alerts", a, None)
        # a worker's step: one message with the step's track states; a bad record in a batch
        # is skipped, the others are relayed
        t3 = Track(id="s1-bb00-T000003", time=11.0, position=GeoPoint(31.3, -110.8))
        t4 = Track(id="s1-bb00-T000004", time=11.0, position=GeoPoint(31.3, -110.7))
        await bus.publish("tracks.s1", [t3, {"id": "broken"}, t4], None)
        for _ in range(50):
            await asyncio.sleep(0.1)
            if sum(len(c[1]) for c in hub.calls) >= 3:
                break
        stop.set()
        await asyncio.wait_for(task, 5)
        await bus.delete()

    asyncio.run(main())
    ids = [i for c in hub.calls for i in c[1]]
    assert ids == ["s0-aa00-T000001", "s1-bb00-T000003", "s1-bb00-T000004"]
    assert [d for c in hub.calls for d in c[2]] == ["s0-aa00-T000002"]
    assert [x for c in hub.calls for x in c[3]] == ["a-1"]
