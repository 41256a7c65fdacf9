"""The API documentation: /docs (Swagger UI) and /redoc work offline from the package's own
assets, and /openapi.json declares how to authenticate so Swagger UI's Authorize works.

The browser tests drive real headless Chromium against a real server with access control on,
abort every request that would leave loopback and assert that none was attempted."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from api.world import SECTOR, fill
from lookout.api import LiveHub, create_app
from lookout.api.docs import ASSETS, assets_dir
from lookout.auth import AuthStore
from lookout.store.sqlite import SQLiteStore
from web.conftest import LiveServer, browser  # noqa: F401 - the Chromium fixture

ROOT = Path(__file__).resolve().parents[2]
ASSET_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png",
               "swagger-ui.LICENSE", "redoc.LICENSE")


@pytest.fixture
def secured(tmp_path):
    store = SQLiteStore(":memory:")
    fill(store)
    auth = AuthStore(tmp_path / "auth.db")
    auth.create_agency("USBP", ["PUBLIC"], all_labels=True)
    auth.create_user("ana", "USBP", "operator")
    with TestClient(create_app(store, hub=LiveHub(), sector=SECTOR, auth=auth)) as c:
        yield c, auth
    store.close()


def test_openapi_declares_bearer_and_cookie(secured):
    c, auth = secured
    schema = c.get("/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["bearerToken"] == schemes["bearerToken"] | {"type": "http", "scheme": "bearer"}
    assert schemes["sessionCookie"] == schemes["sessionCookie"] | {"type": "apiKey", "in": "cookie",
                                                                    "name": "lookout_token"}
    either = [{"bearerToken": []}, {"sessionCookie": []}]
    ops = {(m, p): op for p, item in schema["paths"].items() for m, op in item.items()}
    assert ops[("post", "/api/auth/login")].get("security") is None  # signing in needs no credentials
    needing = {k: op.get("security") for k, op in ops.items() if k != ("post", "/api/auth/login")}
    assert len(needing) > 20 and all(s == either for s in needing.values()), needing
    # what the schema promises: the token as a bearer works, nothing does not
    token = auth.issue_token("ana")
    assert c.get("/api/auth/me").status_code == 401
    me = c.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["user"] == "ana"


def test_open_api_declares_no_security():
    store = SQLiteStore(":memory:")
    with TestClient(create_app(store, sector=SECTOR)) as c:
        schema = c.get("/openapi.json").json()
    store.close()
    assert "securitySchemes" not in schema.get("components", {})
    assert not any("security" in op for item in schema["paths"].values() for op in item.values())


def test_docs_pages_use_packaged_assets(secured):
    c, _ = secured
    for page in ("/docs", "/redoc"):
        r = c.get(page)
        assert r.status_code == 200 and r.headers["content-security-policy"].startswith("default-src 'self';")
        html = r.text
        assert "cdn.jsdelivr.net" not in html and "fonts.googleapis.com" not in html and "tiangolo" not in html
        assert html.count(f'"{ASSETS}/') >= 2
    for name in ASSET_FILES[:4]:
        r = c.get(f"{ASSETS}/{name}")
        assert r.status_code == 200 and len(r.content) > 500, name


def test_assets_are_package_data():
    """Every vendored file is matched by the package-data globs (so a built wheel ships it) and
    the licences travel with the bundles."""
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = conf["tool"]["setuptools"]["package-data"]["lookout"]
    files = sorted(p.relative_to(ROOT / "src" / "lookout").as_posix() for p in assets_dir().iterdir())
    assert set(ASSET_FILES) <= {Path(f).name for f in files}
    assert all(any(fnmatch.fnmatch(f, g) for g in globs) for f in files), (files, globs)
    assert "Apache License" in (assets_dir() / "swagger-ui.LICENSE").read_text()
    assert "Permission is hereby granted, free of charge" in (assets_dir() / "redoc.LICENSE").read_text()


# -- in real Chromium ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def docs_server(tmp_path_factory):
    d = tmp_path_factory.mktemp("docs")
    srv = LiveServer(d, "docs")
    fill(srv.store)
    auth = AuthStore(d / "auth.db")
    auth.create_agency("USBP", ["PUBLIC"], all_labels=True)
    auth.create_user("ana", "USBP", "operator")
    srv.serve(create_app(srv.store, hub=srv.hub, sector=SECTOR, auth=auth))
    srv.start()
    yield srv, auth
    srv.stop()
    auth.close()


def _offline_page(browser):  # noqa: F811
    """A page whose requests may go to loopback only: anything else is aborted and recorded
    (with the page's errors and console errors)."""
    ctx = browser.new_context(viewport={"width": 1300, "height": 900})
    outside: list[str] = []

    def gate(route):
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    ctx.route("**/*", gate)
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return ctx, pg, outside, errors


@pytest.mark.browser
def test_swagger_ui_offline_and_authorize(browser, docs_server):  # noqa: F811
    srv, auth = docs_server
    ops = sum(len(v) for v in TestClient(srv.app).get("/openapi.json").json()["paths"].values())
    ctx, pg, outside, errors = _offline_page(browser)
    try:
        pg.goto(srv.url + "/docs")
        pg.wait_for_selector(".opblock", timeout=20_000)
        assert pg.locator(".opblock").count() == ops
        assert pg.locator(".opblock-summary-path").filter(has_text="/api/zones").count() >= 3
        # the Authorize dialog offers the bearer token and the session cookie
        pg.click("button.authorize")
        dialog = pg.locator(".dialog-ux .modal-ux")
        dialog.wait_for()
        text = dialog.inner_text()
        assert "bearerToken" in text and "http, Bearer" in text
        assert "sessionCookie" in text and "lookout_token" in text
        token = auth.issue_token("ana", note="docs")
        dialog.locator(".auth-container").filter(has_text="bearerToken").locator("input").fill(token)
        dialog.locator(".auth-container").filter(has_text="bearerToken").locator("button.authorize").click()
        dialog.locator("button.btn-done").first.click()
        # an authorised call from the page: GET /api/auth/me answers who the token belongs to
        op = pg.locator(".opblock").filter(has=pg.locator(".opblock-summary-path", has_text="/api/auth/me"))
        op.locator(".opblock-summary").first.click()
        op.locator("button.try-out__btn").click()
        op.locator("button.execute").click()
        status = op.locator(".live-responses-table .response .response-col_status").first
        status.wait_for(timeout=20_000)
        assert status.inner_text().strip().startswith("200")
        assert '"user": "ana"' in op.locator(".live-responses-table .microlight").first.inner_text()
    finally:
        ctx.close()
    assert outside == [] and errors == []
    assert auth.audit_entries(actor="ana", action="view")[-1]["object"] == "/api/auth/me"


@pytest.mark.browser
def test_redoc_offline(browser, docs_server):  # noqa: F811
    srv, _ = docs_server
    ctx, pg, outside, errors = _offline_page(browser)
    try:
        pg.goto(srv.url + "/redoc")
        pg.wait_for_selector("[role=menuitem]", timeout=30_000)
        pg.get_by_text("Create a zone from a GeoJSON Feature", exact=False).first.wait_for()
        assert pg.locator("[role=menuitem]").count() >= 20
        body = pg.inner_text("body")  # each operation names the schemes it accepts
        assert body.lower().count("authorizations:") >= 20 and "bearerTokensessionCookie" in body
    finally:
        ctx.close()
    assert outside == []
    # the one remote reference in the bundle, ReDoc's attribution logo, is refused by the page's
    # Content-Security-Policy before any request is made (the logo then hides itself)
    assert all("cdn.redoc.ly/redoc/logo-mini.svg" in e and "Content Security Policy" in e for e in errors), errors
