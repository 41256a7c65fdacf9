"""Scale-out commands: ``lookout worker``, ``lookout publish``, ``lookout publish-sim``,
``lookout serve-bus`` and ``lookout partition`` (see ``docs/scale-out.md``)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import typer

from lookout.commands._common import open_store_or_exit

_CONFIG = typer.Option(None, "--config", help="lookout.toml (default: $LOOKOUT_CONFIG or ./lookout.toml if present).")
_BUS = typer.Option(None, "--bus", help="Bus URL: memory:// or nats://host:port (default: $LOOKOUT_BUS_URL, "
                                        "then the config file).")
_STORE = typer.Option(None, "--store", help="Store URL: sqlite:///path.db or postgresql://... (default: "
                                            "$LOOKOUT_STORE_URL, then the config file).")
_PREFIX = typer.Option(None, "--prefix", help="Bus namespace (subject prefix and stream names).")
_SECTORS = typer.Option(None, "--sectors", help="Number of fusion sectors (default: config, else 1).")


def _config(config: Path | None, bus: str | None, store: str | None, prefix: str | None, sectors: int | None):
    from dataclasses import replace

    from lookout.config import ConfigError, load_config

    try:
        cfg = load_config(config)
        over = {}
        if bus:
            over["bus_url"] = bus
        if store:
            over["store_url"] = store
        if prefix is not None:
            over["bus_prefix"] = prefix
        if sectors is not None:
            over["partition"] = replace(cfg.partition, sectors=sectors)
        return replace(cfg, **over)
    except (ConfigError, TypeError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _partition(cfg):
    from lookout.scale import Partition

    return Partition(n=cfg.partition.sectors, resolution=cfg.partition.h3_resolution)


def _open_bus(cfg):
    from lookout.bus import open_bus

    try:
        return open_bus(cfg.bus_url, cfg.bus_prefix)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _open_store(url: str):
    return open_store_or_exit(url)


async def _connect(bus) -> None:
    from lookout.bus import BusError

    try:
        await bus.connect()
    except BusError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def register(app: typer.Typer) -> None:
    @app.command()
    def worker(
        sector: str = typer.Option(..., "--sector", help="Sector to fuse (s0, s1, ...; see `lookout partition`)."),
        config: Path = _CONFIG, bus: str = _BUS, store: str = _STORE, prefix: str = _PREFIX, sectors: int = _SECTORS,
        max_idle: float = typer.Option(None, "--max-idle", help="Exit after this many seconds without messages."),
        no_rules: bool = typer.Option(False, "--no-rules", help="Track only (no alert rules)."),
    ) -> None:
        """Fuse one sector: consume its observations from the bus, track, raise alerts, store.

        Acknowledges messages only after their effects and a checkpoint are in the store; a
        restarted worker resumes from its checkpoint (nothing lost, nothing duplicated)."""
        from lookout.scale import CheckpointError, FusionWorker, tune_gc

        cfg = _config(config, bus, store, prefix, sectors)
        part = _partition(cfg)
        if sector not in part.ids:
            typer.echo(f"error: unknown sector {sector!r}; with {part.n} sector(s) they are {part.ids}", err=True)
            raise typer.Exit(2)
        st = _open_store(cfg.store_url)
        tune_gc()

        async def main() -> None:
            b = _open_bus(cfg)
            await _connect(b)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            w = FusionWorker(b, st, part, sector, cfg.worker, rules=not no_rules)
            try:
                stats = await w.run(stop=stop, max_idle_s=max_idle)
            finally:
                await b.close()
            typer.echo(f"sector {sector}: {stats.observations} observations in {stats.steps} steps "
                       f"(resumed after seq {stats.resumed_from}, now {stats.last_seq}); tracks written "
                       f"{stats.tracks_written}, alerts {stats.alerts_written}; handoffs out {stats.handoffs_out}, "
                       f"in {stats.handoffs_in}; rejected {stats.rejected or 0}", err=True)

        try:
            asyncio.run(main())
        except CheckpointError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        finally:
            st.close()

    @app.command()
    def publish(
        format: str = typer.Argument(..., metavar="FORMAT", help="Wire format (see `lookout ingest --list`)."),
        source: str = typer.Argument(..., metavar="SOURCE", help="A file, '-', or a live URL (as `lookout ingest`)."),
        config: Path = _CONFIG, bus: str = _BUS, prefix: str = _PREFIX, sectors: int = _SECTORS,
        sensor: str = typer.Option(None, "--sensor", help="Sensor id (default: the format name)."),
        label: str = typer.Option("PUBLIC", "--label", help="Releasability label."),
        replay_speed: float = typer.Option(0.0, "--replay-speed", help="Replay at X times the recorded pace."),
        max_messages: int = typer.Option(None, "--max-messages", help="Stop after N input messages."),
        max_seconds: float = typer.Option(None, "--max-seconds", help="Stop after S seconds."),
    ) -> None:
        """Decode a sensor feed and publish its observations to the bus, routed by sector
        (``obs.<source>.<sector>``). The ingest side of a distributed deployment."""
        from lookout.scale import Publisher
        from lookout.sources import formats
        from lookout.sources.replay import Ingest, format_summary

        if format not in formats():
            typer.echo(f"error: unknown format {format!r}; known: {', '.join(formats())}", err=True)
            raise typer.Exit(2)
        cfg = _config(config, bus, None, prefix, sectors)
        part = _partition(cfg)
        try:
            run = Ingest(format, source, sensor=sensor, label=label, replay_speed=replay_speed or None,
                         max_messages=max_messages, max_seconds=max_seconds)
        except (ValueError, OSError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None

        async def main():
            b = _open_bus(cfg)
            await _connect(b)
            pub = Publisher(b, part)
            try:
                live = run.source.live
                chunk = []
                for o in run:
                    chunk.append(o)
                    if len(chunk) >= (1 if live else 2000):
                        await pub.publish(chunk)
                        chunk = []
                if chunk:
                    await pub.publish(chunk)
                return dict(pub.counts)
            finally:
                await b.close()

        try:
            total = asyncio.run(main())
        except KeyboardInterrupt:
            total = {}
        typer.echo(format_summary(run.summary), err=True)
        typer.echo(f"  published per sector: {dict(sorted(total.items()))}", err=True)

    @app.command("publish-sim")
    def publish_sim(
        config: Path = _CONFIG, bus: str = _BUS, prefix: str = _PREFIX, sectors: int = _SECTORS,
        seed: int = typer.Option(7, help="Scenario seed."),
        duration: float = typer.Option(600.0, help="Scenario length (s)."),
        speed: float = typer.Option(0.0, help="Publish at X times real time (0 = as fast as possible)."),
    ) -> None:
        """Publish a simulated scenario's observations to the bus (demo and load source)."""
        import time

        from lookout.scale import Publisher
        from lookout.sim import Scenario, ScenarioConfig

        cfg = _config(config, bus, None, prefix, sectors)
        part = _partition(cfg)
        try:
            sc = Scenario(ScenarioConfig(seed=seed, duration_s=duration))
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None

        async def main():
            b = _open_bus(cfg)
            await _connect(b)
            pub = Publisher(b, part)
            t0 = time.monotonic()
            first = None
            try:
                for stp in sc.steps(1.0):
                    if speed > 0:
                        first = stp.time if first is None else first
                        wait = (stp.time - first) / speed - (time.monotonic() - t0)
                        if wait > 0:
                            await asyncio.sleep(wait)
                    await pub.tick(stp.time)
                    await pub.publish(stp.observations)
                await pub.tick(sc.config.end_time + 2.0)
            finally:
                await b.close()
            return dict(pub.counts)

        total = asyncio.run(main())
        typer.echo(f"published {sum(total.values())} observations per sector: {dict(sorted(total.items()))}",
                   err=True)

    @app.command()
    def partition(
        config: Path = _CONFIG, sectors: int = _SECTORS,
        lat: float = typer.Option(None, help="Also print the sector of this position (with --lon)."),
        lon: float = typer.Option(None, help="Longitude of the position."),
    ) -> None:
        """Show the fusion sectors (H3 cells per sector) and where a position falls."""
        cfg = _config(config, None, None, None, sectors)
        part = _partition(cfg)
        for row in part.describe():
            typer.echo(f"{row['sector']}: {row['h3_cells']} H3 cells (resolution {row['resolution']})")
        if lat is not None and lon is not None:
            typer.echo(f"{lat}, {lon} -> {part.sector_of(lat, lon)}")

    @app.command("serve-bus")
    def serve_bus(
        config: Path = _CONFIG, bus: str = _BUS, store: str = _STORE, prefix: str = _PREFIX,
        host: str = typer.Option("127.0.0.1", help="Address to listen on."),
        port: int = typer.Option(8000, help="Port to listen on."),
    ) -> None:
        """Serve the map and API over the store, with live tracks and alerts from the bus
        (the serving process of a distributed deployment)."""
        import threading

        import uvicorn

        from lookout.api.app import create_app
        from lookout.api.live import LiveHub
        from lookout.scale.live import bridge

        cfg = _config(config, bus, store, prefix, None)
        st = _open_store(cfg.store_url)
        hub = LiveHub()
        stop = threading.Event()
        b = _open_bus(cfg)
        t = threading.Thread(target=lambda: asyncio.run(bridge(b, hub, stop)), name="bus-bridge", daemon=True)
        t.start()
        application = create_app(st, hub=hub)
        typer.echo(f"Map and API: http://{host}:{port}/ (live from {cfg.bus_url})", err=True)
        try:
            uvicorn.run(application, host=host, port=port, log_level="warning", ws_per_message_deflate=False)
        finally:
            stop.set()
            t.join(timeout=5)
            st.close()
