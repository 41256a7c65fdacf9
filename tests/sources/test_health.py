"""Sensor health registry: last seen, sliding-window rate, errors by kind, clock offset, silence."""

from __future__ import annotations

import pytest

from lookout.sources.base import DecodeStats
from lookout.sources.health import SensorHealth
from lookout.sources.replay import Ingest


def test_rate_errors_offset_and_silence():
    h = SensorHealth(silent_after_s=10.0, window_s=20.0, clock=lambda: 1000.0)
    h.register("cam-1", "camera")  # registered, never heard: silent
    for i in range(40):  # 2 messages per second for 20 s
        h.heard("rx-1", 1, now=1000.0 + i * 0.5)
        h.observed("rx-1", sensor_time=1000.0 + i * 0.5 - 2.0, now=1000.0 + i * 0.5)
    st = DecodeStats()
    st.reject("bad_crc")
    st.reject("bad_crc")
    st.reject("implausible_speed")
    h.update_stats("rx-1", st, "raw")
    snap = {d["sensor"]: d for d in h.snapshot(now=1020.0)}
    rx = snap["rx-1"]
    assert rx["rate_per_s"] == pytest.approx(2.0, rel=0.05)
    assert rx["messages"] == 40 and rx["accepted"] == 40
    assert rx["errors"] == {"bad_crc": 2, "implausible_speed": 1} and rx["errors_total"] == 3
    assert rx["clock_offset_s"] == pytest.approx(2.0)
    assert rx["silent"] is False and rx["format"] == "raw"
    assert snap["cam-1"]["silent"] is True and snap["cam-1"]["last_seen"] is None
    later = {d["sensor"]: d for d in h.snapshot(now=1040.0)}["rx-1"]
    assert later["silent"] is True and later["rate_per_s"] == 0.0
    assert h.silent(now=1040.0) == ["cam-1", "rx-1"]


def test_rate_over_a_short_history_is_not_diluted():
    h = SensorHealth(window_s=60.0)
    for i in range(10):
        h.heard("s", 10, now=500.0 + i)
    assert h.snapshot(now=509.5)[0]["rate_per_s"] == pytest.approx(100 / 9.5, rel=0.01)


def test_ingest_feeds_health(adsb_data):
    h = SensorHealth(silent_after_s=3600.0)
    run = Ingest("raw", adsb_data / "flights.raw.csv", sensor="rx-nogales", health=h,
                 decoder_options={"reference": (31.33, -110.95)})
    n = sum(1 for _ in run)
    (snap,) = h.snapshot()
    assert snap["sensor"] == "rx-nogales" and snap["accepted"] == n == 360
    assert snap["messages"] == 578
    assert snap["errors"] == {"implausible_speed": 1}
    assert snap["clock_offset_s"] > 3 * 365 * 86400  # a 2023 capture replayed now
    assert snap["transport"]["records"] == 578


def test_invalid_settings():
    with pytest.raises(ValueError):
        SensorHealth(silent_after_s=0)
