"""Synthetic thermal video with ground truth, for scoring the EO/IR detector.

Frames are 16-bit radiometric counts: a textured background, sensor noise, and warm targets
moving across it. Each target's contrast is given in multiples of the noise sigma, its size in
pixels, so detection can be scored against exactly those two numbers.

Two backgrounds:

* :func:`render` (the original scene): a smooth random terrain field of scale
  ``texture_scale_px`` drifting slowly (whole pixels) across the image and in overall level, with
  rectangular targets (drones, vehicles, people) with anti-aliased edges;
* :func:`render_scene` from a :class:`ThermalScene`: cloud-like band-limited noise (power-law
  spectrum between a coarse and a fine scale) translating by a sub-pixel vector of up to a few
  pixels per frame, as under a panning camera or wind-driven cloud, with level and gain drift,
  and round targets (a disc of radius 2-5 px through a Gaussian optical blur) whose *peak*
  contrast is given in noise sigmas. Every parameter and the seed are explicit, so a detector
  can be tuned on one scene and scored on others.

:func:`render_world` places targets from their bearing/elevation through a
:class:`lookout.sources.eoir.CameraModel`, so bearings from detections can be scored too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy import fft as sp_fft


@dataclass
class ThermalTarget:
    id: str
    cls: str  # "uas", "ground_vehicle", "person"
    w: float  # size in pixels (a disc: its diameter)
    h: float
    contrast_sigma: float  # box: mean excess over the background; disc: peak excess; in noise sigmas
    x0: float  # centre at frame 0, pixels
    y0: float
    vx: float = 0.0  # pixels per frame
    vy: float = 0.0
    shape: str = "box"  # "box" or "disc"


@dataclass
class ThermalSequence:
    frames: list[np.ndarray]  # uint16 (height, width)
    truth: list[list[tuple[str, float, float, float, float]]]  # per frame: (id, x, y, w, h) of visible targets
    targets: list[ThermalTarget] = field(default_factory=list)
    noise_sigma: float = 0.0
    # per frame: the background content's shift since frame 0 (x, y), px
    drift: list[tuple[float, float]] = field(default_factory=list)


@dataclass(frozen=True)
class ThermalScene:
    """Parameters of a drifting-cloud thermal scene (:func:`render_scene`)."""

    width: int = 640
    height: int = 512
    n_frames: int = 40
    noise_sigma: float = 20.0  # sensor noise, counts
    base: float = 8000.0  # mean level, counts
    texture_amplitude: float = 200.0  # std of the background texture, counts
    texture_scale_px: float = 64.0  # coarse scale: the spectrum flattens above it
    texture_fine_px: float = 2.0  # fine scale: the texture is smoothed by a Gaussian of this sigma, px
    texture_beta: float = 3.0  # power spectrum ~ k^-beta between the two (about 3 for cloud)
    drift_px_per_frame: tuple[float, float] = (2.0, 1.0)  # background translation per frame (x, y)
    level_drift_per_frame: float = 0.5  # counts per frame
    gain_drift_per_frame: float = 0.0  # relative gain change per frame (1e-4: 1 % in 100 frames)
    n_targets: int = 12
    radius_px: tuple[float, float] = (2.0, 5.0)
    contrast_sigma: tuple[float, float] = (3.0, 8.0)  # peak contrast, in noise sigmas
    speed_px_per_frame: tuple[float, float] = (0.5, 3.0)  # in the image
    psf_sigma_px: float = 0.7  # optical blur of the targets

    def __post_init__(self) -> None:
        if self.width < 32 or self.height < 32 or self.n_frames < 1:
            raise ValueError("a scene needs width, height >= 32 and n_frames >= 1")
        for name in ("radius_px", "contrast_sigma", "speed_px_per_frame"):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi:
                raise ValueError(f"{name} must be a (low, high) range with 0 <= low <= high, not {(lo, hi)}")
        if self.noise_sigma <= 0 or self.texture_fine_px <= 0 or self.texture_scale_px < self.texture_fine_px:
            raise ValueError("noise_sigma > 0 and 0 < texture_fine_px <= texture_scale_px are required")


def _texture(rng: np.random.Generator, height: int, width: int, amplitude: float, margin: int,
             scale_px: float) -> np.ndarray:
    cell = max(int(scale_px), 4)
    grid = ((height + 2 * margin) // cell + 2, (width + 2 * margin) // cell + 2)
    coarse = rng.normal(0.0, 1.0, grid).astype(np.float32)
    field_ = cv2.resize(coarse, (width + 2 * margin, height + 2 * margin), interpolation=cv2.INTER_CUBIC)
    field_ = cv2.GaussianBlur(field_, (0, 0), scale_px / 3)
    return field_ * (amplitude / max(float(field_.std()), 1e-6))


class CloudTexture:
    """Periodic band-limited noise, translated exactly (in the Fourier domain) by any sub-pixel amount.

    Power spectrum ``(k^2 + k0^2)^(-beta/2)`` times the cut-off of a Gaussian smoothing of sigma
    ``fine_px`` pixels; ``k`` in cycles per pixel, ``k0 = 1/scale_px``. The field has a standard
    deviation of ``amplitude``; its period is ``(height, width)``.
    """

    def __init__(self, rng: np.random.Generator, height: int, width: int, amplitude: float, scale_px: float,
                 fine_px: float, beta: float) -> None:
        self._ky = np.fft.fftfreq(height)
        self._kx = np.fft.rfftfreq(width)
        k2 = self._kx[None, :] ** 2 + self._ky[:, None] ** 2
        amp = (k2 + (1.0 / scale_px) ** 2) ** (-beta / 4.0) * np.exp(-2.0 * np.pi ** 2 * k2 * fine_px * fine_px)
        amp[0, 0] = 0.0
        spec = sp_fft.rfft2(rng.standard_normal((height, width))) * amp
        rms = float(sp_fft.irfft2(spec, s=(height, width)).std())
        self._spec = (spec * (amplitude / max(rms, 1e-12))).astype(np.complex64)
        self.shape = (height, width)

    def shifted(self, dx: float, dy: float, width: int, height: int) -> np.ndarray:
        """The top-left ``height x width`` window of the field translated by (dx, dy): ``out(p) = field(p - d)``."""
        px = np.exp(-2j * np.pi * self._kx * dx).astype(np.complex64)
        py = np.exp(-2j * np.pi * self._ky * dy).astype(np.complex64)
        f = sp_fft.irfft2(self._spec * py[:, None] * px[None, :], s=self.shape, workers=1)
        return np.ascontiguousarray(f[:height, :width], dtype=np.float32)


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


def _stamp_disc(img: np.ndarray, x: float, y: float, radius: float, peak: float, psf_sigma: float) -> None:
    """Add a disc of ``radius`` px centred at (x, y), blurred by a Gaussian PSF, of peak ``peak``."""
    half = int(np.ceil(radius + 3 * psf_sigma + 1))
    ix, iy = int(round(x)), int(round(y))
    xs = np.arange(ix - half, ix + half + 1, dtype=np.float32)
    ys = np.arange(iy - half, iy + half + 1, dtype=np.float32)
    d = np.hypot(xs[None, :] - x, ys[:, None] - y)
    patch = np.clip(radius + 0.5 - d, 0.0, 1.0).astype(np.float32)  # anti-aliased coverage
    if psf_sigma > 0:
        patch = cv2.GaussianBlur(patch, (0, 0), psf_sigma)
    patch *= peak / max(float(patch.max()), 1e-6)
    x0, y0 = ix - half, iy - half
    cx0, cy0 = max(x0, 0), max(y0, 0)
    cx1, cy1 = min(x0 + patch.shape[1], img.shape[1]), min(y0 + patch.shape[0], img.shape[0])
    if cx0 < cx1 and cy0 < cy1:
        img[cy0:cy1, cx0:cx1] += patch[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0]


def _sequence(targets: list[ThermalTarget], n_frames: int, width: int, height: int, rng: np.random.Generator,
              noise_sigma: float, background: Callable[[int], np.ndarray], gain_drift_per_frame: float = 0.0,
              psf_sigma_px: float = 0.7) -> ThermalSequence:
    """Frames from a per-frame background, sensor noise and targets moving linearly (bouncing off the edges)."""
    frames, truth = [], []
    pos = {t.id: [t.x0, t.y0, t.vx, t.vy] for t in targets}
    for i in range(n_frames):
        img = background(i)
        visible = []
        for t in targets:
            p = pos[t.id]
            if t.shape == "disc":
                _stamp_disc(img, p[0], p[1], t.w / 2, t.contrast_sigma * noise_sigma, psf_sigma_px)
            else:
                _stamp(img, p[0], p[1], t.w, t.h, t.contrast_sigma * noise_sigma)
            if t.w / 2 <= p[0] <= width - 1 - t.w / 2 and t.h / 2 <= p[1] <= height - 1 - t.h / 2:
                visible.append((t.id, p[0], p[1], t.w, t.h))
            p[0] += p[2]
            p[1] += p[3]
            if not (t.w <= p[0] <= width - 1 - t.w):
                p[2] = -p[2]
            if not (t.h <= p[1] <= height - 1 - t.h):
                p[3] = -p[3]
        if gain_drift_per_frame:
            img *= np.float32(1.0 + gain_drift_per_frame * i)
        img += rng.normal(0.0, noise_sigma, (height, width)).astype(np.float32)
        frames.append(np.clip(img, 0, 65535).astype(np.uint16))
        truth.append(visible)
    return ThermalSequence(frames, truth, targets, noise_sigma)


def render(targets: list[ThermalTarget], n_frames: int, width: int = 640, height: int = 512, seed: int = 0,
           noise_sigma: float = 20.0, base: float = 8000.0, texture_amplitude: float = 150.0,
           texture_scale_px: float = 96.0,
           drift_px_per_frame: tuple[float, float] = (0.15, 0.05), level_drift_per_frame: float = 0.5,
           corrupt: dict[int, str] | None = None) -> ThermalSequence:
    """Render ``n_frames`` of the original smooth-terrain scene with the targets moving linearly."""
    rng = np.random.default_rng(seed)
    margin = int(np.ceil(max(abs(drift_px_per_frame[0]), abs(drift_px_per_frame[1])) * n_frames)) + 2
    tex = _texture(rng, height, width, texture_amplitude, margin, texture_scale_px)
    offsets = [(int(round(margin + drift_px_per_frame[0] * i)), int(round(margin + drift_px_per_frame[1] * i)))
               for i in range(n_frames)]

    def background(i: int) -> np.ndarray:
        ox, oy = offsets[i]
        return base + level_drift_per_frame * i + tex[oy:oy + height, ox:ox + width].copy()

    seq = _sequence(targets, n_frames, width, height, rng, noise_sigma, background)
    seq.drift = [(float(margin - ox), float(margin - oy)) for ox, oy in offsets]
    return seq


def scene_targets(scene: ThermalScene, rng: np.random.Generator) -> list[ThermalTarget]:
    """``scene.n_targets`` round targets with radius, peak contrast and speed drawn uniformly in the scene's ranges."""
    out = []
    for k in range(scene.n_targets):
        r = float(rng.uniform(*scene.radius_px))
        speed = float(rng.uniform(*scene.speed_px_per_frame))
        ang = float(rng.uniform(0, 2 * np.pi))
        m = r + 10.0
        out.append(ThermalTarget(f"tgt{k}", "uas", 2 * r, 2 * r, float(rng.uniform(*scene.contrast_sigma)),
                                 float(rng.uniform(m, scene.width - m)), float(rng.uniform(m, scene.height - m)),
                                 speed * np.cos(ang), speed * np.sin(ang), shape="disc"))
    return out


