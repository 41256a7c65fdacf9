"""Thermal detection on drifting cloud-textured scenes, scored on scenes it was not tuned on."""

import dataclasses

import numpy as np
import pytest

from lookout.sim.thermal import (
    HELD_OUT_SCENES,
    TUNING_SCENE,
    CloudTexture,
    ThermalScene,
    ThermalTarget,
    render_scene,
    score_detections,
)
from lookout.sources.eoir import DetectorConfig, ThermalDetector
from lookout.sources.eoir.registration import subpixel_shift

WARM_UP = 2  # frame 0 has no background history; frame 1 only one frame of it
N_FRAMES = 40


def _run(seq, config=None):
    det = ThermalDetector(config)
    return det, [det.detect(f, i) for i, f in enumerate(seq.frames)]


@pytest.mark.parametrize("name,scene,seed", HELD_OUT_SCENES, ids=[s[0] for s in HELD_OUT_SCENES])
def test_held_out_scenes_recall_and_precision(name, scene, seed):
    assert seed != TUNING_SCENE[2] and scene != TUNING_SCENE[1]
    seq = render_scene(dataclasses.replace(scene, n_frames=N_FRAMES), seed)
    assert all(3.0 <= t.contrast_sigma <= 8.0 and 2.0 <= t.w / 2 <= 5.0 for t in seq.targets)
    _, dets = _run(seq)
    s = score_detections(seq, dets, max_dist_px=3.0, skip=WARM_UP)
    assert s.tp + s.fn >= (N_FRAMES - WARM_UP) * scene.n_targets * 0.9  # nearly all targets stay in view
    assert s.recall >= 0.97, (name, s)
    assert s.precision >= 0.95, (name, s)


def test_tuning_scene_and_the_previous_detector_on_it():
    name, scene, seed = TUNING_SCENE
    seq = render_scene(dataclasses.replace(scene, n_frames=N_FRAMES), seed)
    _, dets = _run(seq)
    s = score_detections(seq, dets, skip=WARM_UP)
    assert s.recall >= 0.97 and s.precision >= 0.95, s
    # the image-fixed background cannot follow the drift: texture floods it with false alarms
    _, old = _run(seq, DetectorConfig(background="running_average"))
    assert score_detections(seq, old, skip=WARM_UP).precision < 0.5


def test_registration_follows_the_drift_to_a_hundredth_of_a_pixel():
    scene = dataclasses.replace(HELD_OUT_SCENES[0][1], n_frames=25, n_targets=4)
    seq = render_scene(scene, 7)
    det, _ = _run(seq)
    # frame pixel p shows scene point p + offset; the content moved by +drift per frame
    assert np.allclose(det.scene_offset, -np.array(seq.drift[-1]), atol=0.03)


def test_scene_cut_and_jump_are_survived():
    a = render_scene(ThermalScene(n_frames=12, n_targets=6), 21)
    b = render_scene(ThermalScene(n_frames=12, n_targets=6, drift_px_per_frame=(-1.0, 2.0)), 22)
    det = ThermalDetector()
    for i, f in enumerate(a.frames):
        det.detect(f, i)
    dets = [det.detect(f, 12 + i) for i, f in enumerate(b.frames)]  # another scene, another motion
    s = score_detections(b, dets, skip=4)
    assert s.recall >= 0.9 and s.precision >= 0.9, s


def test_warm_clutter_fixed_on_the_terrain_is_not_detected():
    # a sun-heated rock drifts with the terrain; a drone crosses it all
    scene = ThermalScene(width=320, height=256, n_frames=60, drift_px_per_frame=(1.5, 0.5))
    rock = ThermalTarget("rock", "clutter", 10, 10, 8.0, 60.0, 60.0, vx=1.5, vy=0.5, shape="disc")
    drone = ThermalTarget("drone", "uas", 5, 5, 6.0, 250.0, 150.0, vx=-2.0, vy=0.0, shape="disc")
    seq = render_scene(scene, 4, targets=[rock, drone])
    det = ThermalDetector()
    for i, f in enumerate(seq.frames):
        dets = det.detect(f, i)
        if i >= WARM_UP:
            rx, ry = 60.0 + 1.5 * i, 60.0 + 0.5 * i
            assert not any(np.hypot(d.x - rx, d.y - ry) < 8 for d in dets), i
            _, x, y, _, _ = next(t for t in seq.truth[i] if t[0] == "drone")
            assert any(np.hypot(d.x - x, d.y - y) < 2 for d in dets), i


