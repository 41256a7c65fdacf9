"""The API documentation pages, served offline: Swagger UI at ``/docs`` and ReDoc at ``/redoc``.

Their scripts, styles and icon are shipped in the package (``lookout/api/static/``: Swagger UI
from ``swagger-ui-dist``, Apache-2.0; ReDoc's standalone bundle, MIT; ``scripts/vendor-api-docs.sh``
refreshes them) and served under :data:`ASSETS`, so the pages load nothing from a CDN or a font
service. The schema at ``/openapi.json`` declares how to authenticate (see
:mod:`lookout.api.security`), so Swagger UI's *Authorize* button takes an API token.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

#: where the documentation assets are served
ASSETS = "/docs/assets"
#: the pages may load from this server only (Swagger UI and ReDoc initialise inline and style
#: with inline styles; ReDoc runs its search in a blob: worker; icons are data: URIs). A bundled
#: reference to a remote image (ReDoc's attribution logo) is refused by the browser, not fetched.
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
       "frame-ancestors 'self'; base-uri 'self'; form-action 'self'")


def assets_dir() -> Path:
    """The vendored Swagger UI and ReDoc files inside the package."""
    return Path(str(resources.files("lookout.api"))) / "static"


def add_docs_routes(app: FastAPI) -> None:
    """``/docs`` (Swagger UI) and ``/redoc`` over ``app.openapi_url``, with local assets. The app
    must be built with ``docs_url=None, redoc_url=None`` (FastAPI's own pages load a CDN)."""
    app.mount(ASSETS, StaticFiles(directory=assets_dir()), name="docs-assets")
    title = app.title

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return _offline(get_swagger_ui_html(
            openapi_url=app.openapi_url, title=f"{title} - Swagger UI",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None}))  # no online spec validator

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return _offline(get_redoc_html(openapi_url=app.openapi_url, title=f"{title} - ReDoc",
                                       redoc_js_url=f"{ASSETS}/redoc.standalone.js",
                                       redoc_favicon_url=f"{ASSETS}/favicon.png", with_google_fonts=False))


def _offline(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CSP
    return page


__all__ = ["ASSETS", "CSP", "add_docs_routes", "assets_dir"]
