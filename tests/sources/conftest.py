"""Fixtures for the source tests."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def adsb_data() -> Path:
    return DATA / "adsb"
