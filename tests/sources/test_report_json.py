"""Agent sighting reports as JSON lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lookout.model import ObjectClass, SourceKind
from lookout.sources import decoder_class
from lookout.sources.report import ReportDecoder, parse_direction

DATA = Path(__file__).parent / "data" / "report"


def test_sightings_file():
    dec = decoder_class("report")()
    obs = [o for line in (DATA / "sightings.jsonl").read_bytes().splitlines() for o in dec.decode(line)]
    assert dec.stats.rejected == {"missing_lon": 1, "bad_count": 1}
    assert dec.stats.skipped == {"direction_not_compass": 1}
    a, b, c, d = obs
    # words that are not a compass direction do not lose the sighting
    assert d.attrs["direction"] == "upwards" and "direction_deg" not in d.attrs and d.velocity is None
    assert a.source == SourceKind.REPORT and a.sensor == "agent-12" and a.time == 1700000000
    assert a.position.lat == 31.335 and a.position.sigma_h_m == 150.0 and a.cls == ObjectClass.UAS
    assert a.label == "US-ONLY" and a.velocity is None
    assert a.attrs == {"reporter": "agent-12", "what": "drone", "count": 1, "direction_deg": 0.0,
                       "text": "small quadcopter heading north"}
    assert b.time == 1700025600.0 and b.cls == ObjectClass.PERSON and b.attrs["count"] == 6
    assert b.position.sigma_h_m == 100.0 and b.label == "PUBLIC"
    assert b.velocity.east == pytest.approx(1.4 / 2**0.5) and b.velocity.north == pytest.approx(1.4 / 2**0.5)
    assert c.cls == ObjectClass.GROUND_VEHICLE and c.attrs["direction_deg"] == 225.0
    flat = a.flat()
    assert flat["lat"] == 31.335 and flat["label"] == "US-ONLY" and flat["cls"] == "uas"


@pytest.mark.parametrize("value, deg", [("N", 0.0), ("ne", 45.0), ("South-West", 225.0), ("WNW", 292.5),
                                        ("northbound", 0.0), (90, 90.0), ("270", 270.0), (-90, 270.0), (None, None)])
def test_directions(value, deg):
    assert parse_direction(value) == deg


def test_direction_number_out_of_range_is_rejected():
    dec = ReportDecoder()
    assert list(dec.decode(b'{"time": 1700000000, "lat": 31, "lon": -110, "direction": 400}')) == []
    assert dec.stats.rejected == {"bad_direction": 1}


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["time", "lat", "lon", "what", "count", "direction", "text", "label",
                                        "sigma_m", "speed_mps", "reporter"]),
                       st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(),
                                 st.text(max_size=6), st.booleans(), st.lists(st.integers(), max_size=2)),
                       max_size=11).map(lambda d: json.dumps(d).encode()) | st.binary(max_size=100))
def test_fuzz(line):
    dec = ReportDecoder()
    out = list(dec.decode(line))
    assert len(out) + dec.stats.rejected_total == (1 if line.strip() else 0)  # decoded or counted
    (ok,) = dec.decode(b'{"time": 1700000000, "lat": 31, "lon": -110}')
    assert ok.position.lat == 31
