"""`music2dance beats`: the paper's Figure 2, music beats above and a dance's kinematic beats below.

Also prints how many kinematic beats land on a music beat, against the chance level of random shifts.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import input_error

PLOT_TYPES = (".png", ".pdf", ".svg")
MAX_SHIFTS = 100_000  # random shifts for the chance level (`--shifts`)
MAX_TOLERANCE_FRAMES = 100


def _fill_nan(joints: np.ndarray) -> np.ndarray:
    """Linear interpolation of NaN positions over time (edges held), so speeds stay finite."""
    j = np.array(joints, dtype=np.float64)
    flat = j.reshape(len(j), -1)
    t = np.arange(len(j))
    for c in range(flat.shape[1]):
        bad = ~np.isfinite(flat[:, c])
        if bad.all():
            flat[:, c] = 0.0
        elif bad.any():
            flat[bad, c] = np.interp(t[bad], t[~bad], flat[~bad, c])
    return flat.reshape(j.shape)


def _read_dance(dance: str | os.PathLike, song: Path):
    """(motion, audio offset in seconds, note). The offset is the Tang take's own when SONG is its song."""
    from ..validate import check_motion

    path = Path(dance)
    if path.is_dir() and (path / "skeletons.json").is_file():
        from ..io.tang import read_tang_sequence

        seq = read_tang_sequence(path)
        motion = check_motion(seq.motion, path, allow_missing=True)
        same = seq.audio_path.exists() and song.exists() and seq.audio_path.resolve() == song.resolve()
        if same:
            offset = float(seq.audio_offset_s)
            return motion, offset, f"song aligned with the take: {offset:.2f} s"
        return motion, 0.0, "song is not this take's own audio.mp3, so no offset is applied"
    from ..io.load import load_dance

    return load_dance(path, allow_missing=True), 0.0, ""


def _beat_params_for(names: tuple[str, ...]):
    """Measured defaults, or all joints when the skeleton lacks the canonical feet."""
    from ..motion.kinematic_beats import KinematicBeatParams

    p = KinematicBeatParams()
    if p.joints is not None and not all(j in names for j in p.joints):
        from dataclasses import replace

        p = replace(p, joints=None, root_relative=False)
    return p


