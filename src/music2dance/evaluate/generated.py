"""The model's row: dances generated for the test songs, per seed, at the protocol's fps.

The one part of the evaluation that runs the model (and reads the test songs' audio).
"""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np

from ..errors import input_error
from ..motion.geometry import resample_joints
from .baselines import EvalDance, PreparedSequence
from .protocol import Protocol


def generate_rows(
    model_spec, test: list[PreparedSequence], proto: Protocol, seed: int, quiet: bool
) -> list[list[EvalDance]]:
    """Generated dances: per seed (proto.n_seeds), one EvalDance per test song, at the protocol fps.

    model_spec: a model folder, None for the bundled model. Seeds are seed, seed + 1, ...; unit starts
    are converted to frames at the protocol fps.
    """
    from tqdm import tqdm

    from ..audio.load import load_audio
    from ..generate.dance import generate_dance, load_model

    model = load_model(None if model_spec is None else model_spec)
    # generate at the evaluation rate when the generator can (saves an up- and down-sampling)
    extra = {"out_fps": proto.fps} if "out_fps" in inspect.signature(generate_dance).parameters else {}
    per_seed: list[list[EvalDance]] = [[] for _ in range(max(proto.n_seeds, 1))]
    bar = tqdm(total=len(test) * len(per_seed), desc="generating", disable=quiet, leave=False)
    for s in test:
        seconds = len(s.joints) / proto.fps
        if not s.audio_path or not Path(s.audio_path).exists():
            raise input_error(s.audio_path or s.name, "audio of a test song is missing; re-run `prepare`")
        y, sr = load_audio(s.audio_path, offset=max(s.audio_offset_s, 0.0), duration=seconds + 1.0)
        for k in range(len(per_seed)):
            mo = generate_dance(model, y, sr, seed=seed + k, seconds=seconds, quiet=True, **extra)
            j = resample_joints(mo.joints, float(mo.fps), proto.fps)
            starts = mo.meta.get("unit_starts")
            if starts is not None:
                starts = np.round(np.asarray(starts, dtype=np.float64) * proto.fps / float(mo.fps)).astype(
                    int
                )
            beats = np.asarray(mo.meta.get("music_beats", s.music_beats), dtype=np.float64)
            per_seed[k].append(EvalDance(s.name, s.style, j, proto.fps, beats, starts, seed + k, "model"))
            bar.update(1)
    bar.close()
    return per_seed
