"""The scale-out store: PostgreSQL through psycopg 3, same schema and behaviour as SQLite.

Tables live in one PostgreSQL schema: ``public`` (the server's search path) by default, or the
one named by ``schema=`` (constructor argument or ``?schema=`` URL option), created when missing.
Bulk writes go through ``COPY`` into a per-connection temporary staging table and one
``INSERT ... SELECT ... ON CONFLICT``; small batches use a pipelined ``executemany``.
PostGIS is not needed.
"""

from __future__ import annotations

import logging
import re
import time as _time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql as pgsql

from lookout.store._sql import SQLStore
from lookout.store.migrate import MIGRATIONS_TABLE, StoreError

log = logging.getLogger(__name__)

_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_MIGRATION_LOCK = 0x4C4F4F4B  # "LOOK": serialises schema creation and migrations across processes


def split_schema(url: str) -> tuple[str, str | None]:
    """``(url without the schema option, schema or None)`` for ``postgresql://...?schema=NAME``."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"not a PostgreSQL URL (postgresql://user@host:port/db): {redact(url)!r}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [v for k, v in query if k == "schema"]
    rest = [(k, v) for k, v in query if k != "schema"]
    if len(schemas) > 1:
        raise ValueError(f"PostgreSQL URL names more than one schema: {redact(url)!r}")
    return urlunsplit(parts._replace(query=urlencode(rest))), (schemas[0] if schemas else None)


def redact(url: str) -> str:
    """The URL with any password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))
    return url


class PostgresStore(SQLStore):
    """:class:`~lookout.store.base.Store` on PostgreSQL.

    ``url``: ``postgresql://user[:password]@host[:port]/db[?schema=NAME&...]`` (other query
    options go to libpq). ``schema``: the PostgreSQL schema for Lookout's tables (overrides the
    URL option). ``migrate_to``: apply migrations only up to this version (default: the latest).
    """

    dialect = "postgres"
    _for_update = " FOR UPDATE"
    #: batches of at least this many rows go through COPY
    copy_threshold: int = 64

    def __init__(self, url: str, *, schema: str | None = None, migrate_to: int | None = None,
                 connect_timeout_s: int = 10) -> None:
        super().__init__()
        self.url, url_schema = split_schema(str(url))
        self.schema = schema if schema is not None else url_schema
        if self.schema is not None and not _SCHEMA_NAME.match(self.schema):
            raise ValueError(f"invalid PostgreSQL schema name {self.schema!r} (letters, digits, _; "
                             "not starting with a digit)")
        self.connect_timeout_s = connect_timeout_s
        self._staged: set[str] = set()
        self._conn: psycopg.Connection = self._connect(create_schema=True)
        try:
            self._migrate(migrate_to)
        except BaseException:
            self._conn.close()
            raise

    def describe(self) -> str:
        return f"PostgresStore({redact(self.url)!r}, schema={self.schema!r})"

    def _connect(self, create_schema: bool = False) -> psycopg.Connection:
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=self.connect_timeout_s)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL at {redact(self.url)}: {exc}") from exc
        try:
            if self.schema is not None:
                ident = pgsql.Identifier(self.schema)
                if create_schema:
                    with conn.transaction():
                        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                        conn.execute(pgsql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
                conn.execute(pgsql.SQL("SET search_path TO {}").format(ident))
        except BaseException:
            conn.close()
            raise
        self._staged = set()
        return conn

    def _ensure_conn(self) -> None:
        self._check_open()
        if self._conn.closed or self._conn.broken:
            log.warning("%s: connection lost, reconnecting", self.describe())
            self._conn = self._connect()

    # -- dialect hooks -----------------------------------------------------------------------
    def _q(self, sql: str) -> str:
        return sql.replace("?", "%s")

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Cursor]:
        with self._lock:
            self._ensure_conn()
            with self._conn.transaction(), self._conn.cursor() as cur:
                yield cur

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        q = self._q(sql)
        args = list(params) if params else None  # no parameters: '%' in the text is literal
        with self._lock:
            self._ensure_conn()
            try:
                return self._conn.execute(q, args).fetchall()
            except psycopg.OperationalError:
                if not self._conn.broken:
                    raise
                self._ensure_conn()  # a read is safe to repeat once on a fresh connection
                return self._conn.execute(q, args).fetchall()

    def _insert_many(self, cur: Any, table: str, cols: Sequence[str], rows: list[tuple], conflict: str) -> int:
        if len(rows) < self.copy_threshold:
            return super()._insert_many(cur, table, cols, rows, conflict)
        collist = ", ".join(cols)
        if conflict.endswith("DO NOTHING"):
            # the usual case has no row stored yet: COPY straight into the table (inside a
            # savepoint); a conflict (a replay, a repeated id) rolls it back and the rows go
            # through the staging table, which inserts only the new ones
            try:
                with self._conn.transaction(), cur.copy(f"COPY {table} ({collist}) FROM STDIN") as cp:
                    for r in rows:
                        cp.write_row(r)
                return len(rows)
            except psycopg.errors.UniqueViolation:
                pass
        stage = f"_lookout_stage_{table}"
        if stage not in self._staged:
            cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table}) ON COMMIT DELETE ROWS")
            self._staged.add(stage)
        with cur.copy(f"COPY {stage} ({collist}) FROM STDIN") as cp:
            for r in rows:
                cp.write_row(r)
        cur.execute(f"INSERT INTO {table} ({collist}) SELECT {collist} FROM {stage} {conflict}")
        n = max(cur.rowcount, 0)
        cur.execute(f"DELETE FROM {stage}")
        return n

    def _lock_zone(self, cur: Any, zone_id: str) -> None:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ("lookout.zone:" + zone_id,))

    # -- migrations --------------------------------------------------------------------------
    def _migrate(self, migrate_to: int | None) -> None:
        with self._lock, self._conn.transaction(), self._conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            cur.execute(MIGRATIONS_TABLE)
            cur.execute("SELECT MAX(version) FROM schema_migrations")
            current = int(cur.fetchone()[0] or 0)
            for m in self._check_target(current, migrate_to):
                try:
                    with self._conn.transaction():  # a savepoint: the error names the file
                        cur.execute(m.sql)
                except psycopg.Error as exc:
                    raise StoreError(f"{self.describe()}: migration {m.path.name} failed: {exc}") from exc
                cur.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, %s)",
                            (m.version, m.name, _time.time()))
                log.info("%s: applied migration %04d_%s", self.describe(), m.version, m.name)

    # -- administration ----------------------------------------------------------------------
    def drop_schema(self) -> None:
        """Drop this store's schema with everything in it and close the store (for test runs
        and teardown of throw-away deployments). Refuses the default ``public`` schema."""
        if self.schema is None or self.schema == "public":
            raise StoreError("drop_schema() needs a store opened with its own schema (not public)")
        with self._lock:
            self._ensure_conn()
            self._conn.execute(pgsql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(pgsql.Identifier(self.schema)))
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._conn.close()