def run_beats(
    song: str | os.PathLike,
    dance: str | os.PathLike | None,
    out: str | os.PathLike,
    *,
    tolerance_frames: int = 2,
    n_shifts: int = 200,
    seed: int = 0,
    quiet: bool = False,
) -> dict:
    """Plot music beats (onset envelope) over a dance's kinematic beats (motion magnitude) and count hits.

    song: audio file; dance: Tang folder, .bvh, dance .npz or keypoint file (None: music only);
    out: plot path (.png, .pdf, .svg), written atomically; tolerance_frames: a kinematic beat hits a music
    beat within +-this many frames of the dance's frame rate; n_shifts: random circular shifts (up to 2 s)
    of the kinematic beats for the chance level; seed: seed of those shifts; quiet: print nothing.
    With a Tang folder whose audio.mp3 is SONG, the song is read from the take's start (audio_offset_s).
    Returns dict with tempo_bpm, n_music_beats, and with a dance n_kin_beats, hits, hit, chance_mean,
    chance_std, z (see `motion.kinematic_beats.hit_rate_vs_chance`), tolerance_s, audio_offset_s.
    """
    from ..audio.beats import onset_envelope, track_beats
    from ..audio.load import load_audio
    from ..motion.kinematic_beats import hit_rate_vs_chance, kinematic_beats, motion_magnitude
    from ..validate import check_output

    song = Path(song)
    if Path(str(out)).suffix.lower() not in PLOT_TYPES and str(out).strip():
        raise input_error(
            out, f"plot type {Path(out).suffix or '(none)'!r} not supported; use {', '.join(PLOT_TYPES)}"
        )
    out = check_output(out, PLOT_TYPES)
    if not 0 <= tolerance_frames <= MAX_TOLERANCE_FRAMES:
        raise input_error(
            "--tolerance-frames", f"must be from 0 to {MAX_TOLERANCE_FRAMES}, got {tolerance_frames}"
        )
    if not 1 <= n_shifts <= MAX_SHIFTS:
        raise input_error("--shifts", f"must be from 1 to {MAX_SHIFTS}, got {n_shifts}")
    motion, offset, note = (None, 0.0, "") if dance is None else _read_dance(dance, song)
    if motion is not None and motion.num_frames < 3:
        raise input_error(dance, f"dance has {motion.num_frames} frames; need at least 3")
    duration = None if motion is None else motion.duration
    y, sr = load_audio(song, offset=offset, duration=duration, song_limits=True)
    tempo, beats = track_beats(y, sr)
    env_fps = 25.0 if motion is None or sr % motion.fps else float(motion.fps)
    env = onset_envelope(y, sr, env_fps)
    result = {"tempo_bpm": tempo, "n_music_beats": int(len(beats)), "audio_offset_s": offset}
    lines = [f"{song.name}: tempo {tempo:.1f} BPM, {len(beats)} music beats in {len(y) / sr:.1f} s"]

    if motion is not None:
        joints = _fill_nan(motion.joints)
        params = _beat_params_for(motion.joint_names)
        kin = kinematic_beats(joints, motion.fps, params, joint_names=motion.joint_names)
        mag = motion_magnitude(joints, motion.fps, params, joint_names=motion.joint_names)
        kin_s = kin / motion.fps
        tol = tolerance_frames / motion.fps
        r = hit_rate_vs_chance(
            kin_s, beats, tol, n_shifts=n_shifts, max_shift_s=2.0, rng=seed, span=(0.0, motion.duration)
        )
        hits = int(round(r["hit"] * len(kin))) if len(kin) else 0
        result.update(
            n_kin_beats=int(len(kin)),
            hits=hits,
            hit=r["hit"],
            chance_mean=r["chance_mean"],
            chance_std=r["chance_std"],
            z=r["z"],
            tolerance_s=tol,
        )
        name = Path(dance).name
        if note:
            lines.append(f"{name}: {note}")
        lines.append(f"{name}: {len(kin)} kinematic beats in {motion.duration:.1f} s at {motion.fps:g} fps")
        if len(kin) and len(beats) > 1:
            lines.append(
                f"{hits} of {len(kin)} kinematic beats ({100 * r['hit']:.0f}%) fall within "
                f"+-{tolerance_frames} frames ({1000 * tol:.0f} ms) of a music beat; at chance (the dance "
                f"shifted at random by up to 2 s, {n_shifts} times) {100 * r['chance_mean']:.0f}% "
                f"+- {100 * r['chance_std']:.0f}%" + (f" (z = {r['z']:+.1f})" if np.isfinite(r["z"]) else "")
            )
        else:
            lines.append("no hit rate: too few kinematic or music beats")

    _plot(
        out,
        env,
        env_fps,
        beats,
        None if motion is None else (mag, motion.fps, kin),
        song.name,
        None if dance is None else Path(dance).name,
        tempo,
    )
    lines.append(f"wrote {out}")
    result["output"] = str(out)
    if not quiet:
        print("\n".join(lines))
    return result


def _plot(
    out: Path,
    env: np.ndarray,
    env_fps: float,
    beats: np.ndarray,
    dance_part,
    song_name: str,
    dance_name: str | None,
    tempo: float,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io.atomic import atomic_path

    n = 1 if dance_part is None else 2
    fig, axes = plt.subplots(n, 1, figsize=(12, 2.6 * n + 0.6), sharex=True, squeeze=False)
    ax = axes[0, 0]
    ax.plot(np.arange(len(env)) / env_fps, env, color="tab:blue", lw=0.9)
    for b in beats:
        ax.axvline(b, color="tab:red", ls="--", lw=0.7, alpha=0.8)
    ax.set_ylabel("onset strength")
    ax.set_title(f"music beats: {song_name} ({tempo:.0f} BPM, {len(beats)} beats)", fontsize=10)
    if dance_part is not None:
        mag, fps, kin = dance_part
        ax2 = axes[1, 0]
        ax2.plot(np.arange(len(mag)) / fps, mag, color="tab:green", lw=0.9)
        for k in kin:
            ax2.axvline(k / fps, color="tab:purple", ls="--", lw=0.7, alpha=0.8)
        ax2.set_ylabel("motion magnitude (m/s)")
        ax2.set_title(f"kinematic beats: {dance_name} ({len(kin)} beats)", fontsize=10)
    axes[-1, 0].set_xlabel("time (s)" if dance_part is None else "time from the dance's first frame (s)")
    fig.tight_layout()
    try:
        with atomic_path(out) as tmp:
            fig.savefig(tmp, dpi=110)
    finally:
        plt.close(fig)
