"""lookout.tracking: multi-target, multi-sensor tracking, numpy-vectorised, no I/O.

* :class:`Tracker` -- the pipeline tracker: :class:`~lookout.model.Observation` lists in,
  :class:`~lookout.model.TrackUpdates` out (WGS-84 tracks with identities, classes, labels).
* :class:`PositionTracker` -- the fast array path for 2-D position scans (CSV command, benchmark).
* :class:`TrackerConfig` -- every parameter, with defaults for the border sector.
"""

from lookout.tracking.config import TrackerConfig
from lookout.tracking.position import PositionTracker
from lookout.tracking.stats import TrackerStats, format_track_id
from lookout.tracking.tracker import Tracker

__all__ = ["PositionTracker", "Tracker", "TrackerConfig", "TrackerStats", "format_track_id"]
