"""Operator location (rule type ``operator_located``): the Remote ID operator position of a drone
is added to the alerts of the other rules (``rules``: only those; empty: all), with the side of
the border it is on and its distance from the drone.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lookout.model import GeoPoint
from lookout.rules.alerts import Hit
from lookout.rules.config import OperatorLocatedRule
from lookout.rules.rule import latlon


class OperatorLocator:
    """Adds the operator's position to a step's hits (see the module docstring)."""

    def __init__(self, cfg: OperatorLocatedRule, engine: Any) -> None:
        self.cfg, self.engine = cfg, engine
        self.only = set(cfg.rules)

    def attach(self, hits: list[Hit]) -> None:
        ctx, tb = self.engine.context, self.engine.table
        sc = ctx.sector
        for h in hits:
            if self.only and h.key[0] not in self.only:
                continue
            for tid in h.track_ids:
                s = tb.slot.get(tid)
                tr = tb.tracks[s] if s is not None else None
                if tr is None or tr.operator is None:
                    continue
                op = tr.operator
                ox, oy = ctx.to_enu(op.lat, op.lon)
                side = ctx.side(float(ctx.border_offset(np.array([ox]), np.array([oy]))[0]))
                d = math.hypot(ox - tb.x[s], oy - tb.y[s])
                h.operator = GeoPoint(op.lat, op.lon, op.alt_m)
                h.evidence["operator"] = {"track_id": tid, "lat": op.lat, "lon": op.lon, "country_side": side,
                                          "distance_to_drone_m": d,
                                          "remote_id": tr.identities.get("remote_id")}
                h.message += f"; operator located at {latlon(op.lat, op.lon)} ({side} side, {d:.0f} m from the drone)"
                if side != sc.north_country:
                    h.evidence["operator"]["across_border"] = True
                break
