-- Lookout store, schema version 2: secondary indexes for the time-window, area and filter queries.

CREATE INDEX IF NOT EXISTS observations_time ON observations (time);
CREATE INDEX IF NOT EXISTS observations_source_time ON observations (source, time);
CREATE INDEX IF NOT EXISTS observations_sensor_time ON observations (sensor, time);
CREATE INDEX IF NOT EXISTS observations_ident_time ON observations (ident, time);

CREATE INDEX IF NOT EXISTS tracks_time ON tracks (time);
CREATE INDEX IF NOT EXISTS tracks_status_time ON tracks (status, time);

CREATE INDEX IF NOT EXISTS track_points_time ON track_points (time);

CREATE INDEX IF NOT EXISTS alerts_start ON alerts (start_time);
CREATE INDEX IF NOT EXISTS alerts_updated ON alerts (updated);
CREATE INDEX IF NOT EXISTS alerts_state ON alerts (state);
CREATE INDEX IF NOT EXISTS alerts_rule ON alerts (rule);

CREATE INDEX IF NOT EXISTS zones_kind ON zones (kind);
