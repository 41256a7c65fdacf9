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


def register(app: typer.Typer) -> None:
    @app.command()
    def missions(
        input: Path = typer.Argument(..., help="ADS-B history: SBS lines, 'timestamp,hex' raw frames or Observation JSON lines."),
        format: str = typer.Option(None, "--format", "-f", help="sbs, raw or jsonl (default: guessed from the file)."),
        out: Path = typer.Option(None, "--out", "-o", help="Write the missions here (JSON lines; default: stdout)."),
        reference: str = typer.Option(None, help="Receiver position LAT,LON for the ADS-B decoders' range check "
                                                  "(default: the packaged sector's origin)."),
        max_range_km: float = typer.Option(None, help="Decoders' range limit from the reference, km (default 300)."),
        region: str = typer.Option(None, help="Keep missions centred in this region: 'sector', a bbox "
                                              "'min_lat,min_lon,max_lat,max_lon', or a GeoJSON file."),
        min_duration: float = typer.Option(1200.0, help="Minimum time on station, seconds."),
        min_turn: float = typer.Option(720.0, help="Minimum cumulative turning on station, degrees."),
        counts: str = typer.Option(None, help="Also print missions per day, week or month (with each period's "
                                              "rate against the previous one) to stderr."),
    ) -> None:
        """Detect surveillance missions (orbit, racetrack, loiter, survey) in an ADS-B history;
        one JSON object per mission."""
        from lookout.analytics.history import FORMATS, read_history_file
        from lookout.analytics.missions import MissionConfig, detect_missions
        from lookout.analytics.report import parse_region

        if counts is not None and counts not in ("day", "week", "month"):
            raise typer.BadParameter(f"--counts must be day, week or month, got {counts!r}")
        if format is not None and format not in FORMATS:
            raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}, got {format!r}")
        try:
            cfg = MissionConfig(min_duration_s=min_duration, min_turn_deg=min_turn)
            reg, _ = parse_region(region, allow_files=True)
            hist, stats = read_history_file(input, format, reference=_reference(reference),
                                            max_range_m=None if max_range_km is None else max_range_km * 1000.0)
        except (OSError, ValueError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        if stats.lines and not stats.positions:
            typer.echo(f"error: no positions in {input} ({stats.lines} lines; rejected: "
                       f"{dict(stats.rejected) or 'none, but no position messages'})", err=True)
            raise typer.Exit(1)
        found = detect_missions(hist, cfg, region=reg)
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
        typer.echo(f"{len(found)} missions from {stats.positions} positions of "
                   f"{len(set(hist.ident.tolist()))} aircraft ({stats.lines} lines, {rej} rejected"
                   + (f": {json.dumps(dict(stats.rejected))}" if rej else "") + ")", err=True)

    @app.command()
    def report(
        start: str = typer.Option(..., "--from", help="Start: UNIX seconds or ISO date/time (UTC unless given)."),
        end: str = typer.Option(..., "--to", help="End: UNIX seconds or ISO date/time."),
        region: str = typer.Option(None, help="'sector', 'zone:<id>' (a stored zone), a bbox "
                                              "'min_lat,min_lon,max_lat,max_lon', or a GeoJSON file (default: all)."),
        store: str = typer.Option(None, "--store", help="Store path or URL (default: $LOOKOUT_STORE_URL or "
                                                        "lookout-out/lookout.db)."),
        out: Path = typer.Option(Path("lookout-out/report"), "--out", "-o", help="Output folder."),
        period: str = typer.Option("week", help="Mission counts per day, week or month."),
        baseline_from: str = typer.Option(None, help="Baseline start (default: the equal-length window before --from)."),
        baseline_to: str = typer.Option(None, help="Baseline end (default: --from)."),
        pdf: bool = typer.Option(True, "--pdf/--no-pdf", help="Also write report.pdf."),
    ) -> None:
        """Write an HTML (and PDF) report: missions, counts against a baseline, crossing
        corridors, launch-point heatmap and alert statistics, with the numbers as report.json."""
        from lookout.analytics.report import AnalyticsQuery, parse_time, write_report

        try:
            t0, t1 = parse_time(start), parse_time(end)
            b0 = parse_time(baseline_from) if baseline_from else None
            b1 = parse_time(baseline_to) if baseline_to else None
            q = AnalyticsQuery(start=t0, end=t1, region=region, period=period, baseline_start=b0, baseline_end=b1)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        st = open_store_or_exit(store)
        try:
            files = write_report(st, q, out, pdf=pdf, allow_region_files=True)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        finally:
            st.close()
        typer.echo(f"report written: {files['html']}" + (f" and {files['pdf']}" if files.get("pdf") else ""))
