"""Fixtures for the analytics tests."""

from __future__ import annotations

import pytest
import typer

from lookout.commands import analytics as analytics_cmd


@pytest.fixture(scope="module")
def app():
    """A Typer app with the ``missions`` and ``report`` commands."""
    a = typer.Typer()
    analytics_cmd.register(a)
    return a
