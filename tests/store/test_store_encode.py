"""The store's record encoder says exactly what ``json.dumps(record.to_dict())`` says."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from lookout.model import (
    Alert,
    GeoPoint,
    GeoPosition,
    ObjectClass,
    Observation,
    OperatorLocationType,
    PolarMeasurement,
    Severity,
    Track,
    TrackStatus,
    Velocity,
    Zone,
)
from lookout.store._encode import dumps, encoder

T0 = 1_790_000_000.0


def _records() -> list:
    site = GeoPoint(31.35, -110.95, 1250.0)
    return [
        Observation(time=T0, source="adsb", sensor="adsb-1", position=GeoPosition(31.4, -110.9, 3000.0)),
        Observation(time=T0, source="adsb", sensor="adsb-1", ident="a1b2c3", callsign="N1",
                    position=GeoPosition(31.4, -110.9, None, sigma_h_m=15.0, sigma_v_m=3.0),
                    velocity=Velocity(1.0, -2.0, 0.5), cls=ObjectClass.FIXED_WING, cls_confidence=0.0,
                    attrs={"squawk": "7500", "nested": {"a": [1, 2.5, None]}, "pt": GeoPoint(1.0, 2.0),
                           "pair": (1, 2)}),
        Observation(time=T0, source="radar", sensor="r", label="US-ONLY",
                    measurement=PolarMeasurement(site=site, azimuth_deg=10.0, range_m=5000.0, sigma_range_m=20.0)),
        Observation(time=T0, source="camera", sensor="c", measurement=PolarMeasurement(site=GeoPoint(31.0, -111.0),
                                                                                     azimuth_deg=200.0)),
        Observation(time=T0, source="remote_id", sensor="rid", ident="1581F5FJD239C00DW22E",
                    position=GeoPosition(31.3, -110.9, 1400.0), operator=GeoPoint(31.29, -110.91, 1250.0),
                    operator_location_type=OperatorLocationType.TAKE_OFF, attrs={}),
        Track(id="t-1", time=T0, position=GeoPoint(31.3, -110.9, 10.0)),
        Track(id="t-2", time=T0, position=GeoPoint(31.3, -110.9), velocity=Velocity(3.0, 4.0),
              status=TrackStatus.TENTATIVE, identities={"icao24": "a1b2c3"}, sources=["adsb"], sensors=["a"],
              operator=GeoPoint(31.0, -110.0), attrs={"q": [1, {"b": None}]}),
        Alert(rule="r", severity=Severity.LOW, message="m\x00\udcff", start=T0),
        Alert(rule="r", severity="critical", message="é", start=T0, track_ids=["t-1", "t-2"], state="resolved",
              position=GeoPoint(31.0, -110.0), operator=GeoPoint(31.1, -110.1), evidence={"d": 1.5},
              resolved_by="x", resolved_at=T0 + 1, end=T0 + 2),
        Zone(id="z", name="Z", kind="no_drone", geometry={"type": "Point", "coordinates": [-110.9, 31.3]},
             properties={"r": 5}),
    ]


@pytest.mark.parametrize("record", _records(), ids=lambda r: type(r).__name__)
def test_encoding_equals_to_dict(record):
    want = json.loads(json.dumps(record.to_dict()))
    got = dumps(record)
    assert got.isascii()
    assert json.loads(got) == want
    assert type(record).from_dict(json.loads(got)) == type(record).from_dict(want)


def test_records_of_any_shape():
    """The generated encoders follow whatever fields a record class has, nesting included."""

    @dataclass
    class Leaf:
        x: float
        tags: list[str] = field(default_factory=list)

    @dataclass
    class Node:
        name: str
        leaf: Leaf | None = None
        child: Node | None = None
        extra: dict = field(default_factory=dict)

    n = Node("a", Leaf(1.5, ["t"]), Node("b", None, Node("c", Leaf(2.0))), {"k": Leaf(3.0)})
    from dataclasses import asdict

    assert json.loads(dumps(n)) == json.loads(json.dumps(asdict(n)))
    assert encoder(Node) is encoder(Node)  # generated once per class
    with pytest.raises(TypeError, match="cannot store a value of type object"):
        dumps(Node("x", extra={"o": object()}))


def test_fast_and_fallback_paths_say_the_same():
    """orjson writes plain ASCII, finite records; NaN/infinity anywhere in a free-form field,
    non-ASCII text or lone surrogates go through the standard encoder. Both read back alike."""
    import math

    import numpy as np

    from lookout.store import _encode

    base = dict(time=T0, source="adsb", sensor="s", position=GeoPosition(31.4, -110.9, 3000.0))
    cases = {
        "plain": Observation(**base, attrs={"a": 1, "b": [1.5, None], "c": np.float32(2.5), "d": np.arange(3)}),
        "nan": Observation(**base, attrs={"deep": {"x": [1.0, float("nan")]}}),
        "inf_numpy": Observation(**base, attrs={"x": np.float64("inf")}),
        "nan_array": Observation(**base, attrs={"x": np.array([1.0, np.nan])}),
        "nan_in_record": Observation(**base, attrs={"p": Velocity(1.0, 2.0, 0.0), "q": {"n": float("-inf")}}),
        "unicode": Observation(**base, callsign="Ñ1", attrs={"t": "边境"}),
    }
    fast = []
    real = _encode._encode

    def spy(d):
        fast.append(False)
        return real(d)

    _encode._encode = spy
    try:
        for name, o in cases.items():
            fast.clear()
            got = dumps(o)
            assert got.isascii(), name
            assert (not fast) == (name == "plain"), name  # only the plain record takes the fast path
            back = Observation.from_dict(json.loads(got))
            want = json.loads(json.dumps(o.to_dict(), default=lambda v: v.tolist() if hasattr(v, "tolist") else v.item()
                                         if hasattr(v, "item") else v.to_dict()))
            assert json.dumps(json.loads(got), sort_keys=True) == json.dumps(want, sort_keys=True), name
            assert back.id == o.id
    finally:
        _encode._encode = real
    nan_back = json.loads(dumps(cases["nan"]))["attrs"]["deep"]["x"][1]
    assert math.isnan(nan_back)
