"""The web map behind the login, in real headless Chromium: each agency's operator signs in on
/login and the map shows that agency's picture (session cookie on REST and the WebSocket)."""

from __future__ import annotations

import threading
import time

import pytest

from api.world import free_port
from auth.test_leak_matrix import AGENCIES, SECTOR, SPECS, T0, make_track
from lookout.api import LiveHub, create_app
from lookout.auth import AuthStore
from lookout.store.sqlite import SQLiteStore
from web.conftest import browser  # noqa: F401 - the Chromium fixture

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import uvicorn

    d = tmp_path_factory.mktemp("weblogin")
    store = SQLiteStore(d / "s.db")
    auth = AuthStore(d / "a.db")
    creds = {}
    for name, (labels, rules) in AGENCIES.items():
        auth.create_agency(name, labels, rules)
        auth.create_user(f"{name.lower()}-op", name, "operator", password=f"{name.lower()}-password")
        creds[name] = (f"{name.lower()}-op", f"{name.lower()}-password")
    hub = LiveHub()
    app = create_app(store, hub=hub, sector=SECTOR, auth=auth)
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                        ws_per_message_deflate=False))
    stop = threading.Event()

    def feed():
        k = 0
        while not stop.is_set():
            tracks = [make_track(i, T0 + k) for i in range(len(SPECS))]
            store.write_tracks(tracks)
            hub.publish(T0 + k, tracks, [], [])
            k += 1
            stop.wait(0.5)

    threads = [threading.Thread(target=srv.run, daemon=True), threading.Thread(target=feed, daemon=True)]
    for th in threads:
        th.start()
    end = time.monotonic() + 20
    while not srv.started and time.monotonic() < end:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", creds, auth
    stop.set()
    srv.should_exit = True
    for th in threads:
        th.join(timeout=10)
    store.close()


def _sign_in(browser, url, user, password):  # noqa: F811
    ctx = browser.new_context(viewport={"width": 1200, "height": 800})
    pg = ctx.new_page()
    pg.goto(url + "/")
    pg.wait_for_url("**/login")
    pg.fill("#u", user)
    pg.fill("#p", password)
    pg.click("button[type=submit]")
    pg.wait_for_function("() => window.lookout && window.lookout.state.wsOpen && window.lookout.displayed().length > 0",
                         timeout=20_000)
    return ctx, pg


def test_each_agency_sees_its_own_picture(browser, server):  # noqa: F811
    url, creds, auth = server
    shown = {}
    for agency, (user, password) in creds.items():
        ctx, pg = _sign_in(browser, url, user, password)
        time.sleep(1.0)  # a few live updates
        shown[agency] = {d["id"] for d in pg.evaluate("() => window.lookout.displayed()")}
        assert pg.evaluate("() => localStorage.getItem('lookout.token')").startswith("lkt_")
        ctx.close()
    assert shown["USBP"] == {"t-pub", "t-relmx", "t-usradar", "t-uscam"}
    assert shown["GN-MX"] == {"t-pub", "t-relmx", "t-usradar"}  # the radar-only track, released coarse
    assert shown["CIV"] == {"t-pub"}
    logins = auth.audit_entries(action="login", outcome="ok")
    assert {e["agency"] for e in logins} == set(AGENCIES)


def test_wrong_password_stays_on_login(browser, server):  # noqa: F811
    url, _, _ = server
    ctx = browser.new_context()
    pg = ctx.new_page()
    pg.goto(url + "/login")
    pg.fill("#u", "usbp-op")
    pg.fill("#p", "not-the-password")
    pg.click("button[type=submit]")
    pg.wait_for_function("() => document.getElementById('err').textContent.length > 0")
    assert pg.text_content("#err") == "wrong user name or password" and pg.url.endswith("/login")
    ctx.close()
