"""`music2dance generate SONG -o OUT`: decode the song, run the model, write the dance in OUT's format.

The output format follows the extension (.npz, .mp4, .gif, .html, .bvh, .json); the model is the bundled one
unless --model names a folder.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

log = logging.getLogger(__name__)


def run_generate(
    song: str,
    output: str,
    *,
    seconds: float | None = None,
    seed: int = 0,
    model: str | None = None,
    quiet: bool = False,
) -> Path:
    from ..audio.load import load_audio
    from ..render.dispatch import write_dance
    from .dance import generate_dance, load_model

    t0 = time.perf_counter()
    m = load_model(model)
    y, sr = load_audio(song, sr=22050)
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
