"""Schema migrations and store URLs, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from lookout.model import GeoPosition, Observation
from lookout.store import SchemaTooNew, StoreError, default_store_url, open_store, sqlite_path
from lookout.store.migrate import MIGRATIONS_DIR, load_migrations, split_statements
from lookout.store.postgres import PostgresStore, split_schema
from lookout.store.sqlite import SQLiteStore

T0 = 1_790_000_000.0
LATEST = load_migrations("sqlite")[-1].version


def _obs(i: int = 0) -> Observation:
    return Observation(time=T0 + i, source="report", sensor="agent-3", position=GeoPosition(31.33, -110.94 + i * 1e-4))


def _indexes(store) -> set[str]:
    if isinstance(store, SQLiteStore):
        rows = store._read("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'")
    else:
        rows = store._read("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
                           " AND indexname NOT LIKE '%_pkey'")
    return {r[0] for r in rows}


def test_migration_files_are_well_formed():
    for dialect in ("sqlite", "postgres"):
        ms = load_migrations(dialect)
        assert [m.version for m in ms] == list(range(1, len(ms) + 1))
        assert ms[0].name == "initial"
    assert all(split_statements(m.sql) for m in load_migrations("sqlite"))
    assert (MIGRATIONS_DIR / "0001_initial.sql").exists()


def test_broken_migration_sets_are_refused(tmp_path):
    (tmp_path / "0001_initial.sql").write_text("CREATE TABLE a (x INTEGER);")
    (tmp_path / "0003_more.sql").write_text("CREATE TABLE b (x INTEGER);")
    with pytest.raises(StoreError, match="without gaps"):
        load_migrations("sqlite", tmp_path)
    (tmp_path / "0003_more.sql").unlink()
    (tmp_path / "0001_again.sql").write_text("SELECT 1;")
    with pytest.raises(StoreError, match="two migrations with version 1"):
        load_migrations("sqlite", tmp_path)
    (tmp_path / "0001_again.sql").unlink()
    (tmp_path / "0001_initial.postgres.sql").write_text("CREATE TABLE a (x BIGINT);")
    assert load_migrations("postgres", tmp_path)[0].sql == "CREATE TABLE a (x BIGINT);"
    assert load_migrations("sqlite", tmp_path)[0].sql == "CREATE TABLE a (x INTEGER);"
    (tmp_path / "notes.sql").write_text("")
    with pytest.raises(StoreError, match="not named"):
        load_migrations("sqlite", tmp_path)
    with pytest.raises(StoreError, match="incomplete SQL statement"):
        split_statements("CREATE TABLE a (x INTEGER);\nCREATE TABLE b (")


def test_fresh_database_gets_the_latest_version(store_url):
    with open_store(store_url) as s:
        assert s.schema_version() == LATEST
        assert [(v, n) for v, n, _ in s.applied_migrations()] == [(m.version, m.name) for m in s.migrations()]
        assert {"observations_time", "track_points_time", "alerts_start"} <= _indexes(s)


def test_reopening_does_not_reapply(store_url):
    with open_store(store_url) as s:
        applied = s.applied_migrations()
        s.write_observations([_obs(1), _obs(2)])
        s.set_meta("k", "v")
    with open_store(store_url) as s:
        assert s.applied_migrations() == applied  # same rows, same applied_at
        assert s.count_observations() == {"report": 2}
        assert s.get_meta("k") == "v"


def test_older_database_is_upgraded(store_url):
    o = _obs(1)
    with open_store(store_url, migrate_to=1) as s:
        assert s.schema_version() == 1
        assert "observations_time" not in _indexes(s)
        assert s.write_observations([o]) == 1  # version 1 already holds records
    with open_store(store_url) as s:
        assert s.schema_version() == LATEST
        assert [v for v, _, _ in s.applied_migrations()] == list(range(1, LATEST + 1))
        assert "observations_time" in _indexes(s)
        assert s.observations() == [o]


def test_newer_database_is_refused(store_url):
    with open_store(store_url) as s:
        with s._transaction() as cur:
            cur.execute(s._q("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
                        (LATEST + 1, "from_the_future", T0))
    with pytest.raises(SchemaTooNew, match=f"schema version {LATEST + 1} is newer"):
        open_store(store_url)


def test_failed_migration_leaves_the_previous_version(tmp_path, monkeypatch):
    bad = tmp_path / "migs"
    bad.mkdir()
    for m in load_migrations("sqlite"):
        (bad / m.path.name).write_text(m.sql)
    (bad / f"{LATEST + 1:04d}_broken.sql").write_text("CREATE TABLE extra (x INTEGER);\n"
                                                      "CREATE TABLE observations (y);\n")
    db = tmp_path / "s.db"
    SQLiteStore(db).close()
    import lookout.store._sql as sqlmod

    monkeypatch.setattr(sqlmod, "load_migrations", lambda dialect: load_migrations(dialect, bad))
    with pytest.raises(StoreError, match=f"{LATEST + 1:04d}_broken.sql failed"):
        SQLiteStore(db)
    monkeypatch.undo()
    with SQLiteStore(db) as s:
        assert s.schema_version() == LATEST
        assert s._read("SELECT name FROM sqlite_master WHERE name = 'extra'") == []  # rolled back whole


# -- URLs -----------------------------------------------------------------------------------
def test_sqlite_urls(tmp_path, monkeypatch):
    assert sqlite_path(":memory:") == ":memory:"
    assert sqlite_path("sqlite://") == ":memory:"
    assert sqlite_path("sqlite:///:memory:") == ":memory:"
    assert sqlite_path("sqlite:///out/lookout.db") == "out/lookout.db"
    assert sqlite_path("sqlite:////var/lib/lookout.db") == "/var/lib/lookout.db"
    assert sqlite_path(tmp_path / "x.db") == str(tmp_path / "x.db")
    assert sqlite_path("data/x.db") == "data/x.db"
    assert sqlite_path("postgresql://h/db") is None
    with pytest.raises(ValueError, match="SQLite URL must look like"):
        sqlite_path("sqlite:x.db")
    with pytest.raises(ValueError, match="empty store URL"):
        open_store("  ")
    with pytest.raises(ValueError, match="unsupported store URL scheme 'mysql'"):
        open_store("mysql://user:secret@host/db")
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:///sub/dir/rel.db") as s:  # parent folders are created
        s.write_observations([_obs()])
    assert (tmp_path / "sub" / "dir" / "rel.db").exists()
    with open_store(str(tmp_path / "sub" / "dir" / "rel.db")) as s:
        assert s.count_observations() == {"report": 1}
    with open_store(":memory:") as s:
        assert isinstance(s, SQLiteStore) and s.schema_version() == LATEST
    with pytest.raises(StoreError, match="is a directory"):
        open_store(tmp_path)


def test_default_store_url_honours_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("LOOKOUT_STORE_URL", raising=False)
    url = default_store_url(tmp_path / "out")
    assert url == "sqlite:///" + str(tmp_path / "out" / "lookout.db")
    with open_store(url) as s:
        assert isinstance(s, SQLiteStore)
    assert Path(sqlite_path(url)).exists()
    assert default_store_url("lookout-out") == "sqlite:///lookout-out/lookout.db"
    monkeypatch.setenv("LOOKOUT_STORE_URL", "postgresql://postgres@127.0.0.1:5432/test?schema=ops")
    assert default_store_url(tmp_path) == "postgresql://postgres@127.0.0.1:5432/test?schema=ops"
    monkeypatch.setenv("LOOKOUT_STORE_URL", "   ")
    assert default_store_url(tmp_path).startswith("sqlite:///")


def test_postgres_url_schema_option():
    assert split_schema("postgresql://postgres@127.0.0.1:5432/test?schema=run_1&connect_timeout=5") == (
        "postgresql://postgres@127.0.0.1:5432/test?connect_timeout=5", "run_1")
    assert split_schema("postgres://u@h/db") == ("postgres://u@h/db", None)
    with pytest.raises(ValueError, match="invalid PostgreSQL schema name"):
        PostgresStore("postgresql://postgres@127.0.0.1:5432/test", schema="x; DROP SCHEMA public")
    with pytest.raises(ValueError, match="not a PostgreSQL URL"):
        split_schema("mysql://u:pw@h/db")


def test_postgres_unreachable_server_is_a_clear_error():
    # port 9 (discard) on loopback: nothing listens there
    with pytest.raises(StoreError, match=r"cannot connect to PostgreSQL at postgresql://u:\*\*\*@127.0.0.1:9/db"):
        PostgresStore("postgresql://u:secret@127.0.0.1:9/db", connect_timeout_s=2)


def test_sqlite_file_that_is_not_a_database(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not an SQLite database" * 100)
    with pytest.raises(StoreError, match="cannot open SQLite store"):
        SQLiteStore(junk)
    assert sqlite3.sqlite_version_info >= (3, 24)  # ON CONFLICT upserts