@pytest.mark.parametrize("polarity", ["cold", "both"])
def test_cold_targets_on_a_drifting_scene(polarity):
    scene = ThermalScene(width=320, height=256, n_frames=20, drift_px_per_frame=(-1.5, 1.0))
    targets = [ThermalTarget("cold", "person", 8, 8, -6.0, 100.0, 100.0, vx=1.5, vy=0.5, shape="disc")]
    if polarity == "both":
        targets.append(ThermalTarget("hot", "uas", 6, 6, 6.0, 220.0, 150.0, vx=1.0, vy=1.0, shape="disc"))
    seq = render_scene(scene, 9, targets=targets)
    _, dets = _run(seq, DetectorConfig(polarity=polarity))
    found = {t.id: 0 for t in targets}
    for truth, d in zip(seq.truth[WARM_UP:], dets[WARM_UP:]):
        for tid, x, y, _, _ in truth:
            found[tid] += any(np.hypot(a.x - x, a.y - y) < 2 for a in d)
        if polarity == "cold":  # ("both" also sees where the targets were when the model started)
            assert len(d) == 1
    assert all(v == len(seq.frames) - WARM_UP for v in found.values()), found


def test_cloud_texture_translates_exactly():
    tex = CloudTexture(np.random.default_rng(0), 96, 120, 200.0, 32.0, 2.0, 3.0)
    a = tex.shifted(0.0, 0.0, 120, 96)
    assert a.std() == pytest.approx(200.0, rel=0.05)
    # whole pixels: the same field, moved (content moves by +d); sub-pixel: nothing smoothed away
    assert np.allclose(tex.shifted(3.0, -2.0, 120, 96), np.roll(a, (-2, 3), axis=(0, 1)), atol=1e-2)
    assert tex.shifted(0.5, 0.5, 120, 96).std() == pytest.approx(a.std(), rel=1e-4)


def test_round_targets_have_their_peak_contrast_and_radius():
    scene = ThermalScene(width=96, height=96, n_frames=1, noise_sigma=20.0, texture_amplitude=0.0,
                         level_drift_per_frame=0.0)
    t = ThermalTarget("t", "uas", 8.0, 8.0, 5.0, 48.3, 47.6, shape="disc")
    frames = [render_scene(scene, k, targets=[t]).frames[0].astype(float) - scene.base for k in range(40)]
    mean = np.mean(frames, axis=0)  # noise averaged down to 20 / sqrt(40) ~ 3 counts
    assert mean.max() == pytest.approx(5.0 * 20.0, abs=12)
    hot = mean > 50.0  # above half the peak: about the disc of radius 4
    assert np.pi * 3.3 ** 2 < hot.sum() < np.pi * 4.7 ** 2


def test_subpixel_shift_is_exact_on_whole_pixels_and_interpolates_between():
    a = np.random.default_rng(0).normal(size=(40, 50)).astype(np.float32)
    assert np.array_equal(subpixel_shift(a, 1.0, -1.0)[5:-5, 5:-5], a[4:-6, 6:-4])  # out(p) = a(p + f)
    x = np.arange(60, dtype=np.float32)
    ramp = np.tile(np.sin(x / 6.0), (8, 1)).astype(np.float32)
    assert subpixel_shift(ramp, 0.3, 0.0)[4, 30] == pytest.approx(np.sin(30.3 / 6.0), abs=2e-3)
    with pytest.raises(ValueError, match="out of range"):
        subpixel_shift(a, 1.5, 0.0)


def test_scene_parameters_are_checked():
    with pytest.raises(ValueError, match="radius_px"):
        ThermalScene(radius_px=(5.0, 2.0))
    with pytest.raises(ValueError, match="noise_sigma"):
        ThermalScene(noise_sigma=0.0)
    with pytest.raises(ValueError, match="32 x 32"):
        ThermalDetector().detect(np.zeros((16, 16), np.uint16))
