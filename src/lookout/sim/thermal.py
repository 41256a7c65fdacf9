"""Synthetic thermal video with ground truth, for scoring the EO/IR detector.

Frames are 16-bit radiometric counts: a textured background (a smooth random field of terrain
scale ``texture_scale_px``, drifting
slowly across the image and in overall level, as terrain does under a panning mast camera and
changing sun), sensor noise, and warm targets (drones, vehicles, people as rectangular blobs
with anti-aliased edges) moving across it. Each target's contrast is given in multiples of the
noise sigma, its size in pixels, so detection can be scored against exactly those two numbers.

:func:`render_world` places targets from their bearing/elevation through a
:class:`lookout.sources.eoir.CameraModel`, so bearings from detections can be scored too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np


@dataclass
class ThermalTarget:
    id: str
    cls: str  # "uas", "ground_vehicle", "person"
    w: float  # size in pixels
    h: float
    contrast_sigma: float  # mean excess over the background, in noise sigmas
    x0: float  # centre at frame 0, pixels
    y0: float
    vx: float = 0.0  # pixels per frame
    vy: float = 0.0


@dataclass
class ThermalSequence:
    frames: list[np.ndarray]  # uint16 (height, width)
    truth: list[list[tuple[str, float, float, float, float]]]  # per frame: (id, x, y, w, h) of visible targets
    targets: list[ThermalTarget] = field(default_factory=list)
    noise_sigma: float = 0.0


def _texture(rng: np.random.Generator, height: int, width: int, amplitude: float, margin: int,
             scale_px: float) -> np.ndarray:
    cell = max(int(scale_px), 4)
    coarse = rng.normal(0.0, 1.0, ((height + 2 * margin) // cell + 2, (width + 2 * margin) // cell + 2)).astype(np.float32)
    field_ = cv2.resize(coarse, (width + 2 * margin, height + 2 * margin), interpolation=cv2.INTER_CUBIC)
    field_ = cv2.GaussianBlur(field_, (0, 0), scale_px / 3)
    return field_ * (amplitude / max(float(field_.std()), 1e-6))


def _stamp(img: np.ndarray, x: float, y: float, w: float, h: float, value: float) -> None:
    """Add a w x h box centred at (x, y) with anti-aliased (area-coverage) edges."""
    x0, x1, y0, y1 = x - w / 2 + 0.5, x + w / 2 + 0.5, y - h / 2 + 0.5, y + h / 2 + 0.5
    ix0, ix1 = max(int(np.floor(x0)), 0), min(int(np.ceil(x1)), img.shape[1])
    iy0, iy1 = max(int(np.floor(y0)), 0), min(int(np.ceil(y1)), img.shape[0])
    if ix0 >= ix1 or iy0 >= iy1:
        return
    cols = np.arange(ix0, ix1)
    rows = np.arange(iy0, iy1)
    cx = np.clip(np.minimum(cols + 1, x1) - np.maximum(cols, x0), 0, 1)
    cy = np.clip(np.minimum(rows + 1, y1) - np.maximum(rows, y0), 0, 1)
    img[iy0:iy1, ix0:ix1] += value * np.outer(cy, cx)


def render(targets: list[ThermalTarget], n_frames: int, width: int = 640, height: int = 512, seed: int = 0,
           noise_sigma: float = 20.0, base: float = 8000.0, texture_amplitude: float = 150.0,
           texture_scale_px: float = 96.0,
           drift_px_per_frame: tuple[float, float] = (0.15, 0.05), level_drift_per_frame: float = 0.5,
           corrupt: dict[int, str] | None = None) -> ThermalSequence:
    """Render ``n_frames`` with the targets moving linearly (bouncing off the image edges)."""
    rng = np.random.default_rng(seed)
    margin = int(np.ceil(max(abs(drift_px_per_frame[0]), abs(drift_px_per_frame[1])) * n_frames)) + 2
    tex = _texture(rng, height, width, texture_amplitude, margin, texture_scale_px)
    frames, truth = [], []
    pos = {t.id: [t.x0, t.y0, t.vx, t.vy] for t in targets}
    for i in range(n_frames):
        ox = int(round(margin + drift_px_per_frame[0] * i))
        oy = int(round(margin + drift_px_per_frame[1] * i))
        img = base + level_drift_per_frame * i + tex[oy:oy + height, ox:ox + width].copy()
        img += rng.normal(0.0, noise_sigma, (height, width)).astype(np.float32)
        visible = []
        for t in targets:
            p = pos[t.id]
            _stamp(img, p[0], p[1], t.w, t.h, t.contrast_sigma * noise_sigma)
            if t.w / 2 <= p[0] <= width - 1 - t.w / 2 and t.h / 2 <= p[1] <= height - 1 - t.h / 2:
                visible.append((t.id, p[0], p[1], t.w, t.h))
            p[0] += p[2]
            p[1] += p[3]
            if not (t.w <= p[0] <= width - 1 - t.w):
                p[2] = -p[2]
            if not (t.h <= p[1] <= height - 1 - t.h):
                p[3] = -p[3]
        frames.append(np.clip(img, 0, 65535).astype(np.uint16))
        truth.append(visible)
    return ThermalSequence(frames, truth, targets, noise_sigma)


def random_targets(rng: np.random.Generator, n: int, width: int = 640, height: int = 512,
                   min_size: float = 4.0, max_size: float = 14.0, min_contrast: float = 3.0,
                   max_contrast: float = 10.0, max_speed: float = 3.0) -> list[ThermalTarget]:
    """``n`` targets of random class, size >= ``min_size`` px and contrast >= ``min_contrast`` sigma."""
    out = []
    for k in range(n):
        cls = ["uas", "ground_vehicle", "person"][k % 3]
        w = float(rng.uniform(min_size, max_size))
        h = float(rng.uniform(min_size, max_size)) if cls == "ground_vehicle" else w if cls == "uas" else \
            float(rng.uniform(max(min_size, w), max(min_size, w) * 2))
        speed = float(rng.uniform(0.3, max_speed))
        ang = float(rng.uniform(0, 2 * np.pi))
        out.append(ThermalTarget(f"tgt{k}", cls, w, h, float(rng.uniform(min_contrast, max_contrast)),
                                 float(rng.uniform(30, width - 30)), float(rng.uniform(30, height - 30)),
                                 speed * np.cos(ang), speed * np.sin(ang)))
    return out


def render_world(camera, bearings: dict[str, tuple[float, float]], sizes_px: dict[str, tuple[float, float]],
                 contrast_sigma: float = 6.0, seed: int = 0, noise_sigma: float = 20.0) -> ThermalSequence:
    """One frame with targets at given (azimuth, elevation) through ``camera`` (a CameraModel)."""
    k = camera.intrinsics
    targets = []
    for tid, (az, el) in bearings.items():
        u, v = camera.bearing_to_pixel(az, el)
        w, h = sizes_px[tid]
        targets.append(ThermalTarget(tid, "uas", w, h, contrast_sigma, float(u), float(v)))
    return render(targets, 1, k.width, k.height, seed=seed, noise_sigma=noise_sigma)
