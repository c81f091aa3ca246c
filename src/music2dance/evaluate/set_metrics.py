"""Metrics of a row's set of clips against the train split's, each with its interval and noise floor.

FID, KID and Div per feature kind (`distance_metrics`), the classifier two-sample test (`c2st_metrics`),
and the "Dancing to Music" set metrics: diversity across songs, multimodality across seeds, style
accuracy (`paper_metrics`). Floors are cached in `Reference.floors`: rows of the same size share them.
"""

from __future__ import annotations

import math

import numpy as np

from . import c2st as C
from . import metrics as M
from . import sets as S
from .baselines import EvalDance
from .cells import entry, mean_entry, spread_entry
from .features import MOTION_STAT_NAMES
from .protocol import Protocol
from .reference import Reference, clip_features, clips, style_input


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
        out[f"{key}_floor"] = spread_entry(ref.floors[(key, n_common)], proto.ci)
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
        "c2st_floor": spread_entry(ref.floors[key], proto.ci),
    }
    return out, C.separating_features(real, stats, MOTION_STAT_NAMES)


def paper_metrics(
    kin: np.ndarray,
    geo: np.ndarray,
    clip_song: list[str],
    clip_style: list[str],
    ref: Reference,
    proto: Protocol,
    rng: np.random.Generator,
    seeds: list[list[EvalDance]] | None,
) -> dict[str, dict]:
    """Diversity across songs, multimodality across seeds, style accuracy ("Dancing to Music").

    kin (N, 3 J), geo (N, 32): the row's clip features; clip_song, clip_style (N,): each clip's song and
    style; seeds: the model's dances per seed (multimodality), None for reference rows.
    """
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
