"""The bus on both implementations: in-process and a real NATS JetStream server."""

from __future__ import annotations

import asyncio

import pytest

from lookout.bus import BusError, encode, open_bus, subject_matches
from lookout.model import GeoPosition, Observation, SourceKind


def _obs(i: int) -> Observation:
    return Observation(time=1000.0 + i, source=SourceKind.ADSB, sensor="rx", ident="abc123",
                       position=GeoPosition(31.3, -110.9 + i * 1e-4, 1500.0), id=f"o-{i}")


@pytest.fixture(params=["memory", "nats"])
def bus_url(request):
    if request.param == "memory":
        yield "memory://bus-test", ""
    else:
        yield "nats://127.0.0.1:4222", request.getfixturevalue("nats_prefix")


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_publish_dedup_filter_and_durable_restart(bus_url):
    url, prefix = bus_url

    async def main():
        bus = open_bus(url, prefix)
        await bus.connect()
        try:
            items = [(f"obs.adsb.s{i % 2}", _obs(i), f"o-{i}") for i in range(10)]
            assert await bus.publish_many(items) == 10
            assert await bus.publish_many(items[:3]) == 0  # same ids: dropped
            assert await bus.publish("obs.adsb.s0", _obs(0), "o-0") == 0
            sub = await bus.subscribe("obs.*.s1", durable="w-s1", ack_all=True)
            got = await sub.fetch(100, 2.0)
            assert [m.subject for m in got] == ["obs.adsb.s1"] * 5
            assert [Observation.from_dict(m.record()).id for m in got] == [f"o-{i}" for i in range(1, 10, 2)]
            seqs = [m.seq for m in got]
            assert seqs == sorted(seqs) and len(set(seqs)) == 5
            await got[2].ack()
            await sub.close()
            # restart the durable consumer right after the third message (a worker's checkpoint)
            sub = await bus.subscribe("obs.*.s1", durable="w-s1", start_seq=seqs[2] + 1, ack_all=True)
            again = await sub.fetch(100, 2.0)
            assert [m.seq for m in again] == seqs[3:]
            await sub.close()
            # a live subscriber sees only what is published after it subscribed
            live = await bus.subscribe("tracks.>", new_only=True)
            await bus.publish("tracks.s0", {"id": "T1"}, None)
            assert [m.record() for m in await live.fetch(10, 2.0)] == [{"id": "T1"}]
            await live.close()
            with pytest.raises(BusError, match="no stream"):
                await bus.publish("weather.today", {}, None)
        finally:
            await bus.delete()
            await bus.close()

    run(main())


def test_memory_durable_resumes_at_ack_floor():
    async def main():
        bus = open_bus("memory://floor")
        await bus.connect()
        for i in range(6):
            await bus.publish("obs.radar.s0", _obs(i), f"o-{i}")
        sub = await bus.subscribe("obs.>", durable="d")
        msgs = await sub.fetch(10, 0.5)
        for m in msgs[:4]:
            await m.ack()
        sub2 = await bus.subscribe("obs.>", durable="d")  # unacknowledged ones come again
        assert [m.seq for m in await sub2.fetch(10, 0.5)] == [5, 6]
        assert await sub2.fetch(10, 0.1) == []
        await bus.delete()

    run(main())


def test_bad_urls_and_subjects():
    with pytest.raises(ValueError, match="unsupported bus URL"):
        open_bus("kafka://x")
    with pytest.raises(ValueError, match="bus prefix"):
        open_bus("nats://127.0.0.1:4222", "bad.prefix")
    assert subject_matches("obs.*.s1", "obs.adsb.s1")
    assert not subject_matches("obs.*.s1", "obs.adsb.s10")
    assert subject_matches("obs.>", "obs.a.b") and not subject_matches("obs.>", "obs")

    async def refused():
        bus = open_bus("nats://127.0.0.1:1")  # nothing listens on port 1
        with pytest.raises(BusError, match="cannot connect to NATS"):
            await bus.connect()

    run(refused())


def test_records_round_trip_through_the_wire_format():
    from lookout.bus import decode, encode
    from lookout.model import Alert, GeoPoint, Track, Velocity

    o = _obs(3)
    assert Observation.from_dict(decode(encode(o))) == o
    t = Track(id="s0-ab12-T000001", time=5.0, position=GeoPoint(31.3, -110.9, 1500.0), velocity=Velocity(3, 4),
              identities={"icao24": "abc123"}, attrs={"merged_into": "x"})
    assert Track.from_dict(decode(encode(t))) == t
    a = Alert(rule="border_crossing", severity="high", message="m", start=4.0, track_ids=[t.id])
    assert Alert.from_dict(decode(encode(a))) == a


def test_memory_bus_retention_keeps_sequences():
    async def main():
        bus = open_bus("memory://retention")
        await bus.connect()
        bus.set_limit(8)
        seqs = [await bus.publish("obs.radar.s0", _obs(i), f"o-{i}") for i in range(20)]
        assert seqs == list(range(1, 21))
        assert bus.stream_length("OBS") <= 10
        sub = await bus.subscribe("obs.>", durable="late")  # its floor (0) is past retention
        got = [m.seq for m in await sub.fetch(100, 0.2)]
        assert got == list(range(21 - len(got), 21)) and len(got) >= 8
        assert [Observation.from_dict(m.record()).id for m in (await (await bus.subscribe(
            "obs.>", start_seq=19)).fetch(10, 0.2))] == ["o-18", "o-19"]
        await bus.delete()

    run(main())


