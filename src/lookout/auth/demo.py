"""The demo's two agencies: a U.S. one and a Mexican one, with an operator each."""

from __future__ import annotations

import secrets
from typing import Any

from lookout.auth.store import AuthStore
from lookout.share.releasability import ShareRule

#: (agency, title, country, labels, share rules, operator user)
DEMO_AGENCIES: list[tuple[str, str, str, list[str], list[ShareRule], str]] = [
    ("USBP", "U.S. Border Patrol, Nogales Station", "US", ["PUBLIC", "REL-MX", "US-ONLY"], [], "usbp-operator"),
    ("GN-MX", "Guardia Nacional, Nogales, Sonora", "MX", ["PUBLIC", "REL-MX"],
     # U.S. radar-only tracks reach the Mexican partner as position only, on a 1 km grid; an
     # aircraft or drone that a U.S. sensor tracks too reaches it as its ADS-B / Remote ID
     # broadcast alone justifies (identity, 250 m grid) while that broadcast keeps feeding it
     [ShareRule(label="US-ONLY", release_as="REL-MX", mode="position_only", coarsen_m=1000.0,
                sources=frozenset({"radar"}), alerts=False),
      ShareRule(label="US-ONLY", release_as="REL-MX", mode="per_source", coarsen_m=250.0,
                sources=frozenset({"adsb", "remote_id"}), max_age_s=10.0)], "gnmx-operator"),
]


def setup_demo_agencies(auth_store: AuthStore, passwords: bool = True) -> list[dict[str, Any]]:
    """Create the demo agencies, or bring existing ones up to date, and an operator in each;
    issue a fresh token per operator and, with ``passwords``, set a fresh random password for
    the web login.

    A demo agency found in the registry (e.g. one an older version of the demo created) gets the
    demo's current title, country, labels and share rules when they differ (audited as
    ``agency.update`` by ``demo``). Only the demo's own agencies and operators are touched: other
    agencies, and the users of the demo agencies other than their operators, are left as they are.

    Returns ``[{"agency", "title", "user", "role", "token", "password", "labels", "rules"}, ...]``.
    """
    out = []
    for name, title, country, labels, rules, user in DEMO_AGENCIES:
        ag = auth_store.agency(name)
        if ag is None:
            ag = auth_store.create_agency(name, labels, rules, title=title, country=country, by="demo")
        elif (ag.labels, ag.rules, ag.title, ag.country) != (frozenset(labels), tuple(rules), title, country):
            ag = auth_store.update_agency(name, labels=labels, rules=rules, title=title, country=country, by="demo")
        if auth_store.user(user) is None:
            auth_store.create_user(user, name, "operator", by="demo")
        password = None
        if passwords:
            password = secrets.token_urlsafe(9)
            auth_store.set_password(user, password, by="demo")
        token = auth_store.issue_token(user, note="demo", by="demo")
        out.append({"agency": name, "title": title, "user": user, "role": "operator", "token": token,
                    "password": password, "labels": sorted(ag.labels), "rules": [r.to_dict() for r in ag.rules]})
    return out
