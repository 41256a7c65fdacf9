"""Hot-target detection in thermal frames.

:class:`ThermalDetector` is the classical detector, built from OpenCV primitives. Its default
pipeline (``background="registered"``) follows a scene that moves across the image (a panning
mast camera, drifting cloud or terrain texture):

1. matched filter: Gaussian smoothing at the scale of the smallest target;
2. registration of the frame to a background model kept in scene coordinates
   (:class:`~lookout.sources.eoir.registration.SceneBackground`: phase correlation for the
   coarse shift when the motion changes, then Lucas-Kanade against the model to about a
   hundredth of a pixel), and the model read there by exact sub-pixel interpolation;
3. the residual (frame minus model, less the overall level) thresholded at ``k_sigma`` times its
   own robust sigma (median absolute deviation), raised where the model has seen few frames;
4. connected components filtered by area, aspect ratio and peak contrast, intensity-weighted
   sub-pixel centroids, non-maximum suppression of detections closer than ``nms_px``;
5. the model learns the frame: a clipped running average (a cumulative mean at first), much
   slower under detections, at once where the frame is far colder than the model (a target has
   left); content just come into view starts its own history. A scene cut is recognised by a
   residual far above the last frame's, and the model starts again.

On the first frame (no history) it detects from a difference of Gaussians alone when that
residual is noise-like, and waits for the model when the scene is textured.

The image-fixed pipeline of earlier versions (``background="running_average"``, or ``"mog2"``,
``"none"``): a matched filter and a morphological top-hat (the smoothed frame minus its grey-level
opening with a structuring element wider than the largest target; closing for cold targets); a
clipped running average of that residual (``cv2.accumulateWeighted``) or OpenCV's MOG2 mixture
model, for static warm clutter; a threshold at ``k_sigma`` times the sensor noise measured with a
texture-blind second-difference estimator; the same blob filtering.

:class:`OnnxDetector` is the slot for a learned detector: it loads a user-supplied ONNX model
with YOLO-style output through onnxruntime (the CUDA provider when present). Nothing is ever
downloaded: the model file is the user's.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from lookout.sources.eoir.registration import SceneBackground


@dataclass(slots=True)
class Detection:
    frame: int
    x: float  # centroid, pixels
    y: float
    w: int  # bounding box, pixels
    h: int
    confidence: float
    area: int = 0
    snr: float = 0.0  # peak contrast / noise sigma
    cls: str | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in d.items() if v is not None}


BACKGROUNDS = ("registered", "running_average", "mog2", "none")


@dataclass
class DetectorConfig:
    background: str = "registered"  # one of BACKGROUNDS
    alpha: float = 0.05  # running-average learning rate per frame
    alpha_foreground: float = 0.002  # learning rate under detected targets
    clip_sigma: float = 2.0  # a frame moves the background by at most this many noise sigmas
    background_px: int = 21  # wider than the largest target (odd): top-hat element; / 3.5: first-frame DoG sigma
    smooth_sigma_px: float = 1.0  # matched-filter scale
    k_sigma: float = 5.5  # detection threshold, in noise sigmas of the filtered residual
    min_area_px: int = 4
    max_area_px: int = 4000
    max_aspect: float = 8.0
    min_snr: float = 1.6  # peak contrast of a blob, in (approximate) raw-noise sigmas
    polarity: str = "hot"  # "hot", "cold" or "both"
    noise_every: int = 5  # re-measure the sensor noise every this many frames
    # registered background only
    register_iters: int = 4  # Lucas-Kanade iterations (frame to background model) per frame
    reset_sigma: float = 3.0  # a pixel this far on the cold side of the model (a target has left) is relearned at once
    nms_px: float = 4.0  # of two detections closer than this, the weaker one goes

    def __post_init__(self) -> None:
        if self.background not in BACKGROUNDS:
            raise ValueError(f"background must be one of {', '.join(BACKGROUNDS)}, not {self.background!r}")
        if self.polarity not in ("hot", "cold", "both"):
            raise ValueError(f"polarity must be hot, cold or both, not {self.polarity!r}")
        if self.background_px < 3 or self.background_px % 2 == 0:
            raise ValueError("background_px must be an odd number >= 3")


def label_pixels(sel: np.ndarray, shape: tuple[int, int]) -> tuple[int, np.ndarray]:
    """8-connected groups of the pixels at flat indices ``sel`` (ascending) of an image of ``shape``:
    the number of groups and each pixel's group (0, 1, ...). A few pixels are grouped as a graph
    (work in their number), many by OpenCV over the image."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    height, width = shape
    if sel.size > height * width // 50:
        mask = np.zeros(height * width, np.uint8)
        mask[sel] = 1
        n, labels = cv2.connectedComponentsWithAlgorithm(mask.reshape(shape), 8, cv2.CV_32S, cv2.CCL_BBDT)
        return n - 1, labels.ravel()[sel] - 1
    x = sel % width
    src, dst = [], []
    for dx, step in ((1, 1), (-1, width - 1), (0, width), (1, width + 1)):  # right; below left, below, right
        q = sel + step
        pos = np.minimum(np.searchsorted(sel, q), sel.size - 1)
        hit = np.flatnonzero((sel[pos] == q) & (x + dx >= 0) & (x + dx < width))
        src.append(hit)
        dst.append(pos[hit])
    src, dst = np.concatenate(src), np.concatenate(dst)
    graph = coo_matrix((np.ones(src.size, np.int8), (src, dst)), shape=(sel.size, sel.size))
    return connected_components(graph, directed=False)