def test_batches_round_trip_and_an_oversized_batch_is_split(bus_url):
    """A batch is one message whose records come back in order; re-publishing the same batch is
    dropped; a batch over the NATS server's maximum payload goes out in parts that fit."""
    from lookout.bus import batch_id

    url, prefix = bus_url

    async def main():
        bus = open_bus(url, prefix)
        await bus.connect()
        try:
            small = [_obs(i) for i in range(5)]
            bid = batch_id("obs.radar.s0", (o.id for o in small))
            assert await bus.publish_many([("obs.radar.s0", small, bid)]) == 1
            assert await bus.publish_many([("obs.radar.s0", small, bid)]) == 0  # same batch: dropped
            sub = await bus.subscribe("obs.>", start_seq=1)
            (m,) = await sub.fetch(10, 1.0)
            assert [Observation.from_dict(r).id for r in m.records()] == [o.id for o in small]
            assert isinstance(m.record(), list)
            await sub.close()
            if url.startswith("nats"):
                limit = bus.nc.max_payload
                per = len(encode(_obs(0)))
                big = [_obs(i) for i in range(int(2.5 * limit / per))]  # ~2.5 times the limit
                new = await bus.publish_many([("obs.radar.s1", big, "big")])
                assert new >= 3
                sub = await bus.subscribe("obs.*.s1", start_seq=1)
                got, ids = [], []
                while len(got) < len(big):
                    msgs = await sub.fetch(100, 1.0)
                    assert msgs
                    for mm in msgs:
                        assert len(mm.data) <= limit
                        ids.append(mm.msg_id)
                        got += [r["id"] for r in mm.records()]
                assert got == [o.id for o in big]  # every record, in order
                assert all(i.startswith("big/") for i in ids)
                await sub.close()
        finally:
            await bus.delete()
            await bus.close()

    run(main())


def test_nats_fetches_are_bounded_in_bytes_and_lose_nothing(nats_prefix):
    """A backlog of large batches comes in fetches of at most ``fetch_bytes`` (nats-py would drop
    what overflows a subscription's pending queue), every message once, in order; the
    subscription's pending queue has no limits, so the client never drops a delivery."""
    from lookout.bus.jetstream import JetStreamSubscription

    async def main():
        bus = open_bus("nats://127.0.0.1:4222", nats_prefix)
        await bus.connect()
        try:
            batches = [[_obs(1000 * b + i) for i in range(400)] for b in range(30)]  # ~80 KB each
            assert await bus.publish_many([("obs.radar.s0", x, f"b{k}") for k, x in enumerate(batches)]) == 30
            sub = await bus.subscribe("obs.*.s0", durable="w-s0", ack_all=True)
            assert isinstance(sub, JetStreamSubscription)
            assert sub.psub._sub._pending_bytes_limit == 0 and sub.psub._sub._pending_msgs_limit == 0
            size = len(encode(batches[0]))
            sub.fetch_bytes = 3 * size + size // 2  # room for three batches a fetch
            got, asked = [], []
            while len(got) < 30:
                msgs = await sub.fetch(1000, 1.0)
                assert msgs
                asked.append(sub.asked)
                assert len(msgs) <= sub.asked
                got += msgs
            assert asked[0] == 16 and set(asked[1:]) == {3}  # the first fetch learns the size
            assert [m.msg_id for m in got] == [f"b{k}" for k in range(30)]
            assert [r["id"] for m in got for r in m.records()] == [o.id for x in batches for o in x]
            assert await sub.fetch(1000, 0.5) == [] and sub.asked == 3
            await got[-1].ack()
            await sub.close()
        finally:
            await bus.delete()
            await bus.close()

    run(main())


def test_a_delivery_lost_in_the_client_stops_the_subscription_before_anything_after_it():
    """Acknowledging a message after a lost delivery would acknowledge the lost one too: a gap
    in the consumer's delivery sequence raises before the later message is handed out."""
    from types import SimpleNamespace

    from lookout.bus.jetstream import DeliveryGap, JetStreamSubscription

    def msg(cseq: int, sseq: int):
        md = SimpleNamespace(sequence=SimpleNamespace(consumer=cseq, stream=sseq), consumer="fusion-s0",
                             num_delivered=1)
        return SimpleNamespace(subject="obs.radar.s0", data=b"[]", metadata=md, headers=None, ack_sync=None)

    class Fake:
        def __init__(self, batches):
            self.batches = list(batches)

        async def fetch(self, batch, timeout):
            return self.batches.pop(0)

    sub = JetStreamSubscription(Fake([[msg(7, 70), msg(8, 75)], [msg(9, 80)], [msg(11, 90)]]), "")
    assert [m.seq for m in run(sub.fetch(10, 1.0))] == [70, 75]
    assert [m.seq for m in run(sub.fetch(10, 1.0))] == [80]
    with pytest.raises(DeliveryGap, match="deliveries 10-10 of consumer 'fusion-s0' were lost"):
        run(sub.fetch(10, 1.0))
