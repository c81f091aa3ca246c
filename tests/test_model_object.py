"""The trained model as an object of its own: same seed, same dance; generation never loads the trainer."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from music2dance.audio.load import load_audio
from music2dance.generate.dance import default_model_path, generate_dance, load_model

DEMO = default_model_path().parent / "demo" / "vibe_ace.ogg"
REFERENCE = Path(__file__).parent / "fixtures" / "demo_dance_reference.npz"


def test_same_seed_same_dance_as_recorded():
    """The bundled model dances the demo song (20 s, seeds 0 and 1) as it did when the fixture was recorded.

    The fixture holds every `stride`-th frame of the joints (float32, metres) and the frame count, written
    with `music2dance generate vibe_ace.ogg --seed S --seconds 20` (same as the calls below). It guards
    refactoring: a change of code must not change the dance. If the bundled model is retrained on purpose,
    regenerate the fixture on purpose (same calls, same keys) and say so in the commit.
    """
    ref = np.load(REFERENCE, allow_pickle=False)
    stride, seconds = int(ref["stride"]), float(ref["seconds"])
    model = load_model()
    y, sr = load_audio(DEMO, sr=22050, song_limits=True)
    for seed in (0, 1):
        motion = generate_dance(model, y, sr, seed=seed, seconds=seconds)
        assert len(motion.joints) == int(ref[f"frames_seed{seed}"])
        got = motion.joints[::stride]
        want = ref[f"joints_seed{seed}"]
        assert got.shape == want.shape
        assert np.abs(got - want).max() <= 1e-5, f"seed {seed}: the dance changed"


_NO_TRAINING = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import numpy as np
    import soundfile as sf

    sr = 22050
    y = np.zeros(4 * sr, np.float32)
    for t in np.arange(0.25, 4.0, 0.5):  # a 120 BPM click track
        i = int(t * sr)
        y[i : i + 400] = np.sin(np.arange(400) * 2 * np.pi * 1000 / sr) * np.hanning(400)

    import music2dance.generate.dance as dance

    model = dance.load_model()
    motion = dance.generate_dance(model, y, sr, seed=0)
    assert len(motion.joints) > 0

    from music2dance.cli import main

    song, out = Path(sys.argv[1]) / "click.wav", Path(sys.argv[1]) / "dance.npz"
    sf.write(song, y, sr)
    assert main(["generate", str(song), "-o", str(out), "--seconds", "4", "-q"]) == 0
    assert out.exists()
    loaded = sorted(m for m in sys.modules if m.startswith("music2dance.train"))
    assert "music2dance.commands" in sys.modules
    assert not loaded, f"generation imported the trainer: {loaded}"
    print("ok")
    """
)


def test_generation_imports_no_training(tmp_path):
    """`generate_dance`, `load_model` and `music2dance generate` load no `music2dance.train` module."""
    r = subprocess.run(
        [sys.executable, "-c", _NO_TRAINING, str(tmp_path)], capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip().endswith("ok")
