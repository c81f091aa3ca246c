"""Training is reproducible: the same config and seed give bit-identical weights for every stage.

A tiny configuration on a small synthetic prepared-data folder (written directly, no audio decoding),
trained twice into two folders; every tensor of every stage must match exactly. Also: the recorded
config holds what the optimizers used (weight decay, thread count) and no machine-specific path.
"""

import json

import numpy as np
import pytest
from safetensors.numpy import load_file

from music2dance.motion.demo import demo_motion
from music2dance.train.stages import STAGES, run_stage

STEPS = 3
N_FEATURES = 32  # audio.features' columns; the beat-phase ones (1-3) are left out by every model
FEATURE_NAMES = (
    ["onset", "beat_pulse", "beat_phase_sin", "beat_phase_cos"]
    + [f"mfcc_{i}" for i in range(13)]
    + ["log_energy"]
    + [f"chroma_{i}" for i in range(12)]
    + ["local_tempo", "pulse_clarity"]
)


@pytest.fixture(autouse=True)
def _no_curve_plots(monkeypatch):
    """The loss-curve PNG (matplotlib, ~1.5 s a run) is not what this file tests."""
    monkeypatch.setattr("music2dance.train.loop.plot_curves", lambda *a, **k: None)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """Six 12-s sequences of two styles at 15 fps, two held out: the layout `music2dance prepare` writes."""
    root = tmp_path_factory.mktemp("prepared")
    (root / "sequences").mkdir()
    rng = np.random.default_rng(0)
    entries = []
    for i, (style, split) in enumerate(
        [
            ("fast", "train"),
            ("fast", "train"),
            ("fast", "test"),
            ("slow", "train"),
            ("slow", "train"),
            ("slow", "test"),
        ]
    ):
        joints = demo_motion(seconds=12.0, fps=15.0, seed=i).joints.astype(np.float32)
        music = rng.normal(size=(len(joints), N_FEATURES)).astype(np.float32)
        music[:, 0] += 1.0 if style == "fast" else -1.0  # something for the style classifier to find
        name = f"take_{i}"
        np.savez(
            root / "sequences" / f"{name}.npz",
            joints=joints,
            music=music,
            music_beats=np.arange(0.25, 12.0, 0.5, dtype=np.float32),
            kin_beats=np.arange(4, len(joints), 8, dtype=np.int64),
        )
        entries.append(
            {"name": name, "style": style, "split": split, "file": f"sequences/{name}.npz",
             "audio_path": f"{name}.wav", "audio_offset_s": 0.0}
        )  # fmt: skip
    manifest = {
        "format": "music2dance-prepared-1",
        "recipe": {"version": 0},
        "recipe_hash": "test",
        "data_hash": "synthetic",
        "fps": 15.0,
        "unit_frames": 32,
        "feature_names": FEATURE_NAMES,
        "styles": ["fast", "slow"],
        "sequences": entries,
    }
    assert len(FEATURE_NAMES) == N_FEATURES
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def _train_all(data, out, config=None):
    for stage in STAGES:
        run_stage(
            stage, data=data, out=out / stage, preset="tiny", steps=STEPS, config=config, quiet=True,
            decomposition=out / "decomposition", style=out / "style",
        )  # fmt: skip


def _weights(run, stage):
    return load_file(str(run / stage / "model.safetensors"))


def test_same_seed_gives_identical_weights_for_every_stage(prepared, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    _train_all(prepared, a)
    _train_all(prepared, b)
    for stage in STAGES:
        wa, wb = _weights(a, stage), _weights(b, stage)
        assert wa.keys() == wb.keys() and len(wa) > 0
        differ = [k for k in wa if not np.array_equal(wa[k], wb[k])]
        assert not differ, f"{stage}: {len(differ)} of {len(wa)} tensors differ, e.g. {differ[:3]}"
        assert json.loads((a / stage / "config.json").read_text())["step"] == STEPS

    # What the optimizers used is what config.json records; no path of this machine is in it.
    for stage in STAGES:
        text = (a / stage / "config.json").read_text()
        cfg = json.loads(text)
        assert cfg["train"]["num_threads"] >= 1  # the thread count used, not "0 = default"
        assert cfg["meta"]["data_hash"] == "synthetic" and "data" not in cfg["meta"]
        assert str(tmp_path) not in text and str(prepared) not in text
        assert cfg["meta"]["machine"]["torch"]
    assert json.loads((a / "style" / "config.json").read_text())["train"]["weight_decay"] == 1e-4


def test_recorded_weight_decay_is_the_one_used(prepared, tmp_path):
    """The style stage's weight decay was once hard-coded while config.json recorded 0.0."""
    config = tmp_path / "wd.json"
    config.write_text(json.dumps({"style": {"train": {"weight_decay": 0.0}}}))
    for name, cfg in (("default", None), ("no_wd", config)):
        run_stage(
            "style", data=prepared, out=tmp_path / name, preset="tiny", steps=STEPS, config=cfg, quiet=True
        )
    assert json.loads((tmp_path / "no_wd" / "config.json").read_text())["train"]["weight_decay"] == 0.0
    wa, wb = _weights(tmp_path, "default"), _weights(tmp_path, "no_wd")
    assert any(not np.array_equal(wa[k], wb[k]) for k in wa)


def test_bundled_model_records_its_data_and_setup():
    """The bundled model names the data recipe of today's `prepare` and the setup that makes its weights."""
    from music2dance.generate.dance import default_model_path
    from music2dance.train.config import PRESET_TRAIN
    from music2dance.train.prepare import RECIPE_VERSION, _hash_json, recipe

    text = (default_model_path() / "config.json").read_text()
    rec = json.loads(text)["training"]
    assert rec["recipe_version"] == RECIPE_VERSION, "the recipe changed: re-train and re-bundle (MODEL.md)"
    assert rec["recipe_hash"] == _hash_json(recipe())
    assert '"/' not in text  # no absolute path of the trainer
    for stage in STAGES:
        st = rec["stages"][stage]
        assert {k: st["data"][k] for k in ("data_hash", "recipe_version", "recipe_hash")} == {
            k: rec[k] for k in ("data_hash", "recipe_version", "recipe_hash")
        }
        preset = PRESET_TRAIN[st["data"]["preset"]][stage]
        assert {k: st["train"][k] for k in preset} == preset  # trained with the schedule the preset gives
        assert st["step"] == st["train"]["steps"] and st["train"]["num_threads"] >= 1
