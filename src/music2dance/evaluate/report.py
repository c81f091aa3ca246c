"""`music2dance evaluate`: every metric for the reference rows and the model: report.md, results.json, plots.

`run_evaluate` runs the steps, each in its own module: the split (`split`), the train split's reference
(`reference`), the model's dances (`generated`), one row per list of dances (`row`), the findings in plain
words (`findings`), report.md (`markdown`) and the figures (`plots`). All rows go through the same code at
the same number of clips; numbers carry intervals from resampled dances, distances their noise floors and
beat scores their chance levels, and the protocol is printed with them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path

import numpy as np

from ..io.atomic import write_text_atomic
from .baselines import EvalDance, ground_truth, mean_pose_row, retrieval_row, wrong_song_row
from .cells import finite
from .findings import callouts, separation
from .generated import generate_rows
from .markdown import render_markdown
from .reference import build_reference, clip_count, style_input
from .row import evaluate_row
from .split import load_split
from .table import MODEL_ROW, REFERENCE_ROWS

__all__ = ["MODEL_ROW", "REFERENCE_ROWS", "run_evaluate", "single_thread_blas"]

log = logging.getLogger(__name__)


def single_thread_blas():
    """A context in which BLAS uses one thread (threadpoolctl when installed, else no change).

    The matrices of the evaluation are small (at most ~1000 x 110); on this shared 2-core machine
    OpenBLAS's thread pool made a 111 x 111 solve 160 ms instead of 0.1 ms and a logistic regression fit
    1.7 s instead of 0.03 s (measured), so one thread is both faster and kinder to other processes.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn, not with us
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def _is_none(model) -> bool:
    return model is not None and str(model).strip().lower() == "none"


def run_evaluate(
    model,
    data,
    out,
    *,
    protocol=None,
    seed: int = 0,
    quick: bool = False,
    quiet: bool = False,
    published_features: bool = False,
) -> dict:
    """Evaluate reference rows and (unless model is "none") the model on the prepared data's test split.

    model: None (bundled model), a model folder, or "none" (reference rows only). data: prepared folder.
    out: report folder; writes report.md, results.json, energy.png, beat_alignment.png, frames.png
    atomically. protocol: None (the preset of the manifest's "dataset", tang when absent), a preset name
    (tang, aistpp, finedance), a `Protocol`, a dict or a JSON file of overrides; quick shrinks it;
    published_features turns on every published feature variant. Returns the results dict.
    """
    from tqdm import tqdm

    from . import plots

    man, proto, train, test = load_split(data, protocol, quick=quick, published_features=published_features)
    rng = np.random.default_rng(seed)
    with single_thread_blas():
        ref = build_reference(train, proto)
    row_dances: dict[str, list[EvalDance]] = {
        "ground truth": ground_truth(test, proto.fps),
        "mean pose": mean_pose_row(test, ref.pose, proto.fps),
        "wrong song": wrong_song_row(test, train, proto.fps, rng),
        "retrieval": retrieval_row(test, train, proto.fps),
    }
    seeds = None
    model_name = "none"
    if not _is_none(model):
        model_name = "bundled" if model is None else str(model)
        seeds = generate_rows(model, test, proto, seed, quiet)
        row_dances[MODEL_ROW] = seeds[0]
    # every row is compared at the same number of clips: FID grows as a set shrinks
    n_common = min(clip_count(ds, proto) for ds in row_dances.values())
    rows, details = {}, {}
    with single_thread_blas():
        for name in tqdm(list(row_dances), desc="evaluating", disable=quiet):
            rows[name], details[name] = evaluate_row(
                row_dances[name], ref, proto, rng, seeds if name == MODEL_ROW else None, n_common=n_common
            )
    style_accuracy = np.mean(
        ref.classifier.predict(style_input(ref, ref.kinetic, ref.geometric, proto)) == ref.styles
    )
    results = {
        "protocol": proto.to_dict(),
        "model": model_name,
        "seed": int(seed),
        "data": {
            "path": str(Path(data)),
            "dataset": man.get("dataset"),
            "data_hash": man.get("data_hash"),
            "fps_in": float(man.get("fps", proto.fps)),
            "n_train": len(train),
            "n_test": len(test),
            "test_songs": [s.name for s in test],
            "n_reference_clips": int(len(ref.kinetic)),
            "n_reference_dances": int(len(np.unique(ref.groups))),
            "style_classifier_train_accuracy": finite(style_accuracy),
        },
        "rows": rows,
        "row_sources": {r: [d.source for d in ds] for r, ds in row_dances.items()},
        "counts": {
            r: {"clips": d.n_clips, "compared": min(n_common, d.n_clips), "dances": d.n_dances}
            for r, d in details.items()
        },
        "separating_features": {r: d.separating for r, d in details.items() if d.separating},
        "freeze_threshold_m_s": ref.freeze_threshold,
        "callouts": callouts(rows),
        "separation": separation(rows),
    }
    out = Path(out)
    os.makedirs(out, exist_ok=True)
    plots.write_plots(details, proto, out)
    write_text_atomic(out / "results.json", json.dumps(results, indent=1))
    write_text_atomic(out / "report.md", render_markdown(results))
    log.info("evaluation written to %s (%d rows)", out, len(rows))
    return results
