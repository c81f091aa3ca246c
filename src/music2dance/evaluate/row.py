"""One row of the evaluation table: every metric of a list of dances against the training split's clips.

`build_reference` measures the train split once (clip features, clip statistics, style classifier,
thresholds); `evaluate_row` measures a row's dances and returns {metric: {value, ci_lo, ci_hi, n}}.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import input_error
from . import c2st as C
from . import metrics as M
from . import sets as S
from .baselines import EvalDance, PreparedSequence, data_mean_pose
from .features import (
    MOTION_STAT_NAMES,
    clip_starts,
    geometric_features,
    kinetic_features,
    motion_statistics,
    resample_joints,
)
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


# ---------------------------------------------------------------------------------------------- helpers


def _finite(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def entry(value: float, ci: tuple[float, float] = (math.nan, math.nan), n: int = 0) -> dict:
    """A table cell: {value, ci_lo, ci_hi, n}, nan stored as None."""
    return {"value": _finite(value), "ci_lo": _finite(ci[0]), "ci_hi": _finite(ci[1]), "n": int(n)}


def mean_entry(values, proto: Protocol, rng: np.random.Generator) -> dict:
    """Mean of per-dance (or per-clip) values with a bootstrap interval; nan values dropped."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return entry(math.nan)
    return entry(v.mean(), M.bootstrap_ci(v, n_boot=proto.n_bootstrap, ci=proto.ci, rng=rng), v.size)


def _spread_entry(draws: np.ndarray, ci: float) -> dict:
    """A floor or chance cell: mean of its draws, with the central ci range of the draws."""
    d = np.asarray(draws, dtype=np.float64)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return entry(math.nan)
    lo, hi = np.percentile(d, [50 * (1 - ci), 50 * (1 + ci)])
    return entry(d.mean(), (lo, hi), d.size)


def clip_features(joints: np.ndarray, proto: Protocol) -> tuple[np.ndarray, np.ndarray]:
    """(kinetic, geometric) features of one clip under the protocol's variants."""
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


# ------------------------------------------------------------------------------------------- reference


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
    return _style_input(ref.kinetic, ref.geometric, kin, geo, proto)


# ------------------------------------------------------------------------------------------ set metrics


def _style_mix(styles: np.ndarray, n: int) -> dict[str, int]:
    """{style: clips} of a row's clip styles, scaled to n clips in all."""
    u, c = np.unique(np.asarray(styles), return_counts=True)
    k = np.floor(c * n / max(c.sum(), 1)).astype(int)
    k[np.argmax(c)] += n - k.sum()
    return {str(a): int(b) for a, b in zip(u, k) if b > 0}


def distance_metrics(
    name: str,
    feats: np.ndarray,
    groups: np.ndarray,
    styles: np.ndarray,
    rfeats: np.ndarray,
    ref: Reference,
    n_common: int,
    proto: Protocol,
    rng: np.random.Generator,
) -> dict[str, dict]:
    """FID (point at n_common clips, FID_inf, interval, floor), KID (point, interval, floor) and Div of
    one feature kind (name "k" or "g") of a row. styles (M,): the style of each row clip's song; the noise
    floor draws train dances with the same mix of styles (every row has the test songs' mix)."""
    m = proto.min_std_kinetic if name == "k" else proto.min_std_geometric
    sets = S.StandardizedSets(rfeats, feats, min_std=m, ref_kernel=ref.floors.get(("kernel", name)))
    ref.floors[("kernel", name)] = sets.krr  # the reference's kernel matrix is the same for every row
    out: dict[str, dict] = {}
    n = len(feats)
    for key, stat, floor_stat in (
        (f"fid_{name}", sets.fid, sets.floor_fid),
        (f"kid_{name}", sets.kid, sets.floor_kid),
    ):
        point = S.at_size(lambda idx, stat=stat: stat(row_idx=idx), n, n_common, rng=rng)
        ci = S.half_sample_interval(
            stat,
            ref.groups,
            groups,
            point,
            n_draws=proto.n_subsamples,
            ci=proto.ci,
            positive=key.startswith("fid"),
            rng=rng,
        )
        out[key] = entry(point, ci, min(n, n_common))
        if (key, n_common) not in ref.floors:
            ref.floors[(key, n_common)] = S.noise_floor(
                floor_stat,
                ref.groups,
                n_common,
                n_draws=proto.n_floor,
                rng=rng,
                ref_strata=ref.styles,
                want=_style_mix(styles, n_common),
            )
        out[f"{key}_floor"] = _spread_entry(ref.floors[(key, n_common)], proto.ci)
    out[f"fid_{name}_inf"] = entry(
        S.fid_infinity(rfeats, feats, n_sizes=proto.fid_inf_sizes, rng=rng, min_std=m), n=n
    )

    def div(ref_mask, row_mask):
        return M.diversity(sets.zx[row_mask])

    point = M.diversity(sets.zx)
    ci = S.half_sample_interval(
        div, ref.groups, groups, point, n_draws=proto.n_subsamples, ci=proto.ci, positive=True, rng=rng
    )
    out[f"div_{name}"] = entry(point, ci, n)
    return out


