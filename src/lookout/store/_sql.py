"""What the SQLite and PostgreSQL stores share: the queries, record (de)serialisation and rules.

Queries are written once with ``?`` placeholders; :class:`SQLStore` subclasses provide the
connection, the transaction, the placeholder style and a bulk-insert path.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time as _time
from abc import abstractmethod
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from lookout.model import (
    Alert,
    AlertState,
    Observation,
    SourceKind,
    Track,
    TrackPoint,
    TrackStatus,
    Zone,
    ZoneKind,
)
from lookout.store._encode import dumps
from lookout.store.base import BBox, Store
from lookout.store.migrate import Migration, SchemaTooNew, load_migrations

log = logging.getLogger("lookout.store")

_ALERT_RANK = {AlertState.NEW: 0, AlertState.ACKNOWLEDGED: 1, AlertState.RESOLVED: 2}
_LIFECYCLE = ("acknowledged_by", "acknowledged_at", "resolved_by", "resolved_at", "end")


def merge_alert(old: Alert, new: Alert) -> Alert:
    """The stored state of an alert after ``new`` arrives for the same id.

    ``new`` supplies the episode fields (the last write wins: rule engines and operators may stamp
    their updates from different clocks, so ``updated`` cannot order them); the lifecycle never goes
    backwards: the state is the further of the two (new < acknowledged < resolved), who/when
    acknowledged or resolved it and the episode's end are kept once known, and ``updated`` is the
    later of the two. So a rule's next update does not undo an operator's acknowledgement.
    """
    changes: dict[str, Any] = {}
    if _ALERT_RANK[old.state] > _ALERT_RANK[new.state]:
        changes["state"] = old.state
    for f in _LIFECYCLE:
        if getattr(new, f) is None and getattr(old, f) is not None:
            changes[f] = getattr(old, f)
    if old.updated is not None and (new.updated is None or old.updated > new.updated):
        changes["updated"] = old.updated
    return replace(new, **changes) if changes else new


def alert_end(a: Alert) -> float | None:
    """Where an alert's episode ends for time-window queries (None: still open)."""
    if a.end is not None:
        return a.end
    if a.state == AlertState.RESOLVED:
        return a.resolved_at if a.resolved_at is not None else a.updated
    return None


def _check_window(start: float | None, end: float | None) -> None:
    for name, v in (("start", start), ("end", end)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v)):
            raise ValueError(f"{name} must be a number of UNIX seconds or None, got {v!r}")
    if start is not None and end is not None and start > end:
        raise ValueError(f"time window start {start} is after its end {end}")


def _check_limit(limit: int | None) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be a non-negative integer or None, got {limit!r}")


def _check_bbox(bbox: BBox | None) -> None:
    if bbox is not None and not isinstance(bbox, BBox):
        raise ValueError(f"bbox must be a lookout.store.base.BBox, got {type(bbox).__name__}")


class _Where:
    """Accumulates ``AND``-ed conditions and their parameters."""

    def __init__(self) -> None:
        self.conds: list[str] = []
        self.params: list[Any] = []

    def add(self, cond: str, *params: Any) -> None:
        self.conds.append(cond)
        self.params.extend(params)

    def window(self, start: float | None, end: float | None, col: str = "time") -> None:
        _check_window(start, end)
        if start is not None:
            self.add(f"{col} >= ?", float(start))
        if end is not None:
            self.add(f"{col} <= ?", float(end))

    def bbox(self, bbox: BBox | None, lat: str = "lat", lon: str = "lon") -> None:
        _check_bbox(bbox)
        if bbox is not None:
            self.add(f"{lat} BETWEEN ? AND ?", bbox.min_lat, bbox.max_lat)
            self.add(f"{lon} BETWEEN ? AND ?", bbox.min_lon, bbox.max_lon)

    def sql(self) -> str:
        return (" WHERE " + " AND ".join(self.conds)) if self.conds else ""

    def select(self, head: str, order: str, limit: int | None) -> str:
        """``head`` + the conditions + ``ORDER BY order`` (+ ``LIMIT ?`` with its parameter)."""
        _check_limit(limit)
        sql = head + self.sql() + " ORDER BY " + order
        if limit is not None:
            sql += " LIMIT ?"
            self.params.append(limit)
        return sql


