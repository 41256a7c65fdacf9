"""A track crossing from one sector worker to the next keeps its id."""

from __future__ import annotations

import asyncio
import json

import pytest

from lookout.bus import open_bus
from lookout.config import WorkerConfig
from lookout.model import TrackStatus
from lookout.scale import FusionWorker, Partition, publish_observations
from lookout.scale.handoff import SectorTracker, adopt_track, drop_tracks, export_track
from lookout.sector import load_sector
from lookout.store import open_store
from lookout.tracking import Tracker, TrackerConfig
from scale.conftest import NATS_URL
from scale.helpers import crossing_object


def test_export_adopt_round_trip_keeps_state_and_id():
    frame = load_sector().frame
    a = SectorTracker(TrackerConfig(), frame, id_prefix="s0-ab12-")
    obs = crossing_object(seconds=20)
    for o in obs:
        a.update(o.time, [o])
    (trk,) = a.tracks()
    assert trk.id.startswith("s0-ab12-T")
    payload = a.export_track(trk.id)
    assert json.loads(json.dumps(payload)) == payload  # travels as JSON
    assert a.release_tracks([trk.id]) == 1
    assert len(a) == 0 and a.tracks() == []
    b = Tracker(TrackerConfig(), frame, id_prefix="s1-cd34-")
    tid, replaced = b.adopt_track(payload)
    assert tid == trk.id and replaced == []
    (got,) = b.tracks()
    assert got.id == trk.id and got.first_time == trk.first_time and got.updates == trk.updates
    assert abs(got.position.lat - trk.position.lat) < 1e-9 and abs(got.position.lon - trk.position.lon) < 1e-9
    # the adopted track keeps being updated by the next observations, under its id
    more = crossing_object(seconds=25)[20:]
    for o in more:
        up = b.update(o.time, [o])
    assert [t.id for t in up.updated] == [trk.id]
    # a repeated handoff is ignored
    assert b.adopt_track(payload) == (trk.id, []) and len(b) == 1
    # the module functions name the same methods
    assert export_track(b, trk.id)["id"] == trk.id and drop_tracks(b, [trk.id]) == 1 and len(b) == 0
    with pytest.raises(KeyError):
        b.export_track(trk.id)


def test_adopt_rejects_a_foreign_frame():
    frame = load_sector().frame
    a = Tracker(TrackerConfig(), frame, id_prefix="x-")
    for o in crossing_object(seconds=10):
        a.update(o.time, [o])
    payload = a.export_track(a.tracks()[0].id)
    bad = dict(payload, x=[[1.0, 2.0]])
    with pytest.raises(ValueError, match="malformed handoff"):
        Tracker(TrackerConfig(), frame).adopt_track(bad)
    payload["frame"] = [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="frame"):
        adopt_track(SectorTracker(TrackerConfig(), frame), payload)
    with pytest.raises(ValueError, match="malformed handoff"):
        adopt_track(SectorTracker(TrackerConfig(), frame), {"id": "T1"})


@pytest.fixture(params=["memory+sqlite", "nats+postgres"])
def deployment(request, tmp_path):
    if request.param == "memory+sqlite":
        return "memory://handoff-test", "", f"sqlite:///{tmp_path}/h.db"
    return NATS_URL, request.getfixturevalue("nats_prefix"), request.getfixturevalue("pg_url")


def test_two_workers_hand_a_crossing_track_over(deployment):
    bus_url, prefix, url = deployment
    part = Partition(n=2)
    obs = crossing_object()
    sectors = [part.route(o) for o in obs]
    assert sectors[0] == "s0" and sectors[-1] == "s1"  # it crosses the partition boundary

    async def main():
        bus = open_bus(bus_url, prefix)
        await bus.connect()
        try:
            await publish_observations(bus, part, obs)
            workers = [FusionWorker(bus, open_store(url), part, s, WorkerConfig(idle_flush_s=0.2), rules=False)
                       for s in part.ids]
            stats = await asyncio.wait_for(asyncio.gather(*[w.run(max_idle_s=1.5) for w in workers]), 50)
            for w in workers:
                w.store.close()
            return stats
        finally:
            await bus.delete()
            await bus.close()

    s0, s1 = asyncio.run(main())
    assert s0.handoffs_out == 1 and s1.handoffs_in == 1
    with open_store(url) as st:
        assert sum(st.count_observations().values()) == len(obs)
        live = [t for t in st.tracks() if t.status != TrackStatus.DELETED]
        assert len(live) == 1, [(t.id, t.status, t.attrs) for t in st.tracks()]
        (trk,) = live
        assert trk.id.startswith("s0-")  # born in the west sector, still the same id in the east
        hist = st.track_history(trk.id)
        where = {part.sector_of(p.lat, p.lon) for p in hist}
        assert where == {"s0", "s1"}
        assert hist[-1].time >= obs[-1].time - 2 and hist[0].time <= obs[10].time
        # a short-lived track the east worker started before the handoff was merged into it
        for t in st.tracks():
            if t.id != trk.id:
                assert t.status == TrackStatus.DELETED and t.attrs.get("merged_into") == trk.id