def render_scene(scene: ThermalScene, seed: int, targets: list[ThermalTarget] | None = None) -> ThermalSequence:
    """Render a :class:`ThermalScene`: drifting cloud texture, level/gain drift, noise, round targets.

    The targets are drawn from the scene's ranges with ``seed`` unless given. The texture is
    periodic and translated exactly: frame ``i`` shows the field moved by ``i * drift_px_per_frame``
    (content moves that way in the image); the offsets are in :attr:`ThermalSequence.drift`.
    """
    rng = np.random.default_rng(seed)
    pad = int(scene.texture_scale_px)  # the period exceeds the frame: what leaves the view comes back later
    tex = CloudTexture(rng, sp_fft.next_fast_len(scene.height + pad, real=True),
                       sp_fft.next_fast_len(scene.width + pad, real=True), scene.texture_amplitude,
                       scene.texture_scale_px, scene.texture_fine_px, scene.texture_beta)
    if targets is None:
        targets = scene_targets(scene, rng)
    dx, dy = scene.drift_px_per_frame

    def background(i: int) -> np.ndarray:
        img = tex.shifted(dx * i, dy * i, scene.width, scene.height)
        img += np.float32(scene.base + scene.level_drift_per_frame * i)
        return img

    seq = _sequence(targets, scene.n_frames, scene.width, scene.height, rng, scene.noise_sigma, background,
                    scene.gain_drift_per_frame, scene.psf_sigma_px)
    seq.drift = [(dx * i, dy * i) for i in range(scene.n_frames)]
    return seq


