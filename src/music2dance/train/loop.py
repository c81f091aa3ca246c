"""The one training loop every model stage uses: seeded, resumable, one process or `torchrun`.

A stage is a `TrainTask` (its modules, optimizers, batches and losses); `train` runs it for
`TrainConfig.steps` steps and keeps its run folder. The same config and seed give bit-identical weights
on CPU, and `resume=True` continues bit-identically from the last checkpoint. Under torchrun each rank
draws its own batches, DistributedDataParallel averages the gradients, and rank 0 writes the files.
Reading weights back (`load_checkpoint`, `from_pretrained`) lives in `models/`, so inference never
imports this.
"""

# Run folder written by `train` (rank 0 only)::
#
#   checkpoint.safetensors  weights of every module at the last checkpoint, keys "<module>.<param>",
#                           metadata {"format", "step", "config": config.json's text}
#   optimizer.pt            torch.save of {"step", "optimizers": their state_dicts, "rng": every rank's
#                           RNG state, losses, wall time}; read with torch.load(weights_only=True)
#   config.json             {"format", "name", "step", "world_size", "train": TrainConfig,
#                            "model": task.config_dict(), and the caller's `record` sections}
#   curves.csv, curves.png  the losses (train.curves)
#   model.safetensors       written at the end: the weights as in checkpoint.safetensors (the file that ships)
#   metrics.json            written at the end: final train/val losses, steps, wall time
#
# A checkpoint is written whole into PENDING_DIR, then its MANIFEST (the commit point), then moved into
# the run folder file by file; a kill before MANIFEST leaves the previous checkpoint untouched, a kill
# after it is completed at the next start (`recover_run_folder`). So a run folder always holds one
# complete checkpoint. A fresh run refuses a folder that holds one unless `overwrite` is given, so a
# forgotten --resume never deletes a run's work.

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from ..errors import Music2DanceError, input_error
from ..io.atomic import atomic_path, write_text_atomic
from ..models.checkpoint import (  # the reading half of a run folder
    CHECKPOINT_FILE,
    CONFIG_FILE,
    MODEL_FILE,
    check_and_load,
    file_step,
    read_metadata,
)
from .config import TrainConfig
from .curves import Curves, plot_curves

log = logging.getLogger(__name__)

FORMAT = "music2dance-train-2"  # 2: optimizer and RNG state in optimizer.pt (torch.save)
OPTIMIZER_FILE = "optimizer.pt"
METRICS_FILE = "metrics.json"
CURVES_CSV = "curves.csv"
CURVES_PNG = "curves.png"
RUN_FILES = (CHECKPOINT_FILE, OPTIMIZER_FILE, MODEL_FILE, CONFIG_FILE, METRICS_FILE, CURVES_CSV, CURVES_PNG)
PENDING_DIR = ".checkpoint-pending"
PENDING_MANIFEST = "MANIFEST.json"


class TrainTask(Protocol):
    """What a model stage provides to `train`.

    Randomness must come from the `generator` given to `train_batch` or from torch's global RNG (both are
    seeded and checkpointed); numpy or `random` state is not saved, so a resume would not be exact.
    """

    name: str

    def build(self) -> dict[str, nn.Module]:
        """Every module to train and save, on CPU, built after `torch.manual_seed(cfg.seed)` on every rank."""
        ...

    def optimizers(self, modules: dict[str, nn.Module]) -> dict[str, torch.optim.Optimizer]:
        """The optimizers over the (already moved) modules, e.g. {"gen": ..., "disc": ...}."""
        ...

    def train_batch(self, step: int, generator: torch.Generator) -> Any:
        """This rank's batch for `step`, drawn with the CPU `generator` (seeded per rank); its tensors (also
        inside dicts, lists and tuples) are moved to the device by the loop."""
        ...

    def train_step(self, step: int, batch: Any, modules: dict[str, nn.Module], ctx: StepContext) -> dict:
        """Compute each loss with `ctx.forward` and update with `ctx.backward_step(loss, "<optimizer>")`;
        every rank makes the same calls in the same order. Returns named losses (floats or 0-dim tensors)."""
        ...

    def validate(self, modules: dict[str, nn.Module]) -> dict[str, float]:
        """Losses on held-out data; called on rank 0 only, in eval mode, under no_grad, in a forked RNG (so
        validation never changes the training trajectory), with the modules on the device."""
        ...

    def config_dict(self) -> dict:
        """The model's options, saved under "model" in config.json and the checkpoints (JSON-able)."""
        ...