async def _in_two_phases(part: Partition, obs: list, k: int, url: str, rules: bool) -> list:
    """Live order: ``obs[:k]`` (the last of them still in s0), then the rest, each phase published
    with a closing tick and run by fresh workers of both sectors (the second phase's resume from
    the first's checkpoints); returns each phase's worker statistics."""
    from lookout.scale import Publisher

    bus = open_bus("memory://handoff-live")
    await bus.connect()
    pub = Publisher(bus, part)
    try:
        stats = []
        for phase, tick in ((obs[:k], obs[k - 1].time + 1.0), (obs[k:], obs[-1].time + 4.0)):
            await pub.publish(phase)
            await pub.tick(tick)
            workers = [FusionWorker(bus, open_store(url), part, s, WorkerConfig(idle_flush_s=0.2), rules=rules)
                       for s in part.ids]
            stats.append(await asyncio.wait_for(asyncio.gather(*[w.run(max_idle_s=0.8) for w in workers]), 40))
            for w in workers:
                w.store.close()
        return stats
    finally:
        await bus.delete()


def test_handoff_arriving_first_is_adopted_without_a_merge(tmp_path):
    """Live order: the west worker hands the track over before the east worker sees the object;
    the east worker adopts it (no merge) and continues it after a restart from its checkpoint."""
    part = Partition(n=2)
    obs = crossing_object(speed=40.0)
    k = next(i for i, o in enumerate(obs) if part.route(o) == "s1")
    url = f"sqlite:///{tmp_path}/live.db"

    (a0, b0), (a1, b1) = asyncio.run(_in_two_phases(part, obs, k, url, rules=False))
    assert a0.handoffs_out == 1 and b0.handoffs_in == 1 and b0.merged == 0 and b0.observations == 0
    assert b1.resumed_from > 0 and b1.observations == len(obs) - k and b1.merged == 0
    with open_store(url) as st:
        (trk,) = st.tracks()
        assert trk.id.startswith("s0-") and trk.status != TrackStatus.DELETED
        hist = st.track_history(trk.id)
        assert {part.sector_of(p.lat, p.lon) for p in hist} == {"s0", "s1"}
        assert hist[-1].time == obs[-1].time


def test_alerts_and_rule_state_follow_a_handed_over_track(tmp_path):
    """A dark drone's alert raised in the west sector goes on in the east one under the same id
    (one alert in the store, not one ended at the boundary and a second one raised after the
    dark-drone timer), including across a restart of the workers from their checkpoints."""
    from lookout.model import GeoPosition, ObjectClass, Observation, SourceKind
    from scale.helpers import boundary_line

    part = Partition(n=2)
    frame = part.sector.frame
    north, cross = boundary_line(part)
    t0 = 1_750_000_000.0
    obs = []
    for i in range(200):  # east at 8 m/s, seen by radar only (no Remote ID): crosses after ~75 s
        lat, lon, _ = frame.to_geodetic(cross - 600.0 + 8.0 * i, north, 200.0)
        obs.append(Observation(time=t0 + i, source=SourceKind.RADAR, sensor="radar-x", id=f"o-d{i:04d}",
                               position=GeoPosition(float(lat), float(lon), None, sigma_h_m=10.0),
                               cls=ObjectClass.UAS, cls_confidence=0.9))
    k = next(i for i, o in enumerate(obs) if part.route(o) == "s1")
    url = f"sqlite:///{tmp_path}/alerts.db"

    (a0, b0), (a1, b1) = asyncio.run(_in_two_phases(part, obs, k, url, rules=True))
    assert a0.handoffs_out == 1 and b0.handoffs_in == 1 and b1.observations == len(obs) - k
    with open_store(url) as st:
        (trk,) = st.tracks()
        dark = [a for a in st.alerts() if a.rule == "dark_drone"]
        assert len(dark) == 1, [(a.id, a.start, a.end, a.evidence.get("ended")) for a in dark]
        (a,) = dark
        assert a.track_ids == [trk.id] and a.end is None  # still open: the drone is still there, still dark
        assert a.evidence["raised_at"] < obs[k].time < a.updated  # raised in the west, updated in the east
        assert a.evidence["dark_for_s"] >= obs[-1].time - obs[0].time - 5.0  # timer kept from the west
