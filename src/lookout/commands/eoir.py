"""``lookout detect`` and ``lookout ingest-eoir``: thermal frames to detections and camera Observations."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def _progress(total: int | None):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("[bold]frames[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                    TimeElapsedColumn(), console=Console(stderr=True))


def register(app: typer.Typer) -> None:
    @app.command()
    def detect(
        frames: str = typer.Argument(...,
                                     help="A folder of frames (read in name order), a video file or a stream URL."),
        out: Path = typer.Option(Path("detections.jsonl"), "--out", "-o",
                                 help="JSON lines: frame, x, y, w, h, confidence."),
        onnx: Path | None = typer.Option(
            None, help="Use this ONNX model (YOLO-style output) instead of the classical detector."),
        background: str = typer.Option(
            "registered", help="registered (follows a drifting scene), running_average (image-fixed), mog2 or none."),
        k_sigma: float = typer.Option(5.5, help="Detection threshold in noise sigmas."),
        polarity: str = typer.Option("hot", help="hot, cold or both."),
        max_frames: int | None = typer.Option(None, help="Stop after this many frames (streams)."),
    ) -> None:
        """Detect hot targets in thermal frames; one JSON object per detection."""
        from lookout.sources.eoir import FrameError, open_frames
        from lookout.sources.eoir.pipeline import detect_frames, make_detector

        try:
            src = open_frames(frames, max_frames=max_frames)
            det = make_detector(onnx, background=background, k_sigma=k_sigma, polarity=polarity)
        except (FrameError, FileNotFoundError, ValueError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        n_det = n_frames = 0
        try:
            with open(out, "w") as f, _progress(len(src) or None) as prog:
                task = prog.add_task("detect", total=len(src) or None, info="")
                for index, _t, dets in detect_frames(src, det):
                    n_frames += 1
                    for d in dets:
                        f.write(json.dumps({"frame": index, "x": round(d.x, 3), "y": round(d.y, 3), "w": d.w,
                                            "h": d.h, "confidence": round(d.confidence, 4)}) + "\n")
                    n_det += len(dets)
                    prog.update(task, advance=1, info=f"{n_det} detections")
        except FrameError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        errs = sum(src.errors.values())
        typer.echo(f"{n_frames} frames, {n_det} detections -> {out}"
                   + (f"; {errs} frames skipped: {dict(src.errors)}" if errs else ""), err=True)

    @app.command("ingest-eoir")
    def ingest_eoir(
        frames: str = typer.Argument(..., help="A folder of frames, a video file or a stream URL (rtsp://, udp://)."),
        camera: Path = typer.Option(...,
                                    help="Camera file (YAML/JSON): intrinsics, pose or telemetry, sensor id, label."),
        out: Path = typer.Option(Path("observations.jsonl"), "--out", "-o", help="Observations as JSON lines."),
        onnx: Path | None = typer.Option(None, help="Use this ONNX model instead of the classical detector."),
        max_frames: int | None = typer.Option(None, help="Stop after this many frames (streams)."),
    ) -> None:
        """Thermal frames -> detections -> bearing/elevation camera Observations (JSON lines).

        The same as ``lookout ingest eoir FRAMES --camera FILE``."""
        run_ingest_eoir(frames, camera, out, onnx, max_frames)


def run_ingest_eoir(frames: str, camera: Path, out: Path, onnx: Path | None = None,
                    max_frames: int | None = None) -> None:
    """Frames -> camera Observations as JSON lines, with a progress bar; exits 2 on bad input."""
    from lookout.sources.eoir import FrameError, open_frames
    from lookout.sources.eoir.pipeline import CameraConfig, detect_frames, detections_to_observations, make_detector

    try:
        cam = CameraConfig.load(camera)
        src = open_frames(frames, max_frames=max_frames, fps=cam.fps, start_time=cam.start_time)
        det = make_detector(onnx)
    except (FrameError, FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    n_obs = 0
    try:
        with open(out, "w") as f, _progress(len(src) or None) as prog:
            task = prog.add_task("ingest", total=len(src) or None, info="")
            for _index, t, dets in detect_frames(src, det):
                for o in detections_to_observations(dets, t, cam):
                    f.write(json.dumps(o.flat(), separators=(",", ":")) + "\n")
                    n_obs += 1
                prog.update(task, advance=1, info=f"{n_obs} observations")
    except FrameError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{src.frames_read} frames, {n_obs} observations -> {out}"
               + (f"; skipped: {dict(src.errors)}" if src.errors else ""), err=True)
