"""A track's rule state moving to another engine (a sector handoff), as versioned JSON.

:meth:`RuleHandoff.export` gives what an engine knows of one track -- its counters in the track
table, each rule's state (zone entry times, border side and crossing count, loiter history,
Remote ID timers; positions as latitude/longitude, so the receiving engine may use another
frame) and its open alert episodes -- as ``{"version": 1, "episodes": [...], "table": {...},
"rules": {rule name: state}}``. The receiving engine's :meth:`RuleHandoff.adopt` continues the
episodes at once, under their alert ids, and keeps the rest until the track first reaches its
:meth:`~lookout.rules.engine.RuleEngine.evaluate` (the track table then gives it a slot), where
:meth:`RuleHandoff.restore` hands each rule its part. A malformed state is logged and left out,
whole or in part; the track is tracked either way.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from lookout.model import Alert, Track
from lookout.rules.rule import float_in, float_out

if TYPE_CHECKING:
    from lookout.rules.engine import RuleEngine

log = logging.getLogger(__name__)

#: version of :meth:`RuleHandoff.export` state
HANDOFF_VERSION = 1


class RuleHandoff:
    """Export, release and adoption of tracks' rule state for one engine."""

    def __init__(self, engine: RuleEngine) -> None:
        self.engine = engine
        #: adopted states waiting for their track's first evaluation: track id -> state
        self.pending: dict[str, dict[str, Any]] = {}

    def export(self, track_id: str) -> dict[str, Any]:
        eng = self.engine
        out: dict[str, Any] = {"version": HANDOFF_VERSION, "episodes": eng.alerts.export_track(track_id)}
        tb = eng.table
        s = tb.slot.get(track_id)
        if s is not None:
            out["table"] = {"updates": int(tb.updates[s]), "rid_last": float_out(tb.rid_last[s]),
                            "noncoop_last": float_out(tb.noncoop_last[s])}
            rules: dict[str, Any] = {}
            for r in eng.rules:
                try:
                    st = r.export(s, track_id)
                except Exception:  # noqa: BLE001 - the track moves on without this rule's state
                    log.exception("rule %s: state of %s not exported", r.name, track_id)
                    continue
                if st is not None:
                    rules[r.name] = st
            out["rules"] = rules
        return out

    def release(self, track_id: str) -> None:
        eng = self.engine
        self.pending.pop(track_id, None)
        eng.alerts.release_track(track_id)
        freed = eng.table.remove([track_id])
        for r in eng.rules:
            r.forget(freed, [track_id])

    def adopt(self, track_id: str, state: Any) -> list[Alert]:
        if not isinstance(state, dict) or state.get("version") != HANDOFF_VERSION:
            log.warning("rule state of handed-over track %s not adopted: not a version-%d state",
                        track_id, HANDOFF_VERSION)
            return []
        alerts = self.engine.alerts.adopt_episodes(track_id, state.get("episodes"))
        if isinstance(state.get("table"), dict) or isinstance(state.get("rules"), dict):
            self.pending[track_id] = state
        return alerts

    def drop(self, track_ids: set[str]) -> None:
        """Tracks deleted before their first evaluation here: their adopted state goes."""
        for tid in track_ids:
            self.pending.pop(tid, None)

    def restore(self, tracks: list[Track], slots: np.ndarray) -> None:
        """Apply the adopted state of tracks now in the table (fresh slots)."""
        eng = self.engine
        tb = eng.table
        for tr, s in zip(tracks, slots.tolist()):
            st = self.pending.pop(tr.id, None)
            if st is None:
                continue
            t = st.get("table")
            if isinstance(t, dict):
                if isinstance(t.get("updates"), int) and t["updates"] > 0:
                    tb.updates[s] += t["updates"]
                tb.rid_last[s] = np.fmax(tb.rid_last[s], float_in(t.get("rid_last")))
                tb.noncoop_last[s] = np.fmax(tb.noncoop_last[s], float_in(t.get("noncoop_last")))
            rules = st.get("rules") if isinstance(st.get("rules"), dict) else {}
            for r in eng.rules:
                rs = rules.get(r.name)
                if not isinstance(rs, dict):
                    continue
                try:
                    r.adopt(s, tr.id, rs)
                except Exception:  # noqa: BLE001 - a bad state restarts this rule for the track
                    log.exception("rule %s: state of handed-over track %s not adopted", r.name, tr.id)
