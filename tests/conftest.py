"""Shared test fixtures."""

from __future__ import annotations

import os
import socket

import pytest


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def require_service(name: str, port: int) -> None:
    """Skip when a real service is absent, unless the test run demands it (scripts/run-tests)."""
    if port_open(port):
        return
    if os.environ.get("LOOKOUT_REQUIRE_SERVICES"):
        pytest.fail(f"{name} is not running on 127.0.0.1:{port} (scripts/services.sh should start it)")
    pytest.skip(f"{name} not running on 127.0.0.1:{port}")
