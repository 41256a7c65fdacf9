"""Fusion worker behaviour on the in-process bus: bad messages, restarts, checkpoints."""

from __future__ import annotations

import asyncio
import json

import pytest

from lookout.bus import open_bus
from lookout.config import WorkerConfig
from lookout.scale import (
    CheckpointError,
    FusionWorker,
    Partition,
    checkpoint_key,
    publish_observations,
)
from lookout.scale.checkpoint import checkpoint_json
from lookout.store import open_store
from scale.helpers import border_crossers, crossing_object


def test_bad_messages_are_counted_and_skipped(tmp_path, caplog):
    part = Partition(n=1)
    obs = crossing_object(seconds=30)
    url = f"sqlite:///{tmp_path}/w.db"

    async def main():
        bus = open_bus("memory://bad-msgs")
        await bus.connect()
        try:
            await bus.publish("obs.radar.s0", b"{not json", None)
            await bus.publish("obs.radar.s0", {"time": 1.0, "source": "radar"}, None)  # no sensor, no position
            await bus.publish("obs.handoff.s0", {"no": "id"}, None)
            await bus.publish("obs.handoff.s0", {"id": "T9", "t": 5.0}, None)  # malformed state
            await publish_observations(bus, part, obs)
            with open_store(url) as st:
                w = FusionWorker(bus, st, part, "s0", WorkerConfig(idle_flush_s=0.2), rules=False)
                return await asyncio.wait_for(w.run(max_idle_s=0.8), 40)
        finally:
            await bus.delete()

    stats = asyncio.run(main())
    assert stats.rejected == {"bad observation": 2, "bad handoff": 1}
    assert stats.observations == len(obs)
    assert "message 1 on obs.radar.s0 rejected (bad observation)" in caplog.text
    with open_store(url) as st:
        assert {o.id for o in st.observations()} == {o.id for o in obs}
        assert len(st.tracks()) == 1


def test_restart_resumes_from_checkpoint_and_rerun_duplicates_nothing(tmp_path):
    """Stop a worker part-way (max_messages), restart it: it resumes after its checkpoint; the
    result equals one uninterrupted run."""
    part = Partition(n=1)
    obs = border_crossers(n_objects=3, seconds=60)

    async def run_all(url: str, stop_after: int | None):
        bus = open_bus(f"memory://restart-{stop_after}")
        await bus.connect()
        try:
            await publish_observations(bus, part, obs)
            stats = []
            with open_store(url) as st:
                if stop_after:
                    w = FusionWorker(bus, st, part, "s0", WorkerConfig(idle_flush_s=0.2, checkpoint_s=0.0))
                    stats.append(await w.run(max_messages=stop_after))
                w = FusionWorker(bus, st, part, "s0", WorkerConfig(idle_flush_s=0.2, checkpoint_s=0.0))
                stats.append(await asyncio.wait_for(w.run(max_idle_s=0.8), 40))
            return stats
        finally:
            await bus.delete()

    one = asyncio.run(run_all(f"sqlite:///{tmp_path}/one.db", None))
    two = asyncio.run(run_all(f"sqlite:///{tmp_path}/two.db", 100))
    assert two[1].resumed_from > 0 and two[1].resumed_from == two[0].last_seq
    assert two[0].observations + two[1].observations == one[0].observations == len(obs)
    with open_store(f"sqlite:///{tmp_path}/one.db") as a, open_store(f"sqlite:///{tmp_path}/two.db") as b:
        assert len(b.observations()) == len(obs)
        ka = sorted((x.rule, x.start, x.severity) for x in a.alerts())
        kb = sorted((x.rule, x.start, x.severity) for x in b.alerts())
        assert ka == kb and len(ka) == 3
        # same track ids except for the random epoch of each deployment
        strip = lambda ts: sorted(t.id.split("-", 2)[2] for t in ts)  # noqa: E731
        assert strip(a.tracks()) == strip(b.tracks())


