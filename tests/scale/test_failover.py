"""A worker killed with SIGKILL mid-stream and restarted loses no acknowledged observation and
no alert, and duplicates nothing (real NATS JetStream and PostgreSQL, worker as a process)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from lookout.bus import open_bus
from lookout.config import WorkerConfig
from lookout.scale import FusionWorker, Partition, checkpoint_key, publish_observations
from lookout.store import open_store
from scale.conftest import NATS_URL
from scale.helpers import border_crossers

ROOT = Path(__file__).resolve().parents[2]


def _alert_keys(store) -> Counter:
    return Counter((a.rule, round(a.start, 3), str(a.severity), len(a.track_ids)) for a in store.alerts())


def _reference(obs, tmp_path) -> tuple[Counter, int]:
    """The same observations through an uninterrupted in-process worker."""
    async def main():
        bus = open_bus("memory://failover-ref")
        await bus.connect()
        try:
            await publish_observations(bus, Partition(n=1), obs)
            with open_store(f"sqlite:///{tmp_path}/ref.db") as st:
                await FusionWorker(bus, st, Partition(n=1), "s0", WorkerConfig(idle_flush_s=0.5)).run(max_idle_s=1.0)
        finally:
            await bus.delete()

    asyncio.run(asyncio.wait_for(main(), 40))
    with open_store(f"sqlite:///{tmp_path}/ref.db") as st:
        return _alert_keys(st), len(st.tracks())


async def _acked_ids(prefix: str) -> set[str]:
    """Ids of the observations the worker's durable consumer has acknowledged."""
    bus = open_bus(NATS_URL, prefix)
    await bus.connect()
    try:
        info = await bus.js.consumer_info(bus.stream_name("OBS"), "fusion-s0")
        floor = info.ack_floor.stream_seq
        ids: set[str] = set()
        if floor:
            sub = await bus.subscribe("obs.>", start_seq=1)
            done = False
            while not done:
                msgs = await sub.fetch(500, 2.0)
                assert msgs, "stream ended before the ack floor"
                for m in msgs:
                    if m.seq > floor:
                        done = True
                        break
                    if not m.subject.startswith("obs.tick."):  # a batch of observations
                        ids.update(r["id"] for r in m.records())
                    if m.seq == floor:
                        done = True
                        break
            await sub.close()
        return ids
    finally:
        await bus.close()


def test_sigkill_mid_stream_loses_and_duplicates_nothing(tmp_path, nats_prefix, pg_url):
    obs = border_crossers(n_objects=5, seconds=100)
    ids = {o.id for o in obs}
    ref_alerts, ref_tracks = _reference(obs, tmp_path)
    assert sum(ref_alerts.values()) == 5

    async def publish():
        bus = open_bus(NATS_URL, nats_prefix)
        await bus.connect()
        try:
            await publish_observations(bus, Partition(n=1), obs)
        finally:
            await bus.close()

    asyncio.run(publish())
    cfg = tmp_path / "lookout.toml"
    # a checkpoint (and acknowledgement) after every step, small pulls: the kill lands mid-stream
    cfg.write_text("[worker]\ncheckpoint_s = 0\nstore_flush_s = 0\nbatch = 4\nidle_flush_s = 0.5\n")
    env = dict(os.environ, LOOKOUT_BUS_URL=NATS_URL, LOOKOUT_STORE_URL=pg_url, LOOKOUT_BUS_PREFIX=nats_prefix,
               LOOKOUT_CONFIG=str(cfg), PYTHONPATH=str(ROOT / "src"))
    cmd = [sys.executable, "-m", "lookout", "worker", "--sector", "s0", "--max-idle", "1"]
    store = open_store(pg_url)
    kills = 0
    try:
        for attempt in range(2):
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path)
            try:
                if attempt == 0:  # kill it once its first checkpoint after this start is in the store
                    before = store.get_meta(checkpoint_key("s0"))
                    deadline = time.monotonic() + 40
                    while time.monotonic() < deadline and proc.poll() is None:
                        cp = store.get_meta(checkpoint_key("s0"))
                        if cp is not None and cp != before:
                            break
                        time.sleep(0.05)
                    if proc.poll() is None:
                        proc.send_signal(signal.SIGKILL)
                        proc.wait(10)
                        kills += 1
                        # everything acknowledged so far is in the store
                        acked = asyncio.run(_acked_ids(nats_prefix))
                        stored = {o.id for o in store.observations()}
                        assert acked <= stored, f"{len(acked - stored)} acknowledged observations not stored"
                        assert len(stored) < len(ids)  # mid-stream
                        continue
                out, _ = proc.communicate(timeout=50)
                assert proc.returncode == 0, out.decode(errors="replace")
                assert b"resumed after seq 0;" not in out and b"resumed after seq" in out  # from its checkpoint
                break
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(5)
        assert kills == 1
        stored = store.observations()
        assert len(stored) == len(ids) and {o.id for o in stored} == ids
        assert sum(store.count_observations().values()) == len(ids)
        assert _alert_keys(store) == ref_alerts  # every alert, once
        assert len(store.tracks()) == ref_tracks
    finally:
        store.close()
