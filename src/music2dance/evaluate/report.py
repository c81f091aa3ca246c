"""`music2dance evaluate`: every metric for the reference rows and the model: report.md, results.json, plots.

All rows go through the same code; numbers carry bootstrap intervals, and the protocol is printed with them.
"""

from __future__ import annotations

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
from . import metrics as M
from .baselines import (
    EvalDance,
    PreparedSequence,
    data_mean_pose,
    ground_truth,
    load_prepared,
    mean_pose_row,
    retrieval_row,
    wrong_song_row,
)
from .features import clip_starts, geometric_features, kinetic_features, resample_joints
from .protocol import Protocol

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
    MetricInfo("fid_k", "FID_k", "lower", "field"),
    MetricInfo("fid_g", "FID_g", "lower", "field"),
    MetricInfo("div_k", "Div_k", "gt", "field"),
    MetricInfo("div_g", "Div_g", "gt", "field"),
    MetricInfo("bas_aist", "BAS (AIST++)", "higher", "field"),
    MetricInfo("bas_bailando", "BAS (Bailando)", "higher", "field"),
    MetricInfo("beat_coverage", "beat coverage", "gt", "paper"),
    MetricInfo("beat_hit_rate", "beat hit rate", "higher", "paper"),
    MetricInfo("diversity", "diversity (songs)", "gt", "paper"),
    MetricInfo("multimodality", "multimodality (seeds)", "higher", "paper"),
    MetricInfo("style_accuracy", "style accuracy", "higher", "paper"),
    MetricInfo("pfc", "PFC (m/s)^2", "lower", "physical"),
    MetricInfo("foot_skating", "foot skating (m/s)", "lower", "physical"),
    MetricInfo("bone_std_cm", "bone length std (cm)", "lower", "physical"),
    MetricInfo("jump_velocity_ratio", "unit jump, velocity", "lower", "physical"),
    MetricInfo("jump_acceleration_ratio", "unit jump, acceleration", "lower", "physical"),
    MetricInfo("frozen_fraction", "frozen windows", "lower", "long"),
    MetricInfo("energy_ratio", "energy last/first", "gt", "long"),
    MetricInfo("mean_energy", "mean joint speed (m/s)", "gt", "long"),
    MetricInfo("pose_distance", "dist. to mean pose (m)", "gt", "long"),
    MetricInfo("pose_distance_ratio", "dist. to mean pose last/first", "gt", "long"),
)
TABLES = {
    "field": "The field's metrics (clips, features standardised by the train split)",
    "paper": '"Dancing to Music" metrics (whole dances)',
    "physical": "Physical plausibility and unit boundaries",
    "long": "Freezing and long-range behaviour (whole dances)",
}


@dataclass
class Reference:
    """What every row is compared against: the train split's clip features, style classifier, thresholds."""

    kinetic: np.ndarray  # (N, 54)
    geometric: np.ndarray  # (N, 32)
    styles: np.ndarray  # (N,)
    classifier: M.NearestCentroid
    freeze_threshold: float  # m/s
    pose: np.ndarray  # (J, 3)


# ---------------------------------------------------------------------------------------------- helpers


def _is_none(model) -> bool:
    return model is not None and str(model).strip().lower() == "none"


