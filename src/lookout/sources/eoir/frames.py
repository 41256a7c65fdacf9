"""Frame sources: video files, image sequences (16-bit radiometric or 8-bit) and live streams.

Every source yields ``(index, time, frame)`` with ``frame`` a 2-D ``float32`` array (thermal
counts or grey levels). A frame that cannot be read (corrupt file, unsupported bit depth, a
dropped stream packet) is counted in :attr:`FrameSource.errors` with its reason and skipped; only
a source that cannot be opened at all raises :class:`FrameError`, with a clear message.
"""

from __future__ import annotations

import logging
import os
import time as _time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".tif", ".tiff", ".pgm", ".jpg", ".jpeg", ".bmp"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".mpg", ".mpeg", ".webm", ".ts"}
STREAM_SCHEMES = ("rtsp://", "rtsps://", "udp://", "rtp://", "http://", "https://", "tcp://")


class FrameError(RuntimeError):
    """A frame source that cannot be opened or has died."""


def to_gray_float(img: np.ndarray) -> np.ndarray:
    """An OpenCV image -> 2-D float32. 8- and 16-bit single channel, or 3/4-channel colour."""
    if img is None:
        raise ValueError("unreadable frame")
    if img.dtype not in (np.uint8, np.uint16, np.float32):
        raise ValueError(f"unsupported bit depth {img.dtype} (need 8-bit, 16-bit or float32)")
    if img.ndim == 3:
        import cv2

        if img.shape[2] not in (3, 4):
            raise ValueError(f"unsupported channel count {img.shape[2]}")
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2GRAY if img.shape[2] == 4 else cv2.COLOR_BGR2GRAY)
    elif img.ndim != 2:
        raise ValueError(f"unsupported frame shape {img.shape}")
    if img.size == 0:
        raise ValueError("empty frame")
    return img.astype(np.float32, copy=False)


class FrameSource:
    """Iterate the frames of a folder, a video file or a stream URL."""

    def __init__(self, location: str | os.PathLike, fps: float | None = None, start_time: float = 0.0,
                 reconnects: int = 3, reconnect_delay_s: float = 1.0, max_frames: int | None = None,
                 timeout_s: float = 5.0) -> None:
        self.timeout_s = timeout_s
        self.location = str(location)
        self.start_time = start_time
        self.reconnects = reconnects
        self.reconnect_delay_s = reconnect_delay_s
        self.max_frames = max_frames
        self.errors: Counter = Counter()
        self.frames_read = 0
        self.kind, self._paths = self._classify()
        self.fps = fps or (25.0 if self.kind != "images" else 10.0)

    def _classify(self) -> tuple[str, list[Path]]:
        loc = self.location
        if loc.startswith(STREAM_SCHEMES):
            return "stream", []
        p = Path(loc)
        if not p.exists():
            raise FrameError(f"{loc}: no such file or folder")
        if p.is_dir():
            paths = sorted(q for q in p.iterdir() if q.suffix.lower() in IMAGE_SUFFIXES)
            if not paths:
                raise FrameError(f"{loc}: folder holds no image frames ({', '.join(sorted(IMAGE_SUFFIXES))})")
            return "images", paths
        if p.suffix.lower() in IMAGE_SUFFIXES:
            return "images", [p]
        return "video", []

    def __len__(self) -> int:
        return len(self._paths) if self.kind == "images" else 0

    def __iter__(self) -> Iterator[tuple[int, float, np.ndarray]]:
        if self.kind == "images":
            yield from self._iter_images()
        else:
            yield from self._iter_capture()

    def _iter_images(self):
        import cv2

        for i, path in enumerate(self._paths):
            if self.max_frames is not None and i >= self.max_frames:
                return
            try:
                img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED | cv2.IMREAD_ANYDEPTH)
                if img is None:
                    raise ValueError("corrupt or unreadable image")
                frame = to_gray_float(img)
            except (ValueError, cv2.error) as exc:
                self.errors[str(exc).split(" (")[0]] += 1
                log.warning("%s: frame %d skipped: %s", path, i, exc)
                continue
            self.frames_read += 1
            yield i, self.start_time + i / self.fps, frame

    def _open_capture(self):
        import cv2

        if self.kind == "stream":
            ms = int(self.timeout_s * 1000)
            cap = cv2.VideoCapture(self.location, cv2.CAP_FFMPEG,
                                   [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms])
        else:
            cap = cv2.VideoCapture(self.location)
        if not cap.isOpened():
            cap.release()
            return None
        return cap

    def _iter_capture(self):
        cap = self._open_capture()
        if cap is None:
            raise FrameError(f"{self.location}: cannot open (not a readable video or the stream is dead)")
        fps = cap.get(5)  # CAP_PROP_FPS
        if fps and fps > 0 and self.kind == "video":
            self.fps = fps
        index, failures, wall0 = 0, 0, _time.time()
        try:
            while self.max_frames is None or index < self.max_frames:
                ok, img = cap.read() if cap is not None else (False, None)
                if not ok:
                    if self.kind == "video":
                        return  # end of file
                    failures += 1
                    self.errors["stream read failed"] += 1
                    if failures > self.reconnects:
                        raise FrameError(f"{self.location}: stream dead after {self.reconnects} reconnects")
                    if cap is not None:
                        cap.release()
                    _time.sleep(self.reconnect_delay_s * failures)
                    cap = self._open_capture()
                    continue
                failures = 0
                try:
                    frame = to_gray_float(img)
                except ValueError as exc:
                    self.errors[str(exc)] += 1
                    index += 1
                    continue
                self.frames_read += 1
                t = self.start_time + index / self.fps if self.kind == "video" else wall0 + (_time.time() - wall0)
                yield index, t, frame
                index += 1
        finally:
            if cap is not None:
                cap.release()


def open_frames(location: str | os.PathLike, **kw) -> FrameSource:
    return FrameSource(location, **kw)
