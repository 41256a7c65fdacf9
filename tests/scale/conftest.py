"""Fixtures for the scale-out tests: a unique NATS namespace and PostgreSQL schema per test."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import uuid
from pathlib import Path

import pytest


def require_service(name: str, port: int) -> None:
    """tests/conftest.py's ``require_service`` (loaded by path: no module name clash)."""
    mod = sys.modules.get("lookout_tests_root_conftest")
    if mod is None:
        spec = importlib.util.spec_from_file_location("lookout_tests_root_conftest",
                                                      Path(__file__).resolve().parents[1] / "conftest.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        sys.modules["lookout_tests_root_conftest"] = mod
    mod.require_service(name, port)

PG_BASE = "postgresql://postgres@127.0.0.1:5432/test"
NATS_URL = "nats://127.0.0.1:4222"


@pytest.fixture
def nats_prefix():
    """A unique bus namespace on the real NATS server; its streams are deleted afterwards."""
    require_service("NATS", 4222)
    prefix = "t" + uuid.uuid4().hex[:10]
    yield prefix

    async def cleanup():
        from lookout.bus import open_bus

        bus = open_bus(NATS_URL, prefix)
        await bus.connect()
        await bus.delete()
        await bus.close()

    asyncio.run(cleanup())


@pytest.fixture
def pg_url():
    """A store URL in a unique PostgreSQL schema, dropped afterwards."""
    require_service("PostgreSQL", 5432)
    import psycopg

    schema = "scale_" + uuid.uuid4().hex[:10]
    yield f"{PG_BASE}?schema={schema}"
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
