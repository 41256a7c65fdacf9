"""The rules file (validation errors name the line) and GeoJSON zone files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
from rules_helpers import SECTOR

from lookout.model import ObjectClass, Severity, ZoneKind
from lookout.rules import (
    RulesConfigError,
    ZoneError,
    ZoneSet,
    load_rules,
    load_zones,
    parse_rules,
    zones_from_geojson,
    zones_to_geojson,
)


def test_default_rules_file_loads():
    cfg = load_rules()
    names = [r.name for r in cfg.rules]
    assert {"border_crossing", "drone_approach_agents", "dark_drone", "remote_id_spoof", "surveillance_orbit",
            "operator_located"} <= set(names)
    assert cfg.rule("border_crossing").severity == Severity.HIGH
    assert cfg.rule("dark_drone").classes == [ObjectClass.UAS]
    assert cfg.border.buffer_m == 1000.0


BAD = """\
version: 1
rules:
  - name: crossing
    type: border_crossing
    hysteresis_m: -5
  - name: near_agents
    type: approach
    radius_m: 300
    colour: red
  - name: orbit
    type: loiter
    window_s: 600
"""


def test_validation_errors_name_the_line():
    with pytest.raises(RulesConfigError) as exc:
        parse_rules(BAD, "my-rules.yaml")
    msg = str(exc.value)
    # the negative threshold on line 5, the unknown field on line 9, the missing radius of the rule starting on line 10
    assert "my-rules.yaml:5: rules[0].hysteresis_m: Input should be greater than or equal to 0 (got -5)" in msg
    assert "my-rules.yaml:9: rules[1].colour: Extra inputs are not permitted" in msg
    assert "my-rules.yaml:10: rules[2].radius_m: Field required" in msg


def test_other_rule_file_errors():
    with pytest.raises(RulesConfigError, match=r"<rules>:3: YAML syntax error"):
        parse_rules("rules:\n  - name: a\n   type: zone\n")
    with pytest.raises(RulesConfigError, match=r"<rules>:2: rules\[0\]: .*'bogus'"):
        parse_rules("rules:\n  - name: a\n    type: bogus\n")
    with pytest.raises(RulesConfigError, match="duplicate rule name 'a'"):
        parse_rules("rules:\n  - {name: a, type: border_crossing}\n  - {name: a, type: border_crossing}\n")
    with pytest.raises(RulesConfigError, match=r"<rules>:2: rules\[0\]: Value error, trigger 'dwell' needs 'dwell_s'"):
        parse_rules("rules:\n  - name: a\n    type: zone\n    zone_kinds: [no_drone]\n    trigger: dwell\n")
    with pytest.raises(RulesConfigError, match=r":5: rules\[0\].severity: Input should be 'info'"):
        parse_rules("rules:\n  - name: a\n    type: zone\n    zone_kinds: [no_drone]\n    severity: extreme\n")
    with pytest.raises(RulesConfigError, match="cannot read"):
        load_rules("/nonexistent/rules.yaml")


def _fc(*features):
    return {"type": "FeatureCollection", "features": list(features)}


def _feat(geom, **props):
    return {"type": "Feature", "properties": props, "geometry": geom}


POLY = {"type": "Polygon", "coordinates": [[[-110.95, 31.36], [-110.94, 31.36], [-110.94, 31.37], [-110.95, 31.37],
                                             [-110.95, 31.36]]]}


def test_load_zones_kinds_and_roundtrip(tmp_path):
    fc = _fc(
        _feat(POLY, id="ndz-1", name="Hospital", kind="no_drone", label="US-ONLY"),
        _feat({"type": "LineString", "coordinates": [[-110.99, 31.40], [-110.90, 31.40]]}, id="road", buffer_m=200),
        _feat({"type": "Point", "coordinates": [-110.93, 31.35]}, id="camp", kind="protected_site", radius_m=300),
    )
    p = tmp_path / "zones.geojson"
    p.write_text(json.dumps(fc))
    zones = load_zones(p)
    assert [(z.id, z.kind, z.label) for z in zones] == [
        ("ndz-1", ZoneKind.NO_DRONE, "US-ONLY"), ("road", ZoneKind.CUSTOM, "PUBLIC"),
        ("camp", ZoneKind.PROTECTED_SITE, "PUBLIC")]
    assert zones[0].name == "Hospital" and zones[1].properties["buffer_m"] == 200
    again = zones_from_geojson(json.loads(json.dumps(zones_to_geojson(zones))))
    assert [(z.id, z.kind, z.geometry) for z in again] == [(z.id, z.kind, z.geometry) for z in zones]

    zs = ZoneSet.build(zones, SECTOR)
    # areas in metres: 200 m either side of a ~8.6 km line; a 300 m disc
    assert abs(zs.geoms[2].area - np.pi * 300**2) / (np.pi * 300**2) < 0.01
    assert 2 * 200 * 8500 < zs.geoms[1].area < 2 * 200 * 8700 + np.pi * 200**2
    # the vectorised query agrees with shapely point-by-point
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-6000, 6000, 3000), rng.uniform(0, 12000, 3000)
    pi, zi = zs.inside_pairs(x, y)
    got = set(zip(pi.tolist(), zi.tolist()))
    want = {(i, j) for j, g in enumerate(zs.geoms) for i in range(len(x)) if g.intersects(shapely.Point(x[i], y[i]))}
    assert got == want and len(want) > 10


@pytest.mark.parametrize("features, message", [
    ([_feat(POLY, name="x")], "feature 0: a zone needs an 'id' property"),
    ([_feat({"type": "LineString", "coordinates": [[-110.99, 31.4], [-110.9, 31.4]]}, id="l")],
     "feature 0 (id 'l'): a line zone's 'buffer_m' must be a positive number of metres, got None"),
    ([_feat({"type": "Point", "coordinates": [-110.9, 31.4]}, id="p", radius_m=-3)],
     "'radius_m' must be a positive number of metres, got -3"),
    ([_feat({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}, id="bow")],
     "feature 0 (id 'bow'): invalid polygon: Self-intersection"),
    ([_feat({"type": "Point", "coordinates": [200.0, 31.4]}, id="far", radius_m=10)],
     "coordinates must be [lon, lat] in degrees"),
    ([_feat(POLY, id="a", kind="moat")], "unknown kind 'moat'"),
    ([_feat(POLY, id="a"), _feat(POLY, id="a")], "feature 1: duplicate zone id 'a'"),
    ([_feat({"type": "Circle", "coordinates": [1, 2]}, id="c")], "geometry type must be one of"),
    ([{"type": "Feature", "properties": {"id": "g"}}], "missing 'geometry' object"),
])
def test_malformed_zone_files_name_the_problem(features, message):
    with pytest.raises(ZoneError) as exc:
        zones_from_geojson(_fc(*features), "z.geojson")
    assert message in str(exc.value) and str(exc.value).startswith("z.geojson")


def test_zone_file_not_json_names_the_line(tmp_path):
    p = tmp_path / "bad.geojson"
    p.write_text('{"type": "FeatureCollection",\n "features": [\n  {oops}\n]}')
    with pytest.raises(ZoneError, match=r"bad.geojson:3: not valid JSON"):
        load_zones(p)
    with pytest.raises(ZoneError, match="expected a GeoJSON FeatureCollection"):
        zones_from_geojson([1, 2])