class StepContext:
    """Handed to `TrainTask.train_step`: runs the forward passes and steps the optimizers.

    Under torchrun the task's modules are wrapped in one DistributedDataParallel whose forward runs the
    function given to `forward`. DDP fits the GAN stages' several optimizers this way: each optimizer's
    loss is one DDP forward (recording which parameters it reaches, `find_unused_parameters`) followed by
    one backward that averages exactly those gradients across ranks; a parameter no rank reached keeps
    no gradient, as in one process. In one process `forward` is a plain call.
    """

    def __init__(self, optimizers: dict[str, torch.optim.Optimizer], grad_clip: float, ddp=None) -> None:
        self.optimizers = optimizers
        self.grad_clip = grad_clip
        self.ddp = ddp

    def forward(self, fn, *args, **kwargs):
        """fn(*args, **kwargs): the forward pass of the next `backward_step`'s loss. Every module call that
        loss depends on must happen inside it (DDP raises "Expected to mark a variable ready only once"
        for a parameter used outside)."""
        return fn(*args, **kwargs) if self.ddp is None else self.ddp(fn, *args, **kwargs)

    def backward_step(self, loss: torch.Tensor, optimizer: str) -> None:
        """Zero that optimizer's grads, backpropagate `loss`, clip its global grad norm, step it.

        Grads of parameters outside this optimizer are left as they are (its own `backward_step` zeroes them).
        """
        opt = self.optimizers[optimizer]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.grad_clip > 0:
            with_grad = [p for group in opt.param_groups for p in group["params"] if p.grad is not None]
            if with_grad:
                torch.nn.utils.clip_grad_norm_(with_grad, self.grad_clip)
        opt.step()


class _ForwardAny(nn.Module):
    """The task's modules as one module whose forward runs any function of them: what DDP wraps."""

    def __init__(self, modules: dict[str, nn.Module]) -> None:
        super().__init__()
        self.task_modules = nn.ModuleDict(modules)

    def forward(self, fn, *args, **kwargs):
        return fn(*args, **kwargs)


@dataclass
class _Run:
    """One training run: what a checkpoint saves and a resume restores, so both take only this."""

    task: TrainTask
    cfg: TrainConfig
    out: Path
    record: dict  # the caller's extra sections of config.json
    rank: int
    world: int
    device: torch.device
    modules: dict[str, nn.Module] = field(default_factory=dict)
    optimizers: dict[str, torch.optim.Optimizer] = field(default_factory=dict)
    generator: torch.Generator = field(default_factory=torch.Generator)
    step: int = 0
    wall_s: float = 0.0
    train_losses: dict[str, float] = field(default_factory=dict)
    val_losses: dict[str, float] = field(default_factory=dict)
    val_step: int = -1
    curves: Curves = field(default_factory=Curves)


