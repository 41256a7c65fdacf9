"""EO/IR benchmark: classical thermal detector frames/s on one core, recall and precision on held-out
drifting scenes, against the previous (image-fixed background) detector in the same run; ONNX
detector throughput.

    python benchmarks/eoir.py [--quick]

1. Speed: 640x512 16-bit frames of the tuning scene (drifting cloud texture, 12 round targets) and
   of the previous benchmark's sequence (smooth terrain, 12 box targets); the registered detector
   and the previous one (``background="running_average"``) run alternately on the same frames,
   OpenCV and BLAS limited to one thread, ``--repeats`` rounds; frames/s is the median round, the
   ratio is taken round by round. The load average is recorded before and after.
2. Accuracy: every held-out scene of ``lookout.sim.thermal.HELD_OUT_SCENES`` (other seeds and other
   parameters than the tuning scene) with its own seed and two more seeds never used in
   development; recall and precision after the warm-up (the first two frames) and over all frames.
3. A small convolutional YOLO-style ONNX model (random weights, 640x640 input: the shape and cost
   class of a small learned detector) through onnxruntime on each available execution provider.

Target: the classical detector >= 60 frames/s on one core, recall >= 0.97 and precision >= 0.95 on
every held-out scene.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from lookout.sim.thermal import (  # noqa: E402
    HELD_OUT_SCENES,
    TUNING_SCENE,
    random_targets,
    render,
    render_scene,
    score_detections,
)
from lookout.sources.eoir import DetectorConfig, ThermalDetector  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "eoir.json"
WARM_UP = 2
DETECTORS = {"registered": DetectorConfig(), "previous": DetectorConfig(background="running_average")}


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


def run(config: DetectorConfig, frames: list[np.ndarray]) -> tuple[list, float]:
    """Detections per frame and the seconds the detector took (after one untimed frame of set-up)."""
    det = ThermalDetector(config)
    det.detect(frames[0], 0)
    det.reset()
    t0 = time.perf_counter()
    out = [det.detect(f, i) for i, f in enumerate(frames)]
    return out, time.perf_counter() - t0


def speed_rows(sequences: dict, repeats: int) -> list[dict]:
    rows = []
    for seq_name, seq in sequences.items():
        fps = {name: [] for name in DETECTORS}
        for _ in range(repeats):
            for name, cfg in DETECTORS.items():  # alternate, so both see the same load
                _, dt = run(cfg, seq.frames)
                fps[name].append(len(seq.frames) / dt)
        ratios = [a / b for a, b in zip(fps["registered"], fps["previous"])]
        for name in DETECTORS:
            rows.append({"sequence": seq_name, "detector": name, "frames": len(seq.frames),
                         "fps_median": statistics.median(fps[name]), "fps_rounds": fps[name],
                         "ratio_to_previous": statistics.median(ratios) if name == "registered" else 1.0})
    return rows


def accuracy_rows(n_frames: int, seeds_per_scene: int, with_previous: bool) -> list[dict]:
    rows = []
    for name, scene, seed in [TUNING_SCENE] + HELD_OUT_SCENES:
        seeds = [seed] + [1000 + 17 * k + seed for k in range(seeds_per_scene - 1)] if name != "tuning" else [seed]
        for s in seeds:
            seq = render_scene(dataclasses.replace(scene, n_frames=n_frames), s)
            for det_name, cfg in DETECTORS.items():
                if det_name == "previous" and not with_previous:
                    continue
                dets, dt = run(cfg, seq.frames)
                after, every = score_detections(seq, dets, skip=WARM_UP), score_detections(seq, dets)
                rows.append({"scene": name, "seed": s, "held_out": name != "tuning", "detector": det_name,
                             "frames": n_frames, "targets_scored": after.tp + after.fn,
                             "recall": after.recall, "precision": after.precision,
                             "recall_all_frames": every.recall, "precision_all_frames": every.precision,
                             "fps": n_frames / dt})
    return rows


def onnx_rows(frames: list[np.ndarray], quick: bool) -> list[dict]:
    rows = []
    try:
        import onnxruntime as ort

        from lookout.sources.eoir.detector import OnnxDetector
    except ImportError as exc:
        print(f"ONNX part skipped: {exc}", file=sys.stderr)
        return rows
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "tiny_yolo.onnx"
        tiny_yolo(model)
        providers = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in ort.get_available_providers()]
        for prov in providers:
            od = OnnxDetector(model, providers=[prov], conf_threshold=0.99)
            m = 10 if quick else 40
            od.detect(frames[0])
            t0 = time.perf_counter()
            for f in frames[:m]:
                od.detect(f)
            rows.append({"provider": prov.replace("ExecutionProvider", ""), "frames": m,
                         "fps": m / (time.perf_counter() - t0)})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=None, help="speed rounds per detector (default 5; 1 with --quick)")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    repeats = args.repeats or (1 if args.quick else 5)
    n_speed = 40 if args.quick else 200
    load_before = os.getloadavg()

    tuning = render_scene(dataclasses.replace(TUNING_SCENE[1], n_frames=n_speed), TUNING_SCENE[2])
    legacy = render(random_targets(np.random.default_rng(1), 12), n_speed, seed=1)
    speed = speed_rows({"drifting cloud (tuning scene)": tuning, "smooth terrain (previous benchmark)": legacy},
                       repeats)
    legacy_scores = {}
    for name, cfg in DETECTORS.items():
        dets, _ = run(cfg, legacy.frames)
        s = score_detections(legacy, dets)
        legacy_scores[name] = {"recall": s.recall, "precision": s.precision}
    accuracy = accuracy_rows(40 if args.quick else 100, 1 if args.quick else 3, with_previous=True)
    onnx = onnx_rows(tuning.frames, args.quick)
    load_after = os.getloadavg()

    print(f"\nspeed, 640x512 uint16, one thread; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print(f"{'sequence':38} {'detector':11} {'frames':>6} {'frames/s':>9} {'vs previous':>12}  rounds")
    for r in speed:
        rounds = " ".join(f"{v:.0f}" for v in r["fps_rounds"])
        print(f"{r['sequence']:38} {r['detector']:11} {r['frames']:>6} {r['fps_median']:>9.1f} "
              f"{r['ratio_to_previous']:>11.2f}x  {rounds}")
    print("\nsmooth-terrain sequence (12 box targets, 4-14 px, 3-10 sigma): "
          + ", ".join(f"{k} recall {v['recall']:.3f} precision {v['precision']:.3f}" for k, v in legacy_scores.items()))
    print(f"\naccuracy (3 px one-to-one matching; after {WARM_UP} warm-up frames | all frames)")
    print(f"{'scene':26} {'seed':>5} {'detector':11} {'targets':>7} {'recall':>7} {'precision':>9} | "
          f"{'recall':>7} {'precision':>9}")
    for r in accuracy:
        print(f"{r['scene']:26} {r['seed']:>5} {r['detector']:11} {r['targets_scored']:>7} {r['recall']:>7.3f} "
              f"{r['precision']:>9.3f} | {r['recall_all_frames']:>7.3f} {r['precision_all_frames']:>9.3f}")
    for r in onnx:
        print(f"ONNX tiny YOLO (640x640 input, random weights), {r['provider']}: {r['fps']:.1f} frames/s")

    reg = [r for r in accuracy if r["detector"] == "registered" and r["held_out"]]
    fps_ok = all(r["fps_median"] >= 60 for r in speed if r["detector"] == "registered")
    acc_ok = all(r["recall"] >= 0.97 and r["precision"] >= 0.95 for r in reg)
    print(f"\nregistered detector >= 60 frames/s on one core: {'met' if fps_ok else 'NOT met'}; "
          f"recall >= 0.97 and precision >= 0.95 on every held-out scene and seed: {'met' if acc_ok else 'NOT met'} "
          f"(lowest recall {min(r['recall'] for r in reg):.3f}, "
          f"lowest precision {min(r['precision'] for r in reg):.3f})")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "eoir", "quick": args.quick, "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(), "python": sys.version.split()[0], "load_average_before": load_before,
        "load_average_after": load_after, "speed": speed, "smooth_terrain_scores": legacy_scores,
        "accuracy": accuracy, "onnx": onnx, "fps_target_met": fps_ok, "accuracy_target_met": acc_ok}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
