"""Generation (eq. 7) with the bundled model: beat grid, seeds, no jumps, no freezing, clear errors."""

import numpy as np
import pytest
import soundfile as sf

from music2dance.audio.load import load_audio
from music2dance.cli import main
from music2dance.errors import Music2DanceError
from music2dance.evaluate.metrics import boundary_jump_ratio
from music2dance.generate.dance import default_model_path, generate_dance, load_model
from music2dance.models.unit_timing import beat_grid

DEMO = default_model_path().parent / "demo" / "vibe_ace.ogg"


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture(scope="module")
def demo_audio():
    y, sr = load_audio(DEMO, sr=22050)
    return y[: 16 * sr], sr


def test_beat_grid_spans_whole_beats_and_covers_the_song():
    beats = np.arange(0.3, 10.0, 0.5)  # 120 BPM
    bounds, k = beat_grid(beats, 10.0, natural=31 / 15)
    assert k == 4  # 4 beats = 2.0 s, closest to a unit's natural 2.07 s
    assert bounds[0] <= 0 and bounds[-1] >= 10.0
    assert np.allclose(np.diff(bounds), 2.0)
    assert np.isin(np.round(beats[::4], 6), np.round(bounds, 6)).all()
    slow, k_slow = beat_grid(np.arange(0.0, 20.0, 1.5), 20.0, natural=31 / 15)  # 40 BPM: one beat a unit
    assert k_slow == 1 and np.allclose(np.diff(slow), 1.5)
    none, k_none = beat_grid(np.array([]), 5.0, natural=2.0)
    assert k_none == 0 and np.allclose(np.diff(none), 2.0) and none[-1] >= 5.0


def test_bundled_model_dances_on_the_beat_grid(model, demo_audio):
    y, sr = demo_audio
    m = generate_dance(model, y, sr, seed=0)
    assert m.joints.shape == (16 * 30, 18, 3) and m.fps == 30 and np.isfinite(m.joints).all()
    # Feet on the floor, a person-sized figure.
    feet = m.joints[:, [12, 13, 16, 17], 1].min(axis=1)
    assert abs(np.percentile(feet, 5)) < 0.05 and 1.3 < np.median(m.joints[:, 3, 1] - feet) < 2.0
    # Units begin on music beats (every k-th beat), so unit starts and beats share frames.
    beat_frames = np.round(m.meta["music_beats"] * 30).astype(int)
    starts = m.meta["unit_starts"][1:]
    assert np.mean([np.abs(beat_frames - s).min() <= 1 for s in starts]) > 0.9
    # No jumps where units meet, and it moves.
    jumps = boundary_jump_ratio(m.joints, m.meta["unit_starts"])
    assert jumps["velocity_ratio"] < 2.0 and jumps["acceleration_ratio"] < 3.0
    speed = np.linalg.norm(np.diff(m.joints, axis=0), axis=-1).mean() * m.fps
    assert speed > 0.3 * model.unit_energy


def test_same_seed_same_dance(model, demo_audio):
    y, sr = demo_audio
    a = generate_dance(model, y, sr, seed=7, seconds=6)
    b = generate_dance(model, y, sr, seed=7, seconds=6)
    c = generate_dance(model, y, sr, seed=8, seconds=6)
    assert np.array_equal(a.joints, b.joints) and not np.allclose(a.joints, c.joints)


def test_too_short_a_song_is_a_clear_error(model, tmp_path, capsys):
    with pytest.raises(Music2DanceError, match="shorter than one dance unit"):
        generate_dance(model, np.zeros(22050, np.float32), 22050, source="short.wav")
    song = tmp_path / "short.wav"
    sf.write(song, np.zeros(22050, np.float32), 22050)
    out = tmp_path / "dance.npz"
    assert main(["generate", str(song), "-o", str(out), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(song) in err[0] and not out.exists()


@pytest.mark.parametrize(
    "setup, message", [("missing", "model folder not found"), ("empty", "not a music2dance model folder")]
)
def test_wrong_model_folder_is_a_clear_error(tmp_path, capsys, setup, message):
    folder = tmp_path / "model"
    if setup == "empty":
        folder.mkdir()
    assert main(["generate", str(DEMO), "-o", str(tmp_path / "d.npz"), "--model", str(folder), "-q"]) == 2
    err = capsys.readouterr().err
    assert message in err and str(folder) in err


def test_unreadable_audio_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "song.mp3"
    bad.write_bytes(b"this is not audio")
    assert main(["generate", str(bad), "-o", str(tmp_path / "d.npz"), "-q"]) == 2
    assert str(bad) in capsys.readouterr().err
