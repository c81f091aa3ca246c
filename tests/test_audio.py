"""Audio decoding, per-frame music features and music beats on synthetic signals and annotated audio."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from music2dance.audio.beats import beat_f_measure, onset_envelope, track_beats
from music2dance.audio.features import FEATURE_NAMES, music_features
from music2dance.audio.load import load_audio
from music2dance.errors import Music2DanceError

SR = 22050


def click_track(bpm: float, seconds: float = 12.0, sr: int = SR, first: float = 0.5):
    """Noise-burst clicks at `bpm` from `first` seconds; returns (y, click times in seconds)."""
    y = np.zeros(int(seconds * sr), np.float32)
    times = np.arange(first, seconds - 0.2, 60.0 / bpm)
    n = int(0.02 * sr)
    burst = np.random.default_rng(0).standard_normal(n) * np.exp(-np.arange(n) / (0.003 * sr))
    for t in times:
        i = int(round(t * sr))
        y[i : i + n] += 0.5 * burst.astype(np.float32)
    return y, times


# ---- load_audio


def test_load_resamples_stereo_to_mono(tmp_path):
    t = np.arange(44100) / 44100.0
    left = 0.5 * np.sin(2 * np.pi * 440 * t)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, -left * 0.0], axis=1), 44100)
    y, sr = load_audio(path)
    assert sr == SR and y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) - SR) <= 1
    # channels are averaged: amplitude halves, the 440 Hz tone survives resampling
    assert 0.2 < np.abs(y[1000:-1000]).max() < 0.3
    spec = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spec) * SR / len(y) - 440) < 2


def test_load_offset_and_duration_are_exact(tmp_path):
    y0 = np.random.default_rng(1).uniform(-0.5, 0.5, 3 * SR).astype(np.float32)
    for ext in ("wav", "flac", "mp3"):
        path = tmp_path / f"noise.{ext}"
        sf.write(path, y0, SR)
        full, _ = load_audio(path)
        part, _ = load_audio(path, offset=1.0, duration=0.5)
        assert len(part) == SR // 2
        np.testing.assert_allclose(part, full[SR : SR + SR // 2], atol=1e-4, err_msg=ext)


@pytest.mark.parametrize("content", [b"", b"this is not audio at all" * 10], ids=["empty", "text"])
def test_load_bad_file_is_one_line_error(tmp_path, content):
    path = tmp_path / "bad.mp3"
    path.write_bytes(content)
    with pytest.raises(Music2DanceError) as e:
        load_audio(path)
    assert str(path) in str(e.value) and "\n" not in str(e.value)


def test_load_missing_and_empty(tmp_path):
    with pytest.raises(Music2DanceError, match="no such audio file"):
        load_audio(tmp_path / "nope.wav")
    path = tmp_path / "short.wav"
    sf.write(path, np.zeros(100, np.float32), SR)
    with pytest.raises(Music2DanceError, match="empty"):
        load_audio(path, offset=5.0)


def test_load_shared_ogg(shared_data):
    y, sr = load_audio(shared_data / "music" / "Kevin_MacLeod_-_Vibe_Ace.ogg", duration=2.0)
    assert sr == SR and len(y) == 2 * SR and np.abs(y).max() > 0.01


# ---- beats


def test_beat_f_measure():
    ref = np.array([1.0, 2.0, 3.0, 4.0])
    assert beat_f_measure(ref, ref) == 1.0
    assert beat_f_measure(ref + 0.05, ref) == 1.0
    assert beat_f_measure(ref + 0.1, ref) == 0.0
    assert beat_f_measure(np.array([]), ref) == 0.0
    # two of four found, one false alarm: P = 2/3, R = 1/2
    assert beat_f_measure(np.array([1.0, 2.02, 2.5]), ref) == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    # one-to-one: two estimates near one reference count once
    assert beat_f_measure(np.array([1.0, 1.03]), np.array([1.0])) == pytest.approx(2 * 0.5 / 1.5)


@pytest.mark.parametrize("bpm", [90.0, 120.0, 150.0])
def test_click_track_tempo_and_beats(bpm):
    y, times = click_track(bpm)
    tempo, beats = track_beats(y, SR)
    assert tempo == pytest.approx(bpm, rel=0.02)
    assert beat_f_measure(beats, times, window=0.07) >= 0.9


def test_silence_has_no_beats():
    tempo, beats = track_beats(np.zeros(SR * 3, np.float32), SR)
    assert tempo == 0.0 and len(beats) == 0


def test_annotated_sample_beats(shared_data):
    music = shared_data / "music"
    y, sr = load_audio(music / "beats_sample.wav")
    ref = np.loadtxt(music / "beats_sample.beats", comments="#")[:, 0]
    # librosa's tempo estimate on this 2.8 s excerpt is 117 BPM against the annotated 87 (docs/BEATS.md);
    # given the annotated tempo, the tracker places every beat within 70 ms.
    ref_bpm = 60.0 / np.diff(ref).mean()
    _, beats = track_beats(y, sr, bpm=ref_bpm)
    # Beats are scored inside the annotated span (+- half a period): the tracker also marks the next beat,
    # at 2.79 s, which the excerpt cuts off 10 ms later and the annotation therefore lacks.
    half = 30.0 / ref_bpm
    beats = beats[(beats > ref[0] - half) & (beats < ref[-1] + half)]
    assert beat_f_measure(beats, ref, window=0.07) >= 0.9


# ---- onset envelope and features


@pytest.mark.parametrize("fps, hop", [(15, 1470), (25, 882), (30, 735)])
def test_features_one_row_per_motion_frame(fps, hop):
    y, _ = click_track(120.0, seconds=6.0)
    y = y[: 6 * SR - 7]  # not a whole number of frames
    f = music_features(y, SR, fps)
    assert f.shape == (int(np.ceil(len(y) / hop)), len(FEATURE_NAMES)) == (f.shape[0], 32)
    assert f.dtype == np.float32 and np.isfinite(f).all()
    assert len(onset_envelope(y, SR, fps)) == f.shape[0]


def test_features_are_aligned_with_motion_frames():
    """Row t describes time t / fps: a click at a known time peaks the onset column on that frame."""
    fps = 15
    y, times = click_track(100.0, seconds=8.0, first=1.0)
    f = music_features(y, SR, fps)
    onset = f[:, FEATURE_NAMES.index("onset")]
    peaks = [
        t
        for t in range(1, len(onset) - 1)
        if onset[t] >= onset[t - 1] and onset[t] > onset[t + 1] and onset[t] > 0.5 * onset.max()
    ]
    expected = np.round(times * fps).astype(int)
    assert len(peaks) == len(expected)
    assert np.abs(np.array(peaks) - expected).max() <= 1
    pulse = f[:, FEATURE_NAMES.index("beat_pulse")]
    assert np.corrcoef(pulse, onset)[0, 1] > 0.5  # the tracked beats sit on the clicks
    tempo = 120.0 * 2 ** f[len(f) // 2, FEATURE_NAMES.index("local_tempo")]
    assert tempo == pytest.approx(100.0, rel=0.05) or tempo == pytest.approx(200.0, rel=0.05)


def test_features_reject_bad_rate():
    with pytest.raises(ValueError, match="whole multiple"):
        music_features(np.zeros(SR, np.float32), SR, 24)
