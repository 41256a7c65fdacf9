"""``lookout track``: run the multi-target tracker on a CSV file of 2-D position detections.

Input columns ``time_s,x_m,y_m`` (header required, extra columns ignored; one row per
measurement, any number of rows per scan time, clutter included, rows sorted by time).
Output columns ``time_s,track_id,x_m,y_m``: every confirmed track at every scan time.
"""

from __future__ import annotations

import codecs
import csv
import inspect
import math
import sys
import time as _time
from pathlib import Path

import numpy as np
import typer

REQUIRED_COLUMNS = ("time_s", "x_m", "y_m")


class CsvInputError(ValueError):
    """A detections file that cannot be tracked; the message names the file, line and column."""


def read_detections_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read and validate a detections CSV; returns ``(time_s (K,), xy (K, 2))``.

    Raises :class:`CsvInputError` naming the line (1 = header) and column of the first problem:
    missing columns, a short row, a value that is not a number, NaN or infinite values, or a
    time earlier than the row before it; and for a file that is not UTF-8 CSV text at all
    (binary data, UTF-16, a line the CSV reader cannot split).
    """
    path = Path(path)
    try:
        with path.open("rb") as raw:
            head = raw.read(4096)
        f = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise CsvInputError(f"{path}: cannot open: {exc.strerror or exc}") from exc
    not_text = _not_text(head)
    if not_text:
        f.close()
        raise CsvInputError(f"{path}: {not_text}; expected a UTF-8 CSV text file with columns "
                            f"{','.join(REQUIRED_COLUMNS)}")
    with f:
        reader = csv.reader(f)
        try:
            return _parse(path, reader)
        except UnicodeDecodeError:
            line, byte = _first_non_utf8(path)
            raise CsvInputError(f"{path}: line {line}: not UTF-8 text (byte 0x{byte:02x}); "
                                f"expected a UTF-8 CSV text file with columns {','.join(REQUIRED_COLUMNS)}") from None
        except csv.Error as exc:
            raise CsvInputError(f"{path}: line {reader.line_num}: not readable as CSV: {exc}") from None


def _not_text(head: bytes) -> str | None:
    """Why a file whose first bytes are ``head`` is not CSV text (None when it may be)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16 text (save it as UTF-8)"
    if b"\x00" in head:
        return "binary data (NUL bytes), not text"
    return None


def _first_non_utf8(path: Path) -> tuple[int, int]:
    """The line number and value of a file's first byte that is not valid UTF-8."""
    dec = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            try:
                dec.decode(chunk)
            except UnicodeDecodeError as exc:
                return line + exc.object[:exc.start].count(b"\n"), exc.object[exc.start]
            line += chunk.count(b"\n")
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError as exc:  # a multi-byte sequence cut off at the end
            return line, exc.object[exc.start]
    return line, 0


def _short(value, limit: int = 200) -> str:
    """``repr(value)``, cut to ``limit`` characters (an error message stays one readable line)."""
    r = repr(value)
    return r if len(r) <= limit else r[:limit] + "..."


def _parse(path: Path, reader) -> tuple[np.ndarray, np.ndarray]:
    times: list[float] = []
    xs: list[float] = []
    ys: list[float] = []
    header = next(reader, None)
    if header is None:
        raise CsvInputError(f"{path}: empty file; expected a header line with columns {','.join(REQUIRED_COLUMNS)}")
    cols = [h.strip() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in cols]
    if missing:
        raise CsvInputError(f"{path}: line 1: missing column(s) {', '.join(missing)}; "
                            f"the header has {_short(cols)}, expected {','.join(REQUIRED_COLUMNS)}")
    idx = [cols.index(c) for c in REQUIRED_COLUMNS]
    need = max(idx) + 1
    prev_t = -math.inf
    for line, row in enumerate(reader, start=2):
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) < need:
            raise CsvInputError(f"{path}: line {line}: expected {len(cols)} fields, got {len(row)}: {_short(row)}")
        vals = []
        for name, i in zip(REQUIRED_COLUMNS, idx):
            text = row[i].strip()
            try:
                v = float(text)
            except ValueError:
                raise CsvInputError(f"{path}: line {line}: column {name} is not a number: {_short(text)}") from None
            if not math.isfinite(v):
                raise CsvInputError(f"{path}: line {line}: column {name} must be finite, got {text!r}")
            vals.append(v)
        t, x, y = vals
        if t < prev_t:
            raise CsvInputError(f"{path}: line {line}: time_s {t!r} is before the previous row's {prev_t!r}; "
                                "rows must be sorted by time")
        prev_t = t
        times.append(t)
        xs.append(x)
        ys.append(y)
    return np.array(times, dtype=float), np.column_stack([np.array(xs, dtype=float), np.array(ys, dtype=float)])


