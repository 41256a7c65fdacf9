"""The demo's agencies: an auth registry made by an older demo is brought up to date, and only
the demo's own agencies change."""

from __future__ import annotations

from lookout.auth import AuthStore, setup_demo_agencies
from lookout.auth.demo import DEMO_AGENCIES
from lookout.model import GeoPoint, ObjectClass, Track
from lookout.share.releasability import ShareRule, filter_tracks

#: GN-MX's rules as the demo made them before per_source rules existed
OLD_GNMX_RULES = [ShareRule(label="US-ONLY", release_as="REL-MX", mode="position_only", coarsen_m=1000.0,
                            sources=frozenset({"radar"}), alerts=False)]
OTHER_RULES = [ShareRule(label="US-ONLY", release_as="REL-MX", coarsen_m=2000.0, sources=frozenset({"camera"}))]


def _old_registry(path) -> AuthStore:
    a = AuthStore(path)
    a.create_agency("USBP", ["PUBLIC", "REL-MX", "US-ONLY"], title="U.S. Border Patrol, Nogales Station", country="US")
    a.create_agency("GN-MX", ["PUBLIC", "REL-MX"], OLD_GNMX_RULES, title="Guardia Nacional, Nogales, Sonora",
                    country="MX")
    a.create_user("usbp-operator", "USBP", "operator", password="usbp-old-password")
    a.create_user("gnmx-operator", "GN-MX", "operator", password="gnmx-old-password")
    a.create_user("ana", "GN-MX", "admin", password="ana-own-password")  # a user someone added to GN-MX
    a.create_agency("CBP-AMO", ["PUBLIC", "REL-MX"], OTHER_RULES, title="Air and Marine Operations", country="US")
    a.create_user("beto", "CBP-AMO", "viewer", password="beto-own-password")
    return a


def _fused(t: float) -> Track:
    """An aircraft broadcasting ADS-B that a U.S. radar tracks too (so labelled US-ONLY)."""
    return Track(id="T1", time=t, position=GeoPoint(31.34, -110.94, 1500.0), cls=ObjectClass.FIXED_WING,
                 identities={"icao24": "a1b2c3"}, label="US-ONLY", sources=["adsb", "radar"],
                 attrs={"source_times": {"adsb": t - 2.0, "radar": t}})


def test_old_gnmx_rules_are_upgraded(tmp_path):
    a = _old_registry(tmp_path / "auth.db")
    beto_token = a.issue_token("beto")
    other_before = a.agency("CBP-AMO")
    t = 1_800_000_000.0
    assert filter_tracks([_fused(t)], a.agency("GN-MX")) == []  # the old rules withhold it

    rows = setup_demo_agencies(a, passwords=False)

    demo = {name: (labels, rules) for name, _t, _c, labels, rules, _u in DEMO_AGENCIES}
    gn = a.agency("GN-MX")
    assert gn.rules == tuple(demo["GN-MX"][1]) and [r.mode for r in gn.rules] == ["position_only", "per_source"]
    assert gn.labels == set(demo["GN-MX"][0]) and rows[1]["rules"] == [r.to_dict() for r in demo["GN-MX"][1]]
    (released,) = filter_tracks([_fused(t)], gn)
    assert released.identities == {"icao24": "a1b2c3"} and released.sources == ["adsb"]
    # only GN-MX changed: USBP was already current, CBP-AMO is not the demo's
    updates = a.audit_entries(action="agency.update")
    assert [(e["object"], e["actor"]) for e in updates] == [("GN-MX", "demo")]
    assert a.agency("CBP-AMO") == other_before and a.agency("USBP").rules == ()
    # nobody's password changed (passwords=False), other users and tokens still work
    for user, pw in [("ana", "ana-own-password"), ("beto", "beto-own-password"),
                     ("gnmx-operator", "gnmx-old-password"), ("usbp-operator", "usbp-old-password")]:
        assert a.authenticate(a.login(user, pw)).user == user
    assert a.authenticate(beto_token).agency.name == "CBP-AMO"
    assert a.user("ana")["agency"] == "GN-MX" and a.user("ana")["role"] == "admin"

    # up to date now: another run changes no agency, and new passwords are the demo operators' only
    rows = setup_demo_agencies(a)
    assert len(a.audit_entries(action="agency.update")) == 1 and len(a.agencies()) == 3
    for user, pw in [("ana", "ana-own-password"), ("beto", "beto-own-password")] + [
            (r["user"], r["password"]) for r in rows]:
        assert a.authenticate(a.login(user, pw)).user == user
    assert a.verify_audit()[0]
    a.close()


def test_demo_agency_labels_restored(tmp_path):
    """A demo agency whose labels were changed by hand gets the demo's back (its rules release as
    REL-MX, which the agency must be able to receive)."""
    a = AuthStore(tmp_path / "auth.db")
    a.create_agency("GN-MX", ["PUBLIC"], [], title="old title")
    setup_demo_agencies(a, passwords=False)
    gn = a.agency("GN-MX")
    assert gn.labels == {"PUBLIC", "REL-MX"} and len(gn.rules) == 2 and gn.title == "Guardia Nacional, Nogales, Sonora"
    a.close()
