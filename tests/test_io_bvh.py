"""BVH reader: forward kinematics on a hand-made chain, the two shared dialects, name mapping, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from music2dance.errors import Music2DanceError
from music2dance.io.bvh import bvh_to_motion, read_bvh
from music2dance.io.skeleton import CANONICAL_JOINTS, FEET, joint_index

FIXTURES = Path(__file__).parent / "fixtures"
CMU = ("cmu_salsa", "pirouette.bvh")
BANDAI = ("bandai_dance", "dataset-1_dance-short_normal_001.bvh")


def test_chain_forward_kinematics_known_answer():
    data = read_bvh(FIXTURES / "chain.bvh")
    assert data.names == ("Base", "Link", "Link_end")
    assert data.parents == (-1, 0, 1)
    assert data.fps == pytest.approx(25.0)
    w = data.world_positions()
    assert w.shape == (3, 3, 3)
    # Frame 0: rest pose, a vertical chain.
    np.testing.assert_allclose(w[0], [[0, 0, 0], [0, 10, 0], [0, 15, 0]], atol=1e-9)
    # Frame 1: root at (1, 2, 3), rotation Z90 then X90 (intrinsic, in channel order): R = Rz Rx, so the
    # +y offset goes first to +z (Rx) and stays there (Rz). The wrong order would give -x.
    np.testing.assert_allclose(w[1], [[1, 2, 3], [1, 2, 13], [1, 2, 18]], atol=1e-9)
    # Frame 2: root Z90 sends +y to -x; the child's own Z90 turns its end site a further 90 degrees (-y).
    np.testing.assert_allclose(w[2], [[0, 0, 0], [-10, 0, 0], [-10, -5, 0]], atol=1e-9)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _mixamo_bvh(scale: float) -> str:
    """A T-pose Mixamo-named skeleton, one frame, offsets in metres times `scale`."""
    joints = [  # name, parent, offset (m)
        ("Hips", None, (0, 0.95, 0)),
        ("Spine", "Hips", (0, 0.10, 0)),
        ("Neck", "Spine", (0, 0.40, 0)),
        ("Head", "Neck", (0, 0.10, 0)),
        ("LeftArm", "Spine", (0.18, 0.38, 0)),
        ("LeftForeArm", "LeftArm", (0.28, 0, 0)),
        ("LeftHand", "LeftForeArm", (0.25, 0, 0)),
        ("RightArm", "Spine", (-0.18, 0.38, 0)),
        ("RightForeArm", "RightArm", (-0.28, 0, 0)),
        ("RightHand", "RightForeArm", (-0.25, 0, 0)),
        ("LeftUpLeg", "Hips", (0.10, -0.05, 0)),
        ("LeftLeg", "LeftUpLeg", (0, -0.42, 0)),
        ("LeftFoot", "LeftLeg", (0, -0.40, 0)),
        ("RightUpLeg", "Hips", (-0.10, -0.05, 0)),
        ("RightLeg", "RightUpLeg", (0, -0.42, 0)),
        ("RightFoot", "RightLeg", (0, -0.40, 0)),
    ]
    children: dict = {}
    for n, p, _ in joints:
        children.setdefault(p, []).append(n)
    off = {n: o for n, _, o in joints}

    def block(n: str, depth: int) -> list[str]:
        kind = "ROOT" if depth == 0 else "JOINT"
        pad = "  " * depth
        chans = (
            "6 Xposition Yposition Zposition Yrotation Xrotation Zrotation"
            if depth == 0
            else "3 Zrotation Xrotation Yrotation"
        )
        o = " ".join(str(v * scale) for v in off[n])
        lines = [f"{pad}{kind} mixamorig:{n}", f"{pad}{{", f"{pad}  OFFSET {o}", f"{pad}  CHANNELS {chans}"]
        for c in children.get(n, []):
            lines += block(c, depth + 1)
        if n.endswith("Foot"):  # toe only as an end site: the reader must derive the toe from it
            lines += [
                f"{pad}  End Site",
                f"{pad}  {{",
                f"{pad}    OFFSET 0 {-0.05 * scale} {0.15 * scale}",
                f"{pad}  }}",
            ]
        lines.append(f"{pad}}}")
        return lines

    n_chan = 6 + 3 * (len(joints) - 1)
    frame = " ".join(["0", str(0.95 * scale), "0"] + ["0"] * (n_chan - 3))
    return "\n".join(["HIERARCHY", *block("Hips", 0), "MOTION", "Frames: 1", "Frame Time: 0.0333333", frame])


@pytest.mark.parametrize("scale, unit", [(1.0, "m"), (100.0, "cm"), (1 / 0.0254, "in")])
def test_mixamo_names_and_unit_detection(tmp_path, scale, unit):
    m = bvh_to_motion(_write(tmp_path, f"mixamo_{unit}.bvh", _mixamo_bvh(scale)))
    assert m.fps == 30.0
    j = m.joints[0]
    np.testing.assert_allclose(j[joint_index("left_wrist")], [0.71, 1.43, 0], atol=1e-4)
    np.testing.assert_allclose(j[joint_index("pelvis")], [0, 0.90, 0], atol=1e-4)
    np.testing.assert_allclose(j[joint_index("neck")], [0, 1.43, 0], atol=1e-4)
    # Toe from the foot's end site.
    np.testing.assert_allclose(j[joint_index("right_foot")], [-0.10, 0.03, 0.15], atol=1e-4)


def test_unknown_layout_names_missing_joints(tmp_path):
    text = _mixamo_bvh(1.0).replace("LeftForeArm", "LeftLowerArmX")
    with pytest.raises(Music2DanceError, match=r"unknown_layout\.bvh: unknown joint layout: .*left_elbow"):
        bvh_to_motion(_write(tmp_path, "unknown_layout.bvh", text))


@pytest.mark.parametrize(
    "text, problem",
    [
        ("hello", "not a BVH file"),
        (
            "HIERARCHY\nROOT a\n{\nOFFSET 0 0 0\nCHANNELS 3 Zrotation Xrotation Yrotation\n}\nMOTION\n",
            "Frames",
        ),
        ("HIERARCHY\nROOT a\n{\nOFFSET 0 0 0\nCHANNELS 1 Wrotation\n}\nMOTION\nFrames: 1\n", "Wrotation"),
        (
            "HIERARCHY\nROOT a\n{\nOFFSET 0 0 0\nCHANNELS 3 Zrotation Xrotation Yrotation\n}\n"
            "MOTION\nFrames: 2\nFrame Time: 0.1\n0 0 0\n",
            "expected 2 frames",
        ),
    ],
)
def test_malformed_bvh_is_one_line_error(tmp_path, text, problem):
    p = _write(tmp_path, "bad.bvh", text)
    with pytest.raises(Music2DanceError, match=problem) as e:
        read_bvh(p)
    assert str(p) in str(e.value) and "\n" not in str(e.value)


def _left_on_left_fraction(j: np.ndarray) -> float:
    """Fraction of frames whose left hip is on the dancer's left (forward from ankle to toe)."""
    fwd = (j[:, 13] - j[:, 12]) + (j[:, 17] - j[:, 16])
    fwd[:, 1] = 0
    left = np.cross([0.0, 1.0, 0.0], fwd)  # right-handed, y up: left = up x forward
    return float(((j[:, 10] - j[:, 14]) * left).sum(-1).__gt__(0).mean())


