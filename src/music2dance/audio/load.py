"""Decode a song file into a mono float32 signal at the project's sample rate.

One entry point, `load_audio`, for wav/flac/ogg/mp3/m4a in mono or stereo at any sample rate.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import numpy as np

from ..defaults import AUDIO_SR
from ..errors import input_error
from ..validate import SONG_MAX_S, SONG_MIN_S

MAX_PEAK = 100.0  # a song's samples lie within -1..1; float files may overshoot a little, never this far


@contextlib.contextmanager
def _quiet_stderr():
    """Silence C-level stderr (libmpg123 prints "Note: Illegal Audio-MPEG-Header" lines for bad mp3s), so
    a bad song still gets exactly one line of error."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _read_soundfile(path: Path, offset: float, duration: float | None) -> tuple[np.ndarray, int]:
    import soundfile as sf

    with _quiet_stderr(), sf.SoundFile(str(path)) as f:
        native = int(f.samplerate)
        start = min(int(round(offset * native)), f.frames)
        # mp3 frames borrow bits from earlier frames, so after a seek libmpg123 prints decode errors for
        # the first frame: decode mp3 from the start (fast) and drop the lead-in; other formats seek
        lead = start if f.format == "MP3" else 0
        if start > 0:
            f.seek(start - lead)
        frames = -1 if duration is None else lead + max(0, int(round(duration * native)))
        data = f.read(frames=frames, dtype="float32", always_2d=True)[lead:]
    return data, native


def ffmpeg_command(*args: str) -> list[str]:
    """The bundled ffmpeg (imageio-ffmpeg) with `args`, printing errors only and never reading stdin (a
    prompt would hang a run); every audio and video encoder of the package starts from this."""
    import imageio_ffmpeg

    return [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", *args]


def _read_ffmpeg(path: Path, sr: int, max_s: float | None) -> tuple[np.ndarray, int]:
    """Decode the first audio stream with the bundled ffmpeg (m4a/aac, video containers, odd mp3s), mono
    at `sr`, at most `max_s` seconds when given (a song over the limit is refused anyway: decoding stays
    bounded)."""
    import subprocess

    cmd = ffmpeg_command(
        "-i",
        str(path),
        "-map",
        "0:a:0",
        "-vn",
        *(["-t", f"{max_s:.3f}"] if max_s is not None else []),
        "-ac",
        "1",
        "-ar",
        str(sr),
        "-f",
        "f32le",
        "pipe:1",
    )
    proc = subprocess.run(cmd, capture_output=True, timeout=300)
    if proc.returncode != 0:
        lines = [ln.strip() for ln in proc.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
        why = lines[-1] if lines else f"ffmpeg exited with status {proc.returncode}"
        raise ValueError(why.replace(str(path), "").strip(": ") or why)
    return np.frombuffer(proc.stdout, dtype="<f4").reshape(-1, 1), sr


def _soundfile_seconds(path: Path) -> float | None:
    """The file's length from its header when libsndfile reads it, else None (then ffmpeg decodes it)."""
    import soundfile as sf

    try:
        with _quiet_stderr(), sf.SoundFile(str(path)) as f:
            return f.frames / f.samplerate
    except Exception:  # libsndfile refuses m4a/aac, containers with video, some mp3s
        return None


def _check_song_length(path: Path, total: float) -> None:
    if not SONG_MIN_S <= total <= SONG_MAX_S:
        what = "has no audio" if total == 0 else f"lasts {total:.2f} s"
        if total > SONG_MAX_S:
            what = f"lasts over {SONG_MAX_S / 60:.0f} min"
        raise input_error(
            path, f"the song {what}; songs must last {SONG_MIN_S:g} s to {SONG_MAX_S / 60:.0f} min"
        )


def load_audio(
    path: str | os.PathLike,
    sr: int = AUDIO_SR,
    offset: float = 0.0,
    duration: float | None = None,
    *,
    song_limits: bool = False,
) -> tuple[np.ndarray, int]:
    """Decode an audio file to mono float32 at `sr`.

    path: audio file (wav, flac, ogg, mp3, m4a; anything libsndfile reads, else the bundled ffmpeg).
    sr: output sample rate in Hz (default `defaults.AUDIO_SR`, 22050, the project's rate).
    offset: start reading this many seconds into the file (>= 0).
    duration: read at most this many seconds (None: to the end).
    song_limits: refuse a file whose whole length is outside SONG_MIN_S..SONG_MAX_S (the commands' songs).
    Returns `(y, sr)`: y (n,) float32 in [-1, 1], channels averaged; sr the output rate in Hz.
    Raises `Music2DanceError` (one line naming the file) for a missing, unreadable or empty file.
    Formats libsndfile does not read (m4a/aac, audio inside a video container) are decoded by the bundled
    ffmpeg (imageio-ffmpeg), so every command takes the same songs as `render` muxes.
    """
    path = Path(path)
    if offset < 0 or not np.isfinite(offset):
        raise input_error(path, f"offset must be >= 0 seconds, got {offset}")
    if duration is not None and not duration > 0:
        raise input_error(path, f"duration must be > 0 seconds, got {duration}")
    if not path.exists():
        raise input_error(path, "song not found (no such audio file)")
    if path.is_dir():
        raise input_error(path, "is a folder, not an audio file")
    if not path.is_file():  # a pipe or a device could be read forever
        raise input_error(path, "is not a regular file")
    total = _soundfile_seconds(path)
    if song_limits and total is not None:
        _check_song_length(path, total)  # before decoding: a 3-hour file is refused at once
    try:
        if total is not None:
            data, native = _read_soundfile(path, offset, duration)
        else:
            data, native = _read_ffmpeg(path, sr, SONG_MAX_S + 1.0 if song_limits else None)
            total = len(data) / native
            start = int(round(offset * native))
            data = data[start : None if duration is None else start + max(0, int(round(duration * native)))]
    except Exception as e:
        msg = str(e).splitlines()[0].strip() if str(e).strip() else type(e).__name__
        raise input_error(path, f"not a readable audio file ({msg})") from None
    if song_limits:
        _check_song_length(path, total)
    if data.size == 0 or data.shape[0] == 0:
        raise input_error(path, "audio is empty (no samples in the requested range)")
    y = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if not np.all(np.isfinite(y)):
        raise input_error(path, "audio contains NaN or infinite samples")
    peak = float(np.abs(y).max())
    if song_limits and peak > MAX_PEAK:  # float files can hold anything; 1e30 overflows every feature
        raise input_error(
            path, f"samples reach {peak:.3g}; audio samples lie within -1..1 (a damaged float file?)"
        )
    if native != sr:
        import soxr

        y = soxr.resample(y, native, sr, quality="HQ")
    return np.ascontiguousarray(y, dtype=np.float32), int(sr)
