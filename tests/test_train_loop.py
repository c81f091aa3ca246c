"""Tests of the one training loop: convergence on toys with known answers, seeding, exact resume, files,
errors, the training configs and their override file, and two-process torchrun runs (DDP) whose replicas
must agree."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from music2dance.errors import Music2DanceError
from music2dance.models.checkpoint import load_checkpoint
from music2dance.train.config import PRESET_TRAIN, TrainConfig, stage_configs
from music2dance.train.curves import plot_curves
from music2dance.train.loop import train
from music2dance.train.stages import STAGES, StyleTask, run_stage

FIXTURES = Path(__file__).parent / "fixtures"
sys.path.insert(0, str(FIXTURES))
from loop_toys import TRUE_B, TRUE_W, LinearTask, TwoOptTask, write_prepared  # noqa: E402


def _cfg(**kw) -> TrainConfig:
    base = dict(steps=40, batch_size=16, lr=0.02, seed=0, log_every=5, val_every=10, ckpt_every=1000)
    base.update(kw)
    return TrainConfig(**base)


def _weights(folder: Path, file: str = "model.safetensors") -> dict[str, torch.Tensor]:
    return load_file(str(folder / file))


def _state(folder: Path) -> dict:
    return torch.load(folder / "optimizer.pt", weights_only=True)


def _assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def _assert_same_state(a: dict, b: dict) -> None:
    """Optimizer and RNG states of two optimizer.pt files are equal, tensor for tensor."""
    assert a.keys() == b.keys() and a["step"] == b["step"]
    for name, opt in a["optimizers"].items():
        assert opt["param_groups"] == b["optimizers"][name]["param_groups"]
        for idx, st in opt["state"].items():
            _assert_same(st, b["optimizers"][name]["state"][idx])
    for ra, rb in zip(a["rng"], b["rng"], strict=True):
        _assert_same(ra, rb)


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
        _assert_same_state(_state(tmp_path / "straight"), _state(tmp_path / other))
    straight_val = _read_csv(tmp_path / "straight" / "curves.csv")
    killed_val = _read_csv(tmp_path / "killed" / "curves.csv")
    assert [r for r in straight_val if r["split"] == "val"] == [r for r in killed_val if r["split"] == "val"]
    assert [int(r["step"]) for r in killed_val if r["split"] == "train"] == list(range(5, 41, 5))


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_run_folder_files(tmp_path):
    cfg = _cfg(steps=20, ckpt_every=10, val_every=10)
    train(TwoOptTask(cfg), cfg, tmp_path, quiet=True, record={"meta": {"data_hash": "abc123"}})
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(
        [
            "checkpoint.safetensors",
            "optimizer.pt",
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
    state = _state(tmp_path)  # torch's own format, readable without unpickling code
    assert state["step"] == 20 and set(state["optimizers"]) == {"enc", "head"} and len(state["rng"]) == 1
    assert state["optimizers"]["head"]["param_groups"][0]["betas"] == (0.5, 0.9)
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
    with pytest.raises(Music2DanceError, match="cfg.json: TrainConfig: unknown field 'stepz'"):
        TrainConfig.from_dict({"stepz": 3}, source="cfg.json")
    with pytest.raises(Music2DanceError, match=r"TrainConfig.batch_size=0 is out of range"):
        TrainConfig(batch_size=0)
    with pytest.raises(Music2DanceError, match="device='tpu'"):
        TrainConfig(device="tpu")
    with pytest.raises(Music2DanceError, match="TrainConfig.steps: expected int, got string '10'"):
        TrainConfig.from_dict({"steps": "10"})
    assert TrainConfig.from_dict({"lr": 1}).lr == 1.0
    assert TrainConfig.from_dict(TrainConfig(seed=4).to_dict()) == TrainConfig(seed=4)


def _config_file(tmp_path: Path, content) -> str:
    path = tmp_path / "override.json"
    path.write_text(json.dumps(content))
    return str(path)


def test_stage_configs_are_the_preset_with_the_file_applied(tmp_path):
    train_cfg, model_cfg = stage_configs("style", preset="tiny", device="cpu")
    assert {k: getattr(train_cfg, k) for k in PRESET_TRAIN["tiny"]["style"]} == PRESET_TRAIN["tiny"]["style"]
    assert train_cfg.weight_decay == 1e-4 and train_cfg.num_threads == torch.get_num_threads()
    file = _config_file(
        tmp_path,
        {"style": {"train": {"weight_decay": 0, "seed": 3}}, "composition": {"model": {"hidden": 48}}},
    )
    train_cfg, _ = stage_configs("style", preset="tiny", config=file, steps=7)
    assert (train_cfg.weight_decay, train_cfg.seed, train_cfg.steps, train_cfg.lr) == (0.0, 3, 7, 1e-3)
    _, mm = stage_configs("composition", preset="tiny", config=file)
    assert (mm.hidden, mm.z_dan) == (48, 16)  # the override on top of the tiny preset's sizes
    _, du = stage_configs("decomposition", preset="paper", config=file)
    assert du.z_mov == 512  # a stage the file does not name keeps its preset


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ({"train": {"steps": 3}}, "unknown section 'train': sections are stages"),  # the other shape
        ({"styel": {}}, "unknown section 'styel'"),
        ({"style": {"optim": {}}}, "style: must be a JSON object with 'train' and/or 'model'"),
        ({"style": {"train": {"lr": "fast"}}}, "style.train.lr: expected float, got string 'fast'"),
        ({"composition": {"model": {"hiden": 3}}}, "composition.model: unknown field 'hiden'"),
        ({"decomposition": {"train": {"batch_size": 0}}}, "decomposition.train.batch_size=0 is out of range"),
        ({"style": {"model": {"music_dim": 12}}}, "style.model.music_dim: set from the data, not a setting"),
        ({"composition": {"model": {"z_mov": 8}}}, "composition.model.z_mov: set from the data"),
    ],
)
def test_override_file_errors_are_one_line_and_name_the_field(tmp_path, content, problem):
    file = _config_file(tmp_path, content)
    stage = "decomposition" if "decomposition" in content else "style"
    with pytest.raises(Music2DanceError) as e:
        stage_configs(stage, preset="tiny", config=file)
    assert str(e.value).startswith(f"{file}: ") and problem in str(e.value) and "\n" not in str(e.value)


def test_nonfinite_loss_stops_with_a_clear_error(tmp_path):
    cfg = _cfg(steps=5, lr=1e30, grad_clip=0.0)
    with pytest.raises(FloatingPointError, match=r"loss mse is .* at step"):
        train(LinearTask(cfg, noise=1e30), cfg, tmp_path, quiet=True)


def _torchrun(*args: str) -> None:
    """python -m torch.distributed.run --standalone --nproc_per_node=2 ARGS; its workers are killed with it
    on a timeout (they would otherwise hold its output open, and a hang would hang the test)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *args]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)  # fmt: skip
    try:
        output, _ = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        pytest.fail("torchrun timed out:\n" + output[-3000:])
    assert proc.returncode == 0, output[-6000:]


