"""Counters of a tracker and the string form of track numbers (shared by both front ends)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class TrackerStats:
    """Counters of a tracker since it was created."""

    observations: int = 0  # observations (measurements) received
    scans: int = 0
    dropped_late: int = 0  # older than the late tolerance: counted and dropped
    skipped_blue_force: int = 0  # own-force positions: not tracked
    gated_out: int = 0  # outside every track's gate (they start tentative tracks)
    unassociated_bearings: int = 0  # camera bearings matching no track (cannot start one)
    tracks_created: int = 0  # tentative tracks started
    tracks_confirmed: int = 0
    tracks_deleted: int = 0  # confirmed tracks deleted
    tentative_dropped: int = 0  # tentative tracks that never confirmed
    identity_fusions: int = 0  # cooperative identities fused into non-cooperative tracks

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def format_track_id(n) -> str:
    """The stable string id of track number ``n`` (``T000123``)."""
    return f"T{int(n):06d}"
