"""Schema migrations: numbered SQL files (``migrations/``) applied in order, recorded in
``schema_migrations``.

Files live in ``lookout/store/migrations/`` and are named ``NNNN_name.sql`` (both dialects) or
``NNNN_name.sqlite.sql`` / ``NNNN_name.postgres.sql`` (one dialect; it takes precedence over the
shared file of the same number). Versions start at 1 and have no gaps. A migration is applied in
one transaction together with its ``schema_migrations`` row, so a failed migration leaves the
database at the previous version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
DIALECTS = ("sqlite", "postgres")

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+?)(?:\.(sqlite|postgres))?\.sql$")

#: Created before any migration runs; not itself a migration.
MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
)


class StoreError(RuntimeError):
    """A store cannot be opened or used (schema too new, broken migration set, bad URL)."""


class SchemaTooNew(StoreError):
    """The database was written by a newer Lookout than this one."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str
    path: Path


def load_migrations(dialect: str, directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations for ``dialect`` in version order (checked: 1..N without gaps)."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}; expected one of {DIALECTS}")
    chosen: dict[int, tuple[bool, Path, str]] = {}
    for p in sorted(directory.glob("*.sql")):
        m = _NAME.match(p.name)
        if not m:
            raise StoreError(f"migration file {p.name!r} is not named NNNN_name[.sqlite|.postgres].sql")
        version, name, only = int(m.group(1)), m.group(2), m.group(3)
        if only is not None and only != dialect:
            continue
        specific = only is not None
        prev = chosen.get(version)
        if prev is not None and prev[0] == specific:
            raise StoreError(f"two migrations with version {version}: {prev[1].name} and {p.name}")
        if prev is None or specific:
            chosen[version] = (specific, p, name)
    versions = sorted(chosen)
    if versions != list(range(1, len(versions) + 1)):
        raise StoreError(f"migration versions must run 1..N without gaps, found {versions}")
    return [Migration(v, chosen[v][2], chosen[v][1].read_text(encoding="utf-8"), chosen[v][1]) for v in versions]


def split_statements(sql: str) -> list[str]:
    """Split an SQLite script into complete statements (comments and blank lines dropped)."""
    import sqlite3

    out: list[str] = []
    buf = ""
    for line in sql.splitlines(keepends=True):
        stripped = line.strip()
        if not buf and (not stripped or stripped.startswith("--")):
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        raise StoreError(f"incomplete SQL statement at the end of a migration: {buf.strip()[:80]!r}")
    return out
