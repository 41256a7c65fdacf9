"""Fixtures for the API tests: a store filled with a small world, an app and a test client."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.world import SECTOR, SENSORS, fill
from lookout.api import LiveHub, create_app


def make_store():
    """The embedded SQLite store, in memory."""
    from lookout.store.sqlite import SQLiteStore

    return SQLiteStore(":memory:")


@pytest.fixture(scope="module")
def rclient():
    """A client over a filled store shared by a module's read-only tests (they change nothing)."""
    s = make_store()
    fill(s)
    with TestClient(create_app(s, hub=LiveHub(queue_size=16), sector=SECTOR, sensors=SENSORS)) as c:
        yield c
    s.close()


@pytest.fixture
def store():
    s = make_store()
    fill(s)
    yield s
    s.close()


@pytest.fixture
def hub():
    return LiveHub(queue_size=16)


@pytest.fixture
def app(store, hub):
    return create_app(store, hub=hub, sector=SECTOR, sensors=SENSORS)


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c
