"""Frames -> detections -> camera Observations, with counters: the EO/IR ingest path."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lookout.model import DEFAULT_LABEL, GeoPoint, Observation
from lookout.sources.eoir.camera import CameraIntrinsics, CameraModel, CameraPose, PoseTrack
from lookout.sources.eoir.detector import Detection, DetectorConfig, OnnxDetector, ThermalDetector
from lookout.sources.eoir.frames import FrameSource


@dataclass
class CameraConfig:
    """A camera description file (YAML or JSON)::

        sensor: eoir-mast-1
        label: US-ONLY
        width: 640
        height: 512
        hfov_deg: 24        # or fx, fy, cx, cy (and optional dist: [k1, k2, p1, p2])
        site: {lat: 31.345, lon: -110.95, alt_m: 1250}
        yaw_deg: 150        # optical axis azimuth
        pitch_deg: -2
        roll_deg: 0
        telemetry: pose.csv # optional: moving platform, per-frame pose (time,lat,lon,alt_m,yaw_deg,pitch_deg,roll_deg)
        start_time: 1793628000.0   # UNIX time of frame 0 (files); streams use the wall clock
        fps: 10
    """

    sensor: str
    model: CameraModel
    label: str = DEFAULT_LABEL
    start_time: float = 0.0
    fps: float | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> CameraConfig:
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"camera file not found: {p}")
        try:
            d = yaml.safe_load(p.read_text())
        except yaml.YAMLError as exc:
            raise ValueError(f"{p}: not valid YAML/JSON: {exc}") from None
        if not isinstance(d, dict):
            raise ValueError(f"{p}: a camera file is a mapping of settings")
        return cls.from_dict(d, base=p.parent, name=str(p))

    @classmethod
    def from_dict(cls, d: dict[str, Any], base: Path = Path("."), name: str = "camera") -> CameraConfig:
        try:
            w, h = int(d["width"]), int(d["height"])
            if "hfov_deg" in d:
                k = CameraIntrinsics.from_fov(w, h, float(d["hfov_deg"]))
            else:
                k = CameraIntrinsics(w, h, float(d["fx"]), float(d["fy"]), float(d["cx"]), float(d["cy"]),
                                     tuple(float(x) for x in d.get("dist", ())))
            pose = track = None
            if d.get("telemetry"):
                track = PoseTrack.from_csv(base / d["telemetry"])
            else:
                s = d["site"]
                pose = CameraPose(GeoPoint(float(s["lat"]), float(s["lon"]), float(s.get("alt_m", 0.0))),
                                  float(d["yaw_deg"]), float(d.get("pitch_deg", 0.0)), float(d.get("roll_deg", 0.0)))
        except KeyError as exc:
            raise ValueError(f"{name}: missing setting {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}: {exc}") from None
        return cls(sensor=str(d.get("sensor", "eoir")), model=CameraModel(k, pose, track),
                   label=str(d.get("label", DEFAULT_LABEL)), start_time=float(d.get("start_time", 0.0)),
                   fps=float(d["fps"]) if d.get("fps") else None, raw=d)


def make_detector(onnx_model: str | Path | None = None, **config) -> ThermalDetector | OnnxDetector:
    if onnx_model:
        return OnnxDetector(onnx_model)
    return ThermalDetector(DetectorConfig(**config))


def detect_frames(source: FrameSource, detector) -> Iterator[tuple[int, float, list[Detection]]]:
    """Run the detector over every readable frame; a frame the detector refuses is counted."""
    for index, t, frame in source:
        try:
            yield index, t, detector.detect(frame, index)
        except ValueError as exc:
            source.errors[f"detector: {exc}"] += 1


def detections_to_observations(dets: list[Detection], t: float, camera: CameraConfig) -> list[Observation]:
    return [camera.model.observation(t, d.x, d.y, sensor=camera.sensor, confidence=min(d.confidence, 1.0),
                                     label=camera.label,
                                     attrs={"frame": d.frame, "px": [round(d.x, 2), round(d.y, 2)],
                                            "box": [d.w, d.h], "snr": d.snr, **({"det_cls": d.cls} if d.cls else {})})
            for d in dets]


def write_jsonl(path: str | Path, rows) -> int:
    n = 0
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r, separators=(",", ":")) + "\n")
            n += 1
    return n