# Scenes for scoring the detector: it was tuned on TUNING_SCENE and is checked on HELD_OUT_SCENES,
# which differ in seed and in every parameter (drift speed and direction, texture scale and
# strength, noise, gain and level drift, target count, radius, contrast and speed).
TUNING_SCENE: tuple[str, ThermalScene, int] = ("tuning", ThermalScene(), 1)
HELD_OUT_SCENES: list[tuple[str, ThermalScene, int]] = [
    ("fast-diagonal-fine", ThermalScene(drift_px_per_frame=(-3.5, 2.5), texture_scale_px=32.0, texture_fine_px=1.5,
                                        texture_amplitude=300.0, noise_sigma=15.0, n_targets=10,
                                        gain_drift_per_frame=2e-4), 101),
    ("slow-smooth-small-faint", ThermalScene(drift_px_per_frame=(0.6, -1.7), texture_scale_px=96.0, texture_fine_px=3.0,
                                             texture_amplitude=120.0, noise_sigma=25.0, n_targets=16,
                                             radius_px=(2.0, 3.0), contrast_sigma=(3.0, 5.0)), 202),
    ("coarse-noisy-large", ThermalScene(drift_px_per_frame=(1.2, 3.0), texture_scale_px=128.0, texture_beta=2.5,
                                        texture_amplitude=400.0, noise_sigma=40.0, n_targets=8, radius_px=(4.0, 5.0),
                                        level_drift_per_frame=-1.0), 303),
    ("strong-texture-faint-slow", ThermalScene(drift_px_per_frame=(-2.2, -0.8), texture_amplitude=500.0,
                                               texture_fine_px=1.5, texture_beta=3.5, n_targets=14,
                                               contrast_sigma=(3.0, 4.0), speed_px_per_frame=(0.3, 1.0)), 404),
    ("crowded-fast-gain-drift", ThermalScene(drift_px_per_frame=(2.8, -2.9), texture_scale_px=48.0, texture_fine_px=2.5,
                                             texture_amplitude=250.0, noise_sigma=30.0, level_drift_per_frame=2.0,
                                             gain_drift_per_frame=-1e-4, n_targets=20,
                                             speed_px_per_frame=(1.0, 4.0)), 505),
]


