"""Exports: BVH (structure, round trip through our reader and bvhio within 1 cm) and keypoint JSON.

The real-data case uses a Tang take from ../shared/data when present (skipped otherwise).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from music2dance.errors import Music2DanceError
from music2dance.io.bvh import bvh_to_motion, read_bvh
from music2dance.io.bvh_export import encoded_motion, write_bvh
from music2dance.io.export import read_keypoints_json, write_keypoints_json
from music2dance.io.skeleton import CANONICAL_JOINTS, Motion
from music2dance.motion.demo import demo_motion

MIXAMO = (
    "Hips",
    "Spine",
    "Neck",
    "Head",
    "LeftArm",
    "LeftForeArm",
    "LeftHand",
    "LeftUpLeg",
    "LeftLeg",
    "LeftFoot",
    "LeftToeBase",
    "RightArm",
    "RightForeArm",
    "RightHand",
    "RightUpLeg",
    "RightLeg",
    "RightFoot",
    "RightToeBase",
)


def _errors_cm(a: Motion, b: Motion) -> np.ndarray:
    assert a.joints.shape == b.joints.shape
    return np.linalg.norm(a.joints.astype(np.float64) - b.joints, axis=-1) * 100.0


@pytest.fixture(scope="module")
def dance() -> Motion:
    return demo_motion(seconds=6.0, fps=15.0, seed=1)


def test_bvh_structure(tmp_path, dance):
    path = write_bvh(dance, tmp_path / "d.bvh")
    text = path.read_text()
    assert text.startswith("HIERARCHY\nROOT Hips\n")
    assert "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation" in text
    assert text.count("CHANNELS 6") == 1
    joints = re.findall(r"(?:ROOT|JOINT) (\S+)", text)
    assert set(MIXAMO) <= set(joints)
    assert text.count("{") == text.count("}")
    data = read_bvh(path)
    assert data.num_frames == dance.num_frames and abs(data.fps - 15.0) < 1e-6
    # Centimetres: legs of a ~1.7 m figure are tens of units long.
    leg = np.linalg.norm(data.offsets[data.names.index("LeftLeg")])
    assert 30 < leg < 60


def test_bvh_round_trip_synthetic(tmp_path, dance):
    back = bvh_to_motion(write_bvh(dance, tmp_path / "d.bvh"))
    assert back.joint_names == CANONICAL_JOINTS and back.fps == dance.fps
    err = _errors_cm(back, dance)
    assert err.mean() < 0.01 and err.max() < 0.05  # rigid figure: exact up to text rounding


def test_bvh_matches_bvhio(tmp_path, dance):
    """A third-party reader computes the same world positions (channel order and units agree)."""
    bvhio = pytest.importorskip("bvhio")
    path = write_bvh(dance, tmp_path / "d.bvh")
    root = bvhio.readAsHierarchy(str(path))
    joints = {j.Name: j for j, _, _ in root.layout()}
    pairs = {
        "LeftHand": "left_wrist",
        "RightForeArm": "right_elbow",
        "Head": "head",
        "RightToeBase": "right_foot",
        "LeftUpLeg": "left_hip",
    }
    for frame in (0, dance.num_frames // 2, dance.num_frames - 1):
        root.loadPose(frame)
        for bvh_name, canon in pairs.items():
            p = np.asarray(joints[bvh_name].PositionWorld) / 100.0
            q = dance.joints[frame, CANONICAL_JOINTS.index(canon)]
            assert np.linalg.norm(p - q) < 0.01


def test_bvh_mixamorig_names(tmp_path, dance):
    path = write_bvh(dance, tmp_path / "d.bvh", names="mixamorig")
    assert "ROOT mixamorig:Hips" in path.read_text()
    assert _errors_cm(bvh_to_motion(path), dance).max() < 0.05


def test_bvh_rejects_other_skeletons(tmp_path):
    m = Motion(joints=np.zeros((2, 2, 3)), fps=15, joint_names=("a", "b"), parents=(-1, 0))
    with pytest.raises(Music2DanceError, match="canonical skeleton"):
        write_bvh(m, tmp_path / "x.bvh")
    assert not (tmp_path / "x.bvh").exists()


def test_bvh_round_trip_real_tang(tmp_path, shared_data):
    from music2dance.io.tang import list_tang_sequences, read_tang_sequence
    from music2dance.motion.clean import bone_lengths, normalize_bone_lengths

    folders = list_tang_sequences(shared_data / "tang2018")
    if not folders:
        pytest.skip("no Tang sequences in the shared data")
    raw = read_tang_sequence(folders[0]).motion
    raw = Motion(joints=raw.joints[:750], fps=raw.fps)  # 30 s is plenty
    # A BVH skeleton is rigid; the raw take's bones vary by centimetres, so compare against the take
    # with its own median bone lengths (directions untouched): what any BVH of it can carry.
    lengths = np.median(bone_lengths(raw.joints, raw.parents), axis=0)
    rigid = Motion(joints=normalize_bone_lengths(raw.joints, raw.parents, lengths), fps=raw.fps)
    back = bvh_to_motion(write_bvh(rigid, tmp_path / "tang.bvh"))
    err = _errors_cm(back, rigid)
    assert err.mean() < 1.0 and err.max() < 1.0, f"mean {err.mean():.3f} cm, max {err.max():.3f} cm"
    # The raw take itself comes back as the rigid fit of it, exactly.
    back_raw = bvh_to_motion(write_bvh(raw, tmp_path / "raw.bvh"))
    assert _errors_cm(back_raw, encoded_motion(raw)).max() < 0.05


def test_keypoints_json_round_trip(tmp_path, dance):
    dance.meta["music_beats"] = np.array([0.5, 1.0, 1.5], np.float32)
    path = write_keypoints_json(dance, tmp_path / "d.json")
    back = read_keypoints_json(path)
    assert back.joint_names == dance.joint_names and back.parents == dance.parents and back.fps == dance.fps
    assert np.abs(back.joints - dance.joints).max() <= 0.0005 + 1e-6  # rounded to the millimetre
    np.testing.assert_allclose(back.meta["music_beats"], [0.5, 1.0, 1.5])


def test_keypoints_json_rejects_nan(tmp_path, dance):
    bad = Motion(joints=np.full((2, 18, 3), np.nan), fps=15)
    with pytest.raises(Music2DanceError):
        write_keypoints_json(bad, tmp_path / "bad.json")