def test_unreadable_checkpoint_is_a_clear_error(tmp_path):
    part = Partition(n=1)
    with open_store(f"sqlite:///{tmp_path}/c.db") as st:
        st.set_meta(checkpoint_key("s0"), "garbage")

        async def main():
            bus = open_bus("memory://cp")
            await bus.connect()
            await FusionWorker(bus, st, part, "s0").run(max_idle_s=0.1)

        with pytest.raises(CheckpointError, match="scale.checkpoint.s0.*cannot be read"):
            asyncio.run(main())
    with pytest.raises(ValueError, match="unknown sector 's3'"):
        FusionWorker(None, None, part, "s3")


def test_redelivered_messages_are_not_processed_twice(tmp_path):
    """A message delivered again (ack wait expired while its step was open) is skipped."""
    part = Partition(n=1)
    obs = crossing_object(seconds=20)

    async def main():
        bus = open_bus("memory://redeliver")
        await bus.connect()
        try:
            await publish_observations(bus, part, obs)
            real = bus.subscribe

            async def twice(*a, **kw):  # a subscription that delivers every batch two times
                sub = await real(*a, **kw)
                fetch = sub.fetch

                async def fetch_twice(n=256, timeout=1.0):
                    got = await fetch(n, timeout)
                    return got + got
                sub.fetch = fetch_twice
                return sub
            bus.subscribe = twice
            with open_store(f"sqlite:///{tmp_path}/r.db") as st:
                w = FusionWorker(bus, st, part, "s0", WorkerConfig(idle_flush_s=0.2), rules=False)
                return await asyncio.wait_for(w.run(max_idle_s=0.6), 30)
        finally:
            await bus.delete()

    stats = asyncio.run(main())
    assert stats.observations == len(obs) and stats.redelivered_skipped == stats.messages // 2
    with open_store(f"sqlite:///{tmp_path}/r.db") as st:
        (trk,) = st.tracks()
        assert trk.updates <= len(obs)  # each observation updated the track once at most


class _Crash(Exception):
    pass


def test_crash_after_a_checkpoint_inside_a_batch_resumes_inside_it(tmp_path):
    """Batches carry a second of data and steps are a quarter second, so checkpoints fall inside
    a message. A worker that dies right after such a checkpoint, restarted, skips exactly the
    records the checkpoint covers: the result equals one uninterrupted run."""
    from dataclasses import replace

    part = Partition(n=1)
    base = border_crossers(n_objects=3, seconds=50)
    obs = sorted((replace(o, time=o.time + q * 0.25, id=f"{o.id}-q{q}") for o in base for q in range(4)),
                 key=lambda o: (o.time, o.id))
    cfg = WorkerConfig(step_s=0.25, idle_flush_s=0.2, checkpoint_s=0.0)

    async def run_all(url: str, crash: bool):
        bus = open_bus(f"memory://partial-{crash}")
        await bus.connect()
        try:
            await publish_observations(bus, part, obs)
            stats, cut = [], []
            with open_store(url) as st:
                if crash:
                    w = FusionWorker(bus, st, part, "s0", cfg)
                    real = w._checkpoint

                    def checkpoint_then_die():
                        real()
                        if w.state.part > 0 and w.state.steps > 20:
                            cut.append((w.state.last_seq, w.state.part))
                            raise _Crash
                    w._checkpoint = checkpoint_then_die
                    with pytest.raises(_Crash):
                        await w.run(max_idle_s=1.0)
                    stats.append(w.stats)
                w = FusionWorker(bus, st, part, "s0", cfg)
                stats.append(await asyncio.wait_for(w.run(max_idle_s=0.8), 60))
            return stats, cut
        finally:
            await bus.delete()

    (one,), _ = asyncio.run(run_all(f"sqlite:///{tmp_path}/one.db", False))
    (first, second), cut = asyncio.run(run_all(f"sqlite:///{tmp_path}/two.db", True))
    assert cut and cut[0][1] > 0  # the checkpoint covered part of a batch
    assert second.resumed_from == cut[0][0]
    assert second.observations < one.observations == len(obs)
    with open_store(f"sqlite:///{tmp_path}/one.db") as a, open_store(f"sqlite:///{tmp_path}/two.db") as b:
        assert len(b.observations()) == len(obs)
        ka = sorted((x.rule, x.start, x.severity) for x in a.alerts())
        kb = sorted((x.rule, x.start, x.severity) for x in b.alerts())
        assert ka == kb and len(ka) == 3
        strip = lambda ts: sorted((t.id.split("-", 2)[2], t.updates) for t in ts)  # noqa: E731
        assert strip(a.tracks()) == strip(b.tracks())  # same tracks, each updated by the same observations


