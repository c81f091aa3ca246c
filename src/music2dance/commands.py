"""The commands behind `cli.py`: `run_generate`, `run_render`, `run_beats`, and `write_dance`.

This module sits above every other part (io < audio < motion < models < generate < render < commands <
cli): it checks a command's inputs, runs the pipeline and writes the output. `write_dance` picks the
writer by the output's extension: data formats (.npz .bvh .json) through `io.export.write_data_file`,
drawn formats (.mp4 .gif .html) through `render.dispatch.write_drawing`.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np

from .defaults import AUDIO_SR, OUTPUT_FPS
from .errors import input_error
from .io.export import DATA_FORMATS, write_data_file
from .io.skeleton import Motion
from .render.beats_plot import PLOT_TYPES, plot_beats
from .render.dispatch import DRAWN_FORMATS, write_drawing
from .validate import MAX_SEED, RENDER_FPS_MAX, RENDER_FPS_MIN, SONG_MAX_S, SONG_MIN_S, check_output

MAX_SHIFTS = 100_000  # random shifts for the chance level (`beats --shifts`)
MAX_TOLERANCE_FRAMES = 100

log = logging.getLogger(__name__)

# Every output format of `generate -o` and `render -o`, in the order the error message lists them.
FORMATS: dict[str, str] = {
    ext: {**DATA_FORMATS, **DRAWN_FORMATS}[ext] for ext in (".npz", ".mp4", ".gif", ".html", ".bvh", ".json")
}


def output_format(out: str | os.PathLike) -> str:
    """The lower-case extension of `out` if it is a supported format in a writable folder, else a
    one-line error (`validate.check_output`)."""
    return check_output(out, FORMATS).suffix.lower()


def _check_fps(fps: float) -> None:
    if not RENDER_FPS_MIN <= fps <= RENDER_FPS_MAX:  # also refuses NaN
        raise input_error("--fps", f"must be from {RENDER_FPS_MIN:g} to {RENDER_FPS_MAX:g}, got {fps}")


def write_dance(
    motion: Motion,
    out: str | os.PathLike,
    *,
    audio_path: str | os.PathLike | None = None,
    fps: float = OUTPUT_FPS,
    quiet: bool = False,
    model: str = "",
    seed: int = -1,
) -> Path:
    """Write `motion` to `out`, the format picked by the extension (see `FORMATS`); returns the path.

    audio_path: the song, muxed into .mp4 and embedded into .html (ignored by the other formats).
    fps: frame rate of .mp4 (and the cap for .gif), see `render.dispatch.write_drawing`.
    model / seed: provenance stored in .npz.
    """
    out = Path(out)
    ext = output_format(out)
    _check_fps(fps)
    if ext in DATA_FORMATS:
        write_data_file(motion, out, quiet=quiet, model=model, seed=seed)
    else:
        write_drawing(motion, out, audio_path=audio_path, fps=fps, quiet=quiet)
    return out


def run_generate(
    song: str,
    output: str,
    *,
    seconds: float | None = None,
    seed: int = 0,
    model: str | None = None,
    quiet: bool = False,
) -> Path:
    """`music2dance generate SONG -o OUT`: decode the song, run the model, write the dance in OUT's format.

    The output format follows the extension (.npz, .mp4, .gif, .html, .bvh, .json); the model is the
    bundled one unless `model` names a folder.
    """
    from .audio.load import load_audio
    from .generate.dance import generate_dance, load_model

    t0 = time.perf_counter()
    # Every input is checked before any work: output path and format, options, model, song.
    output_format(output)
    if seconds is not None and not SONG_MIN_S <= seconds <= SONG_MAX_S:
        raise input_error("--seconds", f"must be from {SONG_MIN_S:g} to {SONG_MAX_S:g} s, got {seconds}")
    if not 0 <= seed <= MAX_SEED:
        raise input_error("--seed", f"must be an integer from 0 to {MAX_SEED}, got {seed}")
    m = load_model(model)
    y, sr = load_audio(song, sr=AUDIO_SR, song_limits=True)
    log.info(
        "generating a dance for %s (%.1f s of music, seed %d, model %s)",
        song,
        min(len(y) / sr, seconds or float("inf")),
        seed,
        m.name,
    )
    motion = generate_dance(m, y, sr, seed=seed, seconds=seconds, quiet=quiet, source=song)
    styles = ", ".join(f"{k} {v:.2f}" for k, v in sorted(motion.meta["style"].items(), key=lambda kv: -kv[1]))
    log.info(
        "%d units of %d beats each; music style: %s",
        len(motion.meta["unit_starts"]),
        motion.meta["beats_per_unit"],
        styles,
    )
    out = write_dance(motion, output, audio_path=song, quiet=quiet, model=m.name, seed=seed)
    log.info("done: %.1f s of dance in %.1f s", motion.duration, time.perf_counter() - t0)
    return Path(out)


def run_render(
    dance: str | os.PathLike,
    song: str | os.PathLike | None,
    out: str | os.PathLike,
    *,
    fps: float = OUTPUT_FPS,
    quiet: bool = False,
) -> Path:
    """`music2dance render DANCE [SONG] -o OUT`: load a dance file and write it as OUT's format.

    Without a song, .mp4 is silent and .html plays on a timer clock.
    """
    from .io.load import load_dance

    ext = output_format(out)  # fail before any loading or rendering
    _check_fps(fps)
    motion = load_dance(dance, allow_missing=False)  # every dance format we write reads back
    if song is not None:
        from .audio.load import load_audio

        load_audio(song, sr=8000, song_limits=True)  # the same verdict on a song as `generate` gives
    if song is not None and ext not in (".mp4", ".html") and not quiet:
        log.info("%s output has no audio; the song is not used", ext)
    return write_dance(
        motion,
        out,
        audio_path=song,
        fps=fps,
        quiet=quiet,
        model=str(motion.meta.get("model", "")),
        seed=int(motion.meta.get("seed", -1)),
    )


def _read_dance(dance: str | os.PathLike, song: Path):
    """(motion, audio offset in seconds, note). The offset is the Tang take's own when SONG is its song."""
    from .validate import check_motion

    path = Path(dance)
    if path.is_dir() and (path / "skeletons.json").is_file():
        from .io.tang import read_tang_sequence

        seq = read_tang_sequence(path)
        motion = check_motion(seq.motion, path, allow_missing=True)
        same = seq.audio_path.exists() and song.exists() and seq.audio_path.resolve() == song.resolve()
        if same:
            offset = float(seq.audio_offset_s)
            return motion, offset, f"song aligned with the take: {offset:.2f} s"
        return motion, 0.0, "song is not this take's own audio.mp3, so no offset is applied"
    from .io.load import load_dance

    return load_dance(path, allow_missing=True), 0.0, ""


def _beat_params_for(names: tuple[str, ...]):
    """Measured defaults, or all joints when the skeleton lacks the canonical feet."""
    from .motion.kinematic_beats import KinematicBeatParams

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
    from .audio.beats import onset_envelope, track_beats
    from .audio.load import load_audio
    from .motion.geometry import fill_missing
    from .motion.kinematic_beats import hit_rate_vs_chance, kinematic_beats, motion_magnitude

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
        joints = fill_missing(motion.joints, absent=0.0)  # finite speeds even for a joint never seen
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

    plot_beats(
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