def c2st_metrics(
    stats: np.ndarray,
    groups: np.ndarray,
    dance_styles: list[str],
    sources: set[str],
    ref: Reference,
    proto: Protocol,
    rng: np.random.Generator,
) -> tuple[dict[str, dict], list[tuple[str, float]]]:
    """C2ST of the row's clip statistics against the real training clips, its floor, and what separates.

    Training dances that the row reuses (wrong song, retrieval) are left out of the real side, or the
    classifier would be asked to call the same clip real and fake. The floor's pseudo-rows are training
    dances with the styles of the row's dances (dance_styles, one per dance).
    """
    keep = ~np.isin(ref.groups, list(sources))
    real, rgroups = ref.stats[keep], ref.groups[keep]
    res = C.c2st(
        real,
        rgroups,
        stats,
        groups,
        folds=proto.c2st_folds,
        repeats=proto.c2st_repeats,
        n_boot=proto.n_bootstrap,
        ci=proto.ci,
        rng=rng,
    )
    key = ("c2st", tuple(sorted(dance_styles)))
    if key not in ref.floors:
        dance_style = dict(zip(ref.groups.tolist(), ref.styles.tolist()))
        ref.floors[key] = C.c2st_floor(
            ref.stats,
            ref.groups,
            len(dance_styles),
            draws=proto.c2st_floor_draws,
            folds=proto.c2st_folds,
            rng=rng,
            styles=dance_style,
            want_styles=dance_styles,
        )
    out = {
        "c2st": entry(res["value"], (res["ci_lo"], res["ci_hi"]), len(stats)),
        "c2st_floor": _spread_entry(ref.floors[key], proto.ci),
    }
    return out, C.separating_features(real, stats, MOTION_STAT_NAMES)


# ------------------------------------------------------------------------------------------------ beats


def beat_metrics(d: EvalDance, proto: Protocol, rng: np.random.Generator) -> dict[str, float]:
    """Per-dance BAS of both published variants at bas_fps, beat hit rate and coverage, with chance levels.

    AIST++ variant: FACT's motion beats, mean over motion beats; Bailando variant: Bailando's motion beats,
    mean over music beats; both sigma = bas_sigma_frames at bas_fps, music beats = the song's beats in that
    dance's time span. Chance = the same score with the music beats circularly shifted at random.
    Also returns "distances": music beat -> nearest Bailando motion beat, frames at bas_fps (for the plot).
    """
    from ..motion.kinematic_beats import kinematic_beats

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
        return M.beat_hit_rate(kb, mb, proto.hit_tolerance_s)

    out["beat_hit_rate"] = hit(mus)
    out["beat_hit_rate_chance"] = M.shifted_chance(hit, mus, seconds, n_shifts=proto.n_beat_shifts, rng=rng)
    out["beat_coverage"] = M.beat_coverage(len(kb), len(mus))
    out["distances"] = M.beat_distances(music_f, bail)
    return out


# ---------------------------------------------------------------------------------------------- a row


