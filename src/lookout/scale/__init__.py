"""lookout.scale: sector-partitioned fusion workers over the bus (see ``docs/scale-out.md``).

* :class:`Partition` -- H3 cells grouped into sectors ``s0..s{n-1}``; routes observations;
* :class:`FusionWorker` -- one sector's pipeline (tracker + rules), at-least-once with JSON
  checkpoints (:mod:`lookout.scale.checkpoint`);
* :class:`HandoffCoordinator` -- tracks handed between sector workers (:mod:`lookout.scale.coordinator`);
* :func:`publish_observations` -- route and publish observations to ``obs.<source>.<sector>``;
* :mod:`lookout.scale.handoff` -- globally unique track ids and track handoff between sectors.
"""

from __future__ import annotations

from lookout.scale.checkpoint import CheckpointError, checkpoint_key
from lookout.scale.coordinator import HandoffCoordinator
from lookout.scale.partition import Partition
from lookout.scale.publish import Publisher, publish_observations
from lookout.scale.worker import FusionWorker, WorkerStats, tune_gc

__all__ = ["CheckpointError", "FusionWorker", "HandoffCoordinator", "Partition", "Publisher", "WorkerStats",
           "checkpoint_key", "publish_observations", "tune_gc"]
