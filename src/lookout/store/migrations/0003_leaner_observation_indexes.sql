-- Lookout store, schema version 3: fewer indexes on the observations table, the table every
-- sensor report lands in. Each secondary index costs about as much on insert as the row itself
-- (PostgreSQL: ~2 us of server CPU per row per index). No query filters observations by identity;
-- queries by sensor always carry a time window, which the time index serves. Kept: the primary
-- key (idempotent writes), time (windows) and (source, time) (one source over long periods, e.g.
-- Remote ID over a month of analytics).

DROP INDEX IF EXISTS observations_ident_time;
DROP INDEX IF EXISTS observations_sensor_time;
