"""``lookout serve``: the web map and the REST + WebSocket API over a store."""

from __future__ import annotations

from pathlib import Path

import typer

from lookout.commands._common import open_store_or_exit


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        store: str = typer.Option(None, "--store", help="Store path or URL (sqlite:///path.db, a file path, "
                                                        "postgresql://...). Default: $LOOKOUT_STORE_URL or "
                                                        "lookout-out/lookout.db."),
        host: str = typer.Option("127.0.0.1", help="Address to listen on."),
        port: int = typer.Option(8000, help="Port to listen on."),
        sector: Path = typer.Option(None,
                                    help="Sector GeoJSON for the basemap (default: the packaged Nogales sector)."),
        auth: Path = typer.Option(None, "--auth", help="Agencies/users/tokens database (see `lookout agency`, "
                                                       "`lookout users`): enforce logins and per-agency releasability. "
                                                       "Without it the API is open (single agency)."),
    ) -> None:
        """Serve the web map (common operating picture) and the API over a store."""
        import uvicorn

        from lookout.api.app import create_app
        from lookout.api.live import LiveHub
        from lookout.sector import load_sector

        st = open_store_or_exit(store)
        try:
            sec = load_sector(sector)
        except (OSError, ValueError) as exc:
            typer.echo(f"error: cannot load sector {sector}: {exc}", err=True)
            raise typer.Exit(2) from None
        registry = None
        if auth is not None:
            from lookout.auth import AuthStore

            try:
                registry = AuthStore(auth)
            except Exception as exc:  # noqa: BLE001
                typer.echo(f"error: cannot open auth database {str(auth)!r}: {exc}", err=True)
                raise typer.Exit(2) from None
        from lookout.analytics.api import router as analytics_router

        application = create_app(st, hub=LiveHub(), sector=sec, auth=registry, routers=[analytics_router])
        typer.echo(f"Map and API: http://{host}:{port}/   (API docs: http://{host}:{port}/docs)")
        try:
            uvicorn.run(application, host=host, port=port, log_level="warning", ws_per_message_deflate=False)
        finally:
            st.close()
