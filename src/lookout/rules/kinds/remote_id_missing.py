"""Drones with no Remote ID (rule type ``remote_id_missing``): seen by a non-cooperative
sensor (radar, camera) with no Remote ID heard within ``grace_s``, for ``after_s``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lookout.rules.alerts import Hit
from lookout.rules.config import RemoteIdMissingRule
from lookout.rules.rule import Rule, Step, describe, latlon
from lookout.rules.table import NONCOOP, finite


class RemoteIdMissingImpl(Rule):
    cfg: RemoteIdMissingRule

    def __init__(self, cfg: RemoteIdMissingRule, engine: Any) -> None:
        super().__init__(cfg, engine)
        self.dark_since: dict[str, float] = {}
        self.noncoop = {str(s) for s in cfg.noncoop_sources}

    def evaluate(self, step: Step) -> list[Hit]:
        cfg, tb, t = self.cfg, self.table, step.time
        sel = self.select(step.slots)
        if len(sel) == 0:
            return []
        tt = tb.t[sel]
        rid_ok = np.isfinite(tb.rid_last[sel]) & (tt - tb.rid_last[sel] <= cfg.grace_s)
        seen = np.isfinite(tb.noncoop_last[sel])
        if self.noncoop != NONCOOP:  # a custom set of non-cooperative sources: check membership
            seen = np.array([bool(self.noncoop.intersection(tb.track(s).sources)) for s in sel.tolist()])
        dark = seen & ~rid_ok
        hits = []
        for s, is_dark in zip(sel.tolist(), dark.tolist()):
            tr = tb.track(s)
            if not is_dark:
                self.dark_since.pop(tr.id, None)
                continue
            since = self.dark_since.setdefault(tr.id, float(tb.t[s]))
            if t - since < cfg.after_s:
                continue
            if self.kept((tr.id,), t):
                continue
            srcs = sorted(set(tr.sources) & self.noncoop) or sorted(self.noncoop)
            msg = (f"{describe(tr)} seen by {' and '.join(srcs)} with no Remote ID for {t - since:.0f} s "
                   f"(at {latlon(tr.position.lat, tr.position.lon)})")
            hits.append(self.hit((tr.id,), [s], cfg.severity, msg,
                                 {"dark_since": since, "dark_for_s": t - since, "sources": sorted(set(tr.sources))}))
        return hits

    def forget(self, slots: list[int], ids: list[str]) -> None:
        for i in ids:
            self.dark_since.pop(i, None)

    def export(self, s: int, tid: str) -> dict | None:
        since = self.dark_since.get(tid)
        return None if since is None else {"dark_since": since}

    def adopt(self, s: int, tid: str, state: dict) -> None:
        if finite(state.get("dark_since")):
            self.dark_since[tid] = float(state["dark_since"])

    def state(self) -> dict[str, Any] | None:
        return {"dark_since": [[tid, t] for tid, t in self.dark_since.items()]}

    def load_state(self, state: dict[str, Any]) -> None:
        self.dark_since = {str(tid): float(t) for tid, t in state["dark_since"]}
