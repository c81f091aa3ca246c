"""The canonical skeleton every reader converts into and every model and writer reads from.

Metres, right-handed, y up; 18 named joints with parents. `Motion` bundles joints with their frame rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Order matters: models and saved arrays index joints by position in this tuple.
CANONICAL_JOINTS: tuple[str, ...] = (
    "pelvis",  # 0 root: midpoint of the hips
    "spine",  # 1 waist / lower spine
    "neck",  # 2 midpoint of the shoulders
    "head",  # 3
    "left_shoulder",  # 4
    "left_elbow",  # 5
    "left_wrist",  # 6
    "right_shoulder",  # 7
    "right_elbow",  # 8
    "right_wrist",  # 9
    "left_hip",  # 10
    "left_knee",  # 11
    "left_ankle",  # 12
    "left_foot",  # 13 toe
    "right_hip",  # 14
    "right_knee",  # 15
    "right_ankle",  # 16
    "right_foot",  # 17 toe
)

_PARENT_NAMES: dict[str, str | None] = {
    "pelvis": None,
    "spine": "pelvis",
    "neck": "spine",
    "head": "neck",
    "left_shoulder": "neck",
    "left_elbow": "left_shoulder",
    "left_wrist": "left_elbow",
    "right_shoulder": "neck",
    "right_elbow": "right_shoulder",
    "right_wrist": "right_elbow",
    "left_hip": "pelvis",
    "left_knee": "left_hip",
    "left_ankle": "left_knee",
    "left_foot": "left_ankle",
    "right_hip": "pelvis",
    "right_knee": "right_hip",
    "right_ankle": "right_knee",
    "right_foot": "right_ankle",
}

CANONICAL_PARENTS: tuple[int, ...] = tuple(
    -1 if _PARENT_NAMES[n] is None else CANONICAL_JOINTS.index(_PARENT_NAMES[n]) for n in CANONICAL_JOINTS
)
NUM_JOINTS = len(CANONICAL_JOINTS)

# (child, parent) index pairs: the bones whose lengths cleaning normalises and metrics check.
BONES: tuple[tuple[int, int], ...] = tuple((j, p) for j, p in enumerate(CANONICAL_PARENTS) if p >= 0)

# Mirror map: index of the joint on the other side (itself for central joints).
MIRROR: tuple[int, ...] = tuple(
    CANONICAL_JOINTS.index(n.replace("left_", "@").replace("right_", "left_").replace("@", "right_"))
    for n in CANONICAL_JOINTS
)

FEET: tuple[int, ...] = tuple(
    CANONICAL_JOINTS.index(n) for n in ("left_ankle", "left_foot", "right_ankle", "right_foot")
)


def joint_index(name: str) -> int:
    """Index of a canonical joint by name; raises KeyError with the valid names."""
    try:
        return CANONICAL_JOINTS.index(name)
    except ValueError:
        raise KeyError(
            f"unknown joint {name!r}; canonical joints are {', '.join(CANONICAL_JOINTS)}"
        ) from None


@dataclass
class Motion:
    """A dance as joint positions.

    joints: (T, J, 3) float32, metres, right-handed, y up, in the order of `joint_names`.
    fps: frames per second.
    joint_names / parents: the skeleton (defaults to the canonical one).
    """

    joints: np.ndarray
    fps: float
    joint_names: tuple[str, ...] = CANONICAL_JOINTS
    parents: tuple[int, ...] = CANONICAL_PARENTS
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.joints = np.asarray(self.joints, dtype=np.float32)
        if self.joints.ndim != 3 or self.joints.shape[2] != 3:
            raise ValueError(f"joints must be (T, J, 3), got {self.joints.shape}")
        if self.joints.shape[1] != len(self.joint_names):
            raise ValueError(f"{self.joints.shape[1]} joints but {len(self.joint_names)} names")
        self.joint_names = tuple(self.joint_names)
        self.parents = tuple(int(p) for p in self.parents)

    @property
    def num_frames(self) -> int:
        return int(self.joints.shape[0])

    @property
    def duration(self) -> float:
        """Seconds."""
        return self.num_frames / float(self.fps)