def train(
    task: TrainTask,
    cfg: TrainConfig,
    out_dir: str | os.PathLike,
    *,
    resume: bool = False,
    quiet: bool = False,
    overwrite: bool = False,
    record: dict | None = None,
) -> dict:
    """Train `task` for `cfg.steps` steps, checkpointing into `out_dir`; return the final metrics.

    A folder that already holds a checkpoint needs `resume=True` (continue it; cfg.steps may be raised to
    train longer) or `overwrite=True` (start over, deleting it); otherwise a one-line error before any
    work. `record`: extra top-level sections of config.json (JSON-able, e.g. {"meta": {...}}). Every rank
    returns the same metrics (the content of metrics.json).
    """
    world, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
    device = _device(cfg.device, int(os.environ.get("LOCAL_RANK", str(rank))), world)
    if cfg.num_threads > 0:
        torch.set_num_threads(cfg.num_threads)
    # In its JSON form: a value JSON cannot hold fails here, and a resume compares it with the saved one.
    record = json.loads(json.dumps(record or {}))
    run = _Run(task, cfg, Path(out_dir), record, rank, world, device)
    _join_process_group(world, device)
    return _train(run, resume=resume, overwrite=overwrite, quiet=quiet)


def _train(run: _Run, *, resume: bool, overwrite: bool, quiet: bool) -> dict:
    from tqdm import tqdm

    task, cfg, out = run.task, run.cfg, run.out
    if run.rank == 0:
        recover_run_folder(out)
    if run.world > 1:
        dist.barrier()  # every rank sees the recovered folder
    check_run_folder(out, resume=resume, overwrite=overwrite)

    torch.manual_seed(cfg.seed)  # identical initial weights on every rank
    run.modules = task.build()
    for module in run.modules.values():
        module.to(run.device)
    run.optimizers = task.optimizers(run.modules)
    run.generator.manual_seed(_derived_seed(cfg.seed, run.rank, 0))
    torch.manual_seed(_derived_seed(cfg.seed, run.rank, 1))
    if run.device.type == "cuda":
        torch.cuda.manual_seed(_derived_seed(cfg.seed, run.rank, 2))
    if resume:
        _resume(run)
    elif run.rank == 0:
        stale = [name for name in RUN_FILES if (out / name).exists()]
        if stale:
            log.warning("starting a fresh run in %s: removing the previous run's %s", out, ", ".join(stale))
            for name in stale:
                (out / name).unlink()
    if run.rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    ddp = None
    if run.world > 1:  # after a resume: DDP starts every rank from rank 0's weights and buffers
        ids = [run.device.index] if run.device.type == "cuda" else None
        ddp = nn.parallel.DistributedDataParallel(
            _ForwardAny(run.modules), device_ids=ids, find_unused_parameters=True
        )
    ctx = StepContext(run.optimizers, cfg.grad_clip, ddp)

    for module in run.modules.values():
        module.train()
    start, wall_at_start, t0 = run.step, run.wall_s, time.perf_counter()
    sums: dict[str, float] = {}
    count = 0
    log.info(
        "training %s: steps %d to %d on %s, %d process(es)",
        task.name,
        start,
        cfg.steps,
        run.device,
        run.world,
    )
    bar = tqdm(
        total=cfg.steps, initial=start, desc=task.name, disable=quiet or run.rank != 0, dynamic_ncols=True
    )
    try:
        for step in range(start, cfg.steps):
            batch = _to_device(task.train_batch(step, run.generator), run.device)
            losses = task.train_step(step, batch, run.modules, ctx)
            losses = {k: float(v.detach() if torch.is_tensor(v) else v) for k, v in losses.items()}
            bad = [k for k, v in losses.items() if not math.isfinite(v)]
            if bad:
                raise FloatingPointError(
                    f"{task.name}: loss {bad[0]} is {losses[bad[0]]} at step {step + 1}; the last good "
                    f"checkpoint is in {out}"
                )
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + v
            count += 1
            run.step = done = step + 1
            bar.update(1)
            bar.set_postfix(losses, refresh=False)
            if done % cfg.log_every == 0 or done == cfg.steps:
                run.train_losses = {k: v / count for k, v in sums.items()}
                run.curves.add(done, "train", run.train_losses)
                rate = (done - start) / max(time.perf_counter() - t0, 1e-9)
                log.info("step %d/%d: %s (%.1f steps/s)", done, cfg.steps, _fmt(run.train_losses), rate)
                sums, count = {}, 0
            if cfg.val_every and done % cfg.val_every == 0 and done != cfg.steps and run.rank == 0:
                _validate(run)
            if cfg.ckpt_every and done % cfg.ckpt_every == 0 and done != cfg.steps:
                run.wall_s = wall_at_start + time.perf_counter() - t0
                _save(run, final=False)
    finally:
        bar.close()

    if run.rank == 0 and run.val_step != run.step:
        _validate(run)
    run.wall_s = wall_at_start + time.perf_counter() - t0
    _save(run, final=True)
    holder = [_metrics(run)]
    if run.world > 1:
        dist.broadcast_object_list(holder, src=0)  # validation ran on rank 0 only
    log.info(
        "finished %s at step %d in %.1f s; validation: %s",
        task.name,
        run.step,
        run.wall_s,
        _fmt(run.val_losses),
    )
    return holder[0]


