"""Scenarios shared by the simulator tests (built once per test session)."""

from __future__ import annotations

import pytest

from lookout.sim import Scenario, ScenarioConfig


@pytest.fixture(scope="session")
def scenario() -> Scenario:
    """20 minutes of the default scenario: enough for every scripted drone and the first group."""
    sc = Scenario(ScenarioConfig(seed=7, duration_s=1200.0))
    _ = sc.table
    return sc


@pytest.fixture(scope="session")
def observations(scenario):
    return list(scenario.observations())
