"""The one training loop every model stage uses: seeded, resumable, one process or `torchrun`.

Weights, optimizer and RNG state go to safetensors checkpoints (written atomically by rank 0), so a resume
continues bit-identically; gradients are averaged across ranks by an explicit all-reduce in `backward_step`.
Reading weights back (`load_checkpoint`) lives in `models/checkpoint.py`, so inference never imports this.
"""

# Run folder written by `train` (rank 0 only)::
#
#   checkpoint.safetensors  weights of every module at the last checkpoint, keys "<module>.<param>"
#   optimizer.safetensors   optimizer state tensors and every rank's RNG state; scalars in its metadata
#   config.json             {"format", "name", "step", "train": TrainConfig, "model": task.config_dict(),
#                            "meta": extra_meta, "world_size"}
#   curves.csv              step, split ("train" / "val"), one column per loss
#   curves.png              one subplot per loss, train and val
#   metrics.json            written at the end: final train/val losses, steps, wall time
#   model.safetensors       written at the end: weights only (the file that ships), config in its metadata
#   .checkpoint-pending/    only while a checkpoint is being written (see PENDING_DIR)
#
# A fresh run (no `resume`) refuses a folder that already holds a checkpoint unless `overwrite` is given, so
# a forgotten --resume never deletes a run's work.
#
# Why a manual gradient all-reduce rather than DistributedDataParallel: the GAN stages step several optimizers
# per iteration on overlapping graphs (the generator loss flows through the discriminator), and some
# parameters are unused in some steps. DDP hooks fire once per backward over *all* parameters of the wrapped
# module and need `find_unused_parameters` plus careful `no_sync` juggling for that; reducing exactly the
# parameters of the optimizer being stepped, right before it steps, is simple and correct for every task.

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from music2dance.errors import Music2DanceError, input_error
from music2dance.io.atomic import atomic_path, write_text_atomic
from music2dance.models.checkpoint import (  # the reading half of a run folder
    CHECKPOINT_FILE,
    CONFIG_FILE,
    MODEL_FILE,
    check_and_load,
    file_step,
    read_metadata,
)

log = logging.getLogger(__name__)

FORMAT = "music2dance-train-1"
OPTIMIZER_FILE = "optimizer.safetensors"
METRICS_FILE = "metrics.json"
CURVES_CSV = "curves.csv"
CURVES_PNG = "curves.png"
RUN_FILES = (CHECKPOINT_FILE, OPTIMIZER_FILE, MODEL_FILE, CONFIG_FILE, METRICS_FILE, CURVES_CSV, CURVES_PNG)
# A checkpoint is written whole into this folder, then MANIFEST (the commit point), then moved into the run
# folder file by file; a kill before MANIFEST leaves the previous checkpoint untouched, a kill after it is
# completed at the next start (`recover_run_folder`). So a run folder always holds one complete checkpoint.
PENDING_DIR = ".checkpoint-pending"
PENDING_MANIFEST = "MANIFEST.json"