def _strict_json(text: str):
    def no_constants(name):
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=no_constants)


def test_checkpoint_is_versioned_json_that_restores_the_state(tmp_path):
    part = Partition(n=1)
    obs = border_crossers(n_objects=3, seconds=40)
    url = f"sqlite:///{tmp_path}/cp.db"

    async def main():
        bus = open_bus("memory://cp-json")
        await bus.connect()
        try:
            await publish_observations(bus, part, obs)
            with open_store(url) as st:
                w = FusionWorker(bus, st, part, "s0", WorkerConfig(idle_flush_s=0.2, checkpoint_s=0.0))
                await w.run(max_messages=60)
                return w
        finally:
            await bus.delete()

    w = asyncio.run(main())
    with open_store(url) as st:
        raw = st.get_meta(checkpoint_key("s0"))
        doc = _strict_json(raw)
        assert raw.startswith("{")  # JSON text
        assert (doc["format"], doc["version"], doc["sector"]) == ("lookout.worker-checkpoint", 3, "s0")
        assert doc["last_seq"] == w.state.last_seq and doc["rules"]["format"] == "lookout.rules-state"
        tracker = w.state.tracker
        assert [t["id"] for t in doc["tracker"]["tracks"]] == tracker.track_ids(confirmed_only=False)
        assert len(tracker.track_ids()) >= 2  # confirmed tracks in it
        again = FusionWorker(None, st, part, "s0").load_state()
    assert again.epoch == w.state.epoch and again.last_seq == w.state.last_seq and again.part == w.state.part
    assert again.tracker.track_ids(confirmed_only=False) == tracker.track_ids(confirmed_only=False)
    for tid in tracker.track_ids(confirmed_only=False):
        a, b = tracker.export_track(tid), again.tracker.export_track(tid)
        assert (a["x"], a["P"], a["mu"], a["t"]) == (b["x"], b["P"], b["mu"], b["t"])  # exactly
    assert again.tracker.stats == tracker.stats and again.tracker.time == tracker.time
    assert again.rules.checkpoint() == doc["rules"]
    assert again.alert_ids == w.state.alert_ids and again.alerts_made == w.state.alerts_made


def test_old_foreign_or_malformed_checkpoints_are_clear_errors(tmp_path):
    import base64
    import zlib

    part = Partition(n=2)
    with open_store(f"sqlite:///{tmp_path}/c.db") as st:
        w0 = FusionWorker(None, st, part, "s0", rules=False)
        good = _strict_json(checkpoint_json(w0._fresh()))

        def load(value) -> str:
            st.set_meta(checkpoint_key("s0"), value if isinstance(value, str) else json.dumps(value))
            with pytest.raises(CheckpointError, match="scale.checkpoint.s0") as info:
                FusionWorker(None, st, part, "s0", rules=False).load_state()
            return str(info.value)

        # a version-2 checkpoint (a pickle, zlib-compressed, base64)
        assert "versions 1 and 2 were pickles" in load(base64.b64encode(zlib.compress(b"\x80\x05N.")).decode())
        assert "cannot be read" in load("{not json")
        assert "not a 'lookout.worker-checkpoint' document" in load({"version": 3})
        assert "is version 2; this worker reads version 3" in load(dict(good, version=2))
        assert "a state of sector 's1', not s0" in load(dict(good, sector="s1"))
        assert "frame" in load(dict(good, tracker=dict(good["tracker"], frame=[0.0, 0.0, 0.0])))
        assert "worker state malformed" in load(dict(good, last_seq="many"))
        bad_track = dict(good["tracker"], tracks=[{"id": "T1", "x": [[1.0]]}])
        assert "tracker malformed" in load(dict(good, tracker=bad_track))
        assert FusionWorker(None, st, part, "s1", rules=False).load_state().last_seq == 0  # s1 has none: fresh
