"""The whole pipeline on a small synthetic dataset: prepare -> train all (tiny) -> generate -> files.

Dances are procedural figures (known bone lengths), songs are click tracks; the generic dataset layout
(`<name>.npz` + `<name>.wav` + styles.json) is the one users of other data sets follow.
"""

import json

import numpy as np
import pytest
import soundfile as sf
from dataset_layouts import click_track

from music2dance.cli import main
from music2dance.io.dance_npz import load_dance_npz, save_dance_npz
from music2dance.motion.demo import demo_motion


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic_dataset")
    styles = {}
    for i, (style, bpm) in enumerate(
        [("fast", 128), ("fast", 124), ("fast", 132), ("slow", 90), ("slow", 94), ("slow", 86)]
    ):
        name = f"take_{i}"
        save_dance_npz(root / f"{name}.npz", demo_motion(seconds=14.0, fps=30.0, seed=i))
        sf.write(root / f"{name}.wav", click_track(14.0, bpm), 22050)
        styles[name] = style
    (root / "styles.json").write_text(json.dumps(styles))
    return root


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory):
    work = tmp_path_factory.mktemp("work")
    prepared, run = work / "prepared", work / "model"
    assert main(["prepare", str(dataset), "-o", str(prepared), "--workers", "1", "-q"]) == 0
    # One config file for `train all`, one section per stage.
    config = work / "train.json"
    config.write_text(
        json.dumps({"decomposition": {"model": {"z_mov": 8}}, "style": {"train": {"lr": 0.002}}})
    )
    args = ["train", "all", "--data", str(prepared), "--out", str(run), "--preset", "tiny", "--steps", "6"]
    assert main([*args, "--config", str(config), "-q"]) == 0
    return prepared, run


def test_prepare_writes_versioned_cache(trained):
    prepared, _ = trained
    man = json.loads((prepared / "manifest.json").read_text())
    assert len(man["sequences"]) == 6 and {e["split"] for e in man["sequences"]} == {"train", "test"}
    assert man["styles"] == ["fast", "slow"] and man["units"]["train"] > 0
    with np.load(prepared / "units.npz") as z:
        assert z["units"].shape[1:] == (32, 18, 3) and z["music"].shape[1] == 32
    seq = np.load(prepared / man["sequences"][0]["file"])
    assert seq["joints"].shape[0] == seq["music"].shape[0] == 14 * 15  # 15 fps, one music row per frame
    # Tempo of the click track comes back from the prepared beats (128 BPM).
    assert abs(60.0 / np.median(np.diff(seq["music_beats"])) - 128) < 3


def test_train_all_writes_a_model_folder(trained):
    _, run = trained
    summary = json.loads((run / "model.json").read_text())
    assert summary["stages"] == ["style", "decomposition", "composition"] and summary["unit_energy"] > 0
    for stage in summary["stages"]:
        cfg = json.loads((run / stage / "config.json").read_text())
        assert cfg["model"]["stage"] == stage and cfg["meta"]["data_hash"] == summary["data_hash"]
        assert (run / stage / "model.safetensors").exists() and (run / stage / "curves.csv").exists()
    configs = {s: json.loads((run / s / "config.json").read_text()) for s in summary["stages"]}
    assert configs["decomposition"]["model"]["du_vae"]["z_mov"] == 8
    assert configs["composition"]["model"]["mm_gan"]["z_mov"] == 8  # follows the trained DU-VAE
    assert configs["style"]["train"]["lr"] == 0.002 and configs["decomposition"]["train"]["lr"] != 0.002
    # ... and the model as one object: config.json + model.safetensors, read back by from_pretrained
    from music2dance.models.dance_model import DanceModel

    model = DanceModel.from_pretrained(run)
    assert model.cfg.du_vae.z_mov == model.cfg.mm_gan.z_mov == 8 and model.cfg.styles == ("fast", "slow")
    assert model.cfg.unit_energy == summary["unit_energy"] and model.cfg.fps == 15.0
    rec = model.cfg.training
    assert rec["data_hash"] == summary["data_hash"] and rec["stages"]["style"]["train"]["lr"] == 0.002


def test_generate_with_the_trained_model_is_seeded(trained, tmp_path):
    _, run = trained
    song = tmp_path / "song.wav"
    sf.write(song, click_track(9.0, 120), 22050)
    outs = []
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        assert (
            main(
                [
                    "generate",
                    str(song),
                    "-o",
                    str(tmp_path / f"{name}.npz"),
                    "--model",
                    str(run),
                    "--seed",
                    str(seed),
                    "-q",
                ]
            )
            == 0
        )
        outs.append(load_dance_npz(tmp_path / f"{name}.npz"))
    a, b, c = outs
    assert a.joints.shape == (9 * 30, 18, 3) and np.isfinite(a.joints).all()
    assert np.array_equal(a.joints, b.joints) and not np.array_equal(a.joints, c.joints)
    assert a.meta["seed"] == 1 and len(a.meta["music_beats"]) >= 15


def test_prepare_skips_done_files_and_rebuilds_on_a_new_recipe(dataset, tmp_path, monkeypatch):
    from music2dance.train import prepare

    out = tmp_path / "prep"
    prepare.prepare_dataset(dataset, out, workers=1, quiet=True)
    files = sorted((out / "sequences").glob("*.npz"))
    stamp = {f: f.stat().st_mtime_ns for f in files}
    prepare.prepare_dataset(dataset, out, workers=1, quiet=True)
    assert all(f.stat().st_mtime_ns == stamp[f] for f in files)  # nothing rebuilt
    monkeypatch.setattr(prepare, "RECIPE_VERSION", prepare.RECIPE_VERSION + 100)
    prepare.prepare_dataset(dataset, out, workers=1, quiet=True)
    assert all(f.stat().st_mtime_ns != stamp[f] for f in files)  # a changed recipe rebuilds all


def test_prepare_rejects_a_folder_without_pairs(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("no dances here")
    assert main(["prepare", str(tmp_path), "-o", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and str(tmp_path) in err and len(err.splitlines()) == 1