def _validate(run: _Run) -> None:
    for module in run.modules.values():
        module.eval()
    try:
        with (
            torch.random.fork_rng(devices=[run.device] if run.device.type == "cuda" else []),
            torch.no_grad(),
        ):
            run.val_losses = {k: float(v) for k, v in run.task.validate(run.modules).items()}
    finally:
        for module in run.modules.values():
            module.train()
    run.val_step = run.step
    run.curves.add(run.step, "val", run.val_losses)
    log.info("validation at step %d: %s", run.step, _fmt(run.val_losses))


# --------------------------------------------------------------------------------------------- files
_OWN_SECTIONS = ("format", "name", "step", "world_size", "train", "model")  # of config.json; the rest: record


def _config_json(run: _Run) -> dict:
    own = (FORMAT, run.task.name, run.step, run.world, run.cfg.to_dict(), run.task.config_dict())
    return {**dict(zip(_OWN_SECTIONS, own)), **run.record}


def _metrics(run: _Run) -> dict:
    return {
        "name": run.task.name,
        "step": run.step,
        "steps": run.cfg.steps,
        "wall_time_s": round(run.wall_s, 3),
        "world_size": run.world,
        "train": run.train_losses,
        "val": run.val_losses,
    }


def _rng_states(run: _Run) -> list[dict[str, torch.Tensor]] | None:
    """Every rank's RNG states, gathered on rank 0 (None on the others)."""
    mine = {"generator": run.generator.get_state(), "torch": torch.get_rng_state()}
    if run.device.type == "cuda":
        mine["cuda"] = torch.cuda.get_rng_state(run.device)
    if run.world == 1:
        return [mine]
    gathered: list | None = [None] * run.world if run.rank == 0 else None
    dist.gather_object(mine, gathered, dst=0)
    return gathered


def _save(run: _Run, *, final: bool) -> None:
    """Write a checkpoint (and, when `final`, model.safetensors and metrics.json) as one commit."""
    rng = _rng_states(run)
    if run.rank != 0:
        return
    config_text = json.dumps(_config_json(run), indent=2)
    pending = run.out / PENDING_DIR
    if pending.exists():
        shutil.rmtree(pending)
    pending.mkdir(parents=True)
    try:
        state = {
            "format": FORMAT,
            "step": run.step,
            "optimizers": {name: opt.state_dict() for name, opt in run.optimizers.items()},
            "rng": rng,
            "wall_s": run.wall_s,
            "train_losses": run.train_losses,
            "val_losses": run.val_losses,
            "val_step": run.val_step,
        }
        torch.save(state, pending / OPTIMIZER_FILE)
        # Clone: safetensors refuses tensors sharing memory (tied weights), and CUDA tensors must come to CPU.
        weights = {
            f"{name}.{key}": t.detach().to("cpu", copy=True).contiguous()
            for name, module in run.modules.items()
            for key, t in module.state_dict().items()
        }
        metadata = {"format": FORMAT, "step": str(run.step), "config": config_text}
        _save_weights(pending / CHECKPOINT_FILE, weights, metadata)
        (pending / CONFIG_FILE).write_text(config_text + "\n")
        run.curves.write(pending / CURVES_CSV)
        files = [OPTIMIZER_FILE, CHECKPOINT_FILE, CONFIG_FILE, CURVES_CSV]
        try:
            plot_curves(pending / CURVES_CSV, pending / CURVES_PNG)
            files.append(CURVES_PNG)
        except Exception as exc:  # a plotting problem must never lose a training run
            log.warning("could not draw %s: %s", run.out / CURVES_PNG, exc)
        if final:
            _save_weights(pending / MODEL_FILE, weights, metadata)
            (pending / METRICS_FILE).write_text(json.dumps(_metrics(run), indent=2) + "\n")
            files += [MODEL_FILE, METRICS_FILE]
        manifest = {"format": FORMAT, "step": run.step, "files": files}
        write_text_atomic(pending / PENDING_MANIFEST, json.dumps(manifest) + "\n")
    except BaseException:
        shutil.rmtree(pending, ignore_errors=True)  # not committed: the previous checkpoint stays
        raise
    recover_run_folder(run.out)


