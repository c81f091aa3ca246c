"""Issue 13: a kill never leaves a half-written file, and training always resumes.

SIGTERM / SIGHUP / SIGINT during `render` and `generate` remove the temp output; a checkpoint is one atomic
step (all its files or none), so a kill at any moment of a save keeps the previous complete checkpoint,
the resume is bit-exact, no 0-byte curves PNG stays behind, and a fresh run never deletes an old one.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
import fuzz_harness as fh  # noqa: E402
from loop_toys import LinearTask, TwoOptTask  # noqa: E402

import music2dance.train.loop as loop  # noqa: E402
from music2dance.cli import main  # noqa: E402
from music2dance.errors import Music2DanceError  # noqa: E402
from music2dance.io.dance_npz import save_dance_npz  # noqa: E402
from music2dance.models.checkpoint import read_metadata  # noqa: E402
from music2dance.motion.demo import demo_motion  # noqa: E402
from music2dance.train.loop import RUN_FILES, TrainConfig, train  # noqa: E402


def _cfg(**kw) -> TrainConfig:
    base = dict(steps=30, batch_size=16, lr=0.02, seed=0, log_every=5, val_every=10, ckpt_every=10)
    base.update(kw)
    return TrainConfig(**base)


def _same(a: Path, b: Path) -> None:
    x, y = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert x.keys() == y.keys()
    for k in x:
        assert torch.equal(x[k], y[k]), k
    sa, sb = _state(a), _state(b)
    assert fh.same_tensors(sa["optimizers"], sb["optimizers"]) and fh.same_tensors(sa["rng"], sb["rng"])


def _state(folder: Path) -> dict:
    return torch.load(folder / loop.OPTIMIZER_FILE, weights_only=True)


def _step(folder: Path, name: str) -> int:
    return (
        _state(folder)["step"] if name == loop.OPTIMIZER_FILE else int(read_metadata(folder / name)["step"])
    )


# ---- checkpoints, in-process: an interrupt at a chosen moment of a save
@pytest.mark.parametrize("task_cls", [LinearTask, TwoOptTask])
def test_interrupt_inside_a_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch, task_cls):
    """Defect 7: killed between checkpoint.safetensors and optimizer.safetensors used to leave a pair of
    different steps ("unresumable"). Interrupted inside the third save (while drawing its curves, after
    both safetensors were written), the folder keeps the whole second checkpoint and resumes bit-exactly."""
    cfg = _cfg()
    train(task_cls(cfg), cfg, tmp_path / "straight", quiet=True)
    calls = {"n": 0}
    real = loop.plot_curves

    def plot_then_die(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(loop, "plot_curves", plot_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(task_cls(cfg), cfg, tmp_path / "killed", quiet=True)
    monkeypatch.setattr(loop, "plot_curves", real)
    run = tmp_path / "killed"
    assert _step(run, "checkpoint.safetensors") == _step(run, loop.OPTIMIZER_FILE) == 20
    assert json.loads((run / "config.json").read_text())["step"] == 20
    assert sorted(p.name for p in run.iterdir() if p.name not in RUN_FILES) == []
    train(task_cls(cfg), cfg, run, quiet=True, resume=True)
    _same(tmp_path / "straight", run)


def test_kill_after_the_commit_point_is_completed_on_resume(tmp_path, monkeypatch):
    """A kill after MANIFEST but before every file was moved in: the next start completes the move, so
    the newer checkpoint (not a mix) is resumed, bit-exactly."""
    cfg = _cfg()
    train(TwoOptTask(cfg), cfg, tmp_path / "straight", quiet=True)
    real = loop.recover_run_folder
    calls = {"n": 0}

    def commit_then_die(out):
        calls["n"] += 1
        if calls["n"] == 3:  # 1: start of the run, 2: first save, 3: second save (after its MANIFEST)
            pending = Path(out) / loop.PENDING_DIR
            # move the optimizer only, as if killed after the first rename
            (pending / loop.OPTIMIZER_FILE).replace(Path(out) / loop.OPTIMIZER_FILE)
            raise KeyboardInterrupt
        return real(out)

    monkeypatch.setattr(loop, "recover_run_folder", commit_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(TwoOptTask(cfg), cfg, tmp_path / "killed", quiet=True)
    monkeypatch.setattr(loop, "recover_run_folder", real)
    run = tmp_path / "killed"
    assert _step(run, loop.OPTIMIZER_FILE) == 20 and _step(run, "checkpoint.safetensors") == 10  # mixed
    train(TwoOptTask(cfg), cfg, run, quiet=True, resume=True)  # completes step 20 first, then resumes
    _same(tmp_path / "straight", run)
    assert not (run / loop.PENDING_DIR).exists()


def test_stray_temp_files_of_a_killed_write_are_removed(tmp_path):
    """Defect 7: SIGKILL left 0-byte .curves.<random>.png files that stayed after resume."""
    cfg = _cfg(steps=10)
    train(LinearTask(cfg), cfg, tmp_path, quiet=True)
    for name in (".curves.k2j3h4.png", ".checkpoint.abc.safetensors", ".metrics.x1.json"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / loop.PENDING_DIR).mkdir()
    (tmp_path / loop.PENDING_DIR / "checkpoint.safetensors").write_bytes(b"half")  # no MANIFEST: dropped
    cfg2 = _cfg(steps=15)
    train(LinearTask(cfg2), cfg2, tmp_path, quiet=True, resume=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(RUN_FILES)


def test_fresh_run_refuses_a_folder_with_a_checkpoint(tmp_path, capsys):
    """Defect 7: training again without --resume deleted the old checkpoints. Now the command refuses,
    before loading any data, and names the folder; --overwrite is the explicit way to start over."""
    cfg = _cfg(steps=10)
    train(LinearTask(cfg), cfg, tmp_path / "style", quiet=True)
    before = (tmp_path / "style" / "model.safetensors").read_bytes()
    assert main(["train", "style", "--out", str(tmp_path / "style"), "--data", "/nonexistent", "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {tmp_path / 'style'}: already holds a training run (step 10)")
    assert "--resume" in err and "--overwrite" in err and len(err.splitlines()) == 1
    assert main(["train", "all", "--out", str(tmp_path), "--data", "/nonexistent", "-q"]) == 2
    assert "already holds a training run" in capsys.readouterr().err
    assert (tmp_path / "style" / "model.safetensors").read_bytes() == before
    with pytest.raises(Music2DanceError, match="already holds"):
        train(LinearTask(cfg), cfg, tmp_path / "style", quiet=True)


# ---- real processes and signals
@pytest.fixture(scope="module")
def long_dance(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dance") / "long.npz"
    save_dance_npz(path, demo_motion(seconds=120.0, fps=15.0))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=["TERM", "HUP", "INT"])
def test_signal_during_render_leaves_no_temp_output(tmp_path, long_dance, sig):
    """Defect 7: SIGTERM or SIGHUP during a render left the hidden temp video (.d.<random>.mp4)."""
    out = tmp_path / "out"
    out.mkdir()
    r = fh.signal_command_trial(
        ["render", str(long_dance), "-o", str(out / "d.mp4"), "-q"], out, sig, ".d.*.mp4"
    )
    assert r["temp_seen"] and r["signalled"], r
    assert r["rc"] == 128 + sig, r
    assert r["left"] == [], r
    assert "Traceback" not in r["stderr"] and len(r["stderr"].strip().splitlines()) == 1, r


@pytest.mark.slow
def test_sigterm_during_generate_leaves_no_temp_output(tmp_path):
    """The same for `generate` writing a video (the case of the issue's 50 MB leftover)."""
    import numpy as np
    import soundfile as sf

    sr = 22050
    t = np.arange(60 * sr) / sr
    song = tmp_path / "song.wav"
    sf.write(
        song, (0.3 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 2 * t) > 0)).astype(np.float32), sr
    )
    out = tmp_path / "out"
    out.mkdir()
    r = fh.signal_command_trial(
        ["generate", str(song), "-o", str(out / "d.mp4"), "-q"], out, signal.SIGTERM, ".d.*.mp4"
    )
    assert r["temp_seen"] and r["signalled"], r
    assert r["rc"] == 128 + signal.SIGTERM and r["left"] == [], r


@pytest.mark.slow
def test_sigkill_at_random_moments_resumes_bit_exactly(tmp_path):
    """Training SIGKILLed at 4 random moments (most land inside a checkpoint write), resumed after each:
    the final weights and optimizer state equal an uninterrupted run's, and nothing stray is left."""
    r = fh.sigkill_training_trials(tmp_path, kills=4, seed=13)
    r.pop("mid_save")
    assert r == {"kills": 4, "failed_resumes": 0, "bit_exact": True, "left_behind": []}, r
