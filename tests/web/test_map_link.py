"""The map when the server goes away or the session ends, in real headless Chromium: a banner says
so ("Offline - reconnecting", "Session expired - sign in again") instead of a silent, stale map,
and the map recovers by itself when the server answers again or the operator signs in again."""

from __future__ import annotations

import threading
import time as _time

import pytest

from lookout.model import LABELS, Alert, GeoPoint, Severity
from web.conftest import Console, DemoServer, open_map, shot

pytestmark = pytest.mark.browser

BANNER = "#banner"
#: the map asks the server every 5 s whether it is there and the session valid; margin for a busy host
WAIT_MS = 12_000


class RestartableServer(DemoServer):
    """The demo picture on a server that can be stopped and started again on the same port while
    the feed goes on (the picture moves on while the map is cut off)."""

    def halt(self) -> None:
        self.server.should_exit = True
        self.threads[0].join(timeout=10)
        assert not self.threads[0].is_alive(), "the server did not stop"

    def resume(self) -> None:
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    ws_per_message_deflate=False))
        self.threads[0] = threading.Thread(target=self.server.run, daemon=True)
        self.threads[0].start()
        deadline = _time.monotonic() + 20
        while not self.server.started:
            assert _time.monotonic() < deadline, "the server did not start again"
            _time.sleep(0.05)


class SignedInServer(DemoServer):
    """The demo picture behind access control: one agency cleared for every label, one operator."""

    def __init__(self, tmp, scenario) -> None:
        from lookout.api import create_app
        from lookout.auth import AuthStore

        super().__init__(tmp, scenario)
        self.auth = AuthStore(tmp / "auth.db")
        self.auth.create_agency("USBP", set(LABELS))
        self.auth.create_user("op", "USBP", "operator", password="op-password")
        self.serve(create_app(self.store, hub=self.hub, sector=self.scenario.sector, sensors=self.sensors,
                              auth=self.auth))

    def session(self) -> tuple[str, str]:
        """A fresh web session token and its id."""
        before = {t["id"] for t in self.auth.tokens("op")}
        token = self.auth.login("op", "op-password")
        (tid,) = {t["id"] for t in self.auth.tokens("op")} - before
        return token, tid


def _page_errors(page) -> list[str]:
    """Uncaught errors of the page (failed requests and WebSocket attempts are expected while offline)."""
    return [e for e in page.console_log.errors if e.startswith("page error")]


def _banner(page) -> str | None:
    b = page.locator(BANNER)
    return b.inner_text() if b.is_visible() else None


@pytest.fixture(scope="module")
def restartable(tmp_path_factory, scenario):
    srv = RestartableServer(tmp_path_factory.mktemp("restart"), scenario).start()
    yield srv
    srv.stop()  # stopped or not, the feed and the store close


@pytest.fixture(scope="module")
def signed_in(tmp_path_factory, scenario):
    srv = SignedInServer(tmp_path_factory.mktemp("signed-in"), scenario).start()
    yield srv
    srv.stop()
    srv.auth.close()


def test_offline_banner_when_the_server_stops_and_recovery_when_it_returns(browser, restartable):
    ctx, page = open_map(browser, restartable.url)
    try:
        assert _banner(page) is None and page.locator("#conn").inner_text() == "connected"
        n_shown = len(page.evaluate("() => window.lookout.displayed()"))
        restartable.halt()
        page.wait_for_selector(BANNER, state="visible", timeout=WAIT_MS)
        text = _banner(page)
        assert text.startswith("Offline — reconnecting"), text
        assert page.evaluate("() => document.body.dataset.link") == "offline"
        assert page.locator("#conn").inner_text() == "offline"
        # the last picture stays on the map, dimmed, rather than an empty map
        assert len(page.evaluate("() => window.lookout.displayed()")) == n_shown
        assert page.evaluate("() => getComputedStyle(document.querySelector('.track-canvas')).opacity") == "0.45"
        shot(page, "11-offline")
        # something happens while the map is cut off
        restartable.store.write_alerts([Alert(rule="loiter", severity=Severity.HIGH, message="Raised while offline",
                                              start=restartable.sim_time, position=GeoPoint(31.35, -110.95),
                                              id="a-offline")])
        page.wait_for_timeout(1500)
        assert _banner(page).startswith("Offline")  # still down: still saying so
        live_before = page.evaluate("() => window.lookout.state.liveTime")
        restartable.resume()
        page.wait_for_selector(BANNER, state="hidden", timeout=WAIT_MS)
        page.wait_for_function("() => window.lookout.state.wsOpen", timeout=WAIT_MS)
        assert page.evaluate("() => document.body.dataset.link") == "ok"
        assert page.locator("#conn").inner_text() == "connected"
        # the live picture moves again, and what changed meanwhile is loaded
        page.wait_for_function("t => window.lookout.state.liveTime > t + 2", arg=live_before, timeout=WAIT_MS)
        page.wait_for_selector('#alerts li[data-id="a-offline"]', timeout=WAIT_MS)
        shot(page, "12-reconnected")
        assert _page_errors(page) == []
    finally:
        ctx.close()


def test_session_expired_banner_when_the_token_is_revoked_and_recovery(browser, signed_in):
    token, tid = signed_in.session()
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    ctx.add_cookies([{"name": "lookout_token", "value": token, "url": signed_in.url}])
    try:
        page = ctx.new_page()
        page.console_log = Console(page)
        page.goto(signed_in.url + "/")
        page.wait_for_function("() => window.lookout && window.lookout.state.wsOpen && "
                               "window.lookout.displayed().length > 0", timeout=20_000)
        assert _banner(page) is None
        assert signed_in.auth.revoke_token(tid, by="admin")
        page.wait_for_selector(BANNER, state="visible", timeout=WAIT_MS)
        text = _banner(page)
        assert text.startswith("Session expired — sign in again"), text
        assert page.locator(f"{BANNER} a").get_attribute("href") == "/login"
        assert page.evaluate("() => document.body.dataset.link") == "expired"
        assert page.locator("#conn").inner_text() == "signed out"
        assert page.evaluate("() => window.lookout.displayed().length") > 0  # the last picture, not an empty map
        shot(page, "13-session-expired")
        # signed in again elsewhere (another tab): the map picks the new session up by itself
        token2, tid2 = signed_in.session()
        ctx.add_cookies([{"name": "lookout_token", "value": token2, "url": signed_in.url}])
        page.wait_for_selector(BANNER, state="hidden", timeout=WAIT_MS)
        assert page.evaluate("() => document.body.dataset.link") == "ok"
        # revoked again: the banner's link leads to the sign-in page, and back to a live map
        signed_in.auth.revoke_token(tid2, by="admin")
        page.wait_for_selector(BANNER, state="visible", timeout=WAIT_MS)
        page.locator(f"{BANNER} a").click()
        page.wait_for_url("**/login")
        page.fill("#u", "op")
        page.fill("#p", "op-password")
        page.click("button[type=submit]")
        page.wait_for_function("() => window.lookout && window.lookout.state.wsOpen && "
                               "window.lookout.displayed().length > 0", timeout=20_000)
        assert _banner(page) is None and page.locator("#conn").inner_text() == "connected"
        assert _page_errors(page) == []
    finally:
        ctx.close()
