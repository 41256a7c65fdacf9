"""EO/IR: from thermal (and visible) video frames to camera Observations.

* :mod:`.frames` reads video files, image sequences (16-bit radiometric and 8-bit TIFF/PNG) and
  live stream URLs through OpenCV, counting corrupt frames instead of stopping;
* :mod:`.detector` finds hot targets in thermal frames (background modelling, hot-target
  segmentation, blob filtering) and, optionally, runs a user-supplied ONNX model;
* :mod:`.camera` turns pixels into bearing/elevation (and ground positions on flat terrain or a
  DEM) from the camera's intrinsics and pose;
* :mod:`.synth` renders synthetic thermal sequences with ground truth, for scoring.
"""

from lookout.sources.eoir.camera import CameraIntrinsics, CameraModel, CameraPose, PoseTrack
from lookout.sources.eoir.detector import Detection, DetectorConfig, ThermalDetector
from lookout.sources.eoir.frames import FrameError, FrameSource, open_frames

__all__ = [
    "CameraIntrinsics", "CameraModel", "CameraPose", "PoseTrack", "Detection", "DetectorConfig",
    "ThermalDetector", "FrameError", "FrameSource", "open_frames",
]
