"""Frame inputs (16-bit and 8-bit images, video, streams), bad inputs, and the ONNX detector slot."""

import cv2
import numpy as np
import pytest

from lookout.sim.thermal import ThermalTarget, render
from lookout.sources.eoir import FrameError, open_frames
from lookout.sources.eoir.detector import OnnxDetector


@pytest.fixture
def seq():
    return render([ThermalTarget("a", "uas", 6, 6, 8.0, 100.0, 80.0, vx=2.0)], 6, width=320, height=256, seed=1)


def test_16bit_tiff_and_png_keep_radiometric_counts(tmp_path, seq):
    for i, f in enumerate(seq.frames):
        cv2.imwrite(str(tmp_path / f"f{i:03d}.tiff" if i % 2 else tmp_path / f"f{i:03d}.png"), f)
    src = open_frames(tmp_path)
    got = list(src)
    assert [i for i, _, _ in got] == list(range(6))
    for (_, _, frame), orig in zip(got, seq.frames):
        assert frame.dtype == np.float32 and frame.shape == (256, 320)
        assert np.array_equal(frame, orig.astype(np.float32))  # 16-bit counts preserved exactly


def test_8bit_frames_and_colour_frames_are_read_as_grey(tmp_path, seq):
    f8 = (seq.frames[0] // 256).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "a.png"), f8)
    cv2.imwrite(str(tmp_path / "b.png"), cv2.cvtColor(f8, cv2.COLOR_GRAY2BGR))
    frames = [f for _, _, f in open_frames(tmp_path)]
    assert len(frames) == 2 and all(f.ndim == 2 for f in frames)
    assert np.allclose(frames[0], frames[1], atol=1)


def test_corrupt_frame_is_counted_and_the_rest_is_read(tmp_path, seq):
    for i, f in enumerate(seq.frames[:3]):
        cv2.imwrite(str(tmp_path / f"f{i}.png"), f)
    (tmp_path / "f1.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    src = open_frames(tmp_path)
    idx = [i for i, _, _ in src]
    assert idx == [0, 2]
    assert sum(src.errors.values()) == 1


def test_unsupported_bit_depth_is_refused_per_frame(tmp_path, seq):
    cv2.imwrite(str(tmp_path / "a.tiff"), seq.frames[0].astype(np.float64))  # 64-bit float TIFF
    cv2.imwrite(str(tmp_path / "b.png"), seq.frames[1])
    src = open_frames(tmp_path)
    assert [i for i, _, _ in src] == [1]
    assert any("bit depth" in k or "unreadable" in k or "corrupt" in k for k in src.errors)


def test_missing_inputs_give_clear_errors(tmp_path):
    with pytest.raises(FrameError, match="no such file"):
        open_frames(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FrameError, match="no image frames"):
        open_frames(tmp_path / "empty")
    bad_video = tmp_path / "x.mp4"
    bad_video.write_bytes(b"not a video at all")
    with pytest.raises(FrameError, match="cannot open"):
        list(open_frames(bad_video))


def test_video_file_round_trip(tmp_path, seq):
    path = tmp_path / "clip.avi"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (320, 256), isColor=False)
    if not w.isOpened():
        pytest.skip("this OpenCV build has no MJPG writer")
    for f in seq.frames:
        w.write((f // 64).clip(0, 255).astype(np.uint8))
    w.release()
    src = open_frames(path)
    frames = list(src)
    assert len(frames) == len(seq.frames)
    assert src.fps == pytest.approx(10.0)
    assert frames[1][1] == pytest.approx(0.1)


def test_dead_stream_gives_up_with_a_clear_error():
    src = open_frames("rtsp://127.0.0.1:9/live", reconnects=1, reconnect_delay_s=0.01, timeout_s=1.0)
    with pytest.raises(FrameError, match="cannot open|dead"):
        list(src)


def _yolo_model(path, boxes_v5: np.ndarray, in_hw=(64, 80)):
    """A tiny ONNX graph with a fixed YOLOv5-style output that still consumes its image input."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    const = numpy_helper.from_array(boxes_v5.astype(np.float32)[None], name="boxes")
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["m"], keepdims=0),
        helper.make_node("Mul", ["m", "zero"], ["z"]),
        helper.make_node("Add", ["boxes", "z"], ["output0"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny_yolo",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 1, in_hw[0], in_hw[1]])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, boxes_v5.shape[0], boxes_v5.shape[1]])],
        initializer=[const, numpy_helper.from_array(np.zeros((), np.float32), name="zero")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)


def test_onnx_detector_parses_yolo_output_with_nms(tmp_path):
    # three candidate boxes (input pixels 80 x 64): two overlapping on one object, one elsewhere
    boxes = np.array([
        [20, 16, 8, 8, 0.9, 0.1, 0.9],
        [21, 16, 8, 8, 0.8, 0.1, 0.9],
        [60, 40, 6, 10, 0.7, 0.8, 0.2],
        [40, 40, 6, 6, 0.1, 0.5, 0.5],  # below the confidence threshold
    ])
    path = tmp_path / "tiny.onnx"
    _yolo_model(path, boxes)
    det = OnnxDetector(path, conf_threshold=0.3, class_names=["person", "uas"], layout="v5")
    assert det.provider in ("CPUExecutionProvider", "CUDAExecutionProvider")
    frame = np.random.default_rng(0).normal(8000, 20, (256, 320)).astype(np.float32)  # 4x the input size
    out = det.detect(frame, 0)
    assert len(out) == 2
    a = max(out, key=lambda d: d.confidence)
    assert a.cls == "uas" and a.x == pytest.approx(80.0) and a.y == pytest.approx(64.0)
    assert a.w == 32 and a.confidence == pytest.approx(0.81, abs=1e-4)
    b = min(out, key=lambda d: d.confidence)
    assert b.cls == "person" and b.x == pytest.approx(240.0) and b.y == pytest.approx(160.0)


def test_onnx_detector_bad_inputs(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        OnnxDetector(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00\x01 not protobuf")
    with pytest.raises(ValueError, match="not a loadable ONNX model"):
        OnnxDetector(junk)
