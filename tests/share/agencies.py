"""Agencies with one viewer each, for the per-agency API tests."""

from __future__ import annotations


def viewer_tokens(auth, agencies: dict) -> dict[str, str]:
    """Create each agency (``name -> (labels, share rules)``) with a viewer user
    ``<name>-viewer``; returns each agency's viewer token."""
    tokens = {}
    for name, (labels, rules) in agencies.items():
        auth.create_agency(name, labels, rules)
        auth.create_user(f"{name.lower()}-viewer", name, "viewer")
        tokens[name] = auth.issue_token(f"{name.lower()}-viewer")
    return tokens