def _save_weights(path: Path, weights: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:  # for its permissions: safetensors writes the file private (0600)
        save_file(weights, str(tmp), metadata=metadata)


def recover_run_folder(out: Path) -> None:
    """Finish a checkpoint whose MANIFEST was written (move its files in) or drop one that was not, and
    remove temp files of writes killed midway (e.g. a 0-byte .curves.<random>.png). Idempotent."""
    out = Path(out)
    if not out.is_dir():
        return
    pending = out / PENDING_DIR
    manifest = pending / PENDING_MANIFEST
    if manifest.is_file():
        try:
            files = json.loads(manifest.read_text())["files"]
        except (OSError, ValueError, KeyError, TypeError):
            files = []  # cannot happen for an atomic write; treat it as never committed
        for name in files:
            if name in RUN_FILES:
                with contextlib.suppress(FileNotFoundError):  # moved already (an earlier, killed recovery)
                    os.replace(pending / name, out / name)
    if pending.exists():
        shutil.rmtree(pending, ignore_errors=True)
    for name in RUN_FILES:
        p = Path(name)
        for tmp in out.glob(f".{p.stem}.*{p.suffix}"):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def check_run_folder(out: str | os.PathLike, *, resume: bool, overwrite: bool = False) -> None:
    """Refuse to resume a folder without a checkpoint, or to start afresh over a run's checkpoints."""
    out = Path(out)
    if resume:
        committed = (out / PENDING_DIR / PENDING_MANIFEST).exists()  # moved in by `recover_run_folder`
        if not (out / CHECKPOINT_FILE).exists() and not committed:
            raise input_error(out, f"cannot resume: no {CHECKPOINT_FILE} in this folder")
        return
    previous = [name for name in (CHECKPOINT_FILE, MODEL_FILE) if (out / name).exists()]
    if previous and not overwrite:
        step = max(file_step(out / name) for name in previous)
        raise input_error(
            out,
            f"already holds a training run (step {step}); add --resume to continue it, --overwrite to "
            "start over (deleting it), or pick another folder",
        )


def _resume(run: _Run) -> None:
    """Restore weights, optimizer state, RNG state and loss curves from the folder's last checkpoint."""
    from safetensors.torch import load_file

    out, ckpt, state_file = run.out, run.out / CHECKPOINT_FILE, run.out / OPTIMIZER_FILE
    if not state_file.exists():
        older = (
            " (written by an older music2dance; --overwrite starts over)"
            if (out / "optimizer.safetensors").exists()
            else ""
        )
        raise input_error(
            out, f"cannot resume: {CHECKPOINT_FILE} is there but {OPTIMIZER_FILE} is missing{older}"
        )
    try:
        weights = load_file(str(ckpt), device="cpu")
        meta = read_metadata(ckpt)
        saved = json.loads(meta["config"])
        state = torch.load(state_file, map_location="cpu", weights_only=True)
        step = int(state["step"])
    except Exception as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise input_error(out, f"cannot resume: unreadable checkpoint ({why})") from None
    if meta.get("step") != str(step):
        raise input_error(
            out,
            f"cannot resume: {CHECKPOINT_FILE} (step {meta.get('step')}) and {OPTIMIZER_FILE} (step {step}) "
            "differ; was a save interrupted?",
        )
    check_and_load(out, weights, run.modules, strict=True)
    if set(state["optimizers"]) != set(run.optimizers):
        raise input_error(
            out,
            f"checkpoint has optimizers {sorted(state['optimizers'])}, the task builds {sorted(run.optimizers)}",
        )
    for name, opt in run.optimizers.items():
        try:
            opt.load_state_dict(state["optimizers"][name])
        except (ValueError, KeyError, RuntimeError) as exc:
            raise input_error(out, f"optimizer {name!r} state does not match the model ({exc})") from None

    rng = state["rng"]
    if len(rng) != run.world:
        log.warning(
            "resuming a %d-process run with %d processes: batches will differ from an uninterrupted run",
            len(rng),
            run.world,
        )
    if run.rank < len(rng):
        run.generator.set_state(rng[run.rank]["generator"])
        torch.set_rng_state(rng[run.rank]["torch"])
        if run.device.type == "cuda" and "cuda" in rng[run.rank]:
            torch.cuda.set_rng_state(rng[run.rank]["cuda"], run.device)
    else:  # a rank the saved run did not have: a stream of its own, from the step
        run.generator.manual_seed(_derived_seed(run.cfg.seed, run.rank, 1000 + step))
    schedule = ("steps", "log_every", "val_every", "ckpt_every", "device", "num_threads")
    now = run.cfg.to_dict()
    changed = [
        f"{k} {v!r} -> {now[k]!r}"
        for k, v in saved["train"].items()
        if k not in schedule and now.get(k, v) != v
    ]
    if changed:
        log.warning("resuming with changed options: %s", ", ".join(changed))
    saved_record = {k: v for k, v in saved.items() if k not in _OWN_SECTIONS}
    if run.record and run.record != saved_record:
        differ = sorted(
            k for k in set(run.record) | set(saved_record) if run.record.get(k) != saved_record.get(k)
        )
        log.warning("resuming with other %s than the saved run's", ", ".join(differ))
    run.record = run.record or saved_record
    run.step, run.wall_s, run.val_step = step, float(state["wall_s"]), int(state["val_step"])
    run.train_losses, run.val_losses = state["train_losses"], state["val_losses"]
    if run.rank == 0:
        run.curves.load(out / CURVES_CSV, step)
    log.info("resuming from step %d in %s", step, out)


# --------------------------------------------------------------------------------------------- helpers
def _device(name: str, local_rank: int, world: int) -> torch.device:
    """cpu, cuda:N, or "cuda": this rank's GPU under torchrun, else the current one."""
    if name == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise Music2DanceError(f"--device {name}: no CUDA device is available (torch {torch.__version__})")
    if name == "cuda":
        return torch.device("cuda", local_rank if world > 1 else torch.cuda.current_device())
    return torch.device(name)


def _join_process_group(world: int, device: torch.device) -> None:
    """Join torchrun's process group on the first run of this process (unless the caller did); it is left
    at exit. One group for all runs of a process: `train all` re-initialising it for its second stage
    hung in the first collective (gloo, torch 2.13)."""
    if world == 1 or dist.is_initialized():
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    atexit.register(dist.destroy_process_group)


def _derived_seed(seed: int, rank: int, stream: int) -> int:
    # SeedSequence mixes (seed, rank, stream) so no two ranks or streams share a seed, whatever the seed.
    return int(np.random.SeedSequence([seed, rank, stream]).generate_state(1, dtype=np.uint64)[0] >> 1)


def _to_device(batch: Any, device: torch.device) -> Any:
    if torch.is_tensor(batch):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


def _fmt(losses: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.4g}" for k, v in losses.items())