@dataclass
class Score:
    tp: int
    fp: int
    fn: int

    @property
    def recall(self) -> float:
        return self.tp / max(self.tp + self.fn, 1)

    @property
    def precision(self) -> float:
        return self.tp / max(self.tp + self.fp, 1)

    def __add__(self, other: Score) -> Score:
        return Score(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)


def score_detections(seq: ThermalSequence, detections: list[list], max_dist_px: float = 3.0, skip: int = 0) -> Score:
    """Match detections (objects with ``x``, ``y``) to the truth frame by frame, one to one (Hungarian
    assignment on distance); a pair closer than ``max_dist_px`` is a hit. The first ``skip`` frames are
    not scored."""
    from scipy.optimize import linear_sum_assignment

    tp = fp = fn = 0
    for i, (truth, dets) in enumerate(zip(seq.truth, detections)):
        if i < skip:
            continue
        m = 0
        if dets and truth:
            d = np.array([(a.x, a.y) for a in dets])
            t = np.array([(b[1], b[2]) for b in truth])
            dist = np.hypot(d[:, None, 0] - t[None, :, 0], d[:, None, 1] - t[None, :, 1])
            r, c = linear_sum_assignment(np.where(dist < max_dist_px, dist, 1e6))  # most hits, then nearest
            m = int((dist[r, c] < max_dist_px).sum())
        tp, fp, fn = tp + m, fp + len(dets) - m, fn + len(truth) - m
    return Score(tp, fp, fn)


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
