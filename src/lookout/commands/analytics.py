"""``lookout missions`` (surveillance flights in an ADS-B history) and ``lookout report``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from lookout.commands._common import open_store_or_exit


def _reference(value: str | None) -> tuple[float, float] | None:
    if not value:
        return None
    try:
        lat, lon = (float(x) for x in value.split(","))
    except ValueError:
        raise typer.BadParameter(f"--reference must be LAT,LON, got {value!r}") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise typer.BadParameter(f"--reference out of range: {value!r}")
    return lat, lon


def _region_spec(region: str | None, bbox: str | None) -> str | None:
    """The region specification of ``--region`` / ``--bbox`` (at most one of them)."""
    if region and bbox:
        raise typer.BadParameter("give --region or --bbox, not both")
    return f"bbox:{bbox}" if bbox else region


def _history_chunks(path: Path, fmt: str | None, reference: str | None, max_range_km: float | None, stats):
    from lookout.analytics.history import iter_history_file

    return iter_history_file(path, fmt, reference=_reference(reference), stats=stats,
                             max_range_m=None if max_range_km is None else max_range_km * 1000.0)


_REFERENCE_HELP = ("Receiver position LAT,LON: the ADS-B decoders then reject positions farther than "
                   "--max-range-km from it. Default: none, positions are kept wherever they are.")
_BBOX_HELP = "Keep missions centred in this box: lon_min,lat_min,lon_max,lat_max (degrees)."


def register(app: typer.Typer) -> None:
    @app.command()
    def missions(
        input: Path = typer.Argument(..., help="ADS-B history: SBS lines, 'timestamp,hex' raw frames or "
                                               "Observation JSON lines."),
        format: str = typer.Option(None, "--format", "-f", help="sbs, raw or jsonl (default: guessed from the file)."),
        out: Path = typer.Option(None, "--out", "-o", help="Write the missions here (JSON lines; default: stdout)."),
        reference: str = typer.Option(None, "--reference", "--receiver", help=_REFERENCE_HELP),
        max_range_km: float = typer.Option(None, help="Range limit from --reference, km (default 300)."),
        region: str = typer.Option(None, help="Keep missions centred in this region: a GeoJSON file (FILE#NAME: "
                                              "its feature of that name), 'sector', or "
                                              "'min_lat,min_lon,max_lat,max_lon'."),
        bbox: str = typer.Option(None, help=_BBOX_HELP),
        min_duration: float = typer.Option(1200.0, help="Minimum time on station, seconds."),
        min_turn: float = typer.Option(720.0, help="Minimum cumulative turning on station, degrees."),
        counts: str = typer.Option(None, help="Also print missions per day, week or month (with each period's "
                                              "rate against the previous one) to stderr."),
    ) -> None:
        """Detect surveillance missions (orbit, racetrack, loiter, survey) in an ADS-B history;
        one JSON object per mission."""
        from lookout.analytics.history import FORMATS, ReadStats
        from lookout.analytics.missions import MissionConfig, MissionStream
        from lookout.analytics.report import parse_region

        if counts is not None and counts not in ("day", "week", "month"):
            raise typer.BadParameter(f"--counts must be day, week or month, got {counts!r}")
        if format is not None and format not in FORMATS:
            raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}, got {format!r}")
        stats = ReadStats()
        try:
            cfg = MissionConfig(min_duration_s=min_duration, min_turn_deg=min_turn)
            reg, _ = parse_region(_region_spec(region, bbox), allow_files=True)
            stream = MissionStream(cfg, reg)
            for chunk in _history_chunks(input, format, reference, max_range_km, stats):
                stream.add(chunk)
        except (OSError, ValueError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        if stats.lines and not stats.positions:
            typer.echo(f"error: no positions in {input} ({stats.lines} lines; rejected: "
                       f"{dict(stats.rejected) or 'none, but no position messages'})", err=True)
            raise typer.Exit(1)
        found = stream.finish()
        text = "".join(m.to_json() + "\n" for m in found)
        if out is None:
            sys.stdout.write(text)
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text)
        if counts and found:
            from lookout.analytics.missions import count_missions

            typer.echo(f"{'period':<12}{'missions':>9}{'vs previous':>13}  aircraft", err=True)
            prev = None
            for pc in count_missions(found, counts):
                rate = pc.count / (pc.period_end - pc.period_start)
                vs = "-" if prev is None else ("n/a" if prev == 0 else f"{rate / prev:.2f}x")
                label = pc.to_dict()["label"]
                typer.echo(f"{label:<12}{pc.count:>9}{vs:>13}  {' '.join(pc.aircraft)}", err=True)
                prev = rate
        rej = sum(stats.rejected.values())
        late = f"; {stream.late_points} points out of time order" if stream.late_points else ""
        typer.echo(f"{len(found)} missions from {stats.positions} positions of "
                   f"{len(stream.aircraft)} aircraft ({stats.lines} lines, {rej} rejected"
                   + (f": {json.dumps(dict(stats.rejected))}" if rej else "") + late + ")", err=True)

    @app.command()
    def report(
        start: str = typer.Option(..., "--from", help="Start: UNIX seconds or ISO date/time (UTC unless given)."),
        end: str = typer.Option(..., "--to", help="End: UNIX seconds or ISO date/time."),
        region: str = typer.Option(None, help="A GeoJSON file (FILE#NAME: its feature of that name), 'sector', "
                                              "'zone:<id>' (a stored zone) or 'min_lat,min_lon,max_lat,max_lon' "
                                              "(default: everywhere)."),
        bbox: str = typer.Option(None, help="The region as a box: lon_min,lat_min,lon_max,lat_max (degrees)."),
        history: Path = typer.Option(None, help="Find the missions in this ADS-B history (SBS, raw 'timestamp,hex' "
                                                "or Observation JSON lines; any region, any size) instead of the "
                                                "store's tracks."),
        history_format: str = typer.Option(None, help="sbs, raw or jsonl (default: guessed from the file)."),
        reference: str = typer.Option(None, "--reference", "--receiver", help=_REFERENCE_HELP + " (--history)"),
        max_range_km: float = typer.Option(None, help="Range limit from --reference, km (default 300)."),
        store: str = typer.Option(None, "--store", help="Store path or URL (default: $LOOKOUT_STORE_URL or "
                                                        "lookout-out/lookout.db)."),
        out: Path = typer.Option(Path("lookout-out/report"), "--out", "-o", help="Output folder."),
        period: str = typer.Option("week", help="Mission counts per day, week or month."),
        baseline_from: str = typer.Option(None,
                                          help="Baseline start (default: the equal-length window before --from)."),
        baseline_to: str = typer.Option(None, help="Baseline end (default: --from)."),
        pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Also write report.pdf."),
    ) -> None:
        """Write an HTML (and PDF) report: missions, counts against a baseline, crossing
        corridors, launch-point heatmap and alert statistics, with the numbers as report.json."""
        from lookout.analytics.history import FORMATS, ReadStats
        from lookout.analytics.report import AnalyticsQuery, parse_time, write_report

        if history_format is not None and history_format not in FORMATS:
            raise typer.BadParameter(f"--history-format must be one of {', '.join(FORMATS)}, got {history_format!r}")
        try:
            t0, t1 = parse_time(start), parse_time(end)
            b0 = parse_time(baseline_from) if baseline_from else None
            b1 = parse_time(baseline_to) if baseline_to else None
            q = AnalyticsQuery(start=t0, end=t1, region=_region_spec(region, bbox), period=period,
                               baseline_start=b0, baseline_end=b1)
            if history is not None and not history.is_file():
                raise ValueError(f"no such file: {history}")
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        # with a history and no store, the other sections (crossings, launch points, alerts) are empty
        st = open_store_or_exit(store if store or history is None else ":memory:")
        stats = ReadStats()
        try:
            chunks = None if history is None else _history_chunks(history, history_format, reference,
                                                                    max_range_km, stats)
            files = write_report(st, q, out, pdf=pdf, allow_region_files=True, history=chunks)
        except (OSError, ValueError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        finally:
            st.close()
        if history is not None:
            rej = sum(stats.rejected.values())
            typer.echo(f"history: {stats.positions} positions from {stats.lines} lines, {rej} rejected"
                       + (f": {json.dumps(dict(stats.rejected))}" if rej else ""), err=True)
        typer.echo(f"report written: {files['html']}" + (f" and {files['pdf']}" if files.get("pdf") else ""))