_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def noise_sigma(frame: np.ndarray) -> float:
    """Sensor noise sigma of a frame, robust to texture and targets.

    The 3x3 second-difference kernel cancels smooth background (Immerkaer's estimator); its output
    for white noise has sigma 6 x the noise sigma, measured here by the median absolute deviation
    on a sub-sample.
    """
    resp = cv2.filter2D(frame.astype(np.float32, copy=False), cv2.CV_32F, _NOISE_KERNEL)[1:-1:4, 1:-1:4]
    mad = float(np.median(np.abs(resp - np.median(resp))))
    return max(1.4826 * mad / 6.0, 1e-6)


class ThermalDetector:
    """Stateful classical detector: feed frames in order with :meth:`detect`."""

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        self._bg: np.ndarray | None = None
        self._mog = None
        self._last_mask: np.ndarray | None = None
        self._sig: float | None = None
        self.frames = 0
        c = self.config
        self._se = cv2.getStructuringElement(cv2.MORPH_RECT, (c.background_px, c.background_px))
        self._gain = 2.0 * math.sqrt(math.pi) * c.smooth_sigma_px if c.smooth_sigma_px > 0 else 1.0
        self._scene = SceneBackground(c.alpha, c.alpha_foreground, c.register_iters)
        self._dog_gain: dict[tuple[int, int], float] = {}
        self._dilate = np.ones((5, 5), np.uint8)
        self._ksize = 2 * math.ceil(3.0 * c.smooth_sigma_px) + 1  # matched filter truncated at 3 sigma
        self._halo_off, self._halo_w = np.zeros(0, np.intp), -1

    def reset(self) -> None:
        self._bg = self._mog = self._last_mask = self._sig = None
        self._scene.reset()
        self.frames = 0

    @property
    def scene_offset(self) -> tuple[float, float]:
        """Registered background only: the scene's accumulated shift, pixels (frame pixel p shows scene
        point p + offset)."""
        return float(self._scene.offset[0]), float(self._scene.offset[1])

    def _spatial(self, frame: np.ndarray) -> np.ndarray:
        """Matched-filtered top-hat residual of one frame."""
        c = self.config
        f = frame.astype(np.float32, copy=False)
        sm = cv2.GaussianBlur(f, (0, 0), c.smooth_sigma_px) if c.smooth_sigma_px > 0 else f
        if c.polarity == "hot":
            return sm - cv2.morphologyEx(sm, cv2.MORPH_OPEN, self._se, borderType=cv2.BORDER_REFLECT)
        if c.polarity == "cold":
            return cv2.morphologyEx(sm, cv2.MORPH_CLOSE, self._se) - sm
        return ((sm - cv2.morphologyEx(sm, cv2.MORPH_OPEN, self._se))
                + (cv2.morphologyEx(sm, cv2.MORPH_CLOSE, self._se) - sm))

    def _dog(self, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Matched filter minus the local level (a Gaussian of the frame, computed at quarter size), and that
        quarter-size frame."""
        c = self.config
        h, w = f.shape
        sm = cv2.GaussianBlur(f, (0, 0), c.smooth_sigma_px) if c.smooth_sigma_px > 0 else f
        q = cv2.resize(f, (max(w // 4, 8), max(h // 4, 8)), interpolation=cv2.INTER_AREA)
        bg = cv2.resize(cv2.GaussianBlur(q, (0, 0), c.background_px / 3.5 * q.shape[1] / w), (w, h),
                        interpolation=cv2.INTER_LINEAR)
        return sm - bg, q

    def _dog_noise_gain(self, shape: tuple[int, int]) -> float:
        """Raw white-noise sigma over that of the difference-of-Gaussians residual (measured once per frame size)."""
        g = self._dog_gain.get(shape)
        if g is None:
            white = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
            r = self._dog(white)[0][8:-8, 8:-8]
            g = self._dog_gain[shape] = 1.0 / max(float(r.std()), 1e-6)
        return g

    def _temporal(self, r: np.ndarray, sig: float) -> np.ndarray:
        """Remove the running background of the residual (clipped, so targets barely leak in)."""
        c = self.config
        band = c.clip_sigma * sig
        if self._bg is None:
            base = float(np.median(r[::4, ::4]))
            self._bg = np.minimum(r, base + band)
        out = r - self._bg
        upd = self._bg + np.clip(out, -band, band)
        alpha = max(c.alpha, 1.0 / (self.frames + 2))  # cumulative mean at first, then exponential
        if self._last_mask is None:
            cv2.accumulateWeighted(upd, self._bg, alpha)
        else:
            fg = cv2.dilate(self._last_mask.astype(np.uint8), self._dilate)
            cv2.accumulateWeighted(upd, self._bg, alpha, mask=1 - fg)
            cv2.accumulateWeighted(upd, self._bg, c.alpha_foreground, mask=fg)
        return out

    def detect(self, frame: np.ndarray, index: int | None = None) -> list[Detection]:
        """Detections in one frame (2-D array, any numeric type)."""
        if frame.ndim != 2:
            raise ValueError(f"a thermal frame must be 2-D, got shape {frame.shape}")
        c = self.config
        idx = self.frames if index is None else index
        if c.background == "registered":
            return self._detect_registered(frame.astype(np.float32, copy=False), idx)
        r = self._spatial(frame)
        if self._sig is None or self.frames % c.noise_every == 0:
            self._sig = noise_sigma(frame) / self._gain  # white sensor noise shrunk by the matched filter
        sig = self._sig
        if c.background == "running_average":
            r = self._temporal(r, sig)
        self.frames += 1
        base = float(np.median(r[::4, ::4]))
        mask = r > base + c.k_sigma * sig
        if c.background == "mog2":
            mask &= self._mog2_mask(frame)
        self._last_mask = mask
        return self._blobs(r - base, np.flatnonzero(mask), sig, self._gain, idx)

    def _detect_registered(self, f: np.ndarray, idx: int) -> list[Detection]:
        """Matched filter, registered temporal background, MAD threshold, blobs, NMS."""
        c = self.config
        if min(f.shape) < 32:
            raise ValueError(f"a frame must be at least 32 x 32 pixels for the registered background, got {f.shape}")
        sm = cv2.GaussianBlur(f, (self._ksize, self._ksize), c.smooth_sigma_px) if c.smooth_sigma_px > 0 else f
        first = self._scene.empty
        clip = 4.0 * self._sig if self._sig else None
        read, counts = self._scene.register(sm, clip)
        res = np.subtract(sm, read, out=read)  # frame minus model: the targets, noise and the overall level
        self.frames += 1
        v_inf = c.alpha / (2.0 - c.alpha)  # variance of the converged model, in units of the frame's noise
        learnable = self._scene.learnable(f.shape)
        sub_n = counts[::6, ::6]
        mature = sub_n > 0
        take, reset, level = sm, None, 0.0  # what pixels without (valid) history take
        if first or not mature.any():
            # no history yet: detect from a spatial residual alone, if it looks like noise and not texture
            gain = self._dog_noise_gain(f.shape)
            r = self._dog(f)[0]
            vals = r[::6, ::6].ravel()
            base = float(np.median(vals))
            sig = 1.4826 * float(np.median(np.abs(vals - base)))
            det = self._polar(r - base)
            texture_free = sig <= 1.3 * noise_sigma(f) / gain
            mask = (det > c.k_sigma * sig) & learnable if texture_free else np.zeros(f.shape, bool)  # not the edges
            sel = np.flatnonzero(mask)
            sig_sm = sig * gain / self._gain
            if sel.size:  # what was detected does not go into the model: the local level does
                take = np.where(cv2.dilate(mask.view(np.uint8), self._dilate).view(bool), sm - r + base, sm)
        else:
            gain = self._gain
            vals = res[::6, ::6][mature]
            level = float(np.median(vals))
            n_typ = float(np.median(sub_n[mature]))
            sig_out = 1.4826 * float(np.median(np.abs(vals - level)))
            sig = sig_sm = sig_out / math.sqrt(1.0 + max(1.0 / n_typ, v_inf))  # the frame's own noise in the residual
            res -= np.float32(level)
            det = self._polar(res)
            flat_det, flat_n, flat_ok = det.ravel(), counts.ravel(), learnable.ravel()

            def beyond(k: float, cand: np.ndarray) -> np.ndarray:
                """Those of ``cand`` above k sigma of the residual there: higher where the model has seen few frames."""
                n = flat_n[cand]
                spread = np.sqrt(1.0 + np.maximum(1.0 / np.maximum(n, 1.0), v_inf))
                return cand[np.abs(flat_det[cand]) > k * sig * spread]

            floor = math.sqrt(1.0 + v_inf)
            sel = beyond(c.k_sigma, np.flatnonzero(det > c.k_sigma * sig * floor))
            sel = sel[(flat_n[sel] > 0) & flat_ok[sel]]  # never in the edge band
            if c.polarity != "both" and c.reset_sigma > 0:
                # the model is warmer than the frame (colder, for cold targets), beyond its noise: a target has left
                reset = beyond(c.reset_sigma, np.flatnonzero(det < -c.reset_sigma * sig * floor))
        self._sig = sig_sm
        fg = None
        if sel.size:  # under detections (and 2 pixels around them) the model learns slowly
            fg = (sel[:, None] + self._halo(f.shape[1])[None, :]).ravel()
            fg = fg[(fg >= 0) & (fg < f.size)]
        self._scene.update(take, res, c.clip_sigma * sig_sm, fg, reset, level)
        if c.polarity == "both" and not first:  # warm and cold blobs apart, even where they touch
            warm = res.ravel()[sel] > 0
            return self._nms(self._blobs(det, sel[warm], sig, gain, idx) + self._blobs(det, sel[~warm], sig, gain, idx))
        return self._nms(self._blobs(det, sel, sig, gain, idx))

    def _halo(self, width: int) -> np.ndarray:
        """Flat index offsets of a 5 x 5 neighbourhood in rows of ``width``."""
        if self._halo_w != width:
            d = np.arange(-2, 3)
            self._halo_off, self._halo_w = (d[:, None] * width + d[None, :]).ravel(), width
        return self._halo_off

    def _polar(self, r: np.ndarray) -> np.ndarray:
        pol = self.config.polarity
        return r if pol == "hot" else -r if pol == "cold" else np.abs(r)

    def _nms(self, dets: list[Detection]) -> list[Detection]:
        """Of detections closer than ``nms_px``, keep the one of highest contrast."""
        if len(dets) < 2 or self.config.nms_px <= 0:
            return dets
        dets = sorted(dets, key=lambda d: -d.snr)
        xy = np.array([(d.x, d.y) for d in dets])
        keep = np.ones(len(dets), bool)
        r2 = self.config.nms_px ** 2
        for i in range(len(dets)):
            if keep[i]:
                d2 = ((xy[i + 1:] - xy[i]) ** 2).sum(axis=1)
                keep[i + 1:] &= d2 >= r2
        return sorted((d for d, k in zip(dets, keep) if k), key=lambda d: (d.y, d.x))

    def _blobs(self, det: np.ndarray, sel: np.ndarray, sig: float, gain: float, idx: int) -> list[Detection]:
        """The 8-connected groups of the pixels ``sel`` (flat indices, ascending) filtered by area, aspect
        and peak contrast (``det`` / ``sig`` / ``gain`` raw-noise sigmas), with contrast-weighted centroids."""
        c = self.config
        if not sel.size:
            return []
        width = det.shape[1]
        n, lab = label_pixels(sel, det.shape)
        w = det.ravel()[sel] / sig
        ys, xs = np.divmod(sel, width)
        area = np.bincount(lab, minlength=n)
        wsum = np.bincount(lab, weights=w, minlength=n)
        cx = np.bincount(lab, weights=w * xs, minlength=n) / np.maximum(wsum, 1e-12)
        cy = np.bincount(lab, weights=w * ys, minlength=n) / np.maximum(wsum, 1e-12)
        order = np.argsort(lab, kind="stable")
        starts = np.flatnonzero(np.diff(lab[order], prepend=-1))  # every label has pixels: starts[k] is label k's
        peak = np.maximum.reduceat(w[order], starts)
        bw = np.maximum.reduceat(xs[order], starts) - np.minimum.reduceat(xs[order], starts) + 1
        bh = np.maximum.reduceat(ys[order], starts) - np.minimum.reduceat(ys[order], starts) + 1
        snr = peak / gain  # peak contrast in raw-noise sigmas
        keep = (area >= c.min_area_px) & (area <= c.max_area_px) & (snr >= c.min_snr)
        keep &= np.maximum(bw, bh) <= c.max_aspect * np.maximum(np.minimum(bw, bh), 1)
        out = []
        for k in np.flatnonzero(keep):
            conf = 1.0 / (1.0 + math.exp(-(snr[k] - c.min_snr - 1.0) * 2.0))
            out.append(Detection(idx, float(cx[k]), float(cy[k]), int(bw[k]), int(bh[k]), round(conf, 4), int(area[k]),
                                 round(float(snr[k]), 2)))
        return sorted(out, key=lambda d: (d.y, d.x))

    def _mog2_mask(self, frame: np.ndarray) -> np.ndarray:
        if self._mog is None:
            self._mog = cv2.createBackgroundSubtractorMOG2(history=200, varThreshold=16, detectShadows=False)
        lo, hi = np.percentile(frame[::4, ::4], (0.5, 99.5))
        f8 = np.clip((frame - lo) * (255.0 / max(hi - lo, 1e-6)), 0, 255).astype(np.uint8)
        return self._mog.apply(f8) > 0


class OnnxDetector:
    """A learned detector from a user-supplied ONNX model with YOLO-style output.

    Accepted outputs: ``(1, N, 5 + C)`` (box centre x/y, w, h, objectness, class scores: YOLOv5
    style) or ``(1, 4 + C, N)`` (box centre x/y, w, h, class scores: YOLOv8 style), in input
    pixel units; ``layout="auto"`` tells them apart by which axis is longer. Frames are min-max
    normalised to [0, 1], resized to the model's input size and replicated to its channel count.
    The CUDA execution provider is used when onnxruntime has it.
    """

    def __init__(self, model_path: str | Path, conf_threshold: float = 0.25, iou_threshold: float = 0.45,
                 class_names: list[str] | None = None, providers: list[str] | None = None,
                 layout: str = "auto") -> None:
        import onnxruntime as ort

        if layout not in ("auto", "v5", "v8"):
            raise ValueError(f"layout must be auto, v5 or v8, not {layout!r}")
        self.layout = layout
        path = Path(model_path)
        if not path.is_file():
            raise FileNotFoundError(f"ONNX model not found: {path}")
        avail = ort.get_available_providers()
        if providers is None:
            providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in avail]
        try:
            self.session = ort.InferenceSession(str(path), providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ValueError(f"{path}: not a loadable ONNX model: {exc}") from None
        inp = self.session.get_inputs()[0]
        shape = inp.shape
        if len(shape) != 4:
            raise ValueError(f"{path}: expected an NCHW image input, got shape {shape}")
        self.input_name = inp.name
        self.channels = shape[1] if isinstance(shape[1], int) else 3
        self.in_h = shape[2] if isinstance(shape[2], int) else 640
        self.in_w = shape[3] if isinstance(shape[3], int) else 640
        self.conf_threshold, self.iou_threshold = conf_threshold, iou_threshold
        self.class_names = class_names
        self.provider = self.session.get_providers()[0]
        self.frames = 0

    def _prepare(self, frame: np.ndarray) -> np.ndarray:
        f = frame.astype(np.float32, copy=False)
        lo, hi = float(f.min()), float(f.max())
        f = (f - lo) / max(hi - lo, 1e-6)
        f = cv2.resize(f, (self.in_w, self.in_h), interpolation=cv2.INTER_AREA)
        return np.repeat(f[None, None, :, :], self.channels, axis=1)

    def detect(self, frame: np.ndarray, index: int | None = None) -> list[Detection]:
        if frame.ndim != 2:
            raise ValueError(f"a frame must be 2-D, got shape {frame.shape}")
        idx = self.frames if index is None else index
        self.frames += 1
        out = self.session.run(None, {self.input_name: self._prepare(frame)})[0]
        return self.parse(out, frame.shape, idx)

    def parse(self, out: np.ndarray, frame_shape: tuple[int, ...], idx: int) -> list[Detection]:
        a = np.asarray(out, dtype=np.float32)
        if a.ndim == 3:
            a = a[0]
        layout = self.layout
        if a.ndim == 2 and layout == "auto":
            layout = "v8" if a.shape[0] < a.shape[1] else "v5"
        if a.ndim != 2 or (a.shape[1] if layout == "v5" else a.shape[0]) < 5:
            raise ValueError(f"unexpected ONNX output shape {np.shape(out)} (want (1, N, 5+C) or (1, 4+C, N))")
        if layout == "v8":
            a = a.T  # (4 + C, N) -> (N, 4 + C)
            scores_all = a[:, 4:]
        else:
            scores_all = a[:, 5:] * a[:, 4:5] if a.shape[1] > 5 else a[:, 4:5]
        cls_id = scores_all.argmax(axis=1)
        score = scores_all[np.arange(len(a)), cls_id]
        keep = score >= self.conf_threshold
        if not keep.any():
            return []
        boxes, score, cls_id = a[keep, :4], score[keep], cls_id[keep]
        sx, sy = frame_shape[1] / self.in_w, frame_shape[0] / self.in_h
        xywh = [[float((b[0] - b[2] / 2) * sx), float((b[1] - b[3] / 2) * sy), float(b[2] * sx), float(b[3] * sy)]
                for b in boxes]
        idxs = cv2.dnn.NMSBoxes(xywh, score.tolist(), self.conf_threshold, self.iou_threshold)
        dets = []
        for i in np.asarray(idxs, dtype=int).ravel():
            x, y, w, h = xywh[i]
            c = int(cls_id[i])
            name = self.class_names[c] if self.class_names and c < len(self.class_names) else str(c)
            dets.append(Detection(idx, x + w / 2, y + h / 2, max(1, round(w)), max(1, round(h)),
                                  round(float(score[i]), 4), cls=name))
        return dets