def _finite(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _entry(value: float, ci: tuple[float, float], n: int) -> dict:
    return {"value": _finite(value), "ci_lo": _finite(ci[0]), "ci_hi": _finite(ci[1]), "n": int(n)}


def _mean_entry(values, proto: Protocol, rng: np.random.Generator) -> dict:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return _entry(float("nan"), (float("nan"),) * 2, 0)
    return _entry(v.mean(), M.bootstrap_ci(v, n_boot=proto.n_bootstrap, ci=proto.ci, rng=rng), v.size)


def _clip_features(joints: np.ndarray, proto: Protocol) -> tuple[np.ndarray, np.ndarray]:
    k = kinetic_features(
        joints, proto.fps, window=proto.kinetic_window_frames, bugged_acceleration=proto.bugged_acceleration
    )
    g = geometric_features(
        joints,
        proto.fps,
        humerus_m=proto.geo_humerus_m,
        shoulder_width_m=proto.geo_shoulder_width_m,
        hip_width_m=proto.geo_hip_width_m,
    )
    return k, g


def _clips(d: EvalDance, proto: Protocol) -> list[tuple[int, int]]:
    return clip_starts(
        len(d.joints), proto.fps, clip_s=proto.clip_s, hop_s=proto.clip_hop_s, min_clip_s=proto.min_clip_s
    )


def _motion_beats(joints: np.ndarray, proto: Protocol) -> np.ndarray:
    if proto.bas_motion_beats == "kinematic":
        from ..motion.kinematic_beats import kinematic_beats

        return np.asarray(kinematic_beats(joints, proto.fps), dtype=int)
    return M.motion_beats_speed_minima(joints, proto.fps, smooth_sigma_s=proto.speed_smooth_sigma_s)


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


def _generate(
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


# ------------------------------------------------------------------------------------------- evaluation


def build_reference(train: list[PreparedSequence], proto: Protocol) -> Reference:
    """Clip features, style classifier, freezing threshold and mean pose of the training split."""
    ks, gs, st, energies = [], [], [], []
    for s in train:
        d = EvalDance(s.name, s.style, s.joints, proto.fps, s.music_beats)
        for a, b in _clips(d, proto):
            k, g = _clip_features(s.joints[a:b], proto)
            ks.append(k)
            gs.append(g)
            st.append(s.style)
        energies.append(M.motion_energy(s.joints, proto.fps, window_s=proto.energy_window_s))
    if len(ks) < 2:
        raise input_error(
            "train split", f"needs at least 2 clips of {proto.clip_s:g} s to fit against, got {len(ks)}"
        )
    kin, geo = np.stack(ks), np.stack(gs)
    styles = np.array(st)
    # the classifier sees the same standardised features as FID/Div; it re-standardises internally
    clf = M.NearestCentroid().fit(
        np.concatenate([M.standardize(kin)[0], M.standardize(geo)[0]], axis=1), styles
    )
    e = np.concatenate(energies) if energies else np.zeros(1)
    return Reference(
        kin, geo, styles, clf, proto.freeze_fraction_of_real * float(np.median(e)), data_mean_pose(train)
    )


def _style_input(ref: Reference, kin: np.ndarray, geo: np.ndarray) -> np.ndarray:
    return np.concatenate([M.standardize(ref.kinetic, kin)[1], M.standardize(ref.geometric, geo)[1]], axis=1)


def evaluate_row(
    dances: list[EvalDance],
    ref: Reference,
    proto: Protocol,
    rng: np.random.Generator,
    seeds: list[list[EvalDance]] | None = None,
) -> tuple[dict, dict]:
    """All metrics of one row -> (results {metric: {value, ci_lo, ci_hi, n}}, raw arrays for the plots)."""
    from ..motion.kinematic_beats import kinematic_beats

    kin, geo, clip_song, clip_style = [], [], [], []
    bas_a, bas_b, pfc, skate, bone, dist_frames = [], [], [], [], [], []
    cov, hit, frozen, ratio, energy, pdist, pratio, jv, ja = ([] for _ in range(9))
    curves, pose_curves = [], []
    for d in dances:
        x = d.joints
        T = len(x)
        beats_f = np.asarray(d.music_beats, dtype=np.float64) * proto.fps
        for a, b in _clips(d, proto):
            c = x[a:b]
            k, g = _clip_features(c, proto)
            kin.append(k)
            geo.append(g)
            clip_song.append(d.song)
            clip_style.append(d.style)
            mb = beats_f[(beats_f >= a) & (beats_f < b)] - a
            mo = _motion_beats(c, proto)
            bas_a.append(M.beat_align_score(mo, mb, variant="aist", sigma=proto.bas_sigma_frames))
            bas_b.append(M.beat_align_score(mo, mb, variant="bailando", sigma=proto.bas_sigma_frames))
            dist_frames.append(M.beat_distances(mb, mo))
            pfc.append(M.physical_foot_contact(c, proto.fps))
            skate.append(
                M.foot_skating(
                    c, proto.fps, contact_height_m=proto.contact_height_m, ankle_offset_m=proto.ankle_offset_m
                )
            )
            bone.append(M.bone_length_variation(c)[0])
        # whole-dance metrics
        kb = np.asarray(kinematic_beats(x, proto.fps), dtype=np.float64) / proto.fps
        mbs = np.asarray(d.music_beats, dtype=np.float64)
        mbs = mbs[(mbs >= 0) & (mbs < T / proto.fps)]
        cov.append(M.beat_coverage(len(kb), len(mbs)))
        hit.append(M.beat_hit_rate(kb, mbs, proto.hit_tolerance_s))
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
    kin, geo = np.array(kin), np.array(geo)
    nb, ci = proto.n_bootstrap, proto.ci
    n = len(kin)
    for key, feats, rfeats in (("k", kin, ref.kinetic), ("g", geo, ref.geometric)):
        _, zf = M.standardize(rfeats, feats)
        value = M.fid(rfeats, feats)
        res[f"fid_{key}"] = _entry(
            value,
            M.bootstrap_set_ci(lambda i, f=feats, r=rfeats: M.fid(r, f[i]), n, n_boot=nb, ci=ci, rng=rng),
            n,
        )
        res[f"div_{key}"] = _entry(
            M.diversity(zf),
            M.bootstrap_set_ci(lambda i, z=zf: M.diversity(z[i], index=i), n, n_boot=nb, ci=ci, rng=rng),
            n,
        )
    res["bas_aist"] = _mean_entry(bas_a, proto, rng)
    res["bas_bailando"] = _mean_entry(bas_b, proto, rng)
    res["beat_coverage"] = _mean_entry(cov, proto, rng)
    res["beat_hit_rate"] = _mean_entry(hit, proto, rng)
    # diversity across songs: each song's first clip, kinetic features standardised by the train split
    first = {}
    for s, k in zip(clip_song, kin):
        first.setdefault(s, k)
    zs = M.standardize(ref.kinetic, np.array(list(first.values())))[1] if first else np.zeros((0, 1))
    res["diversity"] = _entry(
        M.diversity(zs),
        M.bootstrap_set_ci(lambda i: M.diversity(zs[i], index=i), len(zs), n_boot=nb, ci=ci, rng=rng),
        len(zs),
    )
    res["multimodality"] = _entry(float("nan"), (float("nan"),) * 2, 0)
    if seeds and len(seeds) > 1:
        per_song = []
        for songs in zip(*seeds):
            fs = []
            for d in songs:
                cl = _clips(d, proto)
                if cl:
                    fs.append(_clip_features(d.joints[cl[0][0] : cl[0][1]], proto)[0])
            if len(fs) > 1:
                per_song.append(M.diversity(M.standardize(ref.kinetic, np.array(fs))[1]))
        res["multimodality"] = _mean_entry(per_song, proto, rng)
    if n:
        pred = ref.classifier.predict(_style_input(ref, kin, geo))
        res["style_accuracy"] = _mean_entry((pred == np.array(clip_style)).astype(float), proto, rng)
    else:
        res["style_accuracy"] = _entry(float("nan"), (float("nan"),) * 2, 0)
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
        res[key] = _mean_entry(vals, proto, rng)
    raw = {
        "energy": curves,
        "pose_distance": pose_curves,
        "beat_distances": np.concatenate(dist_frames) if dist_frames else np.zeros(0),
        "first_dance": dances[0].joints if dances else np.zeros((0, 18, 3)),
        "n_clips": n,
        "n_dances": len(dances),
    }
    return res, raw


def _overlap(a: dict, b: dict) -> bool:
    if None in (a["ci_lo"], a["ci_hi"], b["ci_lo"], b["ci_hi"]):
        return a["value"] == b["value"] and a["value"] is not None
    return not (a["ci_hi"] < b["ci_lo"] or b["ci_hi"] < a["ci_lo"])


MUSIC_METRICS = ("bas_aist", "bas_bailando", "beat_coverage", "beat_hit_rate", "style_accuracy")


def callouts(rows: dict[str, dict]) -> list[str]:
    """Plain-words notes on metrics that fail to separate rows they should separate from ground truth.

    Every metric should tell a frozen mean pose from real dances; music metrics should also tell real
    motion on the wrong song from the real dance on its own song. Real-motion baselines (wrong song,
    retrieval) scoring like ground truth on motion-only metrics is expected (those metrics ignore the
    music) and said once.
    """
    out = []
    gt = rows.get("ground truth", {})

    def ok(r, key):
        return r in rows and key in rows[r] and rows[r][key]["value"] is not None

    blind = []
    for m in METRICS:
        if not ok("ground truth", m.key):
            continue
        if ok("mean pose", m.key) and _overlap(gt[m.key], rows["mean pose"][m.key]):
            out.append(
                f"{m.label} does not separate a frozen mean pose from ground truth (intervals overlap)."
            )
        elif (
            ok("mean pose", m.key)
            and m.better in ("higher", "lower")
            and ((rows["mean pose"][m.key]["value"] > gt[m.key]["value"]) == (m.better == "higher"))
        ):
            out.append(
                f"{m.label} rates a frozen mean pose better than ground truth: it cannot be read alone."
            )
        if m.key in MUSIC_METRICS:
            for r in ("wrong song", "retrieval"):
                if not ok(r, m.key):
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
        elif ok("wrong song", m.key) and _overlap(gt[m.key], rows["wrong song"][m.key]):
            blind.append(m.label)
    if blind:
        out.append(
            f"Motion-only metrics ({', '.join(blind)}) score a real dance on the wrong song like ground "
            "truth, as expected: they ignore the music."
        )
    return out


def _fmt(e: dict) -> str:
    v = e["value"]
    if v is None:
        return "n/a"
    digits = 3 if abs(v) < 10 else 1
    s = f"{v:.{digits}f}"
    if e["ci_lo"] is not None and e["ci_hi"] is not None:
        s += f" [{e['ci_lo']:.{digits}f}, {e['ci_hi']:.{digits}f}]"
    return s


def render_markdown(results: dict) -> str:
    """report.md text from a results dict (see `run_evaluate`)."""
    rows = results["rows"]
    lines = [
        "# Evaluation report",
        "",
        f"Data: `{results['data']['path']}`, {results['data']['n_train']} train / "
        f"{results['data']['n_test']} test sequences ({', '.join(results['data']['test_songs'])}). "
        f"Model: {results['model']}. Seed {results['seed']}.",
        "",
        "## Protocol",
        "",
        Protocol.from_dict(results["protocol"]).describe(),
        "",
        "Rows: **ground truth** = real test dances (features fitted against the train split); **mean pose** "
        "= the data's mean pose frozen for the song's length; **wrong song** = a random training dance on "
        "the test song; **retrieval** = the training dance whose music features are closest to the test "
        "song's; **model** = generated for the test songs. Values: mean [95 % bootstrap interval]; "
        "definitions in docs/METRICS.md.",
        "",
    ]
    for tkey, title in TABLES.items():
        ms = [m for m in METRICS if m.table == tkey]
        lines += [
            f"## {title}",
            "",
            "| row | " + " | ".join(m.label for m in ms) + " |",
            "|---|" + "---|" * len(ms),
        ]
        for r, res in rows.items():
            lines.append(f"| {r} | " + " | ".join(_fmt(res[m.key]) for m in ms) + " |")
        better = ", ".join(
            f"{m.label}: {'closer to ground truth' if m.better == 'gt' else m.better}" for m in ms
        )
        lines += ["", f"Better: {better}.", ""]
    lines += ["## Metrics that do not separate the rows", ""]
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


def run_evaluate(
    model, data, out, *, protocol=None, seed: int = 0, quick: bool = False, quiet: bool = False
) -> dict:
    """Evaluate reference rows and (unless model is "none") the model on the prepared data's test split.

    model: None (bundled model), a model folder, or "none" (reference rows only). data: prepared folder.
    out: report folder; writes report.md, results.json, energy.png, beat_alignment.png, frames.png
    atomically. protocol: None, a `Protocol`, a dict or a JSON file of overrides; quick shrinks it.
    Returns the results dict written to results.json.
    """
    from tqdm import tqdm

    from . import plots

    proto = Protocol.load(protocol)
    if quick:
        proto = proto.quick()
    man, seqs = load_prepared(data)
    fps_in = float(man.get("fps", proto.fps))
    train = _conform([s for s in seqs if s.split == "train"], fps_in, proto, crop=False)
    test = _conform(
        _pick_test([s for s in seqs if s.split == "test"], proto.max_test_songs), fps_in, proto, crop=True
    )
    if not train or not test:
        raise input_error(data, f"needs train and test sequences, got {len(train)} train / {len(test)} test")
    rng = np.random.default_rng(seed)
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
        seeds = _generate(model, test, proto, seed, quiet)
        row_dances[MODEL_ROW] = seeds[0]
    rows, raws = {}, {}
    for name in tqdm(list(row_dances), desc="evaluating", disable=quiet):
        rows[name], raws[name] = evaluate_row(
            row_dances[name], ref, proto, rng, seeds if name == MODEL_ROW else None
        )
    results = {
        "protocol": proto.to_dict(),
        "model": model_name,
        "seed": int(seed),
        "data": {
            "path": str(Path(data)),
            "data_hash": man.get("data_hash"),
            "fps_in": fps_in,
            "n_train": len(train),
            "n_test": len(test),
            "test_songs": [s.name for s in test],
            "n_reference_clips": int(len(ref.kinetic)),
            "style_classifier_train_accuracy": _finite(
                np.mean(ref.classifier.predict(_style_input(ref, ref.kinetic, ref.geometric)) == ref.styles)
            ),
        },
        "rows": rows,
        "row_sources": {r: [d.source for d in ds] for r, ds in row_dances.items()},
        "counts": {r: {"clips": raws[r]["n_clips"], "dances": raws[r]["n_dances"]} for r in raws},
        "freeze_threshold_m_s": ref.freeze_threshold,
    }
    results["callouts"] = callouts(rows)
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
