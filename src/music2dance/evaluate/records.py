"""Measuring one dance: its clips' features and scores, and its whole-dance scores, as one record.

`measure_dance` turns an `EvalDance` into a `DanceRecord`: a `ClipRecord` per protocol clip (features for
the set metrics, physical scores) and the dance's beat, freezing, pose-distance and unit-boundary scores.
`row.summarise_row` aggregates a row's records. Score keys are the report's metric keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..motion.geometry import resample_joints
from ..motion.kinematic_beats import hit_rate, kinematic_beats
from . import metrics as M
from .baselines import EvalDance
from .features import motion_statistics
from .protocol import Protocol
from .reference import Reference, clip_features, clips

CLIP_SCORES = ("pfc", "foot_skating", "bone_std_cm")
BEAT_SCORES = (
    "bas_aist",
    "bas_aist_chance",
    "bas_bailando",
    "bas_bailando_chance",
    "beat_hit_rate",
    "beat_hit_rate_chance",
    "beat_coverage",
)
DANCE_SCORES = (
    "jump_velocity_ratio",
    "jump_acceleration_ratio",
    "frozen_fraction",
    "energy_ratio",
    "mean_energy",
    "pose_distance",
    "pose_distance_ratio",
)


@dataclass
class ClipRecord:
    """One protocol clip of a dance: features for the set metrics and its physical scores."""

    kinetic: np.ndarray  # (3 J,) kinetic features
    geometric: np.ndarray  # (32,) geometric features
    stats: np.ndarray  # (F,) motion statistics for the C2ST
    scores: dict[str, float]  # CLIP_SCORES: pfc (m/s)^2, foot_skating m/s, bone_std_cm cm


@dataclass
class DanceRecord:
    """One dance of a row: its clips, its whole-dance scores, and the curves the plots draw."""

    dance: EvalDance
    clips: list[ClipRecord]
    scores: dict[str, float]  # BEAT_SCORES and DANCE_SCORES (nan where undefined)
    beat_distances: np.ndarray  # (B,) music beat -> nearest Bailando motion beat, frames at bas_fps
    energy: np.ndarray  # (W,) mean joint speed per energy window, m/s
    pose_distance: np.ndarray  # (T,) distance to the data's mean pose per frame, m


def measure_clip(c: np.ndarray, proto: Protocol) -> ClipRecord:
    """The record of one clip c (T, J, 3) m at proto.fps."""
    k, g = clip_features(c, proto)
    skate = M.foot_skating(
        c, proto.fps, contact_height_m=proto.contact_height_m, ankle_offset_m=proto.ankle_offset_m
    )
    scores = {
        "pfc": M.physical_foot_contact(c, proto.fps),
        "foot_skating": skate,
        "bone_std_cm": M.bone_length_variation(c)[0],
    }
    return ClipRecord(k, g, motion_statistics(c, proto.fps), scores)


def measure_dance(d: EvalDance, ref: Reference, proto: Protocol, rng: np.random.Generator) -> DanceRecord:
    """The record of one dance: its clips, beat scores with chance levels, freezing, distance to the mean
    pose (trend = last / first trend_window_s), unit-boundary jumps (on the protocol's fixed grid when the
    dance has no unit starts)."""
    x = d.joints
    T = len(x)
    recs = [measure_clip(x[a:b], proto) for a, b in clips(T, proto)]
    scores, distances = beat_metrics(d, proto, rng)
    fz = M.freezing_stats(
        x,
        proto.fps,
        threshold=ref.freeze_threshold,
        window_s=proto.energy_window_s,
        trend_window_s=proto.trend_window_s,
    )
    pd = M.distance_to_mean_pose(x, ref.pose)
    n = int(round(proto.trend_window_s * proto.fps))
    trend = pd[-n:].mean() / pd[:n].mean() if len(pd) >= 2 * n and pd[:n].mean() > 1e-6 else float("nan")
    starts = d.unit_starts if d.unit_starts is not None else np.arange(0, T, proto.unit_frames)
    j = M.boundary_jump_ratio(x, starts)
    scores.update(
        jump_velocity_ratio=j["velocity_ratio"],
        jump_acceleration_ratio=j["acceleration_ratio"],
        frozen_fraction=fz["frozen_fraction"],
        energy_ratio=fz["energy_ratio"],
        mean_energy=fz["mean_energy"],
        pose_distance=pd.mean(),
        pose_distance_ratio=trend,
    )
    energy = M.motion_energy(x, proto.fps, window_s=proto.energy_window_s)
    return DanceRecord(d, recs, scores, distances, energy, pd)


def beat_metrics(
    d: EvalDance, proto: Protocol, rng: np.random.Generator
) -> tuple[dict[str, float], np.ndarray]:
    """Per-dance BAS of both published variants at bas_fps, beat hit rate and coverage, with chance levels
    ({BEAT_SCORES key: score}), and the music beat -> nearest Bailando motion beat distances (frames at
    bas_fps, for the plot).

    AIST++ variant: FACT's motion beats, mean over motion beats; Bailando variant: Bailando's motion beats,
    mean over music beats; both sigma = bas_sigma_frames at bas_fps, music beats = the song's beats in that
    dance's time span. Chance = the same score with the music beats circularly shifted at random.
    """
    x = d.joints
    T = len(x)
    seconds = T / proto.fps
    mus = np.asarray(d.music_beats, dtype=np.float64)
    mus = mus[(mus >= 0) & (mus < seconds)]
    up = resample_joints(x, proto.fps, proto.bas_fps) if proto.bas_fps > proto.fps + 1e-9 else x
    bfps = proto.bas_fps if proto.bas_fps > proto.fps + 1e-9 else proto.fps
    n = len(up)
    music_f = np.round(mus * bfps)
    music_f = music_f[music_f < n]
    order = max(int(round(proto.fact_order_frames * bfps / proto.bas_fps)), 1)
    fact = M.motion_beats_fact(up, order=order)
    bail = M.motion_beats_speed_minima(up, bfps, smooth_sigma_s=proto.speed_smooth_sigma_s)
    sig = proto.bas_sigma_frames * bfps / proto.bas_fps
    out = {}
    for key, mo, variant in (("bas_aist", fact, "aist"), ("bas_bailando", bail, "bailando")):

        def score(mb, mo=mo, variant=variant):
            return M.beat_align_score(mo, mb, variant=variant, sigma=sig)

        out[key] = score(music_f)
        out[f"{key}_chance"] = M.shifted_chance(score, music_f, n, n_shifts=proto.n_beat_shifts, rng=rng)
    kb = np.asarray(kinematic_beats(x, proto.fps), dtype=np.float64) / proto.fps

    def hit(mb):
        return hit_rate(kb, mb, proto.hit_tolerance_s)

    out["beat_hit_rate"] = hit(mus)
    out["beat_hit_rate_chance"] = M.shifted_chance(hit, mus, seconds, n_shifts=proto.n_beat_shifts, rng=rng)
    out["beat_coverage"] = M.beat_coverage(len(kb), len(mus))
    return out, M.beat_distances(music_f, bail)
