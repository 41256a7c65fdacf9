"""The embedded default store: one SQLite file in WAL mode.

One write connection and, for a file, one read connection, each shared by every thread of the
process (the pipeline and the API server) under its own lock, so reads go on while a write
transaction runs (WAL readers see the last committed state); WAL journal with
``synchronous=NORMAL`` (durable at checkpoints, never corrupt); schema migrations from
``lookout/store/migrations`` applied on open. ``":memory:"`` gives a private in-memory database.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time as _time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lookout.store._sql import SQLStore
from lookout.store.migrate import MIGRATIONS_TABLE, StoreError, split_statements

log = logging.getLogger(__name__)


class SQLiteStore(SQLStore):
    """:class:`~lookout.store.base.Store` on SQLite.

    ``path``: a database file (created with its parent folders when missing) or ``":memory:"``.
    ``migrate_to``: apply migrations only up to this schema version (default: the latest).
    ``busy_timeout_s``: how long a write waits for another process holding the file's write lock.
    ``cache_mib``: the connection's page cache (SQLite's default is 2 MiB).
    """

    dialect = "sqlite"

    def __init__(self, path: str | Path, *, migrate_to: int | None = None, busy_timeout_s: float = 30.0,
                 cache_mib: float = 64.0) -> None:
        super().__init__()
        self.path = str(path)
        self.memory = self.path == ":memory:"
        if not self.memory:
            p = Path(self.path)
            if p.is_dir():
                raise StoreError(f"SQLite store path {self.path!r} is a directory, not a database file")
            p.parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout_s, self._cache_mib = busy_timeout_s, cache_mib
        self._conn = self._connect()
        self._rconn = self._conn
        self._rlock = self._lock
        try:
            mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            wal = str(mode).lower() == "wal"
            if not self.memory and not wal:
                log.warning("SQLite store %s: journal mode is %s, not WAL", self.path, mode)
            self._migrate(migrate_to)
            if wal:
                self._rconn = self._connect()
                self._rconn.execute("PRAGMA query_only=1")
                self._rlock = threading.RLock()
        except sqlite3.DatabaseError as exc:
            self._close_connections()
            raise StoreError(f"cannot open SQLite store {self.path!r}: {exc}") from exc
        except BaseException:
            self._close_connections()
            raise

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=self._busy_timeout_s, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite store {self.path!r}: {exc}") from exc
        try:
            # a 64 MiB page cache keeps the id and time indexes in memory during bulk writes
            conn.execute(f"PRAGMA cache_size={-int(self._cache_mib * 1024)}")
            conn.execute("PRAGMA temp_store=MEMORY")
            conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_s * 1000)}")
            conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"cannot open SQLite store {self.path!r}: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _close_connections(self) -> None:
        if self._rconn is not self._conn:
            self._rconn.close()
        self._conn.close()

    def describe(self) -> str:
        return f"SQLiteStore({self.path!r})"

    # -- dialect hooks -----------------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            self._check_open()
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                cur.close()

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._rlock:
            self._check_open()
            return self._rconn.execute(sql, params).fetchall()

    # -- migrations --------------------------------------------------------------------------
    def _migrate(self, migrate_to: int | None) -> None:
        with self._lock:
            self._conn.execute(MIGRATIONS_TABLE)
            current = int(self._conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] or 0)
            pending = self._check_target(current, migrate_to)
            for m in pending:
                with self._transaction() as cur:
                    # another process may have applied it while we waited for the write lock
                    done = cur.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (m.version,)).fetchone()
                    if done:
                        continue
                    try:
                        for stmt in split_statements(m.sql):
                            cur.execute(stmt)
                    except sqlite3.Error as exc:
                        raise StoreError(f"{self.describe()}: migration {m.path.name} failed: {exc}") from exc
                    cur.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                                (m.version, m.name, _time.time()))
                log.info("%s: applied migration %04d_%s", self.describe(), m.version, m.name)

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock, self._rlock:
            if self._closed:
                return
            self._closed = True
            try:
                if not self.memory:
                    self._conn.execute("PRAGMA optimize")
            except sqlite3.Error:
                pass
            self._close_connections()
