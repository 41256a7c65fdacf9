"""Helpers shared by the command modules."""

from __future__ import annotations

import re
from pathlib import Path

import typer


def fail(message: str, code: int = 2) -> None:
    """Print ``error: message`` to stderr and exit (status 2: bad input)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def open_store_or_exit(url: str | None = None, out_dir: Path = Path("lookout-out")):
    """Open a store (``url``, else ``$LOOKOUT_STORE_URL``, else ``OUT/lookout.db``); on failure
    print a clear message (credentials hidden) and exit with status 2, never a traceback."""
    from lookout.store import default_store_url, open_store

    url = url or default_store_url(out_dir)
    try:
        return open_store(url)
    except Exception as exc:  # noqa: BLE001 - any opening failure is reported, not a traceback
        shown = re.sub(r"//[^/@]*@", "//***@", str(url))
        fail(f"cannot open store {shown!r}: {exc}")
