"""A small deterministic world for the API and web tests: tracks flying straight lines across
the Nogales sector (positions through the sector's ENU frame), their history, observations,
alerts and a zone."""

from __future__ import annotations

import socket

from lookout.model import (
    Alert,
    GeoPoint,
    GeoPosition,
    ObjectClass,
    Observation,
    Severity,
    SourceKind,
    Track,
    Velocity,
    Zone,
    ZoneKind,
)
from lookout.sector import load_sector

T0 = 1_790_000_000.0
SECTOR = load_sector()

#: id, class, identities, start ENU (m), velocity ENU (m/s), altitude above ground (m)
TRACKS = [
    ("t-uas-1", ObjectClass.UAS, {"remote_id": "1581F5FJD239C00DW22E"},
     (-3000.0, -6000.0), (4.0, 12.0, 0.0), 120.0),
    ("t-fw-1", ObjectClass.FIXED_WING, {"icao24": "a1b2c3", "callsign": "N123AB"},
     (-15000.0, 2000.0), (60.0, 0.0, 0.0), 1500.0),
    ("t-rot-1", ObjectClass.ROTORCRAFT, {"icao24": "ac82ec", "callsign": "CBP41"},
     (10000.0, 8000.0), (-20.0, -20.0, 0.0), 400.0),
    ("t-veh-1", ObjectClass.GROUND_VEHICLE, {},
     (2000.0, -9000.0), (0.0, 8.0, 0.0), 0.0),
    ("t-surv-1", ObjectClass.SURVEILLANCE_AIRCRAFT, {"icao24": "0d0abc"},
     (5000.0, -12000.0), (-30.0, 30.0, 0.0), 3000.0),
]
OPERATOR = GeoPoint(31.27, -110.96, 1190.0)


def track_at(i: int, t: float) -> Track:
    tid, cls, ids, (e0, n0), (ve, vn, vu), agl = TRACKS[i]
    dt = t - T0
    lat, lon, alt = SECTOR.frame.to_geodetic(e0 + ve * dt, n0 + vn * dt, agl)
    sources = {ObjectClass.UAS: ["remote_id"], ObjectClass.GROUND_VEHICLE: ["radar"]}.get(cls, ["adsb", "radar"])
    return Track(id=tid, time=t, position=GeoPoint(float(lat), float(lon), float(alt)),
                 velocity=Velocity(ve, vn, vu), sigma_h_m=15.0, cls=cls, identities=dict(ids), sources=sources,
                 sensors=["rid-1"] if cls == ObjectClass.UAS else ["radar-1"], first_time=T0, updates=int(dt) + 1,
                 operator=OPERATOR if cls == ObjectClass.UAS else None)


def fill(store, steps: int = 61, dt: float = 1.0, hub=None) -> list[Alert]:
    """Write ``steps`` seconds of every track (and a few observations, alerts and a zone)."""
    for k in range(steps):
        t = T0 + k * dt
        tracks = [track_at(i, t) for i in range(len(TRACKS))]
        store.write_tracks(tracks)
        obs = []
        for tr in tracks[:2]:
            uas = tr.cls == ObjectClass.UAS
            obs.append(Observation(time=t, source=SourceKind.REMOTE_ID if uas else SourceKind.ADSB,
                                   sensor="rid-1" if uas else "adsb-1",
                                   position=GeoPosition(tr.position.lat, tr.position.lon, tr.position.alt_m, 5.0),
                                   ident=next(iter(tr.identities.values())), id=f"o-{tr.id}-{k}"))
        store.write_observations(obs)
        if hub is not None:
            hub.publish(t, tracks, [], [])
    alerts = [
        Alert(rule="border_crossing", severity=Severity.HIGH, message="UAS crossed the border northbound",
              start=T0 + 20, track_ids=["t-uas-1"], position=track_at(0, T0 + 20).position, operator=OPERATOR,
              id="a-cross-1"),
        Alert(rule="no_remote_id", severity=Severity.MEDIUM, message="Drone without Remote ID",
              start=T0 + 40, track_ids=["t-veh-1"], position=track_at(3, T0 + 40).position, id="a-norid-1"),
        Alert(rule="loiter", severity=Severity.LOW, message="Loitering", start=T0 + 5, end=T0 + 10,
              track_ids=["t-rot-1"], id="a-loiter-1"),
    ]
    store.write_alerts(alerts)
    store.put_zone(Zone(id="z-poe", name="DeConcini POE", kind=ZoneKind.PROTECTED_SITE,
                        geometry={"type": "Polygon", "coordinates": [[[-110.945, 31.330], [-110.935, 31.330],
                                                                      [-110.935, 31.338], [-110.945, 31.338],
                                                                      [-110.945, 31.330]]]}))
    return alerts


def bbox_around(lat: float, lon: float, d: float = 0.01) -> str:
    return f"{lon - d},{lat - d},{lon + d},{lat + d}"


SENSORS = [
    {"id": "radar-1", "kind": "radar", "lat": 31.36, "lon": -110.93, "range_m": 12000.0},
    {"id": "rid-1", "kind": "remote_id", "lat": 31.34, "lon": -110.96, "range_m": 4000.0},
]


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
