"""COCO-17 keypoints: 3D (AIST++ layout) and 2D (pixels, y down) to the canonical skeleton; file readers."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from music2dance.errors import Music2DanceError
from music2dance.io.keypoints import COCO17, REFERENCE_TORSO_LEG_M, coco17_to_motion, read_keypoints
from music2dance.io.skeleton import joint_index

# A standing figure facing +z, metres, y up (its left is +x).
POSE_M = {
    "nose": (0, 1.60, 0.08),
    "left_eye": (0.03, 1.63, 0.07),
    "right_eye": (-0.03, 1.63, 0.07),
    "left_ear": (0.07, 1.60, 0),
    "right_ear": (-0.07, 1.60, 0),
    "left_shoulder": (0.18, 1.40, 0),
    "right_shoulder": (-0.18, 1.40, 0),
    "left_elbow": (0.20, 1.10, 0),
    "right_elbow": (-0.20, 1.10, 0),
    "left_wrist": (0.22, 0.85, 0),
    "right_wrist": (-0.22, 0.85, 0),
    "left_hip": (0.10, 0.90, 0),
    "right_hip": (-0.10, 0.90, 0),
    "left_knee": (0.10, 0.48, 0),
    "right_knee": (-0.10, 0.48, 0),
    "left_ankle": (0.10, 0.08, 0),
    "right_ankle": (-0.10, 0.08, 0),
}


def _pose(T: int = 5) -> np.ndarray:
    return np.repeat(np.array([POSE_M[n] for n in COCO17], dtype=np.float64)[None], T, axis=0)


def test_3d_centimetres_derived_joints():
    m = coco17_to_motion(_pose() * 100.0, 60.0, units="cm")
    j = m.joints[0]
    assert m.fps == 60.0 and m.joints.shape == (5, 18, 3)
    np.testing.assert_allclose(j[joint_index("left_wrist")], POSE_M["left_wrist"], atol=1e-6)
    np.testing.assert_allclose(j[joint_index("pelvis")], [0, 0.90, 0], atol=1e-6)
    np.testing.assert_allclose(j[joint_index("neck")], [0, 1.40, 0], atol=1e-6)
    np.testing.assert_allclose(j[joint_index("head")], [0, 1.60, 0], atol=1e-6)
    assert 0.9 < j[joint_index("spine"), 1] < 1.4
    # Toe: forward (+z) of and below the ankle, for this figure facing +z.
    toe = j[joint_index("left_foot")] - j[joint_index("left_ankle")]
    assert toe[2] > 0.1 and toe[1] < -0.1 and abs(toe[0]) < 1e-6


def test_auto_units_and_missing_ear_uses_nose():
    kp = _pose() * 1000.0
    kp[:, COCO17.index("left_ear")] = np.nan
    m = coco17_to_motion(kp, 30.0, units="auto")
    np.testing.assert_allclose(m.joints[0, joint_index("pelvis")], [0, 0.90, 0], atol=1e-6)
    np.testing.assert_allclose(m.joints[0, joint_index("head")], POSE_M["nose"], atol=1e-6)


def test_2d_pixels_flipped_and_scaled():
    px = 400.0  # pixels per metre
    kp = _pose()[..., :2].copy()
    kp[..., 1] = 1000.0 - kp[..., 1] * px  # image rows grow downward
    kp[..., 0] = 300.0 + kp[..., 0] * px
    kp[2, COCO17.index("nose")] = 0.0  # OpenPose writes missing points as (0, 0)
    m = coco17_to_motion(kp, 25.0, image_height=1000.0)
    j = m.joints.astype(np.float64)
    assert np.all(j[..., 2] == 0)
    # Scale rule: torso + thigh + shin = REFERENCE_TORSO_LEG_M (here 0.5 + 0.42 + 0.40 m).
    s = REFERENCE_TORSO_LEG_M / 1.32
    assert j[0, joint_index("head"), 1] > j[0, joint_index("pelvis"), 1]  # y is up
    np.testing.assert_allclose(
        j[0, joint_index("neck"), 1] - j[0, joint_index("pelvis"), 1], 0.5 * s, rtol=1e-5
    )
    np.testing.assert_allclose(
        j[0, joint_index("left_hip"), 0] - j[0, joint_index("right_hip"), 0], 0.2 * s, rtol=1e-5
    )
    assert np.isfinite(j[2, joint_index("head")]).all()  # ears still give the head


def test_bad_shape():
    with pytest.raises(ValueError, match=r"\(T, 17, 2\)"):
        coco17_to_motion(np.zeros((3, 18, 3)), 30.0)


def test_read_npy_npz_pkl(tmp_path):
    kp = _pose(7) * 100.0
    np.save(tmp_path / "a.npy", kp)
    np.savez(tmp_path / "b.npz", keypoints3d=kp, fps=np.float32(60))
    with open(tmp_path / "c.pkl", "wb") as f:
        pickle.dump({"keypoints3d": kp, "keypoints3d_optim": None, "scale": np.float32(1)}, f)
    a, fps_a, units_a = read_keypoints(tmp_path / "a.npy")
    b, fps_b, _ = read_keypoints(tmp_path / "b.npz")
    c, fps_c, units_c = read_keypoints(tmp_path / "c.pkl")
    for arr in (a, b, c):
        np.testing.assert_allclose(arr, kp)
    assert (fps_a, fps_b, fps_c) == (None, 60.0, None)
    assert (units_a, units_c) == ("auto", "cm")


def test_pickle_with_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    with open(tmp_path / "evil.pkl", "wb") as f:
        pickle.dump({"keypoints3d": Evil()}, f)
    with pytest.raises(Music2DanceError, match="refusing to unpickle builtins.print"):
        read_keypoints(tmp_path / "evil.pkl")


def test_wrong_keypoint_file(tmp_path):
    np.save(tmp_path / "bad.npy", np.zeros((4, 25, 3)))
    with pytest.raises(Music2DanceError, match=r"bad\.npy: keypoints must be"):
        read_keypoints(tmp_path / "bad.npy")
    np.savez(tmp_path / "nokp.npz", other=np.zeros(3))
    with pytest.raises(Music2DanceError, match="no keypoints array"):
        read_keypoints(tmp_path / "nokp.npz")
