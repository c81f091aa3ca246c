"""BVH motion capture reader: hierarchy, channels in any order, forward kinematics to world positions.

`bvh_to_motion` maps CMU (cgspeed/Poser), Bandai Namco and Mixamo joint names onto the canonical skeleton.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from ..errors import input_error
from .skeleton import CANONICAL_JOINTS, FEET, Motion

_ROT_CHANNELS = {"xrotation": "X", "yrotation": "Y", "zrotation": "Z"}
_POS_CHANNELS = {"xposition": 0, "yposition": 1, "zposition": 2}


@dataclass
class BvhData:
    """A parsed BVH file. J counts joints and end sites (end sites have no channels).

    names (J,): joint names; end sites are named '<parent>_end'.
    parents (J,): parent index, -1 for the root.
    offsets (J, 3): rest offsets from the parent, file units.
    channels (J,): channel names per joint, in file order.
    frame_time: seconds per frame.
    rotations (F, J, 4): local rotations as quaternions (x, y, z, w); identity where a joint has none.
    translations (F, J, 3): local translations (the OFFSET, replaced per axis by position channels).
    """

    names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: np.ndarray
    channels: tuple[tuple[str, ...], ...]
    frame_time: float
    rotations: np.ndarray
    translations: np.ndarray
    path: str = ""

    @property
    def fps(self) -> float:
        """Frames per second; snapped to an integer when Frame Time is a rounded 1/n (0.00833333)."""
        fps = 1.0 / self.frame_time
        return float(round(fps)) if abs(fps - round(fps)) < 1e-4 * fps else fps

    @property
    def num_frames(self) -> int:
        return int(self.rotations.shape[0])

    @property
    def root_positions(self) -> np.ndarray:
        """(F, 3) root translation per frame, file units."""
        return self.translations[:, 0]

    def world_positions(self) -> np.ndarray:
        """(F, J, 3) world positions by forward kinematics, file units."""
        F, J = self.rotations.shape[:2]
        out = np.zeros((F, J, 3))
        world_rot: list[Rotation] = [None] * J  # type: ignore[list-item]
        for j in range(J):
            local = Rotation.from_quat(self.rotations[:, j])
            p = self.parents[j]
            if p < 0:
                world_rot[j] = local
                out[:, j] = self.translations[:, j]
            else:
                world_rot[j] = world_rot[p] * local
                out[:, j] = out[:, p] + world_rot[p].apply(self.translations[:, j])
        return out


def _tokens(text: str) -> list[str]:
    return text.split()


def read_bvh(path: str | os.PathLike) -> BvhData:
    """Parse a BVH file (any rotation order, 3- or 6-channel joints, end sites)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise input_error(path, f"cannot read BVH ({e.strerror or e})") from None
    head, sep, motion_text = text.partition("MOTION")
    if not sep or "HIERARCHY" not in head:
        raise input_error(path, "not a BVH file (needs HIERARCHY and MOTION sections)")
    try:
        return _parse(path, _tokens(head.split("HIERARCHY", 1)[1]), motion_text)
    except (ValueError, IndexError) as e:
        raise input_error(path, f"malformed BVH ({e})") from None


