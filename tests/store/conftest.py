"""Store fixtures: one test-suite, parametrised over SQLite and PostgreSQL.

``store``: a fresh, empty store of each kind (``params=["sqlite", "postgres"]``). SQLite: a new
database file per test. PostgreSQL: a fresh schema per test module (dropped at teardown), its
tables emptied before each test; skipped when no server listens on 127.0.0.1:5432, failed when
``LOOKOUT_REQUIRE_SERVICES`` is set (see ``tests/conftest.py``).

``store_url``: the URL of a fresh, not yet opened database of each kind (for open/reopen tests).

Reuse from another test package (``tests/<pkg>/__init__.py`` makes ``tests/`` importable)::

    from store.conftest import postgres_module_store, store, store_url  # noqa: F401  (fixtures)

or call :func:`open_test_store` / :func:`drop_test_schema` directly.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import uuid
from pathlib import Path

import pytest

from lookout.store._sql import DATA_TABLES

STORE_KINDS = ["sqlite", "postgres"]
PG_URL = os.environ.get("LOOKOUT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
PG_PORT = 5432


def _root_conftest():
    """tests/conftest.py (its ``require_service``), loaded by path so the name cannot clash."""
    name = "lookout_tests_root_conftest"
    mod = sys.modules.get(name)
    if mod is None:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "conftest.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        sys.modules[name] = mod
    return mod


def require_postgres() -> None:
    _root_conftest().require_service("PostgreSQL", PG_PORT)


def new_schema_name(tag: str = "t") -> str:
    """A schema name unique to this process and call: ``lookout_test_<tag>_<pid>_<random>``."""
    return f"lookout_test_{tag}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


def drop_test_schema(schema: str) -> None:
    """Drop a test schema (and everything in it), whatever state the store using it is in."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(PG_URL, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def open_test_store(kind: str, tmp_path: Path, schema: str | None = None, **options):
    """A new store of ``kind`` (``sqlite``: a file under ``tmp_path``; ``postgres``: ``schema``)."""
    if kind == "sqlite":
        from lookout.store.sqlite import SQLiteStore

        return SQLiteStore(tmp_path / f"store-{uuid.uuid4().hex[:8]}.db", **options)
    if kind == "postgres":
        from lookout.store.postgres import PostgresStore

        require_postgres()
        return PostgresStore(PG_URL, schema=schema or new_schema_name(), **options)
    raise ValueError(f"unknown store kind {kind!r}; expected one of {STORE_KINDS}")


def clear_store(store) -> None:
    """Empty every data table of a store (the schema and its migrations stay); reset its counters."""
    with store._transaction() as cur:
        for table in DATA_TABLES:
            cur.execute(f"DELETE FROM {table}")
    store.rejected.clear()


@pytest.fixture(scope="module")
def postgres_module_store(tmp_path_factory):
    """One PostgreSQL store per test module, in its own schema, dropped at teardown."""
    require_postgres()
    schema = new_schema_name(tag="m")
    s = open_test_store("postgres", tmp_path_factory.mktemp("pg"), schema=schema)
    try:
        yield s
    finally:
        s.close()
        drop_test_schema(schema)


@pytest.fixture(params=STORE_KINDS)
def store(request, tmp_path):
    """A fresh, empty store: SQLite (file per test) and PostgreSQL (schema per module)."""
    if request.param == "sqlite":
        s = open_test_store("sqlite", tmp_path)
        yield s
        s.close()
    else:
        s = request.getfixturevalue("postgres_module_store")
        clear_store(s)
        yield s


@pytest.fixture(params=STORE_KINDS)
def store_url(request, tmp_path):
    """The URL of a fresh database of each kind, not opened yet; a PostgreSQL schema is dropped
    at teardown."""
    if request.param == "sqlite":
        yield "sqlite:///" + str(tmp_path / "fresh.db")
    else:
        require_postgres()
        schema = new_schema_name(tag="u")
        try:
            yield f"{PG_URL}?schema={schema}"
        finally:
            drop_test_schema(schema)
