"""Fixtures of the rules tests (helpers in rules_helpers.py)."""

from __future__ import annotations

import pytest
from rules_helpers import World, make_engine


@pytest.fixture
def world() -> World:
    return World(make_engine())


@pytest.fixture
def make_world():
    def _make(zones=None, rules_text=None, dt=0.5) -> World:
        return World(make_engine(zones, rules_text), dt=dt)

    return _make