def write_tracks_csv(path: Path, t: np.ndarray, track_no: np.ndarray, xy: np.ndarray) -> None:
    """Write ``time_s,track_id,x_m,y_m`` rows (track ids as ``T000123``)."""
    from lookout.tracking import format_track_id

    with Path(path).open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["time_s", "track_id", "x_m", "y_m"])
        w.writerows((repr(float(a)), format_track_id(b), f"{c:.3f}", f"{d:.3f}")
                    for a, b, c, d in zip(t.tolist(), track_no.tolist(), xy[:, 0].tolist(), xy[:, 1].tolist()))


def tracker_config(sigma: float = 10.0, pd: float = 0.9, clutter_density: float = 2.5e-8, q: float = 1.0,
                   init_speed_sigma: float = 25.0, association: str = "gnn", imm: bool = False,
                   confirmation: str = "existence", confirm_m: int = 3, confirm_n: int = 5,
                   delete_misses: int = 4, gate_prob: float = 0.999):
    """The :class:`~lookout.tracking.TrackerConfig` that ``lookout track`` runs with these options
    (the defaults are the command's): the benchmark and tests build it the same way."""
    from lookout.tracking import TrackerConfig

    return TrackerConfig(sigma=sigma, pd=pd, clutter_density=clutter_density, q_h=q, confirmation=confirmation,
                         init_speed_sigma=init_speed_sigma, association=association, imm=imm,
                         confirm_m=confirm_m, confirm_n=confirm_n, delete_misses=delete_misses,
                         gate_prob=gate_prob)


_DEFAULT = {k: p.default for k, p in inspect.signature(tracker_config).parameters.items()}


def register(app: typer.Typer) -> None:
    @app.command()
    def track(
        input: Path = typer.Option(..., "--input", "-i", help="Detections CSV with columns time_s,x_m,y_m."),
        output: Path = typer.Option(..., "--output", "-o", help="Tracks CSV to write: time_s,track_id,x_m,y_m."),
        sigma: float = typer.Option(_DEFAULT["sigma"], help="Measurement noise, metres (1-sigma per axis)."),
        pd: float = typer.Option(_DEFAULT["pd"], help="Probability of detection per scan."),
        clutter_density: float = typer.Option(
            _DEFAULT["clutter_density"],
            help="False alarms per square metre per scan (track existence, JPDA, IMM)."),
        q: float = typer.Option(_DEFAULT["q"], help="Process noise: acceleration spectral density, m^2/s^3."),
        init_speed_sigma: float = typer.Option(
            _DEFAULT["init_speed_sigma"], help="1-sigma of a new track's unknown speed per axis, m/s."),
        association: str = typer.Option(
            _DEFAULT["association"], help="'gnn' (global nearest neighbour) or 'jpda' (dense clutter)."),
        imm: bool = typer.Option(
            _DEFAULT["imm"], "--imm/--no-imm", help="Interacting multiple model (manoeuvring targets)."),
        confirmation: str = typer.Option(
            _DEFAULT["confirmation"],
            help="'existence' (report a track while it is more likely real than not, from pd and the clutter "
                 "density) or 'm_of_n' (hits in M of the last N scans)."),
        confirm_m: int = typer.Option(
            _DEFAULT["confirm_m"], help="m_of_n: confirm with hits in M of the last N scans: M."),
        confirm_n: int = typer.Option(
            _DEFAULT["confirm_n"],
            help="m_of_n: ... N; existence: a tentative track not confirmed within N scans is dropped."),
        delete_misses: int = typer.Option(
            _DEFAULT["delete_misses"], help="Delete a confirmed track after this many missed scans in a row."),
        gate_prob: float = typer.Option(
            _DEFAULT["gate_prob"], help="Mahalanobis gate probability (chi-square, 2 dof)."),
    ) -> None:
        """Track 2-D position detections from a CSV file and write the confirmed tracks to a CSV file."""
        from lookout.tracking import PositionTracker

        try:
            cfg = tracker_config(sigma=sigma, pd=pd, clutter_density=clutter_density, q=q,
                                 init_speed_sigma=init_speed_sigma, association=association, imm=imm,
                                 confirmation=confirmation, confirm_m=confirm_m, confirm_n=confirm_n,
                                 delete_misses=delete_misses, gate_prob=gate_prob)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        try:
            times, xy = read_detections_csv(input)
        except CsvInputError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        t0 = _time.perf_counter()
        tracker = PositionTracker(cfg)
        out_t, out_id, out_xy = tracker.run(times, xy)
        elapsed = _time.perf_counter() - t0
        try:
            write_tracks_csv(output, out_t, out_id, out_xy)
        except OSError as exc:
            typer.echo(f"error: {output}: cannot write: {exc.strerror or exc}", err=True)
            raise typer.Exit(2) from None
        s = tracker.stats
        rate = len(times) / elapsed if elapsed > 0 else float("inf")
        print(f"{len(times)} detections in {s.scans} scans -> {s.tracks_confirmed} confirmed tracks, "
              f"{len(out_t)} rows written to {output} ({rate:,.0f} detections/s)", file=sys.stderr)
