"""Releasability: labels an agency may receive, share rules that downgrade, one filter for all."""

from __future__ import annotations

import numpy as np
import pytest

from lookout.api.serialize import track_json
from lookout.geo import distance_m
from lookout.model import Alert, GeoPoint, GeoPosition, ObjectClass, Observation, Severity, Track, TrackPoint, Velocity
from lookout.share.releasability import (
    OPEN,
    Agency,
    ShareRule,
    coarsen,
    filter_alert_dicts,
    filter_alerts,
    filter_observations,
    filter_points,
    filter_track_dicts,
    filter_tracks,
)

US = Agency("USBP", frozenset({"PUBLIC", "REL-MX", "US-ONLY"}))
MX = Agency("GN-MX", frozenset({"PUBLIC", "REL-MX"}),
            (ShareRule("US-ONLY", "REL-MX", coarsen_m=1000.0, sources=frozenset({"radar"}), alerts=True),))
MX_STRICT = Agency("GN-MX-strict", frozenset({"PUBLIC", "REL-MX"}))


def trk(tid, label, sources, cls=ObjectClass.UAS, lat=31.3412345, lon=-110.9387654):
    return Track(id=tid, time=1.79e9, position=GeoPoint(lat, lon, 1234.5), velocity=Velocity(3.0, 4.0, 0.5),
                 sigma_h_m=12.0, cls=cls, identities={"remote_id": "SERIAL-XYZ", "callsign": "N123"},
                 sources=list(sources), sensors=["radar-1"], label=label, operator=GeoPoint(31.30, -110.95, 1200.0),
                 attrs={"note": "secret"})


TRACKS = [trk("t-pub", "PUBLIC", ["adsb"]), trk("t-mx", "REL-MX", ["report"]),
          trk("t-us-radar", "US-ONLY", ["radar"]), trk("t-us-cam", "US-ONLY", ["radar", "camera"]),
          trk("t-odd", "SECRET-X", ["radar"])]


def test_us_sees_known_labels_unchanged():
    out = filter_tracks(TRACKS, US)
    assert [t.id for t in out] == ["t-pub", "t-mx", "t-us-radar", "t-us-cam"]  # unknown label withheld
    assert all(a is b for a, b in zip(out, TRACKS))


def test_open_agency_sees_everything():
    assert filter_tracks(TRACKS, OPEN) == TRACKS


def test_mx_gets_radar_only_downgraded():
    out = {t.id: t for t in filter_tracks(TRACKS, MX)}
    assert set(out) == {"t-pub", "t-mx", "t-us-radar"}
    d = out["t-us-radar"]
    assert d.label == "REL-MX" and d.identities == {} and d.sources == [] and d.sensors == []
    assert d.velocity is None and d.operator is None and "note" not in d.attrs and d.sigma_h_m >= 1000
    assert d.cls == ObjectClass.UAS
    moved = distance_m(31.3412345, -110.9387654, d.position.lat, d.position.lon)
    assert moved <= 1000 * 0.7072 + 1  # within half a grid cell diagonal
    assert d.position.alt_m % 100 == 0
    assert set(t.id for t in filter_tracks(TRACKS, MX_STRICT)) == {"t-pub", "t-mx"}


def test_dict_filter_matches_record_filter():
    dicts = [track_json(t) for t in TRACKS]
    for ag in (US, MX, MX_STRICT):
        a = [track_json(t) for t in filter_tracks(TRACKS, ag)]
        b = filter_track_dicts(dicts, ag)
        assert [x["id"] for x in a] == [x["id"] for x in b]
        for x, y in zip(a, b):
            assert x["label"] == y["label"] and x["identities"] == y["identities"]
            assert x["position"]["lat"] == pytest.approx(y["position"]["lat"], abs=1e-6)
            assert set(x) == set(y)
    leaked = str(filter_track_dicts(dicts, MX))
    assert "SERIAL-XYZ" not in leaked.split("t-us-radar")[-1]


def test_coarsen_grid_is_stable_and_vectorised():
    rng = np.random.default_rng(3)
    lat = 31.3 + rng.uniform(-0.1, 0.1, 500)
    lon = -110.9 + rng.uniform(-0.095, 0.095, 500)  # one 1-degree cell (its own grid)
    la, lo, _ = coarsen(lat, lon, None, 1000.0)
    cells = np.unique(np.round(np.stack([la, lo], axis=1), 6), axis=0)
    assert len(cells) < 400  # 500 points on a 1 km grid over ~19 x 22 km
    i, j = np.triu_indices(len(cells), 1)
    gaps = distance_m(cells[i, 0], cells[i, 1], cells[j, 0], cells[j, 1])
    assert gaps.min() > 990  # distinct released positions are whole grid steps apart
    d = distance_m(lat, lon, la, lo)
    assert d.max() <= 1000 * 0.7072 + 1
    la2, lo2, _ = coarsen(la, lo, None, 1000.0)  # idempotent
    assert np.allclose(la, la2) and np.allclose(lo, lo2)
    assert coarsen(31.31, -110.93, 1249.0, 1000.0)[2] == 1200.0


def test_points_follow_the_track():
    pts = [TrackPoint(1.79e9 + i, 31.34 + i * 1e-4, -110.94, 1200.0, 5.0, 90.0) for i in range(5)]
    assert filter_points(TRACKS[0], pts, MX) is pts
    cp = filter_points(TRACKS[2], pts, MX)
    assert len(cp) == 5 and all(p.speed_mps is None and p.course_deg is None for p in cp)
    assert filter_points(TRACKS[3], pts, MX) == []
    assert filter_points(None, pts, MX) == []


def test_alerts_and_observations():
    alerts = [Alert(rule="border_crossing", severity=Severity.HIGH, message="UAS SERIAL-XYZ crossed", start=1.79e9,
                    track_ids=["t-us-radar"], position=GeoPoint(31.33, -110.94), operator=GeoPoint(31.3, -110.9),
                    evidence={"remote_id": "SERIAL-XYZ"}, label=lab, acknowledged_by="agent-7", id=f"a-{lab}")
              for lab in ("PUBLIC", "REL-MX", "US-ONLY")]
    assert [a.id for a in filter_alerts(alerts, MX_STRICT)] == ["a-PUBLIC", "a-REL-MX"]
    out = filter_alerts(alerts, MX)
    dn = out[-1]
    assert dn.label == "REL-MX" and "SERIAL" not in dn.message and dn.operator is None
    assert "SERIAL" not in str(dn.evidence) and dn.acknowledged_by is None
    dj = filter_alert_dicts([a.to_dict() for a in alerts], MX)
    assert [d["id"] for d in dj] == [a.id for a in out] and "SERIAL" not in str(dj[-1])
    obs = [Observation(time=1.79e9, source="radar" if lab == "US-ONLY" else "adsb", sensor="s",
                       position=GeoPosition(31.3, -110.9), label=lab) for lab in ("PUBLIC", "US-ONLY")]
    assert [o.label for o in filter_observations(obs, MX)] == ["PUBLIC"]
