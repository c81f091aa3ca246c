"""Write a dance in the format its file extension names: .npz .mp4 .gif .html .bvh .json.

Shared by `music2dance generate -o ...` (`write_dance`) and `music2dance render` (`run_render`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..errors import input_error
from ..io.skeleton import Motion
from ..validate import RENDER_FPS_MAX, check_output

RENDER_FPS_MIN = 1.0

log = logging.getLogger(__name__)

FORMATS: dict[str, str] = {
    ".npz": "dance npz (joints, fps, skeleton, music beats; reloadable)",
    ".mp4": "H.264 video with the song",
    ".gif": "looping GIF (320 px, at most 15 fps)",
    ".html": "self-contained web viewer with the song",
    ".bvh": "BVH motion capture file (centimetres, Mixamo-like names)",
    ".json": "per-frame joint positions (metres, rounded to mm)",
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
    fps: float = 30.0,
    quiet: bool = False,
    model: str = "",
    seed: int = -1,
) -> Path:
    """Write `motion` to `out`, the format picked by the extension (see `FORMATS`); returns the path.

    audio_path: the song, muxed into .mp4 and embedded into .html (ignored by the other formats).
    fps: frame rate of .mp4 (and the cap for .gif, at most 15); the motion is resampled linearly.
    model / seed: provenance stored in .npz.
    """
    out = Path(out)
    ext = output_format(out)
    _check_fps(fps)
    if ext == ".npz":
        from ..io.dance_npz import save_dance_npz

        save_dance_npz(out, motion, model=model, seed=seed)
        if not quiet:
            log.info("wrote %s (%d frames at %g fps)", out, motion.num_frames, motion.fps)
    elif ext == ".mp4":
        from .video import write_video

        write_video(motion, out, audio_path=audio_path, fps=fps, quiet=quiet)
    elif ext == ".gif":
        from .video import write_gif

        write_gif(motion, out, fps=min(float(fps), 15.0), quiet=quiet)
    elif ext == ".html":
        from .html import write_html

        write_html(motion, out, audio_path=audio_path, quiet=quiet)
    elif ext == ".bvh":
        from ..io.bvh_export import write_bvh

        write_bvh(motion, out)
        if not quiet:
            log.info("wrote %s (%d frames at %g fps)", out, motion.num_frames, motion.fps)
    elif ext == ".json":
        from ..io.export import write_keypoints_json

        write_keypoints_json(motion, out)
        if not quiet:
            log.info("wrote %s (%d frames at %g fps)", out, motion.num_frames, motion.fps)
    return out


def run_render(
    dance: str | os.PathLike,
    song: str | os.PathLike | None,
    out: str | os.PathLike,
    *,
    fps: float = 30.0,
    quiet: bool = False,
) -> Path:
    """`music2dance render DANCE [SONG] -o OUT`: load a dance file and write it as OUT's format.

    Without a song, .mp4 is silent and .html plays on a timer clock.
    """
    from ..io.load import load_dance

    ext = output_format(out)  # fail before any loading or rendering
    _check_fps(fps)
    motion = load_dance(dance, allow_missing=False)  # every dance format we write reads back
    if song is not None:
        from ..audio.load import load_audio

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