def _parse(path: Path, tok: list[str], motion_text: str) -> BvhData:
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[tuple[str, ...]] = []
    stack: list[int] = []
    i = 0
    pending: int | None = None
    while i < len(tok):
        t = tok[i]
        tl = t.lower()
        if tl in ("root", "joint"):
            name = tok[i + 1]
            pending = len(names)
            names.append(name)
            parents.append(stack[-1] if stack else -1)
            offsets.append([0.0, 0.0, 0.0])
            channels.append(())
            i += 2
        elif tl == "end":  # "End Site"
            if not stack:
                raise ValueError("End Site outside a joint")
            pending = len(names)
            names.append(f"{names[stack[-1]]}_end")
            parents.append(stack[-1])
            offsets.append([0.0, 0.0, 0.0])
            channels.append(())
            i += 2
        elif t == "{":
            if pending is None:
                raise ValueError("'{' without a joint")
            stack.append(pending)
            pending = None
            i += 1
        elif t == "}":
            if not stack:
                raise ValueError("unbalanced '}'")
            stack.pop()
            i += 1
        elif tl == "offset":
            offsets[stack[-1]] = [float(x) for x in tok[i + 1 : i + 4]]
            i += 4
        elif tl == "channels":
            n = int(tok[i + 1])
            chans = tuple(tok[i + 2 : i + 2 + n])
            bad = [c for c in chans if c.lower() not in _ROT_CHANNELS and c.lower() not in _POS_CHANNELS]
            if bad:
                raise ValueError(f"unknown channel {bad[0]!r}")
            channels[stack[-1]] = chans
            i += 2 + n
        else:
            raise ValueError(f"unexpected token {t!r} in HIERARCHY")
    if not names:
        raise ValueError("no joints")
    if stack:
        raise ValueError("unbalanced '{'")

    m = re.search(r"Frames:\s*(\d+)\s*Frame\s+Time:\s*([0-9.eE+-]+)", motion_text)
    if not m:
        raise ValueError("missing 'Frames:' / 'Frame Time:'")
    n_frames, frame_time = int(m.group(1)), float(m.group(2))
    if frame_time <= 0:
        raise ValueError(f"Frame Time must be positive, got {frame_time}")
    n_chan = sum(len(c) for c in channels)
    if n_chan == 0:
        raise ValueError("no joint has channels")
    if not 1e-4 <= frame_time <= 1.0:
        raise ValueError(f"Frame Time {frame_time} s is outside 0.0001-1 s (1-10000 fps)")
    # One frame per line, each with exactly the hierarchy's channel count: a file with extra or missing
    # values per row is refused, never misread into a garbled figure.
    rows = [ln.split() for ln in motion_text[m.end() :].splitlines() if ln.strip()]
    if len(rows) < n_frames:
        raise ValueError(f"expected {n_frames} frames of {n_chan} channels, got {len(rows)} frame rows")
    for k, row in enumerate(rows[:n_frames]):
        if len(row) != n_chan:
            raise ValueError(f"frame {k + 1} has {len(row)} values; the hierarchy has {n_chan} channels")
    values = np.array(rows[:n_frames], dtype=np.float64).reshape(n_frames, n_chan)
    if not np.isfinite(values).all():
        raise ValueError("non-finite channel values")

    J = len(names)
    off = np.asarray(offsets, dtype=np.float64)
    rot = np.zeros((n_frames, J, 4))
    rot[..., 3] = 1.0
    trans = np.broadcast_to(off, (n_frames, J, 3)).copy()
    col = 0
    for j, chans in enumerate(channels):
        order = ""
        rot_cols = []
        for c in chans:
            cl = c.lower()
            if cl in _POS_CHANNELS:
                # Position channels replace the OFFSET (exporters such as Bandai's write both equal).
                trans[:, j, _POS_CHANNELS[cl]] = values[:, col]
            else:
                order += _ROT_CHANNELS[cl]
                rot_cols.append(col)
            col += 1
        if order:
            # Uppercase = intrinsic: BVH channel order left-to-right is the matrix product order.
            rot[:, j] = Rotation.from_euler(order, values[:, rot_cols], degrees=True).as_quat()
    return BvhData(
        names=tuple(names),
        parents=tuple(parents),
        offsets=off,
        channels=tuple(channels),
        frame_time=frame_time,
        rotations=rot,
        translations=trans,
        path=str(path),
    )


def _norm(name: str) -> str:
    n = name.lower()
    n = re.sub(r"^.*:", "", n)  # "mixamorig:LeftArm"
    n = n.replace("mixamorig", "")
    return re.sub(r"[^a-z0-9]", "", n)


