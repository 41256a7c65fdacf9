"""``lookout demo``: the default border-sector scenario, end to end."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        duration: float = typer.Option(1800.0, help="Scenario length, seconds of simulated time."),
        seed: int = typer.Option(7, help="Random seed (the scenario is deterministic per seed)."),
        out: Path = typer.Option(Path("lookout-out"), help="Output folder (SQLite store, logs)."),
        realtime: bool = typer.Option(False, "--realtime",
                                      help="Run at wall-clock pace instead of as fast as possible."),
        serve: bool = typer.Option(True, "--serve/--no-serve", help="Serve the web map and API after the run."),
        host: str = typer.Option("127.0.0.1", help="Address for the web map and API."),
        port: int = typer.Option(8000, help="Port for the web map and API."),
        start: float | None = typer.Option(
            None, help="Scenario start, UNIX seconds (default: the whole minute that ends the run about now). "
                       "It only shifts the times: the same seed gives the same run."),
        wire: bool = typer.Option(True, "--wire/--direct",
                                  help="Send each simulated sensor's real wire format through the decoders (default), "
                                       "or hand the simulated observations over directly."),
    ) -> None:
        """Run the default border-sector scenario end to end and print a summary."""
        from lookout.demo import run_demo

        run_demo(duration=duration, seed=seed, out=out, realtime=realtime, serve=serve, host=host, port=port, wire=wire,
                 start_time=start)