# --------------------------------------------------------------------------------------------- config
@dataclass
class TrainConfig:
    """Options of the training loop itself (the model's own options come from `TrainTask.config_dict`)."""

    steps: int = 2000
    batch_size: int = 64
    lr: float = 2e-4
    weight_decay: float = 0.0
    grad_clip: float = 0.5  # max global grad norm per optimizer step; 0 disables
    seed: int = 0
    log_every: int = 20
    val_every: int = 200  # 0 disables periodic validation (it still runs at the end)
    ckpt_every: int = 200  # 0 disables periodic checkpoints (one is still written at the end)
    device: str = "cpu"  # "cpu", "cuda" or "cuda:N"; under torchrun "cuda" means cuda:LOCAL_RANK
    num_threads: int = 0  # torch.set_num_threads; 0 = leave the default

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            kind = {"int": int, "float": float, "str": str}[
                f.type if isinstance(f.type, str) else f.type.__name__
            ]
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
                setattr(self, f.name, value)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ValueError(f"training option {f.name}={value!r}: expected {kind.__name__}")
        checks = {
            "steps": self.steps >= 0,
            "batch_size": self.batch_size >= 1,
            "lr": self.lr > 0 and math.isfinite(self.lr),
            "weight_decay": self.weight_decay >= 0,
            "grad_clip": self.grad_clip >= 0,
            "log_every": self.log_every >= 1,
            "val_every": self.val_every >= 0,
            "ckpt_every": self.ckpt_every >= 0,
            "device": self.device == "cpu" or self.device == "cuda" or self.device.startswith("cuda:"),
            "num_threads": self.num_threads >= 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"training option {name}={getattr(self, name)!r} is out of range")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Build from a plain dict (e.g. config.json); an unknown field raises ValueError naming it."""
        known = {f.name for f in dataclasses.fields(cls)}
        for key, value in d.items():
            if key not in known:
                raise ValueError(
                    f"unknown training option {key}={value!r} (known: {', '.join(sorted(known))})"
                )
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------------------------- task
class TrainTask(Protocol):
    """What a model stage provides to `train`.

    Randomness must come from the `generator` given to `train_batch` or from torch's global RNG (both are
    seeded and checkpointed); numpy or `random` state is not saved, so a resume would not be exact.
    """

    name: str

    def build(self) -> dict[str, nn.Module]:
        """Create every module to train and save (on CPU; the loop moves them to the device).

        Called after `torch.manual_seed(cfg.seed)`, identically on every rank."""
        ...

    def optimizers(self, modules: dict[str, nn.Module]) -> dict[str, torch.optim.Optimizer]:
        """Create the optimizers over the (already moved) modules, e.g. {"gen": ..., "disc": ...}."""
        ...

    def train_batch(self, step: int, generator: torch.Generator) -> Any:
        """Draw this rank's batch for `step` with the CPU `generator` (seeded per rank).

        Tensors in the result (also inside dicts, lists and tuples) are moved to the device by the loop."""
        ...

    def train_step(
        self, step: int, batch: Any, modules: dict[str, nn.Module], ctx: StepContext
    ) -> dict[str, float]:
        """Compute losses and call `ctx.backward_step(loss, "<optimizer name>")` for each update.

        Every rank must call `backward_step` the same number of times, in the same order.
        Returns named losses (floats, or 0-dim tensors, which the loop converts)."""
        ...

    def validate(self, modules: dict[str, nn.Module]) -> dict[str, float]:
        """Losses on held-out data. The loop calls it on rank 0 only, in eval mode, under no_grad, in a
        forked RNG (so validation never changes the training trajectory); modules are on the device."""
        ...

    def config_dict(self) -> dict:
        """Model and data options, saved under "model" in config.json and the checkpoints (JSON-able)."""
        ...


# --------------------------------------------------------------------------------------------- distributed
@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in a (possibly one-process) run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def dist_info_from_env(env: dict[str, str] | None = None) -> DistInfo:
    """Read RANK / WORLD_SIZE / LOCAL_RANK as set by torchrun (defaults: one process)."""
    env = os.environ if env is None else env
    world = int(env.get("WORLD_SIZE", "1"))
    rank = int(env.get("RANK", "0"))
    return DistInfo(rank=rank, world_size=world, local_rank=int(env.get("LOCAL_RANK", str(rank))))


def _resolve_device(cfg_device: str, info: DistInfo) -> torch.device:
    if cfg_device == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise Music2DanceError(
            f"--device {cfg_device}: no CUDA device is available (torch {torch.__version__})"
        )
    if cfg_device == "cuda":
        index = info.local_rank if info.distributed else torch.cuda.current_device()
        return torch.device("cuda", index)
    return torch.device(cfg_device)


@contextlib.contextmanager
def _process_group(info: DistInfo, device: torch.device) -> Iterator[None]:
    """Join torchrun's process group for the run (unless the caller already did) and leave it after."""
    import torch.distributed as dist

    if not info.distributed or dist.is_initialized():
        yield
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend=backend, rank=info.rank, world_size=info.world_size)
    try:
        yield
    finally:
        dist.destroy_process_group()


