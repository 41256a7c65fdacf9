"""``lookout ingest FORMAT SOURCE``: decode a sensor feed into Observation JSON lines."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import typer

from lookout.commands._common import open_store_or_exit


def _parse_options(items: list[str]) -> dict:
    import yaml

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--option")
        out[key.strip().replace("-", "_")] = yaml.safe_load(value)
    return out


def register(app: typer.Typer) -> None:
    @app.command()
    def ingest(
        format: str = typer.Argument(None, metavar="FORMAT", help="Wire format (sbs, avr, raw, beast, aircraft-json, "
                                     "...; see `lookout ingest --list`)."),
        source: str = typer.Argument(None, metavar="SOURCE", help="A file (.gz ok), '-' for stdin, tcp://host:port, "
                                     "tcp-listen://host:port, udp://host:port, mqtt://host:port/topic, "
                                     "nats://host:port/subject, http(s)://... (polled)."),
        out: str = typer.Option(None, "--out", "-O", help="Observation JSON lines to this file ('-' = stdout; "
                                "the default unless --store is given)."),
        store: str = typer.Option(None, "--store", help="Also write the observations to a store "
                                  "(sqlite:///path.db, a .db path, or postgresql://...)."),
        replay_speed: float = typer.Option(0.0, "--replay-speed", help="Replay a file at its recorded pace times X "
                                           "(1 = real time); 0 = as fast as possible."),
        sensor: str = typer.Option(None, "--sensor", help="Sensor id (default: the format name)."),
        label: str = typer.Option("PUBLIC", "--label", help="Releasability label of the observations."),
        max_messages: int = typer.Option(None, "--max-messages", help="Stop after N input messages."),
        max_seconds: float = typer.Option(None, "--max-seconds", help="Stop after S seconds (wall clock)."),
        reference: str = typer.Option(None, "--reference", "--receiver",
                                      help="Receiver position LAT,LON: ADS-B positions farther than max_range_m "
                                      "(300 km) are rejected, and first fixes may decode against it. Without it "
                                      "positions are decoded globally (CPR pairs), with no range check."),
        option: list[str] = typer.Option([], "--option", "-o", help="Decoder option KEY=VALUE (repeatable), "
                                         "e.g. -o max_range_m=250000."),
        list_formats: bool = typer.Option(False, "--list", help="List the known formats and exit."),
        camera: Path = typer.Option(None, "--camera", help="(eoir) camera file: intrinsics, pose, sensor id, label."),
        onnx: Path = typer.Option(None, "--onnx", help="(eoir) use this ONNX detector model."),
    ) -> None:
        """Decode a sensor feed (file, stdin or live URL) into Observations as JSON lines.

        A summary (accepted, rejected by reason) goes to stderr at the end. FORMAT ``eoir`` takes
        thermal/visible frames (a folder, a video file or a stream URL) and a ``--camera`` file, and
        turns hot-target detections into camera bearing Observations."""
        from lookout.sources import formats
        from lookout.sources.replay import Ingest, format_summary

        if list_formats:
            typer.echo("\n".join(formats() + ["eoir"]))
            raise typer.Exit()
        if format == "eoir":
            from lookout.commands.eoir import run_ingest_eoir

            if source is None or camera is None:
                typer.echo("error: eoir needs SOURCE (frames folder, video or stream URL) and --camera FILE", err=True)
                raise typer.Exit(2)
            run_ingest_eoir(source, camera, Path(out or "observations.jsonl"), onnx, max_messages)
            return
        if format is None:
            typer.echo(f"error: missing FORMAT; known: {', '.join(formats())}", err=True)
            raise typer.Exit(2)
        if source is None:
            typer.echo("error: missing SOURCE (a file, '-', or a URL)", err=True)
            raise typer.Exit(2)
        if format not in formats():
            typer.echo(f"error: unknown format {format!r}; known: {', '.join(formats())}", err=True)
            raise typer.Exit(2)
        opts = _parse_options(option)
        if reference:
            try:
                lat, lon = (float(x) for x in reference.split(","))
            except ValueError:
                typer.echo(f"error: --reference must be LAT,LON, got {reference!r}", err=True)
                raise typer.Exit(2) from None
            opts["reference"] = (lat, lon)
        try:
            run = Ingest(format, source, sensor=sensor, label=label, decoder_options=opts,
                         replay_speed=replay_speed or None, max_messages=max_messages, max_seconds=max_seconds)
        except (ValueError, OSError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        db = None
        if store:
            try:
                db = open_store_or_exit(store)
            except typer.Exit:
                run.source.close()
                raise
        if out is None:
            out = None if db is not None else "-"
        fh = None if out is None else (sys.stdout if out == "-" else Path(out).open("w", encoding="utf-8"))
        batch: list = []
        next_write = time.monotonic() + 1.0
        stored = 0
        try:
            dumps = json.dumps
            for obs in run:
                if fh is not None:
                    fh.write(dumps(obs.flat(), default=str))
                    fh.write("\n")
                    if run.source.live:
                        fh.flush()
                if db is not None:
                    batch.append(obs)
                    if len(batch) >= 5000 or time.monotonic() >= next_write:
                        stored += db.write_observations(batch) or 0
                        batch.clear()
                        next_write = time.monotonic() + 1.0
        except KeyboardInterrupt:
            run.summary.stopped_by = "interrupted"
        except BrokenPipeError:
            run.summary.stopped_by = "output closed"
        finally:
            if db is not None:
                if batch:
                    stored += db.write_observations(batch) or 0
                db.close()
            if fh is not None and fh is not sys.stdout:
                fh.close()
            elif fh is not None:
                try:
                    fh.flush()
                except BrokenPipeError:
                    pass
        typer.echo(format_summary(run.summary), err=True)
        if db is not None:
            typer.echo(f"  stored: {stored} observations in {store}", err=True)
