"""The ``lookout`` command line.

Each command group lives in its own module with a ``register(app)`` function; heavy imports
happen inside the command bodies, so ``lookout --help`` stays fast.
"""

from __future__ import annotations

import importlib
import logging

import typer

from lookout import __version__

app = typer.Typer(
    name="lookout",
    help="Lookout: one live, shared picture of what moves in a border sector's air and on its ground.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Modules that add commands to the app (each defines ``register(app: typer.Typer)``).
COMMAND_MODULES = [
    "lookout.commands.demo",
    "lookout.commands.eoir",
    "lookout.commands.serve",
    "lookout.commands.analytics",
    "lookout.commands.track",
    "lookout.commands.ingest",
    "lookout.sim.command",
    "lookout.commands.zones",
    "lookout.commands.share",
    "lookout.commands.scale",
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lookout {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages."),
) -> None:
    """Lookout command line."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


for _mod in COMMAND_MODULES:
    importlib.import_module(_mod).register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