@pytest.mark.slow
def test_torchrun_two_processes_replicas_agree(tmp_path):
    _torchrun(str(FIXTURES / "loop_ddp_worker.py"), str(tmp_path), "twoopt", "10")
    infos = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert infos[0]["hash"] == infos[1]["hash"]
    assert infos[0]["world"] == 2 and infos[0]["initialized_after"]  # joined once; left at exit
    assert infos[0]["metrics"] == infos[1]["metrics"] and infos[0]["metrics"]["step"] == 10
    run = tmp_path / "run"
    assert (run / "checkpoint.safetensors").exists() and (run / "model.safetensors").exists()
    assert json.loads((run / "config.json").read_text())["world_size"] == 2
    weights = _weights(run)
    assert torch.equal(weights["enc.unused"], torch.zeros(2))
    # Both ranks' RNG streams are checkpointed, and they differ (each rank draws its own batches).
    rng = _state(run)["rng"]
    assert len(rng) == 2 and not torch.equal(rng[0]["generator"], rng[1]["generator"])
    # Resume under torchrun continues to step 15 with replicas still in agreement.
    _torchrun(str(FIXTURES / "loop_ddp_worker.py"), str(tmp_path), "twoopt", "15", "resume")
    infos = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert infos[0]["hash"] == infos[1]["hash"] and infos[0]["metrics"]["step"] == 15


def test_stage_keeps_what_it_derives_from_the_data_out_of_the_given_config(tmp_path):
    data = write_prepared(tmp_path / "toydata")
    train_cfg, model_cfg = stage_configs("style", preset="tiny")
    given = model_cfg.to_dict()
    task = StyleTask(data, model_cfg, train_cfg)
    assert model_cfg.to_dict() == given  # the user's config is not written into
    idx = [0, *range(4, 16)]  # the features less the beat phase
    assert (task.cfg.styles, task.cfg.feature_idx, task.cfg.music_dim) == (("fast", "slow"), idx, 13)
    run_stage("style", data=data, out=tmp_path / "style", preset="tiny", steps=2, quiet=True)
    text = (tmp_path / "style" / "config.json").read_text()
    cfg = json.loads(text)
    assert cfg["data"] == {
        "name": "toydata",
        "fields": {"styles": ["fast", "slow"], "feature_idx": idx, "music_dim": 13},
    }
    assert cfg["model"]["style"]["music_dim"] == 13 and cfg["meta"]["data_hash"] == "toy"
    assert str(tmp_path) not in text  # the data folder by its name and hash, not its path
    assert (tmp_path / "style" / "model.safetensors").stat().st_mode == (
        tmp_path / "style" / "config.json"
    ).stat().st_mode


@pytest.mark.slow
def test_torchrun_trains_every_stage_in_one_process_group(tmp_path):
    """`train all` under torchrun: the three real stages, the GAN with its two optimizers through DDP (a
    second stage once hung in its first collective, the process group having been made anew)."""
    data = write_prepared(tmp_path / "data")
    run = tmp_path / "run"
    _torchrun("-m", "music2dance.cli", "train", "all", "--data", str(data), "--out", str(run), "--preset", "tiny",
              "--steps", "2", "-q")  # fmt: skip
    for stage in STAGES:
        cfg = json.loads((run / stage / "config.json").read_text())
        assert (cfg["world_size"], cfg["step"]) == (2, 2) and (run / stage / "model.safetensors").exists()
    assert (run / "model.json").exists()
