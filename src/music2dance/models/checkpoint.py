"""A run folder's checkpoint files read back: safetensors weights into named modules, and the saved config.

The reading half of the files `train/loop.py` writes (its comment documents the run-folder layout). It
knows no network and imports nothing from `train/`; `models/pretrained.py` builds a stage's network on it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

from ..errors import input_error

# The files of a run folder that hold weights and config (written by train/loop.py).
CHECKPOINT_FILE = "checkpoint.safetensors"
MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


def load_checkpoint(
    out_dir_or_file: str | os.PathLike, modules: dict[str, nn.Module], *, strict: bool = False
) -> dict:
    """Load weights into `modules` (each by its name) and return the saved config (config.json's content).

    A folder loads the newest of model.safetensors / checkpoint.safetensors; a file loads that file.
    Only the named modules are loaded (e.g. just {"gen": g} for inference) unless `strict`, which also
    rejects modules in the file that are not given. Mismatching names or shapes raise Music2DanceError.
    """

    path = Path(out_dir_or_file)
    if path.is_dir():
        candidates = [path / MODEL_FILE, path / CHECKPOINT_FILE]
        found = [(file_step(p), i, p) for i, p in enumerate(candidates) if p.exists()]
        if not found:
            raise input_error(path, f"no {MODEL_FILE} or {CHECKPOINT_FILE} in this folder")
        file = max(found, key=lambda f: (f[0], -f[1]))[2]
    elif path.exists():
        file = path
    else:
        raise input_error(path, "no such checkpoint file or folder")
    tensors = read_tensors(file, "checkpoint")
    try:
        meta = read_metadata(file)
        config = json.loads(meta["config"]) if "config" in meta else {}
        if not config and (file.parent / CONFIG_FILE).exists():
            config = json.loads((file.parent / CONFIG_FILE).read_text())
        step = int(meta.get("step", config.get("step", 0)))
    except Exception as exc:
        raise input_error(file, f"not a readable checkpoint ({_why(exc)})") from None
    check_and_load(file, tensors, modules, strict=strict)
    config["step"] = step
    return config


def read_tensors(path: Path, what: str) -> dict[str, torch.Tensor]:
    """Every tensor of a safetensors file, on the CPU; a one-line error naming the file (`what`: the kind of
    file, for the message) when it is missing, empty, truncated or corrupt."""
    from safetensors.torch import load_file

    if not Path(path).exists():
        raise input_error(path, f"{what} not found")
    try:
        return load_file(str(path), device="cpu")
    except Exception as exc:  # safetensors raises its own error types for corrupt, truncated, empty files
        raise input_error(path, f"not a readable {what} ({_why(exc)})") from None


def _why(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def read_metadata(path: Path) -> dict[str, str]:
    """The string metadata of a safetensors file (its header), without reading the tensors."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return f.metadata() or {}


def file_step(path: Path) -> int:
    """The step a safetensors file was saved at (its metadata), or a one-line error naming the file."""
    try:
        return int(read_metadata(path).get("step", "-1"))
    except Exception as exc:
        raise input_error(path, f"not a readable checkpoint ({_why(exc)})") from None


def check_and_load(
    folder_or_file: Path, tensors: dict[str, torch.Tensor], modules: dict[str, nn.Module], *, strict: bool
) -> None:
    """Load `tensors` ("<module>.<key>") into `modules`, with one-line errors for any mismatch."""
    file_modules = {k.split(".", 1)[0] for k in tensors}
    missing_modules = sorted(set(modules) - file_modules)
    extra_modules = sorted(file_modules - set(modules))
    problems = []
    if missing_modules:
        problems.append(f"no weights for module(s) {', '.join(missing_modules)}")
    if strict and extra_modules:
        problems.append(f"unexpected module(s) {', '.join(extra_modules)}")
    for name, module in modules.items():
        if name in missing_modules:
            continue
        expected = module.state_dict()
        prefix = f"{name}."
        have = {k[len(prefix) :]: t for k, t in tensors.items() if k.startswith(prefix)}
        missing = [k for k in expected if k not in have]
        unexpected = [k for k in have if k not in expected]
        shapes = [
            f"{name}.{k} is {tuple(have[k].shape)}, the model expects {tuple(t.shape)}"
            for k, t in expected.items()
            if k in have and tuple(have[k].shape) != tuple(t.shape)
        ]
        if missing:
            problems.append(f"missing {_few(prefix, missing)}")
        if unexpected:
            problems.append(f"unexpected {_few(prefix, unexpected)}")
        problems.extend(shapes[:2])
    if problems:
        raise input_error(folder_or_file, "checkpoint does not match the model: " + "; ".join(problems))
    for name, module in modules.items():
        prefix = f"{name}."
        module.load_state_dict({k[len(prefix) :]: t for k, t in tensors.items() if k.startswith(prefix)})


def _few(prefix: str, keys: list[str]) -> str:
    shown = ", ".join(prefix + k for k in keys[:3])
    return shown + (f" (+{len(keys) - 3} more)" if len(keys) > 3 else "")