OBS_COLS = ("id", "time", "source", "sensor", "ident", "lat", "lon", "label", "record")
TRACK_COLS = ("id", "time", "first_time", "status", "cls", "lat", "lon", "label", "record")
POINT_COLS = ("track_id", "time", "lat", "lon", "alt_m", "speed_mps", "course_deg")
ALERT_COLS = ("id", "rule", "severity", "state", "start_time", "updated", "end_time", "lat", "lon", "label", "record")
DATA_TABLES = ("observations", "tracks", "track_points", "alerts", "zones", "meta")


def _txt(s: Any) -> str | None:
    """An indexed text column: valid UTF-8 without NUL characters (PostgreSQL text cannot hold
    NUL; the record's JSON keeps the original text)."""
    if s is None:
        return None
    if type(s) is not str:
        s = str(s)
    if not s.isascii():  # lone surrogates (undecodable input bytes) cannot be stored as UTF-8
        try:
            s.encode("utf-8")
        except UnicodeEncodeError:
            s = s.encode("utf-8", "replace").decode("utf-8")
    return s.replace("\x00", "") if "\x00" in s else s


def _key(s: Any, what: str) -> str:
    if type(s) is not str or not s or "\x00" in s:
        raise ValueError(f"{what} must be a non-empty string without NUL characters, got {s!r}")
    if not s.isascii():
        try:
            s.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"{what} is not valid Unicode text: {s!r}") from None
    return s


def _no_such_id(x: Any) -> bool:
    """True for a value no stored id can equal (see :func:`_key`)."""
    try:
        _key(x, "id")
    except ValueError:
        return True
    return False


def _obs_row(o: Observation) -> tuple:
    if o.position is not None:
        lat, lon = o.position.lat, o.position.lon
    else:
        lat, lon = o.measurement.site.lat, o.measurement.site.lon
    return (_key(o.id, "observation id"), o.time, str(o.source), _txt(o.sensor), _txt(o.ident), lat, lon,
            _key(o.label, "observation label"), dumps(o))


def _track_row(t: Track) -> tuple:
    p = t.position
    return (_key(t.id, "track id"), t.time, t.first_time, str(t.status), str(t.cls), p.lat, p.lon,
            _key(t.label, "track label"), dumps(t))


def _point_row(t: Track) -> tuple:
    p, v = t.position, t.velocity
    return (t.id, t.time, p.lat, p.lon, p.alt_m, v.speed if v else None, v.course_deg if v else None)


def _alert_row(a: Alert) -> tuple:
    pos = a.position
    return (_key(a.id, "alert id"), _key(_txt(a.rule), "alert rule"), str(a.severity), str(a.state), a.start,
            a.updated, alert_end(a), pos.lat if pos else None, pos.lon if pos else None,
            _key(a.label, "alert label"), dumps(a))


