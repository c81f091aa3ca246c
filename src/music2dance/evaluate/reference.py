"""What every row is measured against: the train split's clips, measured once (`build_reference`).

Also the protocol's clip layout (`clips`, `clip_count`) and clip features (`clip_features`), so that the
reference and the rows cut and measure clips the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import input_error
from . import metrics as M
from . import sets as S
from .baselines import EvalDance, PreparedSequence, data_mean_pose
from .features import clip_starts, geometric_features, kinetic_features, motion_statistics
from .protocol import Protocol


@dataclass
class Reference:
    """What every row is compared against: the train split's clips (features, statistics, dance of each
    clip), the style classifier, the freezing threshold, the mean pose, and cached noise floors."""

    kinetic: np.ndarray  # (N, 3 J)
    geometric: np.ndarray  # (N, 32)
    stats: np.ndarray  # (N, F) motion statistics for the C2ST
    groups: np.ndarray  # (N,) name of the training dance of each clip
    styles: np.ndarray  # (N,)
    classifier: M.NearestCentroid
    freeze_threshold: float  # m/s
    pose: np.ndarray  # (J, 3)
    floors: dict = field(default_factory=dict)  # (statistic, n clips or dances) -> (draws,) floor values


def clip_features(joints: np.ndarray, proto: Protocol) -> tuple[np.ndarray, np.ndarray]:
    """(kinetic (3 J,), geometric (32,)) features of one clip (T, J, 3) m under the protocol's variants."""
    k = kinetic_features(
        joints, proto.fps, window=proto.kinetic_window_frames, bugged_acceleration=proto.bugged_acceleration
    )
    b = proto.body_sizes()
    g = geometric_features(
        joints,
        proto.fps,
        humerus_m=b["humerus_m"],
        shoulder_width_m=b["shoulder_width_m"],
        hip_width_m=b["hip_width_m"],
        published_hand_up=proto.geo_published_hand_up,
        fixed_frame_time=proto.geo_fixed_frame_time,
    )
    return k, g


def clips(n_frames: int, proto: Protocol) -> list[tuple[int, int]]:
    """(start, stop) frames of the protocol's clips of a dance of n_frames."""
    return clip_starts(
        n_frames, proto.fps, clip_s=proto.clip_s, hop_s=proto.clip_hop_s, min_clip_s=proto.min_clip_s
    )


def clip_count(dances: list[EvalDance], proto: Protocol) -> int:
    """Number of protocol clips a row of dances gives."""
    return sum(len(clips(len(d.joints), proto)) for d in dances)


def build_reference(train: list[PreparedSequence], proto: Protocol) -> Reference:
    """Clip features and statistics, style classifier, freezing threshold and mean pose of the train split."""
    ks, gs, ss, grp, st, energies = [], [], [], [], [], []
    for s in train:
        for a, b in clips(len(s.joints), proto):
            k, g = clip_features(s.joints[a:b], proto)
            ks.append(k)
            gs.append(g)
            ss.append(motion_statistics(s.joints[a:b], proto.fps))
            grp.append(s.name)
            st.append(s.style)
        energies.append(M.motion_energy(s.joints, proto.fps, window_s=proto.energy_window_s))
    if len(ks) < 2:
        raise input_error(
            "train split", f"needs at least 2 clips of {proto.clip_s:g} s to fit against, got {len(ks)}"
        )
    kin, geo = np.stack(ks), np.stack(gs)
    styles = np.array(st)
    clf = M.NearestCentroid().fit(_style_input(kin, geo, kin, geo, proto), styles)
    e = np.concatenate(energies) if energies else np.zeros(1)
    return Reference(
        kin,
        geo,
        np.stack(ss),
        np.array(grp),
        styles,
        clf,
        proto.freeze_fraction_of_real * float(np.median(e)),
        data_mean_pose(train),
    )


def _style_input(rk, rg, kin, geo, proto: Protocol) -> np.ndarray:
    """Kinetic + geometric features standardised by the reference's (the style classifier's input)."""
    return np.concatenate(
        [
            S.standardize(rk, kin, min_std=proto.min_std_kinetic)[1],
            S.standardize(rg, geo, min_std=proto.min_std_geometric)[1],
        ],
        axis=1,
    )


def style_input(ref: Reference, kin: np.ndarray, geo: np.ndarray, proto: Protocol) -> np.ndarray:
    """The style classifier's input for clips with features kin (N, 3 J) and geo (N, 32)."""
    return _style_input(ref.kinetic, ref.geometric, kin, geo, proto)
