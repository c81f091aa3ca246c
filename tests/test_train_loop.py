"""Tests of the one training loop: convergence on toys with known answers, seeding, exact resume, files,
errors, and a two-process torchrun run whose replicas must agree."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from music2dance.errors import Music2DanceError
from music2dance.models.checkpoint import load_checkpoint
from music2dance.train.loop import TrainConfig, plot_curves, train

FIXTURES = Path(__file__).parent / "fixtures"
sys.path.insert(0, str(FIXTURES))
from loop_toys import TRUE_B, TRUE_W, LinearTask, TwoOptTask  # noqa: E402


def _cfg(**kw) -> TrainConfig:
    base = dict(steps=40, batch_size=16, lr=0.02, seed=0, log_every=5, val_every=10, ckpt_every=1000)
    base.update(kw)
    return TrainConfig(**base)


def _weights(folder: Path, file: str = "model.safetensors") -> dict[str, torch.Tensor]:
    return load_file(str(folder / file))


def _assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_linear_regression_reaches_known_optimum(tmp_path):
    cfg = _cfg(steps=300, lr=0.05, batch_size=32, log_every=50, val_every=100, ckpt_every=0)
    task = LinearTask(cfg)
    metrics = train(task, cfg, tmp_path, quiet=True)
    assert metrics["step"] == 300
    assert metrics["val"]["mse"] < 1e-3
    modules = task.build()
    load_checkpoint(tmp_path, modules)
    assert torch.allclose(modules["model"].weight, TRUE_W, atol=0.02)
    assert torch.allclose(modules["model"].bias, TRUE_B, atol=0.02)


def test_two_optimizer_toy_converges(tmp_path):
    cfg = _cfg(steps=400, lr=0.03, batch_size=32, log_every=50, val_every=100, ckpt_every=0)
    metrics = train(TwoOptTask(cfg), cfg, tmp_path, quiet=True)
    assert metrics["val"]["head"] < 1e-3
    assert metrics["val"]["enc"] < 2e-2
    w = _weights(tmp_path)
    assert torch.equal(w["enc.unused"], torch.zeros(2))  # never had a grad: never moved (no Adam on zeros)
    assert w["enc.calls"].item() == 400  # buffers are saved too (validation runs in eval mode)


def test_same_seed_same_weights_other_seed_differs(tmp_path):
    runs = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        cfg = _cfg(steps=15, seed=seed)
        train(TwoOptTask(cfg), cfg, tmp_path / name, quiet=True)
        runs[name] = _weights(tmp_path / name)
    _assert_same(runs["a"], runs["b"])
    assert not torch.equal(runs["a"]["enc.lin.weight"], runs["c"]["enc.lin.weight"])


@pytest.mark.parametrize("task_cls", [LinearTask, TwoOptTask])
def test_resume_is_bit_identical(tmp_path, task_cls):
    cfg = _cfg(steps=40, ckpt_every=10, val_every=10)
    train(task_cls(cfg), cfg, tmp_path / "straight", quiet=True)

    # Killed at step 25: the checkpoint of step 20 survives; resuming redoes 20..40.
    with pytest.raises(KeyboardInterrupt):
        train(task_cls(cfg, stop_at=25), cfg, tmp_path / "killed", quiet=True)
    assert json.loads((tmp_path / "killed" / "config.json").read_text())["step"] == 20
    assert not (tmp_path / "killed" / "model.safetensors").exists()
    train(task_cls(cfg), cfg, tmp_path / "killed", quiet=True, resume=True)

    # Stopped cleanly after 20 steps, then continued to 40 with a larger step budget.
    half = _cfg(steps=20, ckpt_every=10, val_every=10)
    train(task_cls(half), half, tmp_path / "halves", quiet=True)
    train(task_cls(cfg), cfg, tmp_path / "halves", quiet=True, resume=True)

    for other in ("killed", "halves"):
        _assert_same(_weights(tmp_path / "straight"), _weights(tmp_path / other))
        _assert_same(
            _weights(tmp_path / "straight", "optimizer.safetensors"),
            _weights(tmp_path / other, "optimizer.safetensors"),
        )
    straight_val = _read_csv(tmp_path / "straight" / "curves.csv")
    killed_val = _read_csv(tmp_path / "killed" / "curves.csv")
    assert [r for r in straight_val if r["split"] == "val"] == [r for r in killed_val if r["split"] == "val"]
    assert [int(r["step"]) for r in killed_val if r["split"] == "train"] == list(range(5, 41, 5))


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_run_folder_files(tmp_path):
    cfg = _cfg(steps=20, ckpt_every=10, val_every=10)
    train(TwoOptTask(cfg), cfg, tmp_path, quiet=True, extra_meta={"data_hash": "abc123"})
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(
        [
            "checkpoint.safetensors",
            "optimizer.safetensors",
            "model.safetensors",
            "config.json",
            "metrics.json",
            "curves.csv",
            "curves.png",
        ]
    )
    config = json.loads((tmp_path / "config.json").read_text())
    assert TrainConfig.from_dict(config["train"]) == cfg
    assert config["model"] == {"dim": 3} and config["meta"] == {"data_hash": "abc123"}
    assert config["name"] == "twoopt" and config["step"] == 20
    rows = _read_csv(tmp_path / "curves.csv")
    assert list(rows[0]) == ["step", "split", "head", "enc"]
    assert [(r["step"], r["split"]) for r in rows if r["split"] == "val"] == [("10", "val"), ("20", "val")]
    assert len([r for r in rows if r["split"] == "train"]) == 4
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["step"] == 20 and set(metrics["val"]) == {"head", "enc"} and metrics["wall_time_s"] > 0
    weights = _weights(tmp_path)
    assert "enc.lin.weight" in weights and "head.weight" in weights
    # load_checkpoint: a fresh model gets the trained weights; a subset of modules is fine.
    modules = TwoOptTask(cfg).build()
    meta = load_checkpoint(tmp_path / "model.safetensors", {"head": modules["head"]})
    assert torch.equal(modules["head"].weight, weights["head.weight"])
    assert meta["model"] == {"dim": 3} and meta["step"] == 20
    plot_curves(tmp_path / "curves.csv", tmp_path / "again.png")
    assert (tmp_path / "again.png").stat().st_size > 1000


def test_fresh_run_replaces_previous_run(tmp_path):
    cfg = _cfg(steps=10)
    train(LinearTask(cfg), cfg, tmp_path, quiet=True)
    first = _weights(tmp_path)
    cfg2 = _cfg(steps=10, seed=5, ckpt_every=5)
    # Without resume or overwrite the old run is never deleted silently.
    with pytest.raises(Music2DanceError, match=r"already holds a training run \(step 10\).*--resume"):
        train(LinearTask(cfg2), cfg2, tmp_path, quiet=True)
    _assert_same(first, _weights(tmp_path))
    with pytest.raises(KeyboardInterrupt):
        train(LinearTask(cfg2, stop_at=7), cfg2, tmp_path, quiet=True, overwrite=True)
    assert not (tmp_path / "model.safetensors").exists()  # the old final model must not linger
    assert load_checkpoint(tmp_path, LinearTask(cfg2).build())["step"] == 5
    assert first


def test_errors_name_the_folder(tmp_path):
    cfg = _cfg(steps=5)
    with pytest.raises(Music2DanceError, match=str(tmp_path / "empty")):
        train(LinearTask(cfg), cfg, tmp_path / "empty", quiet=True, resume=True)
    train(LinearTask(cfg), cfg, tmp_path / "lin", quiet=True)
    # A checkpoint of another model: module names do not match.
    with pytest.raises(Music2DanceError, match=r"lin.*does not match.*enc"):
        train(TwoOptTask(cfg), cfg, tmp_path / "lin", quiet=True, resume=True)
    # Same module name, other shape.
    with pytest.raises(Music2DanceError, match=r"model\.weight is \(1, 4\), the model expects \(1, 3\)"):
        load_checkpoint(tmp_path / "lin", {"model": torch.nn.Linear(3, 1)})
    with pytest.raises(Music2DanceError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "nothing.safetensors", {})
    (tmp_path / "bad.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(Music2DanceError, match="bad.safetensors"):
        load_checkpoint(tmp_path / "bad.safetensors", {})


def test_config_validation():
    with pytest.raises(ValueError, match="unknown training option stepz=3"):
        TrainConfig.from_dict({"stepz": 3})
    with pytest.raises(ValueError, match="batch_size=0"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="device='tpu'"):
        TrainConfig(device="tpu")
    with pytest.raises(ValueError, match="steps='10'"):
        TrainConfig.from_dict({"steps": "10"})
    assert TrainConfig.from_dict({"lr": 1}).lr == 1.0
    assert TrainConfig.from_dict(TrainConfig(seed=4).to_dict()) == TrainConfig(seed=4)


def test_nonfinite_loss_stops_with_a_clear_error(tmp_path):
    cfg = _cfg(steps=5, lr=1e30, grad_clip=0.0)
    with pytest.raises(FloatingPointError, match=r"loss mse is .* at step"):
        train(LinearTask(cfg, noise=1e30), cfg, tmp_path, quiet=True)


def _torchrun(out: Path, *args: str) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(FIXTURES / "loop_ddp_worker.py"),
        str(out),
        *args,
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.mark.slow
def test_torchrun_two_processes_replicas_agree(tmp_path):
    _torchrun(tmp_path, "twoopt", "10")
    infos = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert infos[0]["hash"] == infos[1]["hash"]
    assert infos[0]["world"] == 2 and not infos[0]["initialized_after"]
    assert infos[0]["metrics"] == infos[1]["metrics"] and infos[0]["metrics"]["step"] == 10
    run = tmp_path / "run"
    assert (run / "checkpoint.safetensors").exists() and (run / "model.safetensors").exists()
    assert json.loads((run / "config.json").read_text())["world_size"] == 2
    weights = _weights(run)
    assert torch.equal(weights["enc.unused"], torch.zeros(2))
    # Both ranks' RNG streams are checkpointed, and they differ (each rank draws its own batches).
    opt = _weights(run, "optimizer.safetensors")
    assert not torch.equal(opt["rng.0.generator"], opt["rng.1.generator"])
    # Resume under torchrun continues to step 15 with replicas still in agreement.
    _torchrun(tmp_path, "twoopt", "15", "resume")
    infos = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert infos[0]["hash"] == infos[1]["hash"] and infos[0]["metrics"]["step"] == 15
