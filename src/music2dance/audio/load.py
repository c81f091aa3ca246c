"""Decode a song file into a mono float32 signal at the project's sample rate.

One entry point, `load_audio`, for wav/flac/ogg/mp3 in mono or stereo at any sample rate.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import input_error

DEFAULT_SR = 22050


def _read_soundfile(path: Path, offset: float, duration: float | None) -> tuple[np.ndarray, int]:
    import soundfile as sf

    with sf.SoundFile(str(path)) as f:
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


def _read_librosa(path: Path, offset: float, duration: float | None) -> tuple[np.ndarray, int]:
    import warnings

    import librosa

    # sr=None keeps the native rate so the resampler below is the same for both decoders; librosa warns
    # that it fell back to audioread, which is exactly what we asked for
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y, native = librosa.load(str(path), sr=None, mono=False, offset=offset, duration=duration)
    y = np.atleast_2d(y).T  # librosa gives (channels, n); make it (n, channels) like soundfile
    return y.astype(np.float32, copy=False), int(native)


def load_audio(
    path: str | os.PathLike, sr: int = DEFAULT_SR, offset: float = 0.0, duration: float | None = None
) -> tuple[np.ndarray, int]:
    """Decode an audio file to mono float32 at `sr`.

    path: audio file (wav, flac, ogg, mp3; anything libsndfile reads, else librosa/audioread).
    sr: output sample rate in Hz (default 22050, the project's rate).
    offset: start reading this many seconds into the file (>= 0).
    duration: read at most this many seconds (None: to the end).
    Returns `(y, sr)`: y (n,) float32 in [-1, 1], channels averaged; sr the output rate in Hz.
    Raises `Music2DanceError` (one line naming the file) for a missing, unreadable or empty file.
    """
    path = Path(path)
    if offset < 0:
        raise input_error(path, f"offset must be >= 0 seconds, got {offset}")
    if duration is not None and duration <= 0:
        raise input_error(path, f"duration must be > 0 seconds, got {duration}")
    if not path.exists():
        raise input_error(path, "no such audio file")
    if path.is_dir():
        raise input_error(path, "is a folder, not an audio file")
    try:
        data, native = _read_soundfile(path, offset, duration)
    except Exception as first:  # libsndfile refuses some containers (m4a, odd mp3); try audioread
        try:
            data, native = _read_librosa(path, offset, duration)
        except Exception:
            msg = str(first).splitlines()[0] if str(first) else type(first).__name__
            raise input_error(path, f"cannot decode audio ({msg})") from None
    if data.size == 0 or data.shape[0] == 0:
        raise input_error(path, "audio is empty (no samples in the requested range)")
    y = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if not np.all(np.isfinite(y)):
        raise input_error(path, "audio contains NaN or infinite samples")
    if native != sr:
        import soxr

        y = soxr.resample(y, native, sr, quality="HQ")
    return np.ascontiguousarray(y, dtype=np.float32), int(sr)
