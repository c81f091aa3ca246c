"""`music2dance evaluate`: every metric for the reference rows and the model: report.md, results.json, plots.

All rows go through the same code (`row.evaluate_row`), at the same number of clips; numbers carry intervals
from resampled dances, distances their noise floors and beat scores their chance levels, and the protocol is
printed with them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import input_error
from ..io.atomic import write_text_atomic
from .baselines import (
    EvalDance,
    PreparedSequence,
    ground_truth,
    load_prepared,
    mean_pose_row,
    retrieval_row,
    wrong_song_row,
)
from .features import resample_joints
from .protocol import Protocol
from .row import build_reference, clip_count, evaluate_row, style_input

log = logging.getLogger(__name__)

REFERENCE_ROWS = ("ground truth", "mean pose", "wrong song", "retrieval")
MODEL_ROW = "model"


@dataclass(frozen=True)
class MetricInfo:
    key: str
    label: str
    better: str  # "lower", "higher" or "gt" (closer to ground truth)
    table: str


METRICS: tuple[MetricInfo, ...] = (
    MetricInfo("fid_k", "FID_k", "lower", "fid"),
    MetricInfo("fid_k_inf", "FID_k inf", "ref", "fid"),
    MetricInfo("fid_k_floor", "FID_k floor", "ref", "fid"),
    MetricInfo("fid_g", "FID_g", "lower", "fid"),
    MetricInfo("fid_g_inf", "FID_g inf", "ref", "fid"),
    MetricInfo("fid_g_floor", "FID_g floor", "ref", "fid"),
    MetricInfo("c2st", "C2ST accuracy", "lower", "realism"),
    MetricInfo("c2st_floor", "C2ST floor", "ref", "realism"),
    MetricInfo("kid_k", "KID_k", "lower", "realism"),
    MetricInfo("kid_k_floor", "KID_k floor", "ref", "realism"),
    MetricInfo("kid_g", "KID_g", "lower", "realism"),
    MetricInfo("kid_g_floor", "KID_g floor", "ref", "realism"),
    MetricInfo("div_k", "Div_k", "gt", "realism"),
    MetricInfo("div_g", "Div_g", "gt", "realism"),
    MetricInfo("bas_aist", "BAS (AIST++)", "higher", "beats"),
    MetricInfo("bas_aist_chance", "chance", "ref", "beats"),
    MetricInfo("bas_bailando", "BAS (Bailando)", "higher", "beats"),
    MetricInfo("bas_bailando_chance", "chance", "ref", "beats"),
    MetricInfo("beat_hit_rate", "beat hit rate", "higher", "beats"),
    MetricInfo("beat_hit_rate_chance", "chance", "ref", "beats"),
    MetricInfo("beat_coverage", "beat coverage", "gt", "beats"),
    MetricInfo("diversity", "diversity (songs)", "gt", "paper"),
    MetricInfo("multimodality", "multimodality (seeds)", "higher", "paper"),
    MetricInfo("style_accuracy", "style accuracy", "higher", "paper"),
    MetricInfo("pfc", "PFC (m/s)^2", "lower", "physical"),
    MetricInfo("foot_skating", "foot skating (m/s)", "lower", "physical"),
    MetricInfo("bone_std_cm", "bone length std (cm)", "lower", "physical"),
    MetricInfo("jump_velocity_ratio", "unit jump, velocity", "gt", "physical"),
    MetricInfo("jump_acceleration_ratio", "unit jump, acceleration", "gt", "physical"),
    MetricInfo("frozen_fraction", "frozen windows", "lower", "long"),
    MetricInfo("energy_ratio", "energy last/first", "gt", "long"),
    MetricInfo("mean_energy", "mean joint speed (m/s)", "gt", "long"),
    MetricInfo("pose_distance", "dist. to mean pose (m)", "gt", "long"),
    MetricInfo("pose_distance_ratio", "dist. to mean pose last/first", "gt", "long"),
)
TABLES = {
    "fid": "FID against the train split's clips (every row at the same number of clips)",
    "realism": "Real or not: classifier two-sample test, KID, diversity",
    "beats": "Beats (whole dances; chance = music beats shifted at random)",
    "paper": '"Dancing to Music" metrics',
    "physical": "Physical plausibility and unit boundaries",
    "long": "Freezing and long-range behaviour (whole dances)",
}
# pairs of rows that the realism metrics should tell apart, and the metrics asked
SEPARATION_PAIRS = (("ground truth", "mean pose"), ("ground truth", MODEL_ROW), (MODEL_ROW, "mean pose"))
SEPARATION_METRICS = ("fid_k", "fid_g", "kid_k", "kid_g", "c2st")


# ---------------------------------------------------------------------------------------------- helpers


def _is_none(model) -> bool:
    return model is not None and str(model).strip().lower() == "none"


def _pick_test(test: list[PreparedSequence], limit: int | None) -> list[PreparedSequence]:
    """Sorted test songs; with a limit, taken round-robin over styles so every style stays represented."""
    test = sorted(test, key=lambda s: s.name)
    if not limit or limit >= len(test):
        return test
    by_style: dict[str, list[PreparedSequence]] = {}
    for s in test:
        by_style.setdefault(s.style, []).append(s)
    out: list[PreparedSequence] = []
    while len(out) < limit:
        for lst in by_style.values():
            if lst and len(out) < limit:
                out.append(lst.pop(0))
    return sorted(out, key=lambda s: s.name)


def _conform(
    seqs: list[PreparedSequence], fps_in: float, proto: Protocol, crop: bool
) -> list[PreparedSequence]:
    """Resample to the protocol fps and (crop=True) cap at max_seconds; beats stay in seconds."""
    out = []
    for s in seqs:
        j = resample_joints(s.joints, fps_in, proto.fps) if abs(fps_in - proto.fps) > 1e-9 else s.joints
        beats = s.music_beats
        if crop and proto.max_seconds is not None:
            n = int(round(proto.max_seconds * proto.fps))
            j = j[:n]
            beats = beats[beats < len(j) / proto.fps]
        music = s.music
        if len(music) and len(music) != len(j):
            idx = np.minimum((np.arange(len(j)) * len(music) / max(len(j), 1)).astype(int), len(music) - 1)
            music = music[idx]
        out.append(
            dataclasses.replace(s, joints=np.asarray(j, dtype=np.float64), music_beats=beats, music=music)
        )
    return out


# ------------------------------------------------------------------------------------------- the model


def generate_rows(
    model_spec, test: list[PreparedSequence], proto: Protocol, seed: int, quiet: bool
) -> list[list[EvalDance]]:
    """Generated dances: per seed (proto.n_seeds), one EvalDance per test song, at the protocol fps."""
    from tqdm import tqdm

    from ..audio.load import load_audio
    from ..generate.dance import generate_dance, load_model

    model = load_model(None if model_spec is None else model_spec)
    # generate at the evaluation rate when the generator can (saves an up- and down-sampling)
    extra = {"out_fps": proto.fps} if "out_fps" in inspect.signature(generate_dance).parameters else {}
    per_seed: list[list[EvalDance]] = [[] for _ in range(max(proto.n_seeds, 1))]
    bar = tqdm(total=len(test) * len(per_seed), desc="generating", disable=quiet, leave=False)
    for s in test:
        seconds = len(s.joints) / proto.fps
        if not s.audio_path or not Path(s.audio_path).exists():
            raise input_error(s.audio_path or s.name, "audio of a test song is missing; re-run `prepare`")
        y, sr = load_audio(s.audio_path, offset=max(s.audio_offset_s, 0.0), duration=seconds + 1.0)
        for k in range(len(per_seed)):
            mo = generate_dance(model, y, sr, seed=seed + k, seconds=seconds, quiet=True, **extra)
            j = resample_joints(mo.joints, float(mo.fps), proto.fps)
            starts = mo.meta.get("unit_starts")
            if starts is not None:
                starts = np.round(np.asarray(starts, dtype=np.float64) * proto.fps / float(mo.fps)).astype(
                    int
                )
            beats = np.asarray(mo.meta.get("music_beats", s.music_beats), dtype=np.float64)
            per_seed[k].append(EvalDance(s.name, s.style, j, proto.fps, beats, starts, seed + k, "model"))
            bar.update(1)
    bar.close()
    return per_seed


def _overlap(a: dict, b: dict) -> bool:
    if None in (a["ci_lo"], a["ci_hi"], b["ci_lo"], b["ci_hi"]):
        return a["value"] == b["value"] and a["value"] is not None
    return not (a["ci_hi"] < b["ci_lo"] or b["ci_hi"] < a["ci_lo"])


MUSIC_METRICS = ("bas_aist", "bas_bailando", "beat_hit_rate", "style_accuracy")
LABELS = {m.key: m.label for m in METRICS}


def _ok(rows: dict, r: str, key: str) -> bool:
    return r in rows and key in rows[r] and rows[r][key]["value"] is not None


def callouts(rows: dict[str, dict]) -> list[str]:
    """Plain-words notes on metrics that fail to separate rows they should separate from ground truth.

    Every metric should tell a frozen mean pose from real dances; music metrics should also tell real
    motion on the wrong song from the real dance on its own song, and beat scores should stand above
    their chance level. Real-motion baselines (wrong song, retrieval) scoring like ground truth on
    motion-only metrics is expected (those metrics ignore the music) and said once.
    """
    out = []
    gt = rows.get("ground truth", {})
    blind = []
    for m in METRICS:
        if m.better == "ref" or not _ok(rows, "ground truth", m.key):
            continue
        if _ok(rows, "mean pose", m.key) and _overlap(gt[m.key], rows["mean pose"][m.key]):
            out.append(
                f"{m.label} does not separate a frozen mean pose from ground truth (intervals overlap)."
            )
        elif (
            _ok(rows, "mean pose", m.key)
            and m.better in ("higher", "lower")
            and ((rows["mean pose"][m.key]["value"] > gt[m.key]["value"]) == (m.better == "higher"))
        ):
            out.append(
                f"{m.label} rates a frozen mean pose better than ground truth: it cannot be read alone."
            )
        if m.key in MUSIC_METRICS:
            for r in ("wrong song", "retrieval"):
                if not _ok(rows, r, m.key):
                    continue
                if _overlap(gt[m.key], rows[r][m.key]):
                    out.append(
                        f"{m.label} does not separate real motion on the wrong song ({r}) from ground "
                        "truth: it barely sees whether the dance fits the music."
                    )
                elif (rows[r][m.key]["value"] > gt[m.key]["value"]) == (m.better == "higher"):
                    out.append(
                        f"{m.label} rates real motion on the wrong song ({r}) better than ground truth."
                    )
        elif _ok(rows, "wrong song", m.key) and _overlap(gt[m.key], rows["wrong song"][m.key]):
            blind.append(m.label)
    for key in ("bas_aist", "bas_bailando", "beat_hit_rate"):
        ch = f"{key}_chance"
        for r, res in rows.items():
            if _ok(rows, r, key) and _ok(rows, r, ch) and res[key]["ci_lo"] is not None:
                if res[key]["ci_lo"] <= res[ch]["value"]:
                    out.append(f"{LABELS[key]} of {r} is not above its chance level.")
    if blind:
        out.append(
            f"Motion-only metrics ({', '.join(blind)}) score a real dance on the wrong song like ground "
            "truth, as expected: they ignore the music."
        )
    return out


def _ceiling(rows: dict, a: str, b: str, key: str) -> bool:
    return key == "c2st" and min(rows[a][key]["value"], rows[b][key]["value"]) > 0.95


def separation(rows: dict[str, dict]) -> list[str]:
    """Which realism metrics separate which pairs of rows (intervals apart), and where rows sit at the floor."""
    out = []
    for a, b in SEPARATION_PAIRS:
        if a not in rows or b not in rows:
            continue
        yes = [
            LABELS[k]
            for k in SEPARATION_METRICS
            if _ok(rows, a, k) and _ok(rows, b, k) and not _overlap(rows[a][k], rows[b][k])
        ]
        no = [
            LABELS[k]
            + (" (both at the ceiling: trivially told from real)" if _ceiling(rows, a, b, k) else "")
            for k in SEPARATION_METRICS
            if _ok(rows, a, k) and _ok(rows, b, k) and _overlap(rows[a][k], rows[b][k])
        ]
        out.append(
            f"{a} vs {b}: separated by {', '.join(yes) or 'none'}"
            + (f"; not by {', '.join(no)}" if no else "")
            + "."
        )
    for r, res in rows.items():
        at_floor = []
        for k in ("fid_k", "fid_g", "kid_k", "kid_g", "c2st"):
            f = f"{k}_floor"
            if _ok(rows, r, k) and _ok(rows, r, f) and res[f]["ci_hi"] is not None:
                if res[k]["value"] <= res[f]["ci_hi"]:
                    at_floor.append(LABELS[k])
        if at_floor:
            out.append(f"{r} is within the noise floor on {', '.join(at_floor)}.")
    return out


def _fmt(e: dict | None) -> str:
    if e is None or e["value"] is None:
        return "n/a"
    v = e["value"]
    digits = 3 if abs(v) < 10 else 1
    s = f"{v:.{digits}f}"
    if e["ci_lo"] is not None and e["ci_hi"] is not None:
        s += f" [{e['ci_lo']:.{digits}f}, {e['ci_hi']:.{digits}f}]"
    return s


def render_markdown(results: dict) -> str:
    """report.md text from a results dict (see `run_evaluate`)."""
    rows = results["rows"]
    counts = results.get("counts", {})
    lines = [
        "# Evaluation report",
        "",
        f"Data: `{results['data']['path']}`, {results['data']['n_train']} train / "
        f"{results['data']['n_test']} test sequences ({', '.join(results['data']['test_songs'])}); "
        f"{results['data']['n_reference_clips']} train clips. Model: {results['model']}. "
        f"Seed {results['seed']}.",
        "",
        "## Protocol",
        "",
        Protocol.from_dict(results["protocol"]).describe(),
        "",
        "Rows: **ground truth** = real test dances (features fitted against the train split); **mean pose** "
        "= the data's mean pose frozen for the song's length; **wrong song** = a random training dance on "
        "the test song; **retrieval** = the training dance (at least as long as the song) whose music "
        "features are closest to the test song's; **model** = generated for the test songs. Values: point "
        "[95 % interval]; floor / chance: mean [central 95 % of the draws]; definitions in docs/METRICS.md.",
        "",
    ]
    for tkey, title in TABLES.items():
        ms = [m for m in METRICS if m.table == tkey]
        extra = tkey == "fid"
        lines += [
            f"## {title}",
            "",
            "| row | " + ("clips (dances) | " if extra else "") + " | ".join(m.label for m in ms) + " |",
            "|---|" + ("---|" if extra else "") + "---|" * len(ms),
        ]
        for r, res in rows.items():
            c = counts.get(r, {})
            cnt = f"{c.get('compared', c.get('clips', '?'))} ({c.get('dances', '?')}) | " if extra else ""
            lines.append(f"| {r} | {cnt}" + " | ".join(_fmt(res.get(m.key)) for m in ms) + " |")
        better = ", ".join(
            f"{m.label}: {'closer to ground truth' if m.better == 'gt' else m.better}"
            for m in ms
            if m.better != "ref"
        )
        lines += ["", f"Better: {better}.", ""]
    sep = results.get("separating_features", {})
    if sep:
        lines += [
            "## What separates each row from real clips",
            "",
            "The three clip statistics with the largest standardised mean difference (row - real) / std_real:",
            "",
        ]
        for r, feats in sep.items():
            lines.append(f"- {r}: " + "; ".join(f"{n} ({d:+.1f})" for n, d in feats))
        lines.append("")
    lines += ["## Which rows the realism metrics separate", ""]
    lines += [f"- {c}" for c in results.get("separation", [])] or ["- no pairs to compare"]
    lines += ["", "## Metrics that do not separate the rows", ""]
    lines += [f"- {c}" for c in results["callouts"]] or ["- none"]
    lines += [
        "",
        "## Plots",
        "",
        "![energy](energy.png)",
        "",
        "![beats](beat_alignment.png)",
        "",
        "![frames](frames.png)",
        "",
    ]
    return "\n".join(lines)


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


def load_split(
    data, protocol=None, *, quick: bool = False, published_features: bool = False
) -> tuple[dict, Protocol, list[PreparedSequence], list[PreparedSequence]]:
    """(manifest, protocol, train, test) of a prepared folder, resampled to the protocol's fps; test songs
    picked and cropped as the protocol says. See `run_evaluate` for protocol, quick, published_features."""
    man, seqs = load_prepared(data)
    proto = Protocol.load(protocol, dataset=man.get("dataset"))
    if published_features:
        proto = proto.published_features()
    if quick:
        proto = proto.quick()
    fps_in = float(man.get("fps", proto.fps))
    if fps_in < proto.fps - 1e-9:
        note = (
            f"the prepared data is at {fps_in:g} fps: dances are upsampled to {proto.fps:g} fps by a cubic "
            "spline, so motion faster than the prepared rate is absent from every row"
        )
        proto = dataclasses.replace(proto, notes=[*proto.notes, note])
    train = _conform([s for s in seqs if s.split == "train"], fps_in, proto, crop=False)
    test = _conform(
        _pick_test([s for s in seqs if s.split == "test"], proto.max_test_songs), fps_in, proto, crop=True
    )
    if not train or not test:
        raise input_error(data, f"needs train and test sequences, got {len(train)} train / {len(test)} test")
    return man, proto, train, test


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
    fps_in = float(man.get("fps", proto.fps))
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
    rows, raws = {}, {}
    with single_thread_blas():
        for name in tqdm(list(row_dances), desc="evaluating", disable=quiet):
            rows[name], raws[name] = evaluate_row(
                row_dances[name], ref, proto, rng, seeds if name == MODEL_ROW else None, n_common=n_common
            )
    results = {
        "protocol": proto.to_dict(),
        "model": model_name,
        "seed": int(seed),
        "data": {
            "path": str(Path(data)),
            "dataset": man.get("dataset"),
            "data_hash": man.get("data_hash"),
            "fps_in": fps_in,
            "n_train": len(train),
            "n_test": len(test),
            "test_songs": [s.name for s in test],
            "n_reference_clips": int(len(ref.kinetic)),
            "n_reference_dances": int(len(np.unique(ref.groups))),
            "style_classifier_train_accuracy": _finite(
                np.mean(
                    ref.classifier.predict(style_input(ref, ref.kinetic, ref.geometric, proto)) == ref.styles
                )
            ),
        },
        "rows": rows,
        "row_sources": {r: [d.source for d in ds] for r, ds in row_dances.items()},
        "counts": {
            r: {
                "clips": raws[r]["n_clips"],
                "compared": min(n_common, raws[r]["n_clips"]),
                "dances": raws[r]["n_dances"],
            }
            for r in raws
        },
        "separating_features": {r: raws[r]["separating"] for r in raws if raws[r]["separating"]},
        "freeze_threshold_m_s": ref.freeze_threshold,
    }
    results["callouts"] = callouts(rows)
    results["separation"] = separation(rows)
    out = Path(out)
    os.makedirs(out, exist_ok=True)
    plots.plot_energy(
        {r: raws[r]["energy"] for r in raws},
        {r: raws[r]["pose_distance"] for r in raws},
        proto.energy_window_s,
        proto.fps,
        out / "energy.png",
    )
    plots.plot_beat_histograms(
        {r: raws[r]["beat_distances"] for r in raws}, proto.bas_sigma_frames, out / "beat_alignment.png"
    )
    plots.plot_frames({r: raws[r]["first_dance"] for r in raws}, proto.fps, out / "frames.png")
    write_text_atomic(out / "results.json", json.dumps(results, indent=1))
    write_text_atomic(out / "report.md", render_markdown(results))
    log.info("evaluation written to %s (%d rows)", out, len(rows))
    return results


def _finite(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None