def _derived_seed(seed: int, rank: int, stream: int) -> int:
    # SeedSequence mixes (seed, rank, stream) so no two ranks or streams share a seed, whatever the seed.
    return int(np.random.SeedSequence([seed, rank, stream]).generate_state(1, dtype=np.uint64)[0] >> 1)


# --------------------------------------------------------------------------------------------- step context
class StepContext:
    """Handed to `TrainTask.train_step`: steps optimizers, hiding the multi-process details."""

    def __init__(
        self,
        optimizers: dict[str, torch.optim.Optimizer],
        grad_clip: float,
        device: torch.device,
        info: DistInfo,
    ) -> None:
        self.optimizers = optimizers
        self.grad_clip = grad_clip
        self.device = device
        self.info = info
        self.step = 0
        self.grad_norms: dict[str, float] = {}

    @property
    def rank(self) -> int:
        return self.info.rank

    @property
    def world_size(self) -> int:
        return self.info.world_size

    def params(self, optimizer: str) -> list[nn.Parameter]:
        return [p for group in self.optimizers[optimizer].param_groups for p in group["params"]]

    def backward_step(
        self, loss: torch.Tensor, optimizer: str, *, retain_graph: bool = False
    ) -> float | None:
        """Zero that optimizer's grads, backpropagate `loss`, average grads across ranks, clip, step.

        Returns the gradient norm before clipping (None when clipping is disabled). Grads of parameters
        outside this optimizer are left as they are (the next `backward_step` on their optimizer zeroes them).
        """
        if optimizer not in self.optimizers:
            raise KeyError(f"no optimizer named {optimizer!r} (have: {', '.join(self.optimizers)})")
        opt = self.optimizers[optimizer]
        params = self.params(optimizer)
        opt.zero_grad(set_to_none=True)
        loss.backward(retain_graph=retain_graph)
        if self.info.distributed:
            _all_reduce_grads(params, self.info.world_size, self.device)
        norm = None
        if self.grad_clip > 0:
            with_grad = [p for p in params if p.grad is not None]
            norm = float(torch.nn.utils.clip_grad_norm_(with_grad, self.grad_clip)) if with_grad else 0.0
            self.grad_norms[optimizer] = norm
        opt.step()
        return norm


def _all_reduce_grads(params: list[nn.Parameter], world_size: int, device: torch.device) -> None:
    """Average gradients over ranks: one flat all-reduce per dtype.

    A parameter without a grad on some rank (unused in its branch) gets zeros there so every rank sends
    the same tensors; one with no grad on any rank stays None, exactly as in a one-process run."""
    import torch.distributed as dist

    has = torch.tensor([p.grad is not None for p in params], dtype=torch.float32, device=device)
    dist.all_reduce(has)
    grads: dict[torch.dtype, list[torch.Tensor]] = {}
    for p, n in zip(params, has.tolist()):
        if n == 0:
            continue
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        elif p.grad.is_sparse:
            raise RuntimeError("sparse gradients are not supported by the training loop")
        grads.setdefault(p.grad.dtype, []).append(p.grad)
    for tensors in grads.values():
        flat = torch.cat([g.reshape(-1) for g in tensors])
        dist.all_reduce(flat)
        flat /= world_size
        offset = 0
        for g in tensors:
            g.copy_(flat[offset : offset + g.numel()].view_as(g))
            offset += g.numel()


def _broadcast_state(modules: dict[str, nn.Module], *, buffers_only: bool) -> None:
    import torch.distributed as dist

    for module in modules.values():
        tensors = list(module.buffers()) if buffers_only else list(module.state_dict().values())
        for t in tensors:
            dist.broadcast(t.data, src=0)