class SQLStore(Store):
    """A :class:`Store` over one DB-API connection; subclasses supply the dialect specifics."""

    dialect: str = ""
    #: rows per ``executemany`` call inside one write transaction
    chunk_rows: int = 50_000

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._closed = False
        #: records left out of a write batch because they cannot be stored, by record kind
        self.rejected: Counter[str] = Counter()

    def _reject(self, kind: str, record_id: str, exc: BaseException) -> None:
        self.rejected[kind] += 1
        log.warning("%s: %s %r not stored: %s", self.describe(), kind, record_id, exc)

    # -- dialect hooks -----------------------------------------------------------------------
    @abstractmethod
    def _transaction(self) -> Any:
        """Context manager: lock held, one transaction, yields a cursor; rolls back on error."""

    @abstractmethod
    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Run one query (``?`` placeholders) and return all rows."""

    def _q(self, sql: str) -> str:
        """The dialect's form of an SQL text written with ``?`` placeholders."""
        return sql

    def _insert_many(self, cur: Any, table: str, cols: Sequence[str], rows: list[tuple], conflict: str) -> int:
        """Insert rows with an ``ON CONFLICT`` clause; returns how many rows were inserted or updated."""
        if not rows:
            return 0
        sql = self._q(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) {conflict}")
        n = 0
        for i in range(0, len(rows), self.chunk_rows):
            cur.executemany(sql, rows[i:i + self.chunk_rows])
            n += max(cur.rowcount, 0)
        return n

    def _lock_zone(self, cur: Any, zone_id: str) -> None:
        """Serialise version allocation for one zone id (across processes where the DB can)."""

    _for_update = ""

    # -- migrations --------------------------------------------------------------------------
    def migrations(self) -> list[Migration]:
        return load_migrations(self.dialect)

    def _check_target(self, current: int, migrate_to: int | None) -> list[Migration]:
        known = self.migrations()
        latest = known[-1].version if known else 0
        if current > latest:
            raise SchemaTooNew(
                f"{self.describe()}: database schema version {current} is newer than this Lookout "
                f"supports ({latest}); upgrade Lookout to open it")
        target = latest if migrate_to is None else migrate_to
        if not 0 <= target <= latest:
            raise ValueError(f"migrate_to must be between 0 and {latest}, got {migrate_to}")
        return [m for m in known if current < m.version <= target]

    def schema_version(self) -> int:
        rows = self._read("SELECT MAX(version) FROM schema_migrations")
        return int(rows[0][0] or 0)

    def applied_migrations(self) -> list[tuple[int, str, float]]:
        """``(version, name, applied_at)`` of every applied migration, oldest first."""
        return [(int(v), n, float(t)) for v, n, t in
                self._read("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")]

    def describe(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.describe()}>"

    # -- observations ------------------------------------------------------------------------
    def write_observations(self, observations: Iterable[Observation]) -> int:
        rows = []
        for i, o in enumerate(observations):
            if type(o) is not Observation:
                raise TypeError(f"write_observations: item {i} is a {type(o).__name__}, not an Observation")
            try:
                rows.append(_obs_row(o))
            except (TypeError, ValueError, RecursionError) as exc:
                self._reject("observation", o.id, exc)
        if not rows:
            return 0
        with self._transaction() as cur:
            return self._insert_many(cur, "observations", OBS_COLS, rows, "ON CONFLICT (id) DO NOTHING")

    def observations(
        self, start: float | None = None, end: float | None = None, bbox: BBox | None = None,
        source: SourceKind | str | None = None, sensor: str | None = None, limit: int | None = None,
    ) -> list[Observation]:
        w = _Where()
        w.window(start, end)
        w.bbox(bbox)
        if source is not None:
            w.add("source = ?", str(SourceKind(source)))
        if sensor is not None:
            w.add("sensor = ?", _txt(sensor))
        sql = w.select("SELECT record FROM observations", "time, id", limit)
        loads, from_dict = json.loads, Observation.from_dict
        return [from_dict(loads(r[0])) for r in self._read(sql, w.params)]

    def observation(self, obs_id: str) -> Observation | None:
        """One observation by id (None when unknown)."""
        if _no_such_id(obs_id):
            return None
        rows = self._read("SELECT record FROM observations WHERE id = ?", (obs_id,))
        return Observation.from_dict(json.loads(rows[0][0])) if rows else None

    def count_observations(self, by: str = "source") -> dict[str, int]:
        if by not in ("source", "sensor", "label"):
            raise ValueError(f"count_observations: by must be 'source', 'sensor' or 'label', got {by!r}")
        rows = self._read(f"SELECT {by}, COUNT(*) FROM observations GROUP BY {by} ORDER BY {by}")
        return {str(k): int(n) for k, n in rows}

    # -- tracks ------------------------------------------------------------------------------
    def write_tracks(self, tracks: Iterable[Track]) -> None:
        # every state is a history point; only each track's newest state is encoded as its
        # record (a gathered write holds many states of one track). A state whose record cannot
        # be encoded is rejected with its point, and the next newest state of the track is used.
        states: dict[str, list[Track]] = {}
        for i, t in enumerate(tracks):
            if type(t) is not Track:
                raise TypeError(f"write_tracks: item {i} is a {type(t).__name__}, not a Track")
            try:
                _key(t.id, "track id")
            except ValueError as exc:
                self._reject("track", t.id, exc)
                continue
            states.setdefault(t.id, []).append(t)
        rows: list[tuple] = []
        points: list[tuple] = []
        for seq in states.values():
            order = sorted(range(len(seq)), key=lambda k: (seq[k].time, k), reverse=True)  # ties: the later state
            bad: set[int] = set()
            for k in order:
                try:
                    rows.append(_track_row(seq[k]))
                    break
                except (TypeError, ValueError, RecursionError) as exc:
                    self._reject("track", seq[k].id, exc)
                    bad.add(k)
            points.extend(_point_row(t) for k, t in enumerate(seq) if k not in bad)
        if not points:
            return
        upd = ", ".join(f"{c} = excluded.{c}" for c in TRACK_COLS[1:])
        with self._transaction() as cur:
            if rows:
                self._insert_many(cur, "tracks", TRACK_COLS, rows,
                                  f"ON CONFLICT (id) DO UPDATE SET {upd} WHERE excluded.time >= tracks.time")
            self._insert_many(cur, "track_points", POINT_COLS, points, "ON CONFLICT (track_id, time) DO NOTHING")

    def track(self, track_id: str) -> Track | None:
        if _no_such_id(track_id):
            return None
        rows = self._read("SELECT record FROM tracks WHERE id = ?", (track_id,))
        return Track.from_dict(json.loads(rows[0][0])) if rows else None

    def tracks(
        self, start: float | None = None, end: float | None = None, bbox: BBox | None = None,
        status: str | None = None, limit: int | None = None,
    ) -> list[Track]:
        """Tracks whose last update lies in ``[start, end]`` and last position in ``bbox``,
        most recently updated first."""
        w = _Where()
        w.window(start, end)
        w.bbox(bbox)
        if status is not None:
            w.add("status = ?", str(TrackStatus(status)))
        sql = w.select("SELECT record FROM tracks", "time DESC, id", limit)
        return [Track.from_dict(json.loads(r[0])) for r in self._read(sql, w.params)]

    def track_history(self, track_id: str, start: float | None = None, end: float | None = None) -> list[TrackPoint]:
        if _no_such_id(track_id):
            return []
        w = _Where()
        w.add("track_id = ?", track_id)
        w.window(start, end)
        rows = self._read("SELECT time, lat, lon, alt_m, speed_mps, course_deg FROM track_points"
                          + w.sql() + " ORDER BY time", w.params)
        return [TrackPoint(*r) for r in rows]

    def track_points(
        self, start: float | None = None, end: float | None = None, bbox: BBox | None = None,
    ) -> list[tuple[str, TrackPoint]]:
        w = _Where()
        w.window(start, end)
        w.bbox(bbox)
        rows = self._read("SELECT track_id, time, lat, lon, alt_m, speed_mps, course_deg FROM track_points"
                          + w.sql() + " ORDER BY time, track_id", w.params)
        return [(r[0], TrackPoint(*r[1:])) for r in rows]

    def count_track_points(self) -> int:
        return int(self._read("SELECT COUNT(*) FROM track_points")[0][0])

    # -- alerts ------------------------------------------------------------------------------
    def write_alerts(self, alerts: Iterable[Alert]) -> None:
        incoming: dict[str, Alert] = {}
        for i, a in enumerate(alerts):
            if type(a) is not Alert:
                raise TypeError(f"write_alerts: item {i} is a {type(a).__name__}, not an Alert")
            prev = incoming.get(a.id)
            incoming[a.id] = a if prev is None else merge_alert(prev, a)
        if not incoming:
            return
        ids = list(incoming)
        upd = ", ".join(f"{c} = excluded.{c}" for c in ALERT_COLS[1:])
        with self._transaction() as cur:
            stored: dict[str, Alert] = {}
            for i in range(0, len(ids), 500):
                part = ids[i:i + 500]
                cur.execute(self._q(f"SELECT record FROM alerts WHERE id IN ({', '.join('?' * len(part))})"
                                    + self._for_update), part)
                for (rec,) in cur.fetchall():
                    a = Alert.from_dict(json.loads(rec))
                    stored[a.id] = a
            rows = []
            for k, a in incoming.items():
                try:
                    rows.append(_alert_row(merge_alert(stored[k], a) if k in stored else a))
                except (TypeError, ValueError, RecursionError) as exc:
                    self._reject("alert", k, exc)
            self._insert_many(cur, "alerts", ALERT_COLS, rows, f"ON CONFLICT (id) DO UPDATE SET {upd}")

    def alert(self, alert_id: str) -> Alert | None:
        if _no_such_id(alert_id):
            return None
        rows = self._read("SELECT record FROM alerts WHERE id = ?", (alert_id,))
        return Alert.from_dict(json.loads(rows[0][0])) if rows else None

    def alerts(
        self, start: float | None = None, end: float | None = None, state: AlertState | str | None = None,
        rule: str | None = None, bbox: BBox | None = None, limit: int | None = None,
    ) -> list[Alert]:
        """Alerts whose episode ``[start, end or open]`` overlaps ``[start, end]``, newest
        (latest start) first. With ``bbox``, alerts without a position are left out."""
        w = _Where()
        _check_window(start, end)
        if end is not None:
            w.add("start_time <= ?", float(end))
        if start is not None:
            w.add("(end_time IS NULL OR end_time >= ?)", float(start))
        w.bbox(bbox)
        if state is not None:
            w.add("state = ?", str(AlertState(state)))
        if rule is not None:
            w.add("rule = ?", _txt(rule))
        sql = w.select("SELECT record FROM alerts", "start_time DESC, id", limit)
        return [Alert.from_dict(json.loads(r[0])) for r in self._read(sql, w.params)]

    # -- zones -------------------------------------------------------------------------------
    def _latest_zone_row(self, cur: Any, zone_id: str) -> tuple | None:
        cur.execute(self._q("SELECT version, deleted, record FROM zones WHERE zone_id = ? "
                            "ORDER BY version DESC LIMIT 1"), (zone_id,))
        return cur.fetchone()

    def _insert_zone(self, cur: Any, zone: Zone, deleted: bool) -> None:
        cur.execute(self._q("INSERT INTO zones (zone_id, version, deleted, kind, name, label, created, record) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
                    (zone.id, zone.version, 1 if deleted else 0, str(zone.kind), _txt(zone.name),
                     _key(zone.label, "zone label"), _time.time(), dumps(zone)))

    def put_zone(self, zone: Zone) -> Zone:
        """Store a zone; an existing id gets a new version (returned with its version set).
        Storing exactly the content of the current version again is a no-op that returns it."""
        if type(zone) is not Zone:
            raise TypeError(f"put_zone: expected a Zone, got a {type(zone).__name__}")
        _key(zone.id, "put_zone: zone id")
        _key(zone.label, "put_zone: zone label")
        if not isinstance(zone.name, str):
            raise ValueError(f"put_zone: zone {zone.id!r} name must be a string, got {zone.name!r}")
        with self._transaction() as cur:
            self._lock_zone(cur, zone.id)
            row = self._latest_zone_row(cur, zone.id)
            if row is not None and not row[1]:
                current = Zone.from_dict(json.loads(row[2]))
                if replace(current, version=zone.version) == zone:
                    return current
            new = replace(zone, version=(int(row[0]) + 1) if row is not None else 1)
            self._insert_zone(cur, new, deleted=False)
            return new

    def zone(self, zone_id: str, version: int | None = None) -> Zone | None:
        """The latest version of a zone (None when unknown or deleted), or one given version
        (None when there is no such version or it is the deletion marker)."""
        if _no_such_id(zone_id):
            return None
        if version is None:
            rows = self._read("SELECT deleted, record FROM zones WHERE zone_id = ? ORDER BY version DESC LIMIT 1",
                              (zone_id,))
        else:
            if isinstance(version, bool) or not isinstance(version, int):
                raise ValueError(f"zone version must be an integer, got {version!r}")
            rows = self._read("SELECT deleted, record FROM zones WHERE zone_id = ? AND version = ?",
                              (zone_id, version))
        if not rows or rows[0][0]:
            return None
        return Zone.from_dict(json.loads(rows[0][1]))

    def zone_versions(self, zone_id: str) -> list[tuple[int, bool, Zone]]:
        """Every stored version of a zone, oldest first, as ``(version, deleted, zone)``."""
        if _no_such_id(zone_id):
            return []
        rows = self._read("SELECT version, deleted, record FROM zones WHERE zone_id = ? ORDER BY version", (zone_id,))
        return [(int(v), bool(d), Zone.from_dict(json.loads(r))) for v, d, r in rows]

    def zones(self, kind: str | None = None) -> list[Zone]:
        """The latest version of every zone not deleted, ordered by id."""
        w = _Where()
        w.add("z.deleted = 0")
        if kind is not None:
            w.add("z.kind = ?", str(ZoneKind(kind)))
        sql = ("SELECT z.record FROM zones z JOIN (SELECT zone_id, MAX(version) AS v FROM zones GROUP BY zone_id) m"
               " ON z.zone_id = m.zone_id AND z.version = m.v" + w.sql() + " ORDER BY z.zone_id")
        return [Zone.from_dict(json.loads(r[0])) for r in self._read(sql, w.params)]

    def delete_zone(self, zone_id: str) -> bool:
        """Mark a zone deleted (a new version; older versions stay readable). False when the
        zone is unknown or already deleted."""
        if _no_such_id(zone_id):
            return False
        with self._transaction() as cur:
            self._lock_zone(cur, zone_id)
            row = self._latest_zone_row(cur, zone_id)
            if row is None or row[1]:
                return False
            last = Zone.from_dict(json.loads(row[2]))
            self._insert_zone(cur, replace(last, version=int(row[0]) + 1), deleted=True)
            return True

    # -- metadata ----------------------------------------------------------------------------
    def set_meta(self, key: str, value: str) -> None:
        _key(key, "meta key")
        if not isinstance(value, str) or "\x00" in value:
            raise ValueError(f"meta value for {key!r} must be a string without NUL characters, got {value!r}")
        with self._transaction() as cur:
            cur.execute(self._q("INSERT INTO meta (key, value) VALUES (?, ?) "
                                "ON CONFLICT (key) DO UPDATE SET value = excluded.value"), (key, value))

    def get_meta(self, key: str) -> str | None:
        if _no_such_id(key):
            return None
        rows = self._read("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    # -- retention ---------------------------------------------------------------------------
    def prune(self, before: float) -> dict[str, int]:
        """Delete what is older than ``before`` (UNIX seconds): observations and track points
        by their time, tracks whose last update is older (with all their points), and alerts
        whose episode ended before it and that are resolved. Zones and metadata stay. Returns the
        number of rows deleted per table."""
        if isinstance(before, bool) or not isinstance(before, (int, float)) or math.isnan(before):
            raise ValueError(f"prune: before must be a number of UNIX seconds, got {before!r}")
        b = float(before)
        out: dict[str, int] = {}
        with self._transaction() as cur:
            for table, cond in (
                ("observations", "time < ?"),
                ("track_points", "time < ? OR track_id IN (SELECT id FROM tracks WHERE time < ?)"),
                ("tracks", "time < ?"),
                ("alerts", "state = 'resolved' AND end_time IS NOT NULL AND end_time < ?"),
            ):
                cur.execute(self._q(f"DELETE FROM {table} WHERE {cond}"), (b,) * cond.count("?"))
                out[table] = max(cur.rowcount, 0)
        return out

    # -- helpers -----------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"{self.describe()} is closed")
