-- Lookout store, schema version 1: the records and their primary keys.
-- One file for SQLite and PostgreSQL (types chosen to mean the same in both); a dialect may
-- override a version with NNNN_name.sqlite.sql or NNNN_name.postgres.sql.
-- Every record table keeps the full record as JSON text in ``record`` (what the store returns)
-- next to the indexed columns its queries filter on.

CREATE TABLE observations (
    id      TEXT PRIMARY KEY,
    time    DOUBLE PRECISION NOT NULL,          -- UNIX seconds
    source  TEXT NOT NULL,                      -- SourceKind
    sensor  TEXT NOT NULL,
    ident   TEXT,
    lat     DOUBLE PRECISION NOT NULL,          -- position, or the sensor site for polar measurements
    lon     DOUBLE PRECISION NOT NULL,
    label   TEXT NOT NULL,
    record  TEXT NOT NULL                       -- Observation.to_dict() as JSON
);

CREATE TABLE tracks (
    id          TEXT PRIMARY KEY,
    time        DOUBLE PRECISION NOT NULL,      -- last update
    first_time  DOUBLE PRECISION,
    status      TEXT NOT NULL,
    cls         TEXT NOT NULL,
    lat         DOUBLE PRECISION NOT NULL,      -- last position
    lon         DOUBLE PRECISION NOT NULL,
    label       TEXT NOT NULL,
    record      TEXT NOT NULL                   -- Track.to_dict() as JSON (latest state)
);

CREATE TABLE track_points (
    track_id    TEXT NOT NULL,
    time        DOUBLE PRECISION NOT NULL,
    lat         DOUBLE PRECISION NOT NULL,
    lon         DOUBLE PRECISION NOT NULL,
    alt_m       DOUBLE PRECISION,
    speed_mps   DOUBLE PRECISION,
    course_deg  DOUBLE PRECISION,
    PRIMARY KEY (track_id, time)
);

CREATE TABLE alerts (
    id          TEXT PRIMARY KEY,
    rule        TEXT NOT NULL,
    severity    TEXT NOT NULL,
    state       TEXT NOT NULL,
    start_time  DOUBLE PRECISION NOT NULL,      -- episode start
    updated     DOUBLE PRECISION NOT NULL,
    end_time    DOUBLE PRECISION,               -- episode end; NULL while it is open
    lat         DOUBLE PRECISION,
    lon         DOUBLE PRECISION,
    label       TEXT NOT NULL,
    record      TEXT NOT NULL                   -- Alert.to_dict() as JSON
);

CREATE TABLE zones (
    zone_id     TEXT NOT NULL,
    version     INTEGER NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0,     -- 1: this version marks the zone deleted
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    label       TEXT NOT NULL,
    created     DOUBLE PRECISION NOT NULL,      -- when this version was stored (UNIX seconds)
    record      TEXT NOT NULL,                  -- Zone.to_dict() as JSON
    PRIMARY KEY (zone_id, version)
);

CREATE TABLE meta (
    key     TEXT PRIMARY KEY,
    value   TEXT NOT NULL
);