# --------------------------------------------------------------------------------------------- files
def _module_tensors(modules: dict[str, nn.Module]) -> dict[str, torch.Tensor]:
    # Clone: safetensors refuses tensors sharing memory (tied weights), and CUDA tensors must come to CPU.
    return {
        f"{name}.{key}": t.detach().to("cpu", copy=True).contiguous()
        for name, module in modules.items()
        for key, t in module.state_dict().items()
    }


def _save_safetensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)


def _optimizer_tensors(optimizers: dict[str, torch.optim.Optimizer]) -> tuple[dict[str, torch.Tensor], dict]:
    """Split optimizer state dicts into tensors (for safetensors) and JSON scalars, with a key map back."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, Any] = {"optimizers": {}, "tensor_keys": {}}
    for name, opt in optimizers.items():
        sd = opt.state_dict()
        plain: dict[str, dict[str, Any]] = {}
        for idx, state in sd["state"].items():
            plain[str(idx)] = {}
            for key, value in state.items():
                if torch.is_tensor(value):
                    tkey = f"optim.{name}.{idx}.{key}"
                    tensors[tkey] = value.detach().to("cpu", copy=True).contiguous()
                    scalars["tensor_keys"][tkey] = [name, str(idx), key]
                else:
                    plain[str(idx)][key] = value
        scalars["optimizers"][name] = {"state": plain, "param_groups": sd["param_groups"]}
    return tensors, scalars


def _load_optimizers(
    optimizers: dict[str, torch.optim.Optimizer],
    tensors: dict[str, torch.Tensor],
    scalars: dict,
    folder: Path,
) -> None:
    saved = scalars["optimizers"]
    if set(saved) != set(optimizers):
        raise input_error(
            folder, f"checkpoint has optimizers {sorted(saved)}, the task builds {sorted(optimizers)}"
        )
    states: dict[str, dict[int, dict[str, Any]]] = {
        name: {int(idx): dict(st) for idx, st in entry["state"].items()} for name, entry in saved.items()
    }
    for tkey, (name, idx, key) in scalars["tensor_keys"].items():
        states[name].setdefault(int(idx), {})[key] = tensors[tkey]
    for name, opt in optimizers.items():
        try:
            opt.load_state_dict({"state": states[name], "param_groups": saved[name]["param_groups"]})
        except (ValueError, KeyError, RuntimeError) as exc:
            raise input_error(folder, f"optimizer {name!r} state does not match the model ({exc})") from None


def _rng_tensors(generator: torch.Generator, device: torch.device) -> dict[str, torch.Tensor]:
    out = {"generator": generator.get_state(), "torch": torch.get_rng_state()}
    if device.type == "cuda":
        out["cuda"] = torch.cuda.get_rng_state(device)
    return out


def _set_rng(states: dict[str, torch.Tensor], generator: torch.Generator, device: torch.device) -> None:
    generator.set_state(states["generator"])
    torch.set_rng_state(states["torch"])
    if device.type == "cuda" and "cuda" in states:
        torch.cuda.set_rng_state(states["cuda"], device)


# --------------------------------------------------------------------------------------------- curves
class _Curves:
    """Loss rows kept in memory and rewritten whole, so the CSV always matches the last checkpoint."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, step: int, split: str, losses: dict[str, float]) -> None:
        self.rows.append({"step": step, "split": split, **losses})

    def load(self, path: Path, up_to_step: int) -> None:
        if not path.exists():
            return
        with path.open(newline="") as f:
            for row in csv.DictReader(f):
                if int(row["step"]) <= up_to_step:
                    self.add(
                        int(row["step"]),
                        row["split"],
                        {k: float(v) for k, v in row.items() if k not in ("step", "split") and v != ""},
                    )

    def write(self, path: Path) -> None:
        columns = ["step", "split"]
        for row in self.rows:
            columns.extend(k for k in row if k not in columns)
        with atomic_path(path) as tmp, tmp.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns, restval="")
            writer.writeheader()
            writer.writerows(self.rows)


