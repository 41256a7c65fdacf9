"""Rules across a sector boundary: a drone in one sector closing on an agent in the next."""

from __future__ import annotations

import asyncio

from lookout.bus import open_bus
from lookout.config import WorkerConfig
from lookout.model import GeoPosition, ObjectClass, Observation, SourceKind
from lookout.scale import FusionWorker, Partition, Publisher
from lookout.store import open_store
from scale.helpers import boundary_line

T0 = 1_750_000_000.0


def test_a_drone_closing_on_an_agent_across_the_boundary_raises_the_alert(tmp_path):
    part = Partition(n=2)
    frame = part.sector.frame
    north, cross = boundary_line(part)
    geo = lambda e, n: frame.to_geodetic(e, n, 0.0)[:2]  # noqa: E731
    # the agent stands 150 m into s1; its blue-force tracker reports every 5 s
    a_lat, a_lon = geo(cross + 150.0, north)
    agent = [Observation(time=T0 + t, source=SourceKind.BLUE_FORCE, sensor="bft", ident="agent-7",
                         position=GeoPosition(float(a_lat), float(a_lon), None, sigma_h_m=5.0), id=f"bf-{t}")
             for t in range(0, 120, 5)]
    # a drone flies east at 12 m/s inside s0 towards the agent, seen by radar once a second,
    # and stops 150 m short of the boundary (300 m from the agent)
    drone = []
    for t in range(120):
        e = min(cross - 1500.0 + 12.0 * t, cross - 150.0)
        lat, lon = geo(e, north + 20.0)
        drone.append(Observation(time=T0 + t + 0.5, source=SourceKind.RADAR, sensor="radar-b",
                                 position=GeoPosition(float(lat), float(lon), None, sigma_h_m=10.0),
                                 cls=ObjectClass.UAS, cls_confidence=0.9, id=f"d-{t}"))
    assert {part.route(o) for o in agent} == {"s1"} and {part.route(o) for o in drone} == {"s0"}
    obs = sorted(agent + drone, key=lambda o: o.time)

    async def main():
        bus = open_bus("memory://agents")
        await bus.connect()
        try:
            pub = Publisher(bus, part)
            await pub.publish(obs)
            await pub.tick(T0 + 125.0)
            stats = {}
            for s in part.ids:
                with open_store(f"sqlite:///{tmp_path}/{s}.db") as st:
                    w = FusionWorker(bus, st, part, s, WorkerConfig(idle_flush_s=0.2))
                    stats[s] = await asyncio.wait_for(w.run(max_idle_s=0.6), 60)
            return pub, stats
        finally:
            await bus.delete()

    pub, stats = asyncio.run(main())
    assert pub.agent_copies == len(agent)  # one copy of each fix, for s0
    assert stats["s0"].agent_fixes_in == len(agent) and stats["s1"].agent_fixes_in == 0
    # (without the copies, s0 never hears of the agent: no approach alert at all)
    with open_store(f"sqlite:///{tmp_path}/s0.db") as s0, open_store(f"sqlite:///{tmp_path}/s1.db") as s1:
        # the fixes are stored (and could be tracked) only by the sector holding them
        assert s0.count_observations() == {"radar": len(drone)}
        assert s1.count_observations() == {"blue_force": len(agent)}
        alerts = [a for a in s0.alerts() if a.rule == "drone_approach_agents"]
        assert alerts, [a.rule for a in s0.alerts()]
        assert alerts[0].evidence["agent_id"] == "agent-7"
        assert 250.0 <= alerts[0].evidence["distance_m"] <= 500.0
        assert not [a for a in s1.alerts() if a.rule == "drone_approach_agents"]