# Canonical joint -> accepted normalised names, in order of preference (CMU/Poser, Bandai, Mixamo, others).
# Pelvis and neck are not looked up: they are midpoints of the hips and of the shoulders, as for Tang.
_NAME_TABLE: dict[str, tuple[str, ...]] = {
    "spine": ("abdomen", "spine", "spine1", "lowerback", "spine01", "waist"),
    "head": ("head", "neckend", "headend"),
    "left_shoulder": ("lshldr", "upperarml", "leftarm", "leftupperarm", "lupperarm", "lhumerus"),
    "left_elbow": ("lforearm", "lowerarml", "leftforearm", "leftlowerarm", "llowerarm", "lradius"),
    "left_wrist": ("lhand", "handl", "lefthand", "lwrist"),
    "right_shoulder": ("rshldr", "upperarmr", "rightarm", "rightupperarm", "rupperarm", "rhumerus"),
    "right_elbow": ("rforearm", "lowerarmr", "rightforearm", "rightlowerarm", "rlowerarm", "rradius"),
    "right_wrist": ("rhand", "handr", "righthand", "rwrist"),
    "left_hip": ("lthigh", "upperlegl", "leftupleg", "leftupperleg", "lupleg", "lfemur"),
    "left_knee": ("lshin", "lowerlegl", "leftleg", "leftlowerleg", "lleg", "ltibia"),
    "left_ankle": ("lfoot", "footl", "leftfoot", "lankle"),
    "left_foot": ("toesl", "lefttoebase", "lefttoe", "ltoes", "ltoe", "ltoebase", "lefttoeend", "lfootend"),
    "right_hip": ("rthigh", "upperlegr", "rightupleg", "rightupperleg", "rupleg", "rfemur"),
    "right_knee": ("rshin", "lowerlegr", "rightleg", "rightlowerleg", "rleg", "rtibia"),
    "right_ankle": ("rfoot", "footr", "rightfoot", "rankle"),
    "right_foot": (
        "toesr",
        "righttoebase",
        "righttoe",
        "rtoes",
        "rtoe",
        "rtoebase",
        "righttoeend",
        "rfootend",
    ),
}


def _map_joints(data: BvhData) -> dict[str, int]:
    norm = {}
    for j, n in enumerate(data.names):
        norm.setdefault(_norm(n), j)
    found, missing = {}, []
    for canon, options in _NAME_TABLE.items():
        idx = next((norm[o] for o in options if o in norm), None)
        if idx is None and canon.endswith("_foot"):
            # No toe joint: use the ankle's end site or, failing that, its only child.
            ankle = found.get(canon.replace("_foot", "_ankle"))
            kids = [j for j, p in enumerate(data.parents) if ankle is not None and p == ankle]
            idx = kids[0] if len(kids) == 1 else None
        if idx is None:
            missing.append(canon)
        else:
            found[canon] = idx
    if missing:
        raise input_error(data.path or "<bvh>", f"unknown joint layout: no joint for {', '.join(missing)}")
    return found


# Unit rule: the head-to-ankle chain of rest offsets is ~85-95 % of body height.
# Metres below 3, inches between 30 and 110 (a 1.7 m adult is 67 in), centimetres from 110 to 300.
def _unit_scale(data: BvhData, idx: dict[str, int]) -> float:
    def chain(j: int) -> list[int]:
        out = []
        while j >= 0:
            out.append(j)
            j = data.parents[j]
        return out

    up, down = chain(idx["head"]), chain(idx["left_ankle"])
    common = set(up) & set(down)
    length = sum(np.linalg.norm(data.offsets[j]) for j in up + down if j not in common)
    if length < 3.0:
        return 1.0
    if 30.0 <= length < 110.0:
        return 0.0254
    if 110.0 <= length < 300.0:
        return 0.01
    raise input_error(
        data.path or "<bvh>", f"cannot tell the unit: head-to-ankle chain is {length:.3g} units"
    )


def bvh_to_motion(path_or_data: str | os.PathLike | BvhData) -> Motion:
    """BVH -> canonical Motion (metres, y up, right-handed as BVH is; fps from Frame Time).

    pelvis = midpoint of the hips and neck = midpoint of the shoulders (the Tang definitions).
    When the root has no position channels the figure would hang at the origin, so its lowest
    foot points (2nd percentile over the take) are put on y = 0.
    """
    data = path_or_data if isinstance(path_or_data, BvhData) else read_bvh(path_or_data)
    idx = _map_joints(data)
    scale = _unit_scale(data, idx)
    world = data.world_positions() * scale
    cols = {k: world[:, j] for k, j in idx.items()}
    cols["pelvis"] = 0.5 * (cols["left_hip"] + cols["right_hip"])
    cols["neck"] = 0.5 * (cols["left_shoulder"] + cols["right_shoulder"])
    joints = np.stack([cols[n] for n in CANONICAL_JOINTS], axis=1)
    if not any(c.lower() in _POS_CHANNELS for c in data.channels[0]):
        feet = joints[:, list(FEET), 1]
        joints[..., 1] -= np.percentile(feet, 2)
    return Motion(
        joints=joints.astype(np.float32),
        fps=data.fps,
        meta={"source": data.path, "bvh_unit_to_m": scale},
    )