def plot_curves(csv_path: str | os.PathLike, png_path: str | os.PathLike) -> None:
    """Draw curves.csv as a PNG: one subplot per loss, train and val lines."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # Agg directly: no pyplot global state
    from matplotlib.figure import Figure

    series: dict[str, dict[str, tuple[list[int], list[float]]]] = {}
    with Path(csv_path).open(newline="") as f:
        for row in csv.DictReader(f):
            for key, value in row.items():
                if key in ("step", "split") or value in ("", None):
                    continue
                xs, ys = series.setdefault(key, {}).setdefault(row["split"], ([], []))
                xs.append(int(row["step"]))
                ys.append(float(value))
    n = max(len(series), 1)
    cols = min(n, 3)
    nrows = math.ceil(n / cols)
    fig = Figure(figsize=(4.5 * cols, 3.2 * nrows), layout="constrained")
    FigureCanvasAgg(fig)
    for i, (loss, splits) in enumerate(series.items()):
        ax = fig.add_subplot(nrows, cols, i + 1)
        for split, (xs, ys) in splits.items():
            ax.plot(xs, ys, label=split, marker="o" if split == "val" else None, markersize=3)
        ax.set_title(loss)
        ax.set_xlabel("step")
        ax.legend()
        ax.grid(alpha=0.3)
    with atomic_path(png_path) as tmp:
        fig.savefig(tmp, dpi=90)


# --------------------------------------------------------------------------------------------- the loop
@dataclass
class _RunState:
    step: int = 0
    wall_s: float = 0.0
    train_losses: dict[str, float] = field(default_factory=dict)
    val_losses: dict[str, float] = field(default_factory=dict)
    val_step: int = -1


def _to_device(batch: Any, device: torch.device) -> Any:
    if torch.is_tensor(batch):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # namedtuple
        return type(batch)(*(_to_device(v, device) for v in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_device(v, device) for v in batch)
    return batch


def _fmt(losses: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.4g}" for k, v in losses.items())


def _set_mode(modules: dict[str, nn.Module], training: bool) -> None:
    for module in modules.values():
        module.train(training)


def _validate(task: TrainTask, modules: dict[str, nn.Module], device: torch.device) -> dict[str, float]:
    _set_mode(modules, False)
    devices = [device] if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            return {k: float(v) for k, v in task.validate(modules).items()}
    finally:
        _set_mode(modules, True)


def train(
    task: TrainTask,
    cfg: TrainConfig,
    out_dir: str | os.PathLike,
    *,
    resume: bool = False,
    quiet: bool = False,
    extra_meta: dict | None = None,
    overwrite: bool = False,
) -> dict:
    """Train `task` for `cfg.steps` steps, checkpointing into `out_dir`; return the final metrics dict.

    A folder that already holds a checkpoint needs `resume=True` (continue it) or `overwrite=True` (start
    over, deleting it); otherwise a one-line error, before any work.

    The same config and seed give bit-identical weights on CPU, and `resume=True` continues exactly from
    the last checkpoint (cfg.steps may be raised to train longer). Works unchanged under torchrun: each
    rank draws its own batches, gradients are averaged, rank 0 writes the files. Every rank returns the
    same metrics (the content of metrics.json).
    """
    out = Path(out_dir)
    info = dist_info_from_env()
    device = _resolve_device(cfg.device, info)
    if cfg.num_threads > 0:
        torch.set_num_threads(cfg.num_threads)
    with _process_group(info, device):
        return _train(
            task,
            cfg,
            out,
            info,
            device,
            resume=resume,
            quiet=quiet,
            extra_meta=extra_meta,
            overwrite=overwrite,
        )


def _train(
    task: TrainTask,
    cfg: TrainConfig,
    out: Path,
    info: DistInfo,
    device: torch.device,
    *,
    resume: bool,
    quiet: bool,
    extra_meta: dict | None,
    overwrite: bool = False,
) -> dict:
    import torch.distributed as dist
    from tqdm import tqdm

    if info.is_main:
        recover_run_folder(out)
    if info.distributed:
        dist.barrier()  # every rank sees the recovered folder
    check_run_folder(out, resume=resume, overwrite=overwrite)

    torch.manual_seed(cfg.seed)  # identical initial weights on every rank (rank 0's are broadcast anyway)
    modules = task.build()
    for module in modules.values():
        module.to(device)
    optimizers = task.optimizers(modules)
    if info.distributed:
        _broadcast_state(modules, buffers_only=False)
    generator = torch.Generator().manual_seed(_derived_seed(cfg.seed, info.rank, 0))
    torch.manual_seed(_derived_seed(cfg.seed, info.rank, 1))
    if device.type == "cuda":
        torch.cuda.manual_seed(_derived_seed(cfg.seed, info.rank, 2))

    state = _RunState()
    curves = _Curves()
    meta = dict(extra_meta or {})
    if resume:
        state, meta = _resume(out, cfg, modules, optimizers, generator, device, info, meta, curves)
    elif info.is_main:
        stale = [name for name in RUN_FILES if (out / name).exists()]
        if stale:
            log.warning("starting a fresh run in %s: removing the previous run's %s", out, ", ".join(stale))
            for name in stale:
                (out / name).unlink()
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)

    ctx = StepContext(optimizers, cfg.grad_clip, device, info)
    _set_mode(modules, True)
    sums: dict[str, float] = {}
    count = 0
    start_step = state.step
    t0 = time.perf_counter()
    wall_at_start = state.wall_s
    bar = tqdm(
        total=cfg.steps,
        initial=start_step,
        desc=task.name,
        disable=quiet or not info.is_main,
        dynamic_ncols=True,
    )
    log.info(
        "training %s: steps %d to %d on %s, %d process(es)",
        task.name,
        start_step,
        cfg.steps,
        device,
        info.world_size,
    )

    def save(final: bool) -> None:
        state.wall_s = wall_at_start + time.perf_counter() - t0
        _save_checkpoint(
            out, task, cfg, modules, optimizers, generator, device, info, state, meta, curves, final=final
        )

    try:
        for step in range(start_step, cfg.steps):
            ctx.step = step
            batch = _to_device(task.train_batch(step, generator), device)
            losses = task.train_step(step, batch, modules, ctx)
            losses = {k: float(v.detach() if isinstance(v, torch.Tensor) else v) for k, v in losses.items()}
            bad = [k for k, v in losses.items() if not math.isfinite(v)]
            if bad:
                raise FloatingPointError(
                    f"{task.name}: loss {bad[0]} is {losses[bad[0]]} at step {step + 1}; the last good "
                    f"checkpoint is in {out}"
                )
            if info.distributed:
                _broadcast_state(modules, buffers_only=True)  # keep e.g. batch-norm statistics identical
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + v
            count += 1
            state.step = done = step + 1
            bar.update(1)
            bar.set_postfix(losses, refresh=False)
            if done % cfg.log_every == 0 or done == cfg.steps:
                state.train_losses = {k: v / count for k, v in sums.items()}
                curves.add(done, "train", state.train_losses)
                rate = (done - start_step) / max(time.perf_counter() - t0, 1e-9)
                log.info("step %d/%d: %s (%.1f steps/s)", done, cfg.steps, _fmt(state.train_losses), rate)
                sums, count = {}, 0
            if cfg.val_every and done % cfg.val_every == 0 and done != cfg.steps and info.is_main:
                _run_validation(task, modules, device, state, curves)
            if cfg.ckpt_every and done % cfg.ckpt_every == 0 and done != cfg.steps:
                save(final=False)
    finally:
        bar.close()

    if info.is_main and state.val_step != state.step:
        _run_validation(task, modules, device, state, curves)
    save(final=True)
    metrics = _metrics(task, cfg, state, info)
    if info.is_main:
        write_text_atomic(out / METRICS_FILE, json.dumps(metrics, indent=2) + "\n")
        log.info(
            "finished %s at step %d in %.1f s; validation: %s",
            task.name,
            state.step,
            metrics["wall_time_s"],
            _fmt(state.val_losses),
        )
    if info.distributed:
        holder = [metrics]
        dist.broadcast_object_list(holder, src=0)
        metrics = holder[0]
    return metrics


def _run_validation(task: TrainTask, modules, device, state: _RunState, curves: _Curves) -> None:
    state.val_losses = _validate(task, modules, device)
    state.val_step = state.step
    curves.add(state.step, "val", state.val_losses)
    log.info("validation at step %d: %s", state.step, _fmt(state.val_losses))


def _metrics(task: TrainTask, cfg: TrainConfig, state: _RunState, info: DistInfo) -> dict:
    return {
        "name": task.name,
        "step": state.step,
        "steps": cfg.steps,
        "wall_time_s": round(state.wall_s, 3),
        "world_size": info.world_size,
        "train": state.train_losses,
        "val": state.val_losses,
    }


def _config_json(task: TrainTask, cfg: TrainConfig, state: _RunState, info: DistInfo, meta: dict) -> dict:
    return {
        "format": FORMAT,
        "name": task.name,
        "step": state.step,
        "train": cfg.to_dict(),
        "model": task.config_dict(),
        "meta": meta,
        "world_size": info.world_size,
    }


def _save_checkpoint(
    out: Path,
    task: TrainTask,
    cfg: TrainConfig,
    modules: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    generator: torch.Generator,
    device: torch.device,
    info: DistInfo,
    state: _RunState,
    meta: dict,
    curves: _Curves,
    *,
    final: bool,
) -> None:
    """Every rank contributes its RNG state; rank 0 writes optimizer, weights, config and curves."""
    rng = _rng_tensors(generator, device)
    if info.distributed:
        import torch.distributed as dist

        gathered: list[Any] = [None] * info.world_size
        dist.all_gather_object(gathered, {k: v.cpu() for k, v in rng.items()})
    else:
        gathered = [rng]
    if not info.is_main:
        return
    config = _config_json(task, cfg, state, info, meta)
    config_text = json.dumps(config, indent=2, default=_json_default)
    tensors, scalars = _optimizer_tensors(optimizers)
    for rank, states in enumerate(gathered):
        for kind, t in states.items():
            tensors[f"rng.{rank}.{kind}"] = t.contiguous()
    scalars.update(
        step=state.step,
        wall_s=state.wall_s,
        world_size=info.world_size,
        train_losses=state.train_losses,
        val_losses=state.val_losses,
        val_step=state.val_step,
    )
    common = {"format": FORMAT, "step": str(state.step)}
    # Every file of the checkpoint goes into PENDING_DIR, then MANIFEST commits them as one set (see
    # PENDING_DIR): a kill at any moment leaves either the previous checkpoint or this one, never a mix.
    pending = out / PENDING_DIR
    if pending.exists():
        shutil.rmtree(pending)
    pending.mkdir(parents=True)
    try:
        # Both safetensors carry the step, and a resume still refuses a mismatched pair.
        _save_safetensors(
            pending / OPTIMIZER_FILE, tensors, {**common, "state": json.dumps(scalars, default=_json_default)}
        )
        weights = _module_tensors(modules)
        _save_safetensors(pending / CHECKPOINT_FILE, weights, {**common, "config": config_text})
        write_text_atomic(pending / CONFIG_FILE, config_text + "\n")
        curves.write(pending / CURVES_CSV)
        files = [OPTIMIZER_FILE, CHECKPOINT_FILE, CONFIG_FILE, CURVES_CSV]
        try:
            plot_curves(pending / CURVES_CSV, pending / CURVES_PNG)
            files.append(CURVES_PNG)
        except Exception as exc:  # a plotting problem must never lose a training run
            log.warning("could not draw %s: %s", out / CURVES_PNG, exc)
        if final:
            _save_safetensors(pending / MODEL_FILE, weights, {**common, "config": config_text})
            files.append(MODEL_FILE)
        manifest = {"format": FORMAT, "step": state.step, "files": files}
        write_text_atomic(pending / PENDING_MANIFEST, json.dumps(manifest) + "\n")
    except BaseException:
        shutil.rmtree(pending, ignore_errors=True)  # not committed: the previous checkpoint stays
        raise
    recover_run_folder(out)
    log.debug("checkpoint written at step %d in %s", state.step, out)


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
            files = None  # cannot happen for an atomic write; treat it as never committed
        for name in files or []:
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


def _json_default(value: Any) -> Any:
    if torch.is_tensor(value) and value.numel() == 1:
        return value.item()
    if isinstance(value, (np.generic,)):
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot save {type(value).__name__} value {value!r} in a JSON config")


def _resume(
    out: Path,
    cfg: TrainConfig,
    modules: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    generator: torch.Generator,
    device: torch.device,
    info: DistInfo,
    meta: dict,
    curves: _Curves,
) -> tuple[_RunState, dict]:
    """Restore weights, optimizer state, RNG state and loss curves from the folder's last checkpoint."""
    from safetensors.torch import load_file

    opt_path = out / OPTIMIZER_FILE
    if not opt_path.exists():
        raise input_error(out, f"cannot resume: {CHECKPOINT_FILE} is there but {OPTIMIZER_FILE} is missing")
    try:
        weights = load_file(str(out / CHECKPOINT_FILE), device="cpu")
        wmeta = read_metadata(out / CHECKPOINT_FILE)
        opt_tensors = load_file(str(opt_path), device="cpu")
        ometa = read_metadata(opt_path)
        scalars = json.loads(ometa["state"])
        saved_config = json.loads(wmeta["config"])
    except Exception as exc:
        raise input_error(out, f"cannot resume: unreadable checkpoint ({exc})") from None
    if wmeta.get("step") != ometa.get("step"):
        raise input_error(
            out,
            f"cannot resume: {CHECKPOINT_FILE} (step {wmeta.get('step')}) and "
            f"{OPTIMIZER_FILE} (step {ometa.get('step')}) differ; was a save interrupted?",
        )
    check_and_load(out, weights, modules, strict=True)
    _load_optimizers(optimizers, opt_tensors, scalars, out)

    rng = {k.split(".", 2)[2]: t for k, t in opt_tensors.items() if k.startswith(f"rng.{info.rank}.")}
    if rng:
        _set_rng(rng, generator, device)
    else:
        # A new rank (larger world than the saved run) has no saved stream; seed it from the step instead.
        log.warning("no saved RNG state for rank %d; seeding it from the step", info.rank)
        generator.manual_seed(_derived_seed(cfg.seed, info.rank, 1000 + scalars["step"]))
    if scalars.get("world_size", 1) != info.world_size:
        log.warning(
            "resuming a %d-process run with %d processes: batches will differ from an uninterrupted run",
            scalars.get("world_size", 1),
            info.world_size,
        )

    changed = {
        k: (v, getattr(cfg, k))
        for k, v in saved_config.get("train", {}).items()
        if k not in ("steps", "log_every", "val_every", "ckpt_every", "device", "num_threads")
        and hasattr(cfg, k)
        and getattr(cfg, k) != v
    }
    if changed:
        log.warning(
            "resuming with changed options: %s",
            ", ".join(f"{k} {a!r} -> {b!r}" for k, (a, b) in changed.items()),
        )
    saved_meta = saved_config.get("meta", {})
    if meta and saved_meta and meta != saved_meta:
        log.warning("resuming with different run metadata (was %s, now %s)", saved_meta, meta)
    state = _RunState(
        step=int(scalars["step"]),
        wall_s=float(scalars["wall_s"]),
        train_losses=scalars.get("train_losses", {}),
        val_losses=scalars.get("val_losses", {}),
        val_step=int(scalars.get("val_step", -1)),
    )
    if info.is_main:
        curves.load(out / CURVES_CSV, state.step)
    log.info("resuming from step %d in %s", state.step, out)
    return state, (meta or saved_meta)