@pytest.mark.parametrize("parts, fps, frames", [(CMU, 120.0, 592), (BANDAI, 30.0, 1901)])
def test_shared_bvh_files(shared_data, parts, fps, frames):
    m = bvh_to_motion(shared_data.joinpath(*parts))
    assert m.joints.shape == (frames, len(CANONICAL_JOINTS), 3)
    assert m.fps == fps
    assert np.isfinite(m.joints).all()
    j = m.joints.astype(np.float64)
    low = j[:, list(FEET), 1].min(axis=1)
    # The head point sits 10-20 cm below the top of the head: 1.25-1.75 m means a 1.4-2.0 m figure.
    assert 1.25 < np.percentile(j[:, joint_index("head"), 1] - low, 95) < 1.75
    assert -0.05 < np.percentile(low, 5) < 0.15  # feet near the floor
    assert _left_on_left_fraction(j) > 0.85


def test_cmu_matches_bvhio(shared_data):
    bvhio = pytest.importorskip("bvhio")
    path = shared_data.joinpath(*CMU)
    data = read_bvh(path)
    w = data.world_positions()
    root = bvhio.readAsHierarchy(str(path))
    for frame in (0, 300):
        root.loadPose(frame)
        for joint, _, _ in root.layout():
            k = data.names.index(joint.Name)
            np.testing.assert_allclose(np.array(list(joint.PositionWorld)), w[frame, k], atol=1e-3)
