"""Track ids that are unique across workers, and track handoff between sector workers.

A worker's tracker names its tracks ``<sector>-<epoch>-T000001`` (the tracker's ``id_prefix``),
so ids never collide between workers or between runs. When a confirmed track's estimate moves
into another sector, its worker exports the full filter state and bookkeeping
(:meth:`~lookout.tracking.Tracker.export_track`), releases it from its own tracker
(:meth:`~lookout.tracking.Tracker.release_tracks`) and publishes it on ``obs.handoff.<dest>``;
the receiving worker adopts it with its original id
(:meth:`~lookout.tracking.Tracker.adopt_track`). If the receiver already started its own track
on the same object (observations in the new sector can arrive before the handoff), the two are
merged: the newer state continues under the original id and the receiver's own short-lived
track is recorded as deleted with ``attrs["merged_into"]``.

This module only names those tracker methods for the scale-out code; the state they carry is
the tracker's business.
"""

from __future__ import annotations

from typing import Any

from lookout.model import Track
from lookout.tracking import Tracker, TrackerConfig


class SectorTracker(Tracker):
    """A :class:`Tracker` whose new track ids start with ``id_prefix`` (the same as
    ``Tracker(..., id_prefix=...)``, which new code uses)."""

    def __init__(self, config: TrackerConfig | None = None, frame=None, id_prefix: str = "") -> None:
        super().__init__(config, frame, id_prefix=id_prefix)


def export_track(tracker: Tracker, track_id: str) -> dict[str, Any]:
    """The handoff payload of one track (JSON-serialisable): :meth:`Tracker.export_track`."""
    return tracker.export_track(track_id)


def drop_tracks(tracker: Tracker, track_ids: list[str]) -> int:
    """Remove tracks without reporting them deleted (they live on elsewhere):
    :meth:`Tracker.release_tracks`."""
    return tracker.release_tracks(track_ids)


def adopt_track(tracker: Tracker, payload: dict[str, Any], merge_m: float = 1500.0,
                slack_s: float = 30.0) -> tuple[str, list[Track]]:
    """Adopt a handed-off track: :meth:`Tracker.adopt_track`; returns its id and the receiver's
    own tracks merged into it."""
    return tracker.adopt_track(payload, merge_m=merge_m, slack_s=slack_s)
