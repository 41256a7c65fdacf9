"""A temporal background model that follows a translating scene (panning camera, drifting cloud).

The model is kept in scene coordinates: every frame is registered to it (a coarse shift by
OpenCV phase correlation between consecutive quarter-resolution frames, refined to about a
hundredth of a pixel by Lucas-Kanade iterations of the frame against the model itself, so
registration errors do not accumulate), the model is read at that sub-pixel offset with a
Keys cubic kernel (exact fractional positions, unlike ``cv2.warpAffine``'s 1/32-pixel table), and
the frame's clipped innovation is written back the same way. The model only ever moves by whole
pixels (re-anchoring), so it is not blurred by repeated resampling; scene content that has just
come into view has no history (``counts`` 0) until it has been seen.
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def _keys(t: np.ndarray, a: float = -0.5) -> np.ndarray:
    t = np.abs(t)
    return np.where(t <= 1, (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1,
                    np.where(t < 2, a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a, 0.0))


def _taps(f: float) -> tuple[np.ndarray, int]:
    i0 = math.floor(f)
    fr = f - i0
    k = _keys(np.array([fr + 1.0, fr, fr - 1.0, fr - 2.0])).astype(np.float32)
    return k / k.sum(), 1 - i0


def subpixel_shift(img: np.ndarray, fx: float, fy: float) -> np.ndarray:
    """``out(p) = img(p + f)`` by separable Keys cubic interpolation, ``|fx|, |fy| <= 1``; edges replicated."""
    if abs(fx) > 1 or abs(fy) > 1:
        raise ValueError(f"sub-pixel shift out of range: ({fx}, {fy})")
    kx, ax = _taps(fx)
    ky, ay = _taps(fy)
    return cv2.sepFilter2D(img, cv2.CV_32F, kx, ky, anchor=(ax, ay), borderType=cv2.BORDER_REPLICATE)


def bilinear_shift(img: np.ndarray, fx: float, fy: float) -> np.ndarray:
    """``out(p) = img(p + f)`` by bilinear interpolation (cheaper, and smoother, than :func:`subpixel_shift`),
    ``|f| <= 1``."""
    if abs(fx) > 1 or abs(fy) > 1:
        raise ValueError(f"sub-pixel shift out of range: ({fx}, {fy})")
    ix, iy = math.floor(fx), math.floor(fy)
    rx, ry = fx - ix, fy - iy
    k = np.array([[(1 - rx) * (1 - ry), rx * (1 - ry)], [(1 - rx) * ry, rx * ry]], np.float32)
    if ix == 1:  # taps at offsets 1 and 2: the second has weight 0 (rx = 0), use 0 and 1
        k, ix = np.array([[0, k[0, 0]], [0, k[1, 0]]], np.float32), 0
    if iy == 1:
        k, iy = np.array([[0, 0], [k[0, 0], k[0, 1]]], np.float32), 0
    return cv2.filter2D(img, cv2.CV_32F, k, anchor=(-ix, -iy), borderType=cv2.BORDER_REPLICATE)


def _sample(img: np.ndarray, idx: np.ndarray, gx: float, gy: float) -> np.ndarray:
    """``img(p + g)`` at the flat pixel indices ``idx``, bilinear, edges replicated (as :func:`bilinear_shift`)."""
    h, w = img.shape
    y, x = np.divmod(idx, w)
    ix, iy = math.floor(gx), math.floor(gy)
    rx, ry = np.float32(gx - ix), np.float32(gy - iy)
    x0, x1 = np.clip(x + ix, 0, w - 1), np.clip(x + ix + 1, 0, w - 1)
    y0, y1 = np.clip(y + iy, 0, h - 1) * w, np.clip(y + iy + 1, 0, h - 1) * w
    f = img.ravel()
    return (1 - ry) * ((1 - rx) * f[y0 + x0] + rx * f[y0 + x1]) + ry * ((1 - rx) * f[y1 + x0] + rx * f[y1 + x1])


def _translate(a: np.ndarray, nx: int, ny: int, out: np.ndarray | None = None, edge: bool = False) -> np.ndarray:
    """``out(p) = a(p + n)`` for whole pixels n (``out`` may be ``a``); where that falls outside ``a``,
    zero, or with ``edge`` the nearest value that does not (so interpolation across the border stays smooth)."""
    out = np.empty_like(a) if out is None else out
    h, w = a.shape
    if abs(nx) >= w or abs(ny) >= h:
        out[:] = 0
        return out
    # numpy buffers the copy when the two views overlap
    dst = (slice(max(0, -ny), h - max(0, ny)), slice(max(0, -nx), w - max(0, nx)))
    src = (slice(max(0, ny), h - max(0, -ny)), slice(max(0, nx), w - max(0, -nx)))
    out[dst] = a[src]
    if ny > 0:
        out[h - ny:] = out[h - ny - 1] if edge else 0
    elif ny < 0:
        out[:-ny] = out[-ny] if edge else 0
    if nx > 0:
        out[:, w - nx:] = out[:, w - nx - 1:w - nx] if edge else 0
    elif nx < 0:
        out[:, :-nx] = out[:, -nx:1 - nx] if edge else 0
    return out


class SceneBackground:
    """Clipped running average of (matched-filtered) frames in scene coordinates.

    ``register(s)`` finds where frame ``s`` lies in the model and returns the model read at that
    place and the per-pixel count of frames behind it; ``update`` writes the frame in.
    ``offset`` is the scene's accumulated position: frame pixel p shows scene point p + offset;
    ``level`` the overall level, which the model is kept relative to.
    """

    def __init__(self, alpha: float, alpha_foreground: float, iters: int = 4, margin: int = 8, edge: int = 3,
                 cut_ratio: float = 10.0, grid: int = 2) -> None:
        self.alpha, self.alpha_fg, self.iters = alpha, alpha_foreground, iters
        self.cut_ratio = cut_ratio  # residual energy over the last frame's that means the model is void
        self.cuts = 0
        self.margin = margin  # border left out of the registration sums
        self.grid = grid  # registration sums over every grid-th row and column
        self.edge = edge  # border never learned: the frame's filters see past the image edge there
        self.reset()

    def reset(self) -> None:
        self.model: np.ndarray | None = None  # scene at integer anchor: model(q) = scene(q + anchor)
        self.counts: np.ndarray | None = None
        self._spare_model = self._spare_counts = None
        self.anchor = np.zeros(2)
        self.offset = np.zeros(2)
        self.level = 0.0  # overall level, kept apart from the model: frame ~ model read + level
        self.step = np.zeros(2)  # last frame-to-frame motion of the scene point under a pixel
        self._frac = np.zeros(2)
        self._prev: np.ndarray | None = None  # the last frame, for phase correlation
        self._window: np.ndarray | None = None
        self._learn: np.ndarray | None = None
        self._ring = np.ones((3, 3), np.uint8)
        self._energy: float | None = None  # registration residual per pixel at the last frame
        self._age = 0  # frames learned since the start (or the last cut)

    @property
    def empty(self) -> bool:
        return self.model is None

    def _reanchor(self, s: np.ndarray) -> None:
        """Move the model's anchor by whole pixels ``s``: model'(q) = model(q + s); uncovered pixels have no history."""
        sx, sy = int(s[0]), int(s[1])
        if sx or sy:
            # into spare buffers, then swapped: no overlapping copy
            self.model, self._spare_model = _translate(self.model, sx, sy, self._spare_model, edge=True), self.model
            self.counts, self._spare_counts = _translate(self.counts, sx, sy, self._spare_counts), self.counts
            self.anchor += (sx, sy)

    def _coarse_step(self, prev: np.ndarray | None, s: np.ndarray) -> np.ndarray:
        """Frame-to-frame scene motion from phase correlation of quarter-size copies (the last step if that fails)."""
        if prev is None or prev.shape != s.shape:
            return self.step.copy()
        size = (max(s.shape[1] // 4, 8), max(s.shape[0] // 4, 8))
        a, b = (cv2.resize(x, size, interpolation=cv2.INTER_AREA) for x in (prev, s))
        if self._window is None or self._window.shape != a.shape:
            self._window = cv2.createHanningWindow(size, cv2.CV_32F)
        (sx, sy), response = cv2.phaseCorrelate(a, b, self._window)
        if not (response > 0.05 and math.isfinite(sx) and math.isfinite(sy)):
            return self.step.copy()
        # content moved by +shift: the same pixel now shows scene point p - shift
        return -np.array([sx * s.shape[1] / size[0], sy * s.shape[0] / size[1]])

    def register(self, s: np.ndarray, clip: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Model read at frame ``s``'s position (a fresh array; without the overall level, ``level``),
        and the count of frames behind each pixel (0: never seen; the model's own array, valid until
        ``update``).

        ``clip`` bounds each pixel's registration error (so moving targets barely pull).
        """
        if self.model is None or self.model.shape != s.shape:
            self.reset()
            self.model, self._spare_model = np.zeros_like(s), np.empty_like(s)
            self.counts, self._spare_counts = np.zeros_like(s), np.empty_like(s)
            self._prev = s
            return self.model.copy(), self.counts.copy()
        pred = self.offset + self.step  # the scene keeps its last motion, unless phase correlation says otherwise
        prev, self._prev = self._prev, s
        m = self.margin
        g = self.grid
        inner = s[m:-m:g, m:-m:g] - np.float32(self.level)

        def read_at(p: np.ndarray, lin) -> tuple[float, np.ndarray, np.ndarray]:
            """Residual energy, model read (frame coordinates) and residual of the frame at scene position p."""
            f = p - self.anchor
            n = np.round(f)
            full = subpixel_shift(self.model, f[0] - n[0], f[1] - n[1])
            if n.any():
                full = _translate(full, int(n[0]), int(n[1]), full)
            e = inner - full[m:-m:g, m:-m:g]
            if lin[0] is not None:
                e *= lin[0]
            return float(np.vdot(e, e)), full, e

        self._reanchor(np.round(pred - self.anchor))
        lin = self._linearise()
        if lin[3] is None:  # nothing to register on: keep the prediction
            pos, read = pred, None
        else:
            energy, read, e = read_at(pred, lin)
            best = (energy, pred, read, e)  # (energy, position, read, residual)
            if self._energy is None or energy > 4.0 * self._energy * lin[4]:
                # the motion changed (or this is the second frame): try the phase-correlation estimate too
                p1 = self.offset + self._coarse_step(prev, s)
                if np.abs(p1 - pred).max() > 0.25:
                    energy, read, e = read_at(p1, lin)
                    if energy < best[0]:
                        best = (energy, p1, read, e)
            pos, e = best[1], best[3]
            near = False  # within a tenth of a pixel: clip the residual so moving targets barely pull
            for it in range(self.iters + 4):
                if np.abs(pos - self.anchor).max() > 0.75:  # keep the gradients aligned with the read
                    self._reanchor(np.round(pos - self.anchor))
                    lin = self._linearise()
                    if lin[3] is None:
                        break
                    energy, read, e = read_at(pos, lin)
                    best = (energy, pos, read, e)
                if near and clip:
                    np.clip(e, -clip, clip, out=e)
                # the gradients are centred (a level change is not a shift): sum(g e) - mean(g) sum(e)
                se = float(e.sum())
                delta = lin[3] @ np.array([np.vdot(lin[1], e) - lin[5][0] * se, np.vdot(lin[2], e) - lin[5][1] * se])
                # done when the step is tiny, or would take off a negligible part of the residual
                # (a smooth scene needs no hundredth of a pixel)
                gain = float(delta @ lin[6] @ delta)
                largest = np.abs(delta).max()
                if largest < 0.005 or gain < 0.002 * best[0] or (it >= self.iters and largest < 0.05):
                    break
                near = np.abs(delta).max() < 0.1
                pos = pos + np.clip(delta, -1.0, 1.0)
                energy, read, e = read_at(pos, lin)
                if energy < best[0]:
                    best = (energy, pos, read, e)
                elif energy > 1.5 * best[0]:
                    break  # diverging: keep the best iterate
            pos, read = best[1], best[2]
            energy = best[0] / lin[4]
            if self._energy is not None and energy > self.cut_ratio * self._energy:
                # nothing in the model matches: a scene cut, a slew or a jump of the camera's gain
                self.cuts += 1
                self.counts[:] = 0
                self._age = 0
                self.step = np.zeros(2)
                self._energy = None
                self._frac = np.zeros(2)
                return s.copy(), self.counts.copy()
            self._energy = energy
        self._reanchor(np.round(pos - self.anchor))  # the read stays valid: it is in frame coordinates
        self._frac = pos - self.anchor
        if read is None:
            read = subpixel_shift(self.model, self._frac[0], self._frac[1])
        self.step = pos - self.offset
        self.offset = pos
        return read, self.counts

    def _linearise(self) -> tuple:
        """Registration weights at the current anchor: the pixels with history (their neighbours too, as
        the gradient is taken there; None: all of them), the model's gradients there, the inverse normal
        matrix of the centred gradients times a half (the weights are twice the gradients; None: no
        texture to register on), the pixel count, the mean weight and the normal matrix."""
        m, g = self.margin, self.grid
        inside = self.counts[m - 1:1 - m, m - 1:1 - m]
        seen = None
        if inside.min() <= 0:
            seen = cv2.erode((inside > 0).view(np.uint8), self._ring)[1:-1:g, 1:-1:g].astype(np.float32)
        # twice the model's gradient (central differences) on the registration grid: the model is
        # averaged over frames, so less noisy than the frame (noisy gradients shrink the steps)
        mod = self.model
        wx = np.subtract(mod[m:-m:g, m + 1:1 - m:g], mod[m:-m:g, m - 1:-1 - m:g])
        wy = np.subtract(mod[m + 1:1 - m:g, m:-m:g], mod[m - 1:-1 - m:g, m:-m:g])
        if seen is not None:
            wx *= seen
            wy *= seen
            n = max(float(seen.sum()), 1.0)
        else:
            n = float(wx.size)
        # centred over the pixels used, so that a change of the overall level (which the model follows
        # with a lag) is not taken for a shift
        mean = np.array([float(wx.sum()), float(wy.sum())]) / n
        h = np.array([[np.vdot(wx, wx), np.vdot(wx, wy)], [np.vdot(wx, wy), np.vdot(wy, wy)]], np.float64)
        h -= n * np.outer(mean, mean)
        h /= 4.0  # of the gradient itself; the weights stay doubled, so the solve below takes half of them
        ok = h[0, 0] > 0 and h[1, 1] > 0 and np.linalg.cond(h) < 1e6
        return seen, wx, wy, np.linalg.inv(h) * 0.5 if ok else None, n, mean, h

    def update(self, s: np.ndarray, out: np.ndarray, band: float, foreground: np.ndarray | None = None,
               reset: np.ndarray | None = None, level: float = 0.0) -> None:
        """Write the frame's residual ``out`` (frame minus model read minus ``level``) into the model.

        ``level`` is the frame's overall level over the model's (sun, gain drift), which moves the
        whole model at once. Each pixel moves by at most ``band``: a cumulative mean at first, then
        ``alpha`` per frame, ``alpha_foreground`` under ``foreground`` (flat pixel indices). Pixels
        never seen before, and those in ``reset`` (flat indices), take the value of ``s`` (the
        frame, or what stands for it) and start counting anew. The edge band is not learned.
        """
        self.level = level
        n, a, b = self.counts, self.alpha, self.edge
        flat_n, flat_out = n.ravel(), out.ravel()
        if reset is not None and reset.size:
            flat_n[reset] = 0.0
        u = np.clip(out, -band, band)
        if self._age < 1.0 / a - 1.0:  # starting up: the rate of every pixel
            u *= np.maximum(np.reciprocal(n + 1.0), np.float32(a))
            young = np.flatnonzero(n == 0)
            ny = flat_n[young]
        else:  # alpha, and the few young pixels (just come into view) apart
            young = np.flatnonzero(n < 1.0 / a - 1.0)  # where the cumulative mean is still faster than alpha
            ny = flat_n[young]
            u *= np.float32(a)
            u.ravel()[young] = np.clip(flat_out[young], -band, band) / (ny + 1.0)
        self._age += 1
        flat_u = u.ravel()
        if foreground is not None and foreground.size:
            flat_u[foreground] = np.clip(flat_out[foreground], -band, band) * np.float32(min(self.alpha_fg, a))
        take = young[ny == 0]  # never learned (the edge band included): take s, so reads across stay smooth
        flat_u[take] = 0.0
        u[:b], u[-b:], u[:, :b], u[:, -b:] = 0.0, 0.0, 0.0, 0.0
        fx, fy = self._frac
        self.model += bilinear_shift(u, -fx, -fy)  # small corrections: bilinear is good enough
        if take.size:  # later frames refine these first values: bilinear is good enough
            self.model.ravel()[take] = _sample(s, take, -fx, -fy) - np.float32(self.level)
        n[b:-b, b:-b] += 1.0

    def learnable(self, shape: tuple[int, int]) -> np.ndarray:
        """Pixels of a frame outside the edge band."""
        return self._learn_mask(shape) > 0

    def _learn_mask(self, shape: tuple[int, int]) -> np.ndarray:
        if self._learn is None or self._learn.shape != shape:
            b = self.edge
            self._learn = np.zeros(shape, np.float32)
            self._learn[b:shape[0] - b, b:shape[1] - b] = 1.0
        return self._learn
