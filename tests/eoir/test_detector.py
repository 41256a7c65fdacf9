"""Thermal hot-target detection scored against synthetic ground truth."""

import numpy as np
import pytest

from lookout.sim.thermal import ThermalTarget, random_targets, render, score_detections
from lookout.sources.eoir import DetectorConfig, ThermalDetector
from lookout.sources.eoir.detector import noise_sigma


def score(seq, detector, max_dist=3.0):
    s = score_detections(seq, [detector.detect(f, i) for i, f in enumerate(seq.frames)], max_dist)
    return s.recall, s.precision


@pytest.mark.parametrize("seed", [3, 11])
def test_recall_and_precision_on_small_faint_targets(seed):
    rng = np.random.default_rng(seed)
    targets = random_targets(rng, 12, min_size=4, max_size=12, min_contrast=3.0, max_contrast=8.0)
    seq = render(targets, 60, seed=seed)
    recall, precision = score(seq, ThermalDetector())
    assert recall >= 0.95, recall
    assert precision >= 0.9, precision


def test_weakest_target_4x4_at_3_sigma_is_found_every_frame():
    t = ThermalTarget("weak", "uas", 4, 4, 3.0, 200.0, 150.0, vx=1.0, vy=0.5)
    seq = render([t], 40, seed=5)
    det = ThermalDetector()
    found = 0
    for i, f in enumerate(seq.frames):
        d = det.detect(f, i)
        (_, x, y, _, _) = seq.truth[i][0]
        found += any(abs(a.x - x) < 1.5 and abs(a.y - y) < 1.5 for a in d)
    assert found >= 38  # recall >= 0.95 on the weakest target the detector is specified for


def test_centroid_is_subpixel_accurate():
    t = ThermalTarget("a", "ground_vehicle", 8, 6, 10.0, 320.3, 255.7)
    seq = render([t], 1, seed=2)
    d = ThermalDetector(DetectorConfig(background="none")).detect(seq.frames[0], 0)
    assert len(d) == 1
    assert d[0].x == pytest.approx(320.3, abs=0.3) and d[0].y == pytest.approx(255.7, abs=0.3)
    assert 6 <= d[0].w <= 11 and 4 <= d[0].h <= 9
    assert 0.5 < d[0].confidence <= 1.0


def test_empty_scene_gives_no_detections():
    seq = render([], 40, seed=9)
    det = ThermalDetector()
    assert sum(len(det.detect(f, i)) for i, f in enumerate(seq.frames)) <= 1


def test_static_warm_clutter_is_learned_by_the_background_model():
    # a warm object fixed in the image: the image-fixed running average absorbs it, a moving drone
    # stays detected (the registered background follows the terrain instead, and learns clutter
    # fixed on it: test_drifting_scenes.py)
    rock = ThermalTarget("rock", "clutter", 10, 10, 8.0, 60.0, 60.0)
    drone = ThermalTarget("drone", "uas", 5, 5, 6.0, 200.0, 150.0, vx=1.0, vy=0.0)
    seq = render([rock, drone], 400, width=320, height=256, seed=4)
    det = ThermalDetector(DetectorConfig(background="running_average", alpha_foreground=0.05))
    last = []
    for i, f in enumerate(seq.frames):
        last = det.detect(f, i)
    xs = [round(d.x) for d in last]
    assert not any(abs(x - 60) < 6 for x in xs), "static clutter still detected after 400 frames"
    assert any(abs(d.x - seq.truth[-1][1][1]) < 2 for d in last), "moving target lost"


def test_noise_estimate_ignores_texture():
    seq = render([], 1, seed=1, noise_sigma=25.0)
    assert noise_sigma(seq.frames[0].astype(np.float32)) == pytest.approx(25.0, rel=0.1)


def test_cold_polarity_finds_cold_targets():
    t = ThermalTarget("cold", "person", 6, 10, -6.0, 300.0, 200.0)
    seq = render([t], 1, seed=8)
    hot = ThermalDetector(DetectorConfig(background="none")).detect(seq.frames[0], 0)
    cold = ThermalDetector(DetectorConfig(background="none", polarity="cold")).detect(seq.frames[0], 0)
    assert not any(abs(d.x - 300) < 3 for d in hot)
    assert any(abs(d.x - 300) < 1 and abs(d.y - 200) < 1 for d in cold)


def test_bad_config_and_frames_are_refused_clearly():
    with pytest.raises(ValueError, match="background"):
        DetectorConfig(background="magic")
    with pytest.raises(ValueError, match="odd"):
        DetectorConfig(background_px=20)
    with pytest.raises(ValueError, match="2-D"):
        ThermalDetector().detect(np.zeros((4, 4, 3)))
