"""EO/IR benchmark: classical thermal detector frames/s on one core; ONNX detector throughput.

    python benchmarks/eoir.py [--quick]

Renders a 640x512 16-bit synthetic thermal sequence (12 targets on a drifting textured
background), runs the classical detector single-threaded (OpenCV limited to one thread) and
reports frames/s, recall and precision; then builds a small convolutional YOLO-style ONNX model
(random weights, 640x640 input: the shape and cost class of a small learned detector) and
reports its frames/s through onnxruntime on each available execution provider (CPU here; CUDA
where a GPU and a CUDA build of onnxruntime are present). Target: classical >= 60 frames/s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from scipy.optimize import linear_sum_assignment  # noqa: E402

from lookout.sim.thermal import random_targets, render  # noqa: E402
from lookout.sources.eoir import ThermalDetector  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "eoir.json"


def tiny_yolo(path: Path, size: int = 640, classes: int = 3) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits, nodes, prev, ch = [], [], "images", 3
    for i, out_ch in enumerate([16, 32, 64, 64]):
        w = rng.normal(0, 0.1, (out_ch, ch, 3, 3)).astype(np.float32)
        inits.append(numpy_helper.from_array(w, f"w{i}"))
        nodes.append(helper.make_node("Conv", [prev, f"w{i}"], [f"c{i}"], strides=[2, 2], pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"]))
        prev, ch = f"r{i}", out_ch
    head = rng.normal(0, 0.1, (4 + classes, ch, 1, 1)).astype(np.float32)
    inits.append(numpy_helper.from_array(head, "head"))
    nodes.append(helper.make_node("Conv", [prev, "head"], ["h"]))
    n = (size // 16) ** 2
    inits.append(numpy_helper.from_array(np.array([1, 4 + classes, n], np.int64), "shape"))
    nodes.append(helper.make_node("Reshape", ["h", "shape"], ["output0"]))
    graph = helper.make_graph(nodes, "tiny_yolo",
                              [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size, size])],
                              [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 4 + classes, n])],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


def score(seq, dets_per_frame):
    tp = fp = fn = 0
    for truth, dets in zip(seq.truth, dets_per_frame):
        m = 0
        if dets and truth:
            c = np.array([[np.hypot(d.x - t[1], d.y - t[2]) for t in truth] for d in dets])
            r, cc = linear_sum_assignment(c)
            m = int((c[r, cc] < 3).sum())
        tp, fp, fn = tp + m, fp + len(dets) - m, fn + len(truth) - m
    return tp / max(tp + fn, 1), tp / max(tp + fp, 1)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    n = 60 if args.quick else 300
    seq = render(random_targets(np.random.default_rng(1), 12), n, seed=1)
    det = ThermalDetector()
    det.detect(seq.frames[0], 0)
    det.reset()
    t0 = time.perf_counter()
    out = [det.detect(f, i) for i, f in enumerate(seq.frames)]
    dt = time.perf_counter() - t0
    recall, precision = score(seq, out)
    rows = [{"detector": "classical (OpenCV, 1 thread)", "provider": "CPU", "frame": "640x512 uint16",
             "frames": n, "fps": n / dt, "recall": recall, "precision": precision}]

    try:
        import onnxruntime as ort

        from lookout.sources.eoir.detector import OnnxDetector

        with tempfile.TemporaryDirectory() as tmp:
            model = Path(tmp) / "tiny_yolo.onnx"
            tiny_yolo(model)
            providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in ort.get_available_providers()]
            for prov in providers:
                od = OnnxDetector(model, providers=[prov], conf_threshold=0.99)
                m = 10 if args.quick else 40
                od.detect(seq.frames[0])
                t0 = time.perf_counter()
                for f in seq.frames[:m]:
                    od.detect(f)
                dt = time.perf_counter() - t0
                rows.append({"detector": "ONNX tiny YOLO (640x640 input, random weights)",
                             "provider": prov.replace("ExecutionProvider", ""), "frame": "640x512 uint16",
                             "frames": m, "fps": m / dt, "recall": None, "precision": None})
    except ImportError as exc:
        print(f"ONNX part skipped: {exc}", file=sys.stderr)

    print(f"\n{'detector':48} {'provider':8} {'frames':>6} {'frames/s':>9} {'recall':>7} {'precision':>9}")
    for r in rows:
        rec = f"{r['recall']:.3f}" if r["recall"] is not None else "-"
        pre = f"{r['precision']:.3f}" if r["precision"] is not None else "-"
        print(f"{r['detector']:48} {r['provider']:8} {r['frames']:>6} {r['fps']:>9.1f} {rec:>7} {pre:>9}")
    target = rows[0]["fps"] >= 60
    print(f"\nclassical detector target >= 60 frames/s on one core: {'met' if target else 'NOT met'}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"benchmark": "eoir", "quick": args.quick, "machine": platform.processor() or platform.machine(),
                                   "python": sys.version.split()[0], "rows": rows, "target_met": target}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
