"""lookout.sim: a seeded, deterministic border-sector scenario generator.

``Scenario(ScenarioConfig(seed=7, duration_s=3600.0))`` builds the ground truth of every object
(aircraft, surveillance orbits, drones, vehicles, groups on foot), the sensors watching them,
own agents' posts and the scripted events computed from the truth; ``steps()`` and
``observations()`` give every sensor's observations (``lookout.model.Observation``) in time order.
See ``docs/sim.md``.
"""

from lookout.sim.records import Agent, ScenarioConfig, ScriptedEvent, SensorSpec, SimStep, TruthObject
from lookout.sim.scenario import Scenario

__all__ = ["Agent", "Scenario", "ScenarioConfig", "ScriptedEvent", "SensorSpec", "SimStep", "TruthObject"]
