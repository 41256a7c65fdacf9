"""A sector worker's checkpoint: everything it keeps across a restart, as versioned JSON.

The checkpoint is one JSON object, stored as text in the store's meta ``scale.checkpoint.<sector>``::

    {"format": "lookout.worker-checkpoint", "version": 3, "sector": "s0", "epoch": "1a2b",
     "last_seq": 812, "part": 3, "window_end": 1790000042.0,
     "alert_ids": {...}, "alerts_made": 7, "steps": 40, "observations": 12000, "rejected": {...},
     "handoffs_out": 2, "handoffs_in": 1, "merged": 0,
     "tracker": {"frame": [lat0, lon0, alt0], "id_prefix": "s0-1a2b-", "time": ..., "next_id": 31,
                 "periods": {sensor: s}, "stats": {...}, "tracks": [<Tracker.export_track>, ...]},
     "rules": <RuleEngine.checkpoint> | null}

The tracker's tracks are its handoff payloads (:meth:`~lookout.tracking.Tracker.export_track`,
every track, tentative ones too, in the tracker's order), restored with
:meth:`~lookout.tracking.Tracker.adopt_track` into a fresh tracker; the rule engine's state is
:mod:`lookout.rules.checkpoint`. Floats are exact, so a worker restarted from a checkpoint
repeats the steps after it as the first run did (same track ids, updates and alerts).

:func:`load_checkpoint` validates the format, version, sector and frame and raises
:class:`CheckpointError` with the reason for anything it cannot restore, including the
pickled checkpoints of versions 1 and 2; the error says to delete the checkpoint to start the
sector afresh.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from lookout.rules.checkpoint import EngineStateError
from lookout.rules.engine import RuleEngine
from lookout.tracking import Tracker, TrackerConfig

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "lookout.worker-checkpoint"
CHECKPOINT_VERSION = 3


class CheckpointError(RuntimeError):
    pass


def checkpoint_key(sector: str) -> str:
    return f"scale.checkpoint.{sector}"


@dataclass
class WorkerState:
    """Everything a worker must keep across a restart (see :func:`checkpoint_json`)."""

    sector: str
    epoch: str
    tracker: Tracker
    rules: RuleEngine | None
    last_seq: int = 0  # stream sequence covered by this state
    part: int = 0  # records of message last_seq + 1 (a batch) covered too
    window_end: float | None = None
    alert_ids: dict[str, str] = field(default_factory=dict)  # rule-engine alert id -> stored id
    alerts_made: int = 0
    steps: int = 0
    observations: int = 0
    rejected: Counter = field(default_factory=Counter)
    handoffs_out: int = 0
    handoffs_in: int = 0
    merged: int = 0


_COUNTS = ("last_seq", "part", "alerts_made", "steps", "observations", "handoffs_out", "handoffs_in", "merged")


# -- the tracker -------------------------------------------------------------------------------
# Tracks travel as their handoff payloads; the tracker-wide bookkeeping that decides what comes
# next (the clock, the number of the next track id, each sensor's learnt revisit period, the
# counters) as Tracker.bookkeeping().

def tracker_state(tracker: Tracker) -> dict[str, Any]:
    f = tracker.frame
    # the Track view of each state is not needed to restore it
    tracks = [tracker.export_track(tid, with_track=False) for tid in tracker.track_ids(confirmed_only=False)]
    return {"frame": [f.lat0, f.lon0, f.alt0], "id_prefix": tracker.id_prefix, **tracker.bookkeeping(),
            "tracks": tracks}


def restore_tracker(state: dict[str, Any], config: TrackerConfig, frame: Any) -> Tracker:
    """A tracker continuing :func:`tracker_state`; raises ValueError when it cannot."""
    tracker = Tracker(config, frame, id_prefix=str(state["id_prefix"]))
    ids = []
    for p in state["tracks"]:
        # no merging on the way in: the saved tracks are distinct by construction
        tid, replaced = tracker.adopt_track(p, merge_m=0.0, slack_s=-math.inf)
        if replaced or tid in ids:
            raise ValueError(f"track {tid} merged with another on restore")
        ids.append(tid)
    if tracker.track_ids(confirmed_only=False) != ids:
        raise ValueError("tracks out of order on restore")
    tracker.restore_bookkeeping(state)
    return tracker


# -- the worker's state ------------------------------------------------------------------------------

def checkpoint_json(st: WorkerState) -> str:
    """The checkpoint text of ``st``."""
    doc = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "sector": st.sector, "epoch": st.epoch,
           **{k: getattr(st, k) for k in _COUNTS}, "window_end": st.window_end, "alert_ids": st.alert_ids,
           "rejected": dict(st.rejected), "tracker": tracker_state(st.tracker),
           "rules": None if st.rules is None else st.rules.checkpoint()}
    return orjson.dumps(doc).decode()


def load_checkpoint(raw: str, sector: str, tracker_config: TrackerConfig, frame: Any,
                    make_rules: Callable[[], RuleEngine] | None) -> WorkerState:
    """The :class:`WorkerState` of checkpoint text ``raw`` of sector ``sector``; ``make_rules``
    builds the rule engine the state is restored into (None: a worker without rules)."""
    key = checkpoint_key(sector)
    if not raw.lstrip().startswith("{"):
        raise CheckpointError(f"checkpoint {key!r} in the store cannot be read (not a JSON checkpoint; versions 1 "
                              f"and 2 were pickles); delete it to start the sector afresh")
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise CheckpointError(f"checkpoint {key!r} in the store cannot be read ({exc}); delete it to start "
                              f"the sector afresh") from None
    if not isinstance(doc, dict) or doc.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"checkpoint {key!r} in the store cannot be read (not a {CHECKPOINT_FORMAT!r} "
                              f"document); delete it to start the sector afresh")
    if doc.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(f"checkpoint {key!r} is version {doc.get('version')!r}; this worker reads version "
                              f"{CHECKPOINT_VERSION}; delete it to start the sector afresh")
    if doc.get("sector") != sector:
        raise CheckpointError(f"checkpoint {key!r} is a state of sector {doc.get('sector')!r}, not {sector}")
    saved_frame = doc.get("tracker", {}).get("frame") if isinstance(doc.get("tracker"), dict) else None
    here = [frame.lat0, frame.lon0, frame.alt0]
    if not (isinstance(saved_frame, list) and len(saved_frame) == 3
            and all(isinstance(a, (int, float)) and math.isclose(a, b, abs_tol=1e-9)
                    for a, b in zip(saved_frame, here))):
        raise CheckpointError(f"checkpoint {key!r} is in frame {saved_frame}, this worker's sector frame is {here}; "
                              f"delete it to start the sector afresh")
    part = "worker state"
    try:
        counts = {k: int(doc[k]) for k in _COUNTS}
        we = doc["window_end"]
        window_end = None if we is None else float(we)
        alert_ids = {str(k): str(v) for k, v in doc["alert_ids"].items()}
        rejected = Counter({str(k): int(v) for k, v in doc["rejected"].items()})
        part = "tracker"
        tracker = restore_tracker(doc["tracker"], tracker_config, frame)
        part = "rules"
        rules = None
        if make_rules is not None:
            rules = make_rules()
            if doc["rules"] is None:  # written by the worker run without rules: they start now
                log.warning("checkpoint %r holds no rule engine state: the rules start afresh", key)
            else:
                rules.load_checkpoint(doc["rules"])
    except EngineStateError as exc:
        raise CheckpointError(f"checkpoint {key!r}: {exc}; delete it to start the sector afresh") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"checkpoint {key!r}: {part} malformed ({exc!r}); delete it to start the sector "
                              f"afresh") from None
    return WorkerState(sector, str(doc["epoch"]), tracker, rules, window_end=window_end, alert_ids=alert_ids,
                       rejected=rejected, **counts)