def evaluate_row(
    dances: list[EvalDance],
    ref: Reference,
    proto: Protocol,
    rng: np.random.Generator,
    seeds: list[list[EvalDance]] | None = None,
    n_common: int | None = None,
) -> tuple[dict, dict]:
    """All metrics of one row -> (results {metric: {value, ci_lo, ci_hi, n}}, raw arrays for the plots).

    n_common: the number of clips every row is compared at (FID and KID points and floors); default this
    row's number of clips.
    """
    kin, geo, stats, clip_group, clip_song, clip_style = [], [], [], [], [], []
    pfc, skate, bone, dist_frames = [], [], [], []
    beats: dict[str, list[float]] = {}
    frozen, ratio, energy, pdist, pratio, jv, ja = ([] for _ in range(7))
    curves, pose_curves = [], []
    for di, d in enumerate(dances):
        x = d.joints
        T = len(x)
        for a, b in clips(T, proto):
            c = x[a:b]
            k, g = clip_features(c, proto)
            kin.append(k)
            geo.append(g)
            stats.append(motion_statistics(c, proto.fps))
            clip_group.append(f"row:{di}")
            clip_song.append(d.song)
            clip_style.append(d.style)
            pfc.append(M.physical_foot_contact(c, proto.fps))
            skate.append(
                M.foot_skating(
                    c, proto.fps, contact_height_m=proto.contact_height_m, ankle_offset_m=proto.ankle_offset_m
                )
            )
            bone.append(M.bone_length_variation(c)[0])
        # whole-dance metrics
        bm = beat_metrics(d, proto, rng)
        dist_frames.append(bm.pop("distances"))
        for key, v in bm.items():
            beats.setdefault(key, []).append(v)
        fz = M.freezing_stats(
            x,
            proto.fps,
            threshold=ref.freeze_threshold,
            window_s=proto.energy_window_s,
            trend_window_s=proto.trend_window_s,
        )
        frozen.append(fz["frozen_fraction"])
        ratio.append(fz["energy_ratio"])
        energy.append(fz["mean_energy"])
        pd = M.distance_to_mean_pose(x, ref.pose)
        pdist.append(pd.mean())
        n = int(round(proto.trend_window_s * proto.fps))
        pratio.append(
            pd[-n:].mean() / pd[:n].mean() if len(pd) >= 2 * n and pd[:n].mean() > 1e-6 else float("nan")
        )
        starts = d.unit_starts if d.unit_starts is not None else np.arange(0, T, proto.unit_frames)
        j = M.boundary_jump_ratio(x, starts)
        jv.append(j["velocity_ratio"])
        ja.append(j["acceleration_ratio"])
        curves.append(M.motion_energy(x, proto.fps, window_s=proto.energy_window_s))
        pose_curves.append(pd)

    res: dict[str, dict] = {}
    kin, geo, stats = np.array(kin), np.array(geo), np.array(stats)
    groups = np.array(clip_group)
    n = len(kin)
    n_common = n if n_common is None else min(n_common, n)
    separating: list[tuple[str, float]] = []
    if n >= 2:
        for name, feats, rfeats in (("k", kin, ref.kinetic), ("g", geo, ref.geometric)):
            res.update(
                distance_metrics(name, feats, groups, np.array(clip_style), rfeats, ref, n_common, proto, rng)
            )
        dance_styles = [d.style for d in dances]
        c2, separating = c2st_metrics(
            stats, groups, dance_styles, {d.source for d in dances}, ref, proto, rng
        )
        res.update(c2)
    for key, vals in beats.items():
        res[key] = mean_entry(vals, proto, rng)
    res.update(_paper_metrics(dances, kin, geo, clip_song, clip_style, ref, proto, rng, seeds))
    for key, vals in (
        ("pfc", pfc),
        ("foot_skating", skate),
        ("bone_std_cm", bone),
        ("jump_velocity_ratio", jv),
        ("jump_acceleration_ratio", ja),
        ("frozen_fraction", frozen),
        ("energy_ratio", ratio),
        ("mean_energy", energy),
        ("pose_distance", pdist),
        ("pose_distance_ratio", pratio),
    ):
        res[key] = mean_entry(vals, proto, rng)
    raw = {
        "energy": curves,
        "pose_distance": pose_curves,
        "beat_distances": np.concatenate(dist_frames) if dist_frames else np.zeros(0),
        "first_dance": dances[0].joints if dances else np.zeros((0, 18, 3)),
        "n_clips": n,
        "n_dances": len(dances),
        "separating": separating,
    }
    return res, raw


def _paper_metrics(dances, kin, geo, clip_song, clip_style, ref: Reference, proto, rng, seeds) -> dict:
    """Diversity across songs, multimodality across seeds, style accuracy ("Dancing to Music")."""
    m = proto.min_std_kinetic
    res = {}
    # diversity across songs: each song's first clip, kinetic features standardised by the train split
    first: dict[str, np.ndarray] = {}
    for s, k in zip(clip_song, kin):
        first.setdefault(s, k)
    fk = np.array(list(first.values()))

    def div(r, x):
        return M.diversity(S.standardize(r, x, min_std=m)[1])

    if len(fk) >= 2:
        zs = S.standardize(ref.kinetic, fk, min_std=m)[1]
        point = M.diversity(zs)
        ci = S.half_sample_interval(
            lambda _, row_mask: M.diversity(zs[row_mask]),
            ref.groups,
            np.arange(len(fk)),
            point,
            n_draws=proto.n_subsamples,
            ci=proto.ci,
            positive=True,
            rng=rng,
        )
        res["diversity"] = entry(point, ci, len(fk))
    else:
        res["diversity"] = entry(math.nan)
    res["multimodality"] = entry(math.nan)
    if seeds and len(seeds) > 1:
        per_song = []
        for songs in zip(*seeds):
            fs = []
            for d in songs:
                cl = clips(len(d.joints), proto)
                if cl:
                    fs.append(clip_features(d.joints[cl[0][0] : cl[0][1]], proto)[0])
            if len(fs) > 1:
                per_song.append(div(ref.kinetic, np.array(fs)))
        res["multimodality"] = mean_entry(per_song, proto, rng)
    if len(kin):
        pred = ref.classifier.predict(style_input(ref, kin, geo, proto))
        res["style_accuracy"] = mean_entry((pred == np.array(clip_style)).astype(float), proto, rng)
    else:
        res["style_accuracy"] = entry(math.nan)
    return res


def clip_count(dances: list[EvalDance], proto: Protocol) -> int:
    """Number of protocol clips a row of dances gives."""
    return sum(len(clips(len(d.joints), proto)) for d in dances)
