"""Dance videos: an H.264 mp4 with the song muxed in, and a small looping GIF.

Frames come from `figure.FigureRenderer` (numpy + Pillow, hundreds of frames/s) piped raw into ffmpeg.
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import numpy as np

from ..audio.load import ffmpeg_command
from ..defaults import OUTPUT_FPS
from ..errors import Music2DanceError, input_error
from ..io.atomic import atomic_path
from ..io.skeleton import Motion

log = logging.getLogger(__name__)

GIF_MAX_FPS = 15.0  # default and cap of `generate`/`render` GIFs: each frame costs file size


def _check_motion(motion: Motion, out) -> None:
    if motion.num_frames < 1:
        raise input_error(out, "the dance has no frames to render")
    if not np.isfinite(motion.joints).all():
        raise input_error(out, "the dance contains NaN or infinite joint positions")
    if not motion.fps > 0:
        raise input_error(out, f"the dance's frame rate must be positive, got {motion.fps}")


def check_audio(audio_path) -> Path:
    """The song path, or a one-line error when it does not exist."""
    p = Path(audio_path)
    if not p.is_file():
        raise input_error(p, "song not found (no such audio file)")
    return p


def make_renderer(motion: Motion, fps: float, width: int, height: int):
    """A `FigureRenderer` over the motion at `fps` (`figure.video_frames`)."""
    from .figure import FigureRenderer, video_frames

    joints = video_frames(motion.joints, motion.fps, fps)
    return FigureRenderer(joints, fps, motion.joint_names, motion.parents, width=width, height=height)


def write_video(
    motion: Motion,
    out: str | os.PathLike,
    *,
    audio_path: str | os.PathLike | None = None,
    fps: float = OUTPUT_FPS,
    width: int = 640,
    height: int = 480,
    crf: int = 23,
    preset: str = "veryfast",
    quiet: bool = False,
) -> Path:
    """Render `motion` to an H.264 yuv420p mp4 at `fps`, with `audio_path` muxed in when given.

    The dance is resampled to `fps` (`figure.video_frames`: a cubic spline); the audio starts at the song time
    `motion.meta["audio_offset_s"]` (0 when absent: generated dances start with the song) and is cut
    to the dance's length. Width and height must be even (yuv420p). crf / preset: x264 quality and
    speed ("ultrafast" encodes about twice as fast, files about five times larger). Written atomically.
    """
    from tqdm import tqdm

    out = Path(out)
    _check_motion(motion, out)
    if width % 2 or height % 2:
        raise input_error(out, f"video size must be even, got {width}x{height}")
    audio = check_audio(audio_path) if audio_path is not None else None
    renderer = make_renderer(motion, fps, width, height)
    n = len(renderer)
    duration = n / float(fps)
    offset = float(motion.meta.get("audio_offset_s", 0.0) or 0.0)
    with atomic_path(out, suffix=".mp4") as tmp:
        cmd = ffmpeg_command(
            "-y",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-s",
            f"{width}x{height}",
            "-framerate",
            f"{fps:g}",
            "-i",
            "pipe:0",
        )
        if audio is not None:
            cmd += ["-ss", f"{offset:.6f}", "-t", f"{duration:.6f}", "-i", str(audio)]
        cmd += [
            "-map",
            "0:v:0",
            "-c:v",
            "libx264",
            "-preset",
            preset,
            "-crf",
            str(crf),
            "-pix_fmt",
            "yuv420p",
            "-profile:v",
            "high",
            "-movflags",
            "+faststart",
        ]
        if audio is not None:
            cmd += ["-map", "1:a:0?", "-c:a", "aac", "-b:a", "160k"]
        cmd += ["-t", f"{duration:.6f}", "-f", "mp4", str(tmp)]
        _pipe_frames(
            cmd,
            (renderer.frame(i) for i in range(n)),
            n,
            out,
            audio,
            tqdm(total=n, desc="render", unit="frame", disable=quiet, leave=False),
        )
    if not quiet:
        log.info(
            "wrote %s (%d frames, %.1f s at %g fps%s)",
            out,
            n,
            duration,
            fps,
            ", with audio" if audio is not None else ", silent",
        )
    return out


def _pipe_frames(cmd: list[str], frames, n: int, out: Path, audio, bar) -> None:
    """Feed raw RGB frames to an ffmpeg process; turn its failure into a one-line error."""
    import tempfile

    # stderr to a file: a chatty ffmpeg can never block on a full pipe while we write frames.
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err)
        broken = False
        try:
            for frame in frames:
                try:
                    proc.stdin.write(np.ascontiguousarray(frame).tobytes())
                except BrokenPipeError:
                    broken = True
                    break
                bar.update(1)
        except BaseException:
            # Interrupted (Ctrl-C, SIGTERM, SIGHUP) or failed: stop ffmpeg now, so it cannot go on writing
            # the temp file that atomic_path is about to remove.
            proc.kill()
            raise
        finally:
            bar.close()
            try:
                proc.stdin.close()
            except BrokenPipeError:
                broken = True
            rc = proc.wait()
        if rc != 0 or broken:
            err.seek(0)
            lines = [ln for ln in err.read().decode("utf-8", "replace").splitlines() if ln.strip()]
            why = lines[-1].strip() if lines else f"ffmpeg exited with status {rc}"
            if audio is not None and str(audio) in " ".join(lines):
                raise input_error(audio, f"cannot read the song ({why})")
            raise Music2DanceError(f"{out}: video encoding failed ({why})")


def gif_durations_ms(n: int, fps: float) -> list[int]:
    """Per-frame GIF delays (ms, multiples of 10: GIF stores 1/100 s) whose running sum tracks n / fps."""
    edges = np.round(np.arange(n + 1) * 100.0 / fps).astype(np.int64) * 10
    return [int(max(d, 10)) for d in np.diff(edges)]


def write_gif(
    motion: Motion,
    out: str | os.PathLike,
    *,
    fps: float = GIF_MAX_FPS,
    width: int = 320,
    height: int = 320,
    quiet: bool = False,
) -> Path:
    """Render `motion` to a looping GIF (default 320x320 at 15 fps), written atomically.

    One shared palette for all frames (taken from a few sample frames) avoids colour flicker.
    """
    from PIL import Image
    from tqdm import tqdm

    out = Path(out)
    _check_motion(motion, out)
    fps = min(float(fps), 50.0)  # GIF delays are in 1/100 s; browsers clamp faster ones
    renderer = make_renderer(motion, fps, width, height)
    n = len(renderer)
    samples = [renderer.frame(i) for i in np.linspace(0, n - 1, min(n, 4)).astype(int)]
    sheet = Image.fromarray(np.concatenate(samples, axis=0))
    palette = sheet.quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    frames = []
    for i in tqdm(range(n), desc="gif", unit="frame", disable=quiet, leave=False):
        img = Image.fromarray(renderer.frame(i))
        frames.append(img.quantize(palette=palette, dither=Image.Dither.NONE))
    with atomic_path(out, suffix=".gif") as tmp:
        frames[0].save(
            tmp,
            format="GIF",
            save_all=True,
            append_images=frames[1:],
            loop=0,
            duration=gif_durations_ms(n, fps),
            optimize=False,
            disposal=1,
        )
    if not quiet:
        log.info("wrote %s (%d frames at %g fps)", out, n, fps)
    return out
