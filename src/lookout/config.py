"""Deployment configuration: one TOML file (``lookout.toml``) with environment overrides.

Precedence (highest first): explicit arguments, environment variables, the TOML file, defaults.

``lookout.toml``::

    bus_url = "nats://127.0.0.1:4222"           # or memory:// (in-process, the default)
    store_url = "postgresql://postgres@127.0.0.1:5432/test"   # default sqlite:///lookout.db
    bus_prefix = ""                              # namespace of subjects and stream names

    [partition]
    sectors = 2          # fusion partitions ("s0", "s1", ...): strips of H3 cells west to east
    h3_resolution = 7

    [worker]
    step_s = 1.0         # tracker step (observation time)
    idle_flush_s = 1.0   # process a partial step after this much wall time without messages
    batch = 2000         # messages fetched per pull
    checkpoint_s = 2.0   # wall seconds between checkpoints, 0 = every step (acknowledgements follow)
    store_flush_s = 0.5  # wall seconds the store writes of consecutive steps are gathered, 0 = every step

Environment: ``LOOKOUT_CONFIG`` (path of the TOML file; default ``./lookout.toml`` when present),
``LOOKOUT_BUS_URL``, ``LOOKOUT_STORE_URL``, ``LOOKOUT_BUS_PREFIX``, ``LOOKOUT_SECTORS``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

CONFIG_ENV = "LOOKOUT_CONFIG"
BUS_ENV = "LOOKOUT_BUS_URL"
STORE_ENV = "LOOKOUT_STORE_URL"
PREFIX_ENV = "LOOKOUT_BUS_PREFIX"
SECTORS_ENV = "LOOKOUT_SECTORS"
DEFAULT_FILE = "lookout.toml"


class ConfigError(ValueError):
    """A configuration file or variable that cannot be used (the message names it)."""


@dataclass(frozen=True)
class PartitionConfig:
    sectors: int = 1
    h3_resolution: int = 7

    def __post_init__(self) -> None:
        if not isinstance(self.sectors, int) or not 1 <= self.sectors <= 64:
            raise ConfigError(f"partition.sectors must be an integer in 1..64, got {self.sectors!r}")
        if not isinstance(self.h3_resolution, int) or not 4 <= self.h3_resolution <= 10:
            raise ConfigError(f"partition.h3_resolution must be an integer in 4..10, got {self.h3_resolution!r}")


@dataclass(frozen=True)
class WorkerConfig:
    step_s: float = 1.0
    idle_flush_s: float = 1.0
    batch: int = 2000
    checkpoint_s: float = 2.0
    store_flush_s: float = 0.5

    def __post_init__(self) -> None:
        for name in ("step_s", "idle_flush_s", "checkpoint_s", "store_flush_s"):
            v = getattr(self, name)
            zero_ok = name in ("checkpoint_s", "store_flush_s")
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and (v >= 0 if zero_ok else v > 0)
            if not ok:
                raise ConfigError(f"worker.{name} must be a number {'>= 0' if zero_ok else '> 0'}, "
                                  f"got {v!r}")
        for name in ("batch",):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ConfigError(f"worker.{name} must be an integer >= 1, got {v!r}")


@dataclass(frozen=True)
class Config:
    bus_url: str = "memory://"
    store_url: str = "sqlite:///lookout.db"
    bus_prefix: str = ""
    partition: PartitionConfig = field(default_factory=PartitionConfig)
    worker: WorkerConfig = field(default_factory=WorkerConfig)
    source: str = "defaults"  # where it came from (file path or "defaults")


def _section(cls: type, data: Any, name: str) -> Any:
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise ConfigError(f"[{name}] must be a table, got {type(data).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"unknown key(s) in [{name}]: {unknown}; known: {sorted(known)}")
    return cls(**data)


def load_config(path: str | Path | None = None, env: dict[str, str] | None = None) -> Config:
    """Read the configuration: ``path`` (or ``$LOOKOUT_CONFIG``, or ``./lookout.toml`` if it
    exists), then the environment overrides. Raises :class:`ConfigError` naming the problem."""
    env = dict(os.environ if env is None else env)
    if path is None and env.get(CONFIG_ENV, "").strip():
        path = env[CONFIG_ENV].strip()
    data: dict[str, Any] = {}
    origin = "defaults"
    if path is None and Path(DEFAULT_FILE).is_file():
        path = DEFAULT_FILE
    if path is not None:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read configuration file {p}: {exc.strerror or exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"configuration file {p} is not valid TOML: {exc}") from None
        origin = str(p)
    top = {f.name for f in fields(Config)} - {"source"}
    unknown = sorted(set(data) - top)
    if unknown:
        raise ConfigError(f"unknown key(s) in {origin}: {unknown}; known: {sorted(top)}")
    for k in ("bus_url", "store_url", "bus_prefix"):
        if k in data and not isinstance(data[k], str):
            raise ConfigError(f"{k} must be a string, got {data[k]!r}")
    cfg = Config(
        bus_url=data.get("bus_url", Config.bus_url), store_url=data.get("store_url", Config.store_url),
        bus_prefix=data.get("bus_prefix", Config.bus_prefix),
        partition=_section(PartitionConfig, data.get("partition"), "partition"),
        worker=_section(WorkerConfig, data.get("worker"), "worker"), source=origin,
    )
    over: dict[str, Any] = {}
    if env.get(BUS_ENV, "").strip():
        over["bus_url"] = env[BUS_ENV].strip()
    if env.get(STORE_ENV, "").strip():
        over["store_url"] = env[STORE_ENV].strip()
    if PREFIX_ENV in env:
        over["bus_prefix"] = env[PREFIX_ENV].strip()
    if env.get(SECTORS_ENV, "").strip():
        try:
            n = int(env[SECTORS_ENV])
        except ValueError:
            raise ConfigError(f"{SECTORS_ENV} must be an integer, got {env[SECTORS_ENV]!r}") from None
        over["partition"] = replace(cfg.partition, sectors=n)
    return replace(cfg, **over) if over else cfg
