"""Persistent store: SQLite (embedded default) and PostgreSQL behind one interface.

``open_store(url)`` opens either from a URL; ``default_store_url(out_dir)`` is the URL a command
uses when none is given (``LOOKOUT_STORE_URL`` or ``OUT_DIR/lookout.db``). See ``docs/store.md``.
"""

from __future__ import annotations

import os
from pathlib import Path

from lookout.store.base import BBox, Store
from lookout.store.migrate import SchemaTooNew, StoreError

__all__ = ["BBox", "ENV_VAR", "SchemaTooNew", "Store", "StoreError", "default_store_url", "open_store",
           "sqlite_path"]

#: Environment variable naming the store every command uses by default.
ENV_VAR = "LOOKOUT_STORE_URL"
DEFAULT_DB_NAME = "lookout.db"


def sqlite_path(url: str | Path) -> str | None:
    """The SQLite database path (or ``":memory:"``) a store URL names; None for other URLs.

    ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` (the usual SQLAlchemy form),
    ``sqlite://`` or ``sqlite:///:memory:`` (in memory), ``:memory:`` and plain file paths.
    """
    if isinstance(url, Path):
        return str(url)
    s = str(url).strip()
    if not s:
        raise ValueError("empty store URL")
    if s == ":memory:":
        return s
    if s.lower().startswith("sqlite:"):
        rest = s[len("sqlite:"):]
        if rest in ("", "//", "///", "///:memory:", "//:memory:"):
            return ":memory:"
        if not rest.startswith("///"):
            raise ValueError(f"SQLite URL must look like sqlite:///relative.db or sqlite:////abs/path.db, got {s!r}")
        return rest[3:]
    if "://" in s:
        return None
    return s


def open_store(url: str | Path, **options: object) -> Store:
    """Open the store a URL names (the schema is migrated to the latest version).

    ``sqlite:///path.db``, a plain file path or ``:memory:`` give a :class:`SQLiteStore`;
    ``postgresql://user@host:port/db[?schema=NAME]`` a :class:`PostgresStore`. Keyword options
    go to the store's constructor.
    """
    path = sqlite_path(url)
    if path is not None:
        from lookout.store.sqlite import SQLiteStore

        return SQLiteStore(path, **options)  # type: ignore[arg-type]
    s = str(url).strip()
    scheme = s.split("://", 1)[0].lower()
    if scheme in ("postgresql", "postgres"):
        from lookout.store.postgres import PostgresStore

        return PostgresStore(s, **options)  # type: ignore[arg-type]
    raise ValueError(f"unsupported store URL scheme {scheme!r} in {s.split('@')[-1]!r}: use sqlite:///path.db, "
                     "a file path, :memory: or postgresql://user@host:port/db")


def default_store_url(out_dir: str | Path) -> str:
    """``$LOOKOUT_STORE_URL`` when set (and not empty), else SQLite at ``OUT_DIR/lookout.db``."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return env
    return "sqlite:///" + str(Path(out_dir) / DEFAULT_DB_NAME)
