"""Speed and memory of `music2dance generate` on this machine (issue targets in brackets).

Prints: compute for 60 s of dance excluding audio decoding [<= 1 s], a 3-minute song end to end in a fresh
process (decode, features, generation, file) [<= 10 s], and that process's peak memory [<= 2 GB].
Usage: python benchmarks/generate_speed.py [--model DIR] [--song AUDIO] [--repeats N]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DEMO = Path(__file__).resolve().parents[1] / "src" / "music2dance" / "assets" / "demo" / "vibe_ace.ogg"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--song", default=str(DEMO))
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()

    import imageio_ffmpeg
    import soundfile as sf
    import torch

    from music2dance.audio.beats import track_beats
    from music2dance.audio.features import music_features
    from music2dance.audio.load import load_audio
    from music2dance.generate.dance import generate_dance, load_model

    torch.set_num_threads(2)
    model = load_model(a.model)
    y, sr = load_audio(a.song, sr=22050)
    y60 = np.tile(y, int(np.ceil(60 * sr / len(y))))[: 60 * sr]
    generate_dance(model, y60[: 10 * sr], sr, seed=0)  # warm-up: librosa's numba kernels compile once

    times, feat_times = [], []
    for r in range(a.repeats):
        t0 = time.perf_counter()
        _, beats = track_beats(y60, sr)
        music_features(y60, sr, 15.0, beats=beats)
        feat_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        generate_dance(model, y60, sr, seed=r)
        times.append(time.perf_counter() - t0)
    print(
        f"60 s of dance, compute excluding audio decoding: median {np.median(times):.3f} s "
        f"(of which beats + music features {np.median(feat_times):.3f} s) over {a.repeats} runs  [target <= 1 s]"
    )

    with tempfile.TemporaryDirectory() as tmp:
        # A real compressed file, as users bring: the demo song looped to 3 minutes, encoded to mp3 by the
        # bundled ffmpeg (libsndfile's own ogg writer crashed on a file this long here).
        wav, song = Path(tmp) / "three_minutes.wav", Path(tmp) / "three_minutes.mp3"
        y180 = np.tile(y, int(np.ceil(180 * sr / len(y))))[: 180 * sr]
        sf.write(wav, y180, sr)
        subprocess.run(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(wav), "-b:a", "128k", str(song)],
            check=True,
        )
        out = Path(tmp) / "dance.npz"
        cmd = [sys.executable, "-m", "music2dance.cli", "generate", str(song), "-o", str(out), "-q"]
        if a.model:
            cmd += ["--model", a.model]
        walls = []
        for _ in range(a.repeats):
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True)
            walls.append(time.perf_counter() - t0)
            peak_kb = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        print(
            f"3-minute song end to end in a fresh process (imports, decode, features, generation, npz): "
            f"median {np.median(walls):.2f} s over {a.repeats} runs  [target <= 10 s]"
        )
        print(f"peak resident memory of that process: {peak_kb / 1024:.0f} MB  [target <= 2048 MB]")


if __name__ == "__main__":
    main()
