"""The rule engine's whole state as versioned JSON: what a scale-out worker checkpoints.

:func:`engine_state` gives ``{"format": "lookout.rules-state", "version": 1, ...}``: the track
table (every live slot, exactly), each rule's state (:meth:`~lookout.rules.rule.Rule.state`,
keyed by rule name, with its type), the open alert episodes, the agents' last fixes, the
adopted handoff states still waiting for their track, and the engine's counters. Floats are
kept exactly (ENU metres of the sector frame, NaN as ``null``, infinities as ``"inf"``), and so
is the order of every mapping, so an engine restored from it continues step for step as the
saved one would have. Closed alerts are not kept (they are in the store).

:func:`load_engine_state` restores it into an engine built from the same rules file, zones and
sector; a state of another format, version or frame, or a malformed one, raises
:class:`EngineStateError` naming the part. A rule that is not in the saved state (the rules
file gained one) starts afresh; saved rules that are gone, or whose type changed, are skipped
(both logged); zone state is matched to the zones by id. An engine whose restore raised holds
part of the state: build a fresh one.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

from lookout.rules.context import AgentFix
from lookout.rules.table import floats_in, floats_out

if TYPE_CHECKING:
    from lookout.rules.engine import RuleEngine

log = logging.getLogger(__name__)

STATE_FORMAT = "lookout.rules-state"
#: version of :func:`engine_state`
STATE_VERSION = 1


class EngineStateError(ValueError):
    """A rule engine state that cannot be restored, with the reason."""


def _frame(engine: RuleEngine) -> list[float]:
    f = engine.context.frame
    return [f.lat0, f.lon0, f.alt0]


def engine_state(engine: RuleEngine) -> dict[str, Any]:
    ctx = engine.context
    return {
        "format": STATE_FORMAT, "version": STATE_VERSION, "frame": _frame(engine),
        "time": ctx.time,
        "agents": [[a.id, a.time, a.lat, a.lon, a.east, a.north, a.v_east, a.v_north, a.alt_m]
                   for a in ctx._agents.values()],
        "table": engine.table.state(),
        "rules": {r.name: {"type": r.cfg.type, "state": r.state()} for r in engine.rules},
        "alerts": engine.alerts.state(),
        "pending_handoffs": [[tid, st] for tid, st in engine.handoff.pending.items()],
        "steps": engine.steps, "rule_errors": dict(engine.rule_errors),
        "zones_checked": floats_out([engine._zones_checked])[0],
    }


def load_engine_state(engine: RuleEngine, state: Any) -> None:
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise EngineStateError(f"not a rule engine state (format {STATE_FORMAT!r})")
    if state.get("version") != STATE_VERSION:
        raise EngineStateError(f"rule engine state version {state.get('version')!r}; this engine reads "
                               f"version {STATE_VERSION}")
    frame = state.get("frame")
    if not (isinstance(frame, list) and len(frame) == 3
            and all(math.isclose(a, b, abs_tol=1e-9) for a, b in zip(frame, _frame(engine)))):
        raise EngineStateError(f"rule engine state of frame {frame}, this engine's frame is {_frame(engine)}")
    part = "engine"
    try:
        ctx = engine.context
        part = "agents"
        agents = {}
        for row in state["agents"]:
            a = AgentFix(str(row[0]), *(float(v) for v in row[1:8]), None if row[8] is None else float(row[8]))
            agents[a.id] = a
        part = "track table"
        engine.table.load_state(state["table"])
        saved = state["rules"]
        for r in engine.rules:
            part = f"rule {r.name}"
            st = saved.get(r.name)
            if st is None:
                log.warning("rule %s is not in the saved rule engine state: it starts afresh", r.name)
            elif st["type"] != r.cfg.type:
                log.warning("rule %s was of type %s in the saved state, now %s: it starts afresh",
                            r.name, st["type"], r.cfg.type)
            elif st["state"] is not None:
                r.load_state(st["state"])
        gone = sorted(set(saved) - {r.name for r in engine.rules})
        if gone:
            log.warning("saved state of rules no longer configured skipped: %s", ", ".join(gone))
        part = "alert episodes"
        engine.alerts.load_state(state["alerts"])
        part = "engine"
        pending = {str(tid): st for tid, st in state["pending_handoffs"]}
        steps, errors = int(state["steps"]), {str(k): int(v) for k, v in state["rule_errors"].items()}
        zones_checked = float(floats_in([state["zones_checked"]], 1)[0])
        time = float(state["time"])
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise EngineStateError(f"rule engine state: {part} malformed ({exc!r})") from None
    ctx._agents = agents
    ctx.time = time
    engine.handoff.pending = pending
    engine.steps = steps
    engine.rule_errors.clear()
    engine.rule_errors.update(errors)
    engine._zones_checked = zones_checked
