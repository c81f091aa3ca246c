"""BVH writer: a canonical `Motion` as a Mixamo-like BVH (centimetres, Y up, ZXY Euler degrees).

Rotations are solved from joint positions, so the file's forward kinematics reproduces the motion exactly
up to bone-length changes (a BVH skeleton is rigid: offsets are the motion's median bone lengths).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import input_error
from .atomic import write_text_atomic
from .skeleton import CANONICAL_JOINTS, Motion

CM_PER_M = 100.0
# End-site lengths (metres): bones past the last tracked point, only for display in Blender & co.
_END_SITES = {
    "Head": (0.0, 0.12, 0.0),
    "LeftHand": (0.08, 0.0, 0.0),
    "RightHand": (-0.08, 0.0, 0.0),
    "LeftToeBase": (0.0, 0.0, 0.04),
    "RightToeBase": (0.0, 0.0, 0.04),
}

_X, _Y, _Z = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)
_NX, _NY = (-1.0, 0.0, 0.0), (0.0, -1.0, 0.0)


@dataclass(frozen=True)
class _Bone:
    """One BVH joint.

    source: canonical joint whose position it sits at ("" for the hips midpoint / a zero-length connector).
    dir: unit direction of its offset from the parent in the rest pose ((0, 0, 0): root or connector).
    aim: the BVH child whose direction this joint's rotation aims at ("" for leaves: rotation inherited).
    up: rest direction of the secondary axis; twist: the current vector it must follow
        ("hips" left-right hip line, "spine" hips->spine, "shoulders", "torso" spine->neck,
        "hinge_*" limb-plane normal, "" minimal twist from the parent).
    """

    name: str
    parent: str
    source: str
    dir: tuple = (0.0, 0.0, 0.0)
    aim: str = ""
    up: tuple = _X
    twist: str = ""


# Rest pose: T-pose, Y up, facing +z, the dancer's left on +x (right-handed), like Mixamo characters.
# Canonical pelvis/neck are midpoints of the hips/shoulders, so one rigid Hips rotation cannot place both
# the legs and the spine, nor Neck both the head and the arms: zero-length connectors (LowerBack,
# Left/RightShoulder, as in CMU and Mixamo rigs) give each of those bones its own rotation.
_O = (0.0, 0.0, 0.0)
_SKELETON: tuple[_Bone, ...] = (
    _Bone("Hips", "", "", _O, "LeftUpLeg", _Y, "spine"),
    _Bone("LeftUpLeg", "Hips", "left_hip", _X, "LeftLeg", _X, "hinge_leg"),
    _Bone("LeftLeg", "LeftUpLeg", "left_knee", _NY, "LeftFoot", _X, "hinge_leg"),
    _Bone("LeftFoot", "LeftLeg", "left_ankle", _NY, "LeftToeBase", _X, ""),
    _Bone("LeftToeBase", "LeftFoot", "left_foot", _Z),
    _Bone("RightUpLeg", "Hips", "right_hip", _NX, "RightLeg", _X, "hinge_leg"),
    _Bone("RightLeg", "RightUpLeg", "right_knee", _NY, "RightFoot", _X, "hinge_leg"),
    _Bone("RightFoot", "RightLeg", "right_ankle", _NY, "RightToeBase", _X, ""),
    _Bone("RightToeBase", "RightFoot", "right_foot", _Z),
    _Bone("LowerBack", "Hips", "", _O, "Spine", _X, "hips"),
    _Bone("Spine", "LowerBack", "spine", _Y, "Neck", _X, "shoulders"),
    _Bone("Neck", "Spine", "neck", _Y, "Head", _X, "shoulders"),
    _Bone("Head", "Neck", "head", _Y),
    _Bone("LeftShoulder", "Neck", "", _O, "LeftArm", _Y, "torso"),
    _Bone("LeftArm", "LeftShoulder", "left_shoulder", _X, "LeftForeArm", _NY, "hinge_arm"),
    _Bone("LeftForeArm", "LeftArm", "left_elbow", _X, "LeftHand", _NY, "hinge_arm"),
    _Bone("LeftHand", "LeftForeArm", "left_wrist", _X),
    _Bone("RightShoulder", "Neck", "", _O, "RightArm", _Y, "torso"),
    _Bone("RightArm", "RightShoulder", "right_shoulder", _NX, "RightForeArm", _Y, "hinge_arm"),
    _Bone("RightForeArm", "RightArm", "right_elbow", _NX, "RightHand", _Y, "hinge_arm"),
    _Bone("RightHand", "RightForeArm", "right_wrist", _NX),
)

# Hinge limbs: (upper joint, middle joint, lower joint) canonical names per BVH bone.
_HINGES = {
    "LeftUpLeg": ("left_hip", "left_knee", "left_ankle"),
    "LeftLeg": ("left_hip", "left_knee", "left_ankle"),
    "RightUpLeg": ("right_hip", "right_knee", "right_ankle"),
    "RightLeg": ("right_hip", "right_knee", "right_ankle"),
    "LeftArm": ("left_shoulder", "left_elbow", "left_wrist"),
    "LeftForeArm": ("left_shoulder", "left_elbow", "left_wrist"),
    "RightArm": ("right_shoulder", "right_elbow", "right_wrist"),
    "RightForeArm": ("right_shoulder", "right_elbow", "right_wrist"),
}
# Weight of the minimal-twist fallback against a limb-plane normal (|normal| = sin(bend angle)):
# a bend of more than ~10 degrees decides the twist, a straight limb keeps its parent's.
_FALLBACK_WEIGHT = {"hinge_leg": 0.15, "hinge_arm": 0.15}


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-12)


def _min_rotation(a: np.ndarray, b: np.ndarray):
    """Per-frame smallest rotation taking unit vectors a (F, 3) onto b (F, 3)."""
    from scipy.spatial.transform import Rotation

    axis = np.cross(a, b)
    s = np.linalg.norm(axis, axis=-1)
    c = np.clip(np.sum(a * b, axis=-1), -1.0, 1.0)
    angle = np.arctan2(s, c)
    # Opposite vectors: any axis perpendicular to a will do.
    perp = np.cross(a, np.where(np.abs(a[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]]))
    axis = np.where((s < 1e-9)[:, None], perp, axis)
    return Rotation.from_rotvec(_unit(axis) * angle[:, None])


def _frame_rotation(rest1, rest2, cur1: np.ndarray, cur2: np.ndarray):
    """Rotation taking rest1 -> cur1 exactly and rest2 towards cur2 (its part perpendicular to cur1).

    rest1, rest2: unit (3,), orthogonal. cur1, cur2: (F, 3). Returns a scipy Rotation of F frames.
    """
    from scipy.spatial.transform import Rotation

    d1 = _unit(cur1)
    d2 = cur2 - np.sum(cur2 * d1, axis=-1, keepdims=True) * d1
    bad = np.linalg.norm(d2, axis=-1) < 1e-9
    if bad.any():  # secondary parallel to the bone: any perpendicular keeps the bone exact
        alt = np.cross(d1, np.where(np.abs(d1[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 0.0, 1.0]]))
        d2 = np.where(bad[:, None], alt, d2)
    d2 = _unit(d2)
    cur = np.stack([d1, d2, np.cross(d1, d2)], axis=-1)  # columns
    r1, r2 = np.asarray(rest1, float), np.asarray(rest2, float)
    rest = np.stack([r1, r2, np.cross(r1, r2)], axis=-1)
    return Rotation.from_matrix(cur @ rest.T)


@dataclass
class BvhSolution:
    """A motion solved into BVH terms (metres, y up).

    names / parents (B,): BVH joints in file order. offsets (B, 3): rest offsets from the parent.
    root (F, 3): Hips position per frame. local (F, B, 4): local rotations as quaternions (x, y, z, w).
    positions (F, B, 3): world positions that the file's forward kinematics gives.
    """

    names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: np.ndarray
    root: np.ndarray
    local: np.ndarray
    positions: np.ndarray


def _canonical_joints(motion: Motion, path) -> np.ndarray:
    names = tuple(str(n) for n in motion.joint_names)
    if names == CANONICAL_JOINTS:
        return np.asarray(motion.joints, dtype=np.float64)
    missing = [n for n in CANONICAL_JOINTS if n not in names]
    if missing:
        raise input_error(path, f"BVH export needs the canonical skeleton; missing {', '.join(missing)}")
    return np.asarray(motion.joints, dtype=np.float64)[:, [names.index(n) for n in CANONICAL_JOINTS]]


def solve_bvh(motion: Motion, path="<bvh>") -> BvhSolution:
    """Fit the rigid BVH skeleton to `motion`: median bone lengths, per-frame rotations (metres)."""
    from scipy.spatial.transform import Rotation

    joints = _canonical_joints(motion, path)
    if joints.shape[0] < 1:
        raise input_error(path, "the dance has no frames to export")
    if not np.isfinite(joints).all():
        raise input_error(path, "the dance contains NaN or infinite joint positions")
    ci = {n: i for i, n in enumerate(CANONICAL_JOINTS)}
    names = tuple(b.name for b in _SKELETON)
    index = {n: i for i, n in enumerate(names)}
    parents = tuple(index[b.parent] if b.parent else -1 for b in _SKELETON)
    frames = joints.shape[0]

    def cj(name: str) -> np.ndarray:
        return joints[:, ci[name]]

    hips_mid = 0.5 * (cj("left_hip") + cj("right_hip"))
    pos = np.zeros((frames, len(names), 3))
    for b_i, b in enumerate(_SKELETON):
        if b.source:
            pos[:, b_i] = cj(b.source)
        elif b.parent:
            pos[:, b_i] = pos[:, index[b.parent]]  # connector: sits on its parent
        else:
            pos[:, b_i] = hips_mid

    offsets = np.zeros((len(names), 3))
    for b_i, b in enumerate(_SKELETON):
        if parents[b_i] >= 0 and any(b.dir):
            length = float(np.median(np.linalg.norm(pos[:, b_i] - pos[:, parents[b_i]], axis=-1)))
            offsets[b_i] = np.asarray(b.dir) * length

    vectors = {
        "hips": cj("left_hip") - cj("right_hip"),
        "spine": cj("spine") - hips_mid,
        "shoulders": cj("left_shoulder") - cj("right_shoulder"),
        "torso": cj("neck") - cj("spine"),
    }
    world: list = [None] * len(names)
    for b_i, b in enumerate(_SKELETON):
        parent_rot = world[parents[b_i]] if parents[b_i] >= 0 else Rotation.identity(frames)
        if not b.aim:
            world[b_i] = parent_rot  # leaf: no child tells us anything, keep the parent's frame
            continue
        rest = _SKELETON[index[b.aim]].dir
        aim = pos[:, index[b.aim]] - pos[:, b_i]
        # Where the bone would point with no local rotation; the minimal swing from there is the
        # twist-free fallback.
        swing = _min_rotation(_unit(parent_rot.apply(rest)), _unit(aim)) * parent_rot
        fallback = swing.apply(b.up)
        if b.twist.startswith("hinge"):
            top, mid, low = (cj(n) for n in _HINGES[b.name])
            normal = np.cross(_unit(mid - top), _unit(low - mid))
            # Rest hinge axis `up` is the normal of a bend in the natural direction, so sign matches.
            secondary = normal + _FALLBACK_WEIGHT[b.twist] * fallback
        elif b.twist:
            secondary = _unit(vectors[b.twist]) + 0.05 * fallback
        else:
            secondary = fallback
        world[b_i] = _frame_rotation(rest, b.up, aim, secondary)

    local = np.zeros((frames, len(names), 4))
    for b_i in range(len(names)):
        p = parents[b_i]
        rot = world[b_i] if p < 0 else world[p].inv() * world[b_i]
        local[:, b_i] = rot.as_quat()
    return BvhSolution(names, parents, offsets, hips_mid, local, _forward(parents, offsets, hips_mid, local))


def _forward(parents, offsets: np.ndarray, root: np.ndarray, local: np.ndarray) -> np.ndarray:
    """World positions (F, B, 3) by BVH forward kinematics."""
    from scipy.spatial.transform import Rotation

    frames, count = local.shape[:2]
    out = np.zeros((frames, count, 3))
    world: list = [None] * count
    for j in range(count):
        rot = Rotation.from_quat(local[:, j])
        p = parents[j]
        if p < 0:
            world[j], out[:, j] = rot, root
        else:
            world[j] = world[p] * rot
            out[:, j] = out[:, p] + world[p].apply(offsets[j])
    return out


def encoded_motion(motion: Motion) -> Motion:
    """The canonical motion a BVH export of `motion` encodes (rigid bones; pelvis/neck = midpoints).

    Differs from `motion` only where its bone lengths vary or its pelvis/neck are not midpoints.
    """
    sol = solve_bvh(motion)
    at = {b.source: i for i, b in enumerate(_SKELETON) if b.source}
    cols = {n: sol.positions[:, at[n]] for n in at}
    cols["pelvis"] = 0.5 * (cols["left_hip"] + cols["right_hip"])
    cols["neck"] = 0.5 * (cols["left_shoulder"] + cols["right_shoulder"])
    joints = np.stack([cols[n] for n in CANONICAL_JOINTS], axis=1)
    return Motion(joints=joints, fps=motion.fps, meta=dict(motion.meta))


def _fmt(values: np.ndarray) -> str:
    return " ".join(f"{v:.4f}" for v in values)


def write_bvh(motion: Motion, path: str | os.PathLike, *, names: str = "mixamo") -> Path:
    """Write `motion` as a BVH file, atomically.

    Units: centimetres (Mixamo's and Blender's BVH importer default), Y up, facing +z in the rest
    T-pose. Root "Hips" has 6 channels (Xposition Yposition Zposition Zrotation Xrotation Yrotation),
    the others 3 (Zrotation Xrotation Yrotation), Euler angles in degrees, intrinsic ZXY.
    names: "mixamo" (Hips, LeftArm, ...) or "mixamorig" ("mixamorig:Hips", ... as Mixamo downloads).
    """
    from scipy.spatial.transform import Rotation

    path = Path(path)
    if names not in ("mixamo", "mixamorig"):
        raise input_error(path, f"unknown BVH naming {names!r}; use 'mixamo' or 'mixamorig'")
    if not motion.fps > 0:
        raise input_error(path, f"frame rate must be positive, got {motion.fps}")
    sol = solve_bvh(motion, path)
    prefix = "mixamorig:" if names == "mixamorig" else ""
    children: dict[int, list[int]] = {i: [] for i in range(len(sol.names))}
    for i, p in enumerate(sol.parents):
        if p >= 0:
            children[p].append(i)

    lines = ["HIERARCHY"]

    def emit(j: int, depth: int) -> None:
        ind = "  " * depth
        name = sol.names[j]
        if sol.parents[j] < 0:
            lines.append(f"ROOT {prefix}{name}")
            chans = "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"
        else:
            lines.append(f"{ind}JOINT {prefix}{name}")
            chans = "CHANNELS 3 Zrotation Xrotation Yrotation"
        lines.append(f"{ind}{{")
        lines.append(f"{ind}  OFFSET {_fmt(sol.offsets[j] * CM_PER_M)}")
        lines.append(f"{ind}  {chans}")
        for c in children[j]:
            emit(c, depth + 1)
        if not children[j]:
            end = np.asarray(_END_SITES.get(name, (0.0, 0.05, 0.0))) * CM_PER_M
            lines.extend([f"{ind}  End Site", f"{ind}  {{", f"{ind}    OFFSET {_fmt(end)}", f"{ind}  }}"])
        lines.append(f"{ind}}}")

    emit(0, 0)
    # Depth-first order: the order the channels appear in the MOTION rows.
    order: list[int] = []

    def walk(j: int) -> None:
        order.append(j)
        for c in children[j]:
            walk(c)

    walk(0)
    frames = sol.local.shape[0]
    euler = np.zeros((frames, len(order), 3))
    for k, j in enumerate(order):
        e = Rotation.from_quat(sol.local[:, j]).as_euler("ZXY", degrees=True)
        # Adding 360 to one Euler angle keeps the rotation, so unwrapping removes +-180 flips that
        # would make animation curves jump.
        euler[:, k] = np.degrees(np.unwrap(np.radians(e), axis=0))
    rows = np.concatenate([sol.root * CM_PER_M, euler.reshape(frames, -1)], axis=1)
    lines += ["MOTION", f"Frames: {frames}", f"Frame Time: {1.0 / float(motion.fps):.8f}"]
    lines += [_fmt(r) for r in rows]
    write_text_atomic(path, "\n".join(lines) + "\n")
    return path
