"""`music2dance generate SONG -o OUT`: decode the song, run the model, write the dance in OUT's format.

The output format follows the extension (.npz, .mp4, .gif, .html, .bvh, .json); the model is the bundled one
unless --model names a folder.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from ..errors import input_error
from ..validate import MAX_SEED, SONG_MAX_S, SONG_MIN_S

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
    from ..render.dispatch import output_format, write_dance
    from .dance import generate_dance, load_model

    t0 = time.perf_counter()
    # Every input is checked before any work: output path and format, options, model, song.
    output_format(output)
    if seconds is not None and not SONG_MIN_S <= seconds <= SONG_MAX_S:
        raise input_error("--seconds", f"must be from {SONG_MIN_S:g} to {SONG_MAX_S:g} s, got {seconds}")
    if not 0 <= seed <= MAX_SEED:
        raise input_error("--seed", f"must be an integer from 0 to {MAX_SEED}, got {seed}")
    m = load_model(model)
    y, sr = load_audio(song, sr=22050, song_limits=True)
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
