"""One row of the evaluation table: a list of dances measured (`records.measure_dance`) and aggregated.

`evaluate_row` measures each dance into a `DanceRecord`; `summarise_row` turns a row's records into
{metric: {value, ci_lo, ci_hi, n}}: set metrics over all the row's clips, means over clips (physical
scores) and over dances (beat, freezing, long-range and unit-boundary scores), each with its interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .baselines import EvalDance
from .cells import mean_entry
from .protocol import Protocol
from .records import BEAT_SCORES, CLIP_SCORES, DANCE_SCORES, DanceRecord, measure_dance
from .reference import Reference
from .set_metrics import c2st_metrics, distance_metrics, paper_metrics


@dataclass
class RowDetail:
    """What the report needs of a row besides its table cells: sizes, separating features, plot data."""

    n_clips: int
    n_dances: int
    separating: list[tuple[str, float]]  # the clip statistics that tell the row from real clips
    energy: list[np.ndarray]  # per dance (W,) mean joint speed per window, m/s
    pose_distance: list[np.ndarray]  # per dance (T,) distance to the mean pose, m
    beat_distances: np.ndarray  # (B,) over all dances, frames at bas_fps
    first_dance: np.ndarray  # (T, J, 3) m, the row's first dance


def evaluate_row(
    dances: list[EvalDance],
    ref: Reference,
    proto: Protocol,
    rng: np.random.Generator,
    seeds: list[list[EvalDance]] | None = None,
    n_common: int | None = None,
) -> tuple[dict, RowDetail]:
    """All metrics of one row -> (results {metric: {value, ci_lo, ci_hi, n}}, RowDetail).

    seeds: the model's dances per seed (for multimodality), None for reference rows. n_common: the number
    of clips every row is compared at (FID and KID points and floors); default this row's number of clips.
    """
    records = [measure_dance(d, ref, proto, rng) for d in dances]
    return summarise_row(records, ref, proto, rng, seeds, n_common)


def summarise_row(
    records: list[DanceRecord],
    ref: Reference,
    proto: Protocol,
    rng: np.random.Generator,
    seeds: list[list[EvalDance]] | None = None,
    n_common: int | None = None,
) -> tuple[dict, RowDetail]:
    """A row's records -> (results, RowDetail); see `evaluate_row`.

    Clip scores are averaged over all the row's clips, dance scores over its dances (a long dance counts
    once, not once per clip); every interval resamples what was averaged. The order of the metrics (and
    so of the random draws) is fixed, so a seed gives the same numbers.
    """
    clip_of = [(i, r, c) for i, r in enumerate(records) for c in r.clips]
    kin = np.array([c.kinetic for _, _, c in clip_of])
    geo = np.array([c.geometric for _, _, c in clip_of])
    stats = np.array([c.stats for _, _, c in clip_of])
    groups = np.array([f"row:{i}" for i, _, _ in clip_of])
    clip_song = [r.dance.song for _, r, _ in clip_of]
    clip_style = [r.dance.style for _, r, _ in clip_of]
    n = len(kin)
    n_common = n if n_common is None else min(n_common, n)
    res: dict[str, dict] = {}
    separating: list[tuple[str, float]] = []
    if n >= 2:
        for name, feats, rfeats in (("k", kin, ref.kinetic), ("g", geo, ref.geometric)):
            res.update(
                distance_metrics(name, feats, groups, np.array(clip_style), rfeats, ref, n_common, proto, rng)
            )
        dance_styles = [r.dance.style for r in records]
        sources = {r.dance.source for r in records}
        c2, separating = c2st_metrics(stats, groups, dance_styles, sources, ref, proto, rng)
        res.update(c2)
    if records:
        for key in BEAT_SCORES:
            res[key] = mean_entry([r.scores[key] for r in records], proto, rng)
    res.update(paper_metrics(kin, geo, clip_song, clip_style, ref, proto, rng, seeds))
    for key in CLIP_SCORES:
        res[key] = mean_entry([c.scores[key] for _, _, c in clip_of], proto, rng)
    for key in DANCE_SCORES:
        res[key] = mean_entry([r.scores[key] for r in records], proto, rng)
    detail = RowDetail(
        n_clips=n,
        n_dances=len(records),
        separating=separating,
        energy=[r.energy for r in records],
        pose_distance=[r.pose_distance for r in records],
        beat_distances=np.concatenate([r.beat_distances for r in records]) if records else np.zeros(0),
        first_dance=records[0].dance.joints if records else np.zeros((0, 18, 3)),
    )
    return res, detail
