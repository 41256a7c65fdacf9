from lookout.geo import distance_m
from lookout.sector import load_sector


def test_default_sector_straddles_the_border():
    s = load_sector()
    minx, miny, maxx, maxy = s.polygon.bounds
    corners = list(s.polygon.exterior.coords)[:4]
    for (lon1, lat1), (lon2, lat2) in zip(corners, corners[1:] + corners[:1]):
        # 40 km x 40 km on the local tangent plane at the sector's ground height
        assert abs(distance_m(lat1, lon1, lat2, lon2) - 40_000) < 50
    assert s.side_of_border(31.45, -110.95) == "US"
    assert s.side_of_border(31.20, -110.95) == "MX"
    # the border line crosses the whole sector west to east
    assert s.border.bounds[0] < minx and s.border.bounds[2] > maxx
