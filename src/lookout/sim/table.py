"""Simulated observations as columns (numpy arrays), turned into Observation records on demand.

Sensor models fill whole columns at once; the scenario merges every sensor's table, sorts by
time, and builds :class:`lookout.model.Observation` objects only for the rows a caller asks for.
NaN marks an absent float field, -1 an absent code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lookout.model import (
    LABELS,
    GeoPoint,
    GeoPosition,
    ObjectClass,
    Observation,
    OperatorLocationType,
    PolarMeasurement,
    Velocity,
)

FLOAT_COLS = ("t", "lat", "lon", "alt", "sig_h", "sig_v", "az", "el", "rng", "sig_az", "sig_el", "sig_rng", "vr",
              "ve", "vn", "vu", "conf", "op_lat", "op_lon", "op_alt")
INT_COLS = ("sensor", "cls", "optype", "label", "truth")
OBJ_COLS = ("ident", "callsign", "attrs")

CLASSES = list(ObjectClass)
CLASS_CODE = {c: i for i, c in enumerate(CLASSES)}
OPTYPES = list(OperatorLocationType)
OPTYPE_CODE = {c: i for i, c in enumerate(OPTYPES)}
LABEL_CODE = {lab: i for i, lab in enumerate(LABELS)}


@dataclass
class ObsTable:
    """Columns of simulated observations (one row per observation)."""

    cols: dict[str, np.ndarray]

    @classmethod
    def empty(cls, n: int, sensor: int, label: str) -> ObsTable:
        cols: dict[str, np.ndarray] = {c: np.full(n, np.nan) for c in FLOAT_COLS}
        for c in INT_COLS:
            cols[c] = np.full(n, -1, dtype=np.int64)
        cols["sensor"][:] = sensor
        cols["label"][:] = LABEL_CODE[label]
        for c in OBJ_COLS:
            cols[c] = np.full(n, None, dtype=object)
        return cls(cols)

    @classmethod
    def concat(cls, tables: list[ObsTable]) -> ObsTable:
        if not tables:
            return cls.empty(0, 0, "PUBLIC")
        return cls({c: np.concatenate([t.cols[c] for t in tables]) for c in tables[0].cols})

    def __len__(self) -> int:
        return len(self.cols["t"])

    def __getitem__(self, c: str) -> np.ndarray:
        return self.cols[c]

    def take(self, idx) -> ObsTable:
        return ObsTable({c: v[idx] for c, v in self.cols.items()})


def _f(x: float) -> float | None:
    return None if x != x else x  # NaN -> None


def build_observations(tab: ObsTable, lo: int, hi: int, *, sensors: list, sites: list[tuple], ids: np.ndarray
                       ) -> list[Observation]:
    """Observation records for rows ``lo:hi`` of a merged, time-sorted table."""
    c = {k: v[lo:hi].tolist() for k, v in tab.cols.items()}
    out: list[Observation] = []
    for i in range(hi - lo):
        s = c["sensor"][i]
        spec = sensors[s]
        lat = c["lat"][i]
        position = measurement = velocity = operator = None
        if lat == lat:
            position = GeoPosition(lat, c["lon"][i], _f(c["alt"][i]), c["sig_h"][i], _f(c["sig_v"][i]))
        else:
            site = sites[s]
            measurement = PolarMeasurement(
                GeoPoint(*site), c["az"][i], _f(c["el"][i]), _f(c["rng"][i]), c["sig_az"][i], _f(c["sig_el"][i]),
                _f(c["sig_rng"][i]), _f(c["vr"][i]))
        ve = c["ve"][i]
        if ve == ve:
            velocity = Velocity(ve, c["vn"][i], c["vu"][i] if c["vu"][i] == c["vu"][i] else 0.0)
        if c["op_lat"][i] == c["op_lat"][i]:
            operator = GeoPoint(c["op_lat"][i], c["op_lon"][i], _f(c["op_alt"][i]))
        cl, ot = c["cls"][i], c["optype"][i]
        attrs = c["attrs"][i]
        out.append(Observation(
            time=c["t"][i], source=spec.kind, sensor=spec.id, position=position, measurement=measurement,
            velocity=velocity, ident=c["ident"][i], callsign=c["callsign"][i],
            cls=CLASSES[cl] if cl >= 0 else None, cls_confidence=_f(c["conf"][i]), label=LABELS[c["label"][i]],
            operator=operator, operator_location_type=OPTYPES[ot] if ot >= 0 else None,
            attrs=dict(attrs) if attrs else {}, id=ids[lo + i]))
    return out


__all__ = ["ObsTable", "build_observations", "CLASS_CODE", "OPTYPE_CODE", "LABEL_CODE"]
