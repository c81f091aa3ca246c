"""The layers of docs/ARCHITECTURE.md hold: no module of `src/music2dance/` imports a later stage.

Every import is read with `ast` (also those inside functions, which the package uses to keep start-up
fast), resolved to its top-level part of the package, and checked against `ALLOWED`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import music2dance

PACKAGE = Path(music2dance.__file__).resolve().parent

# Usable by every part: the package itself (`__version__`), the error type and the input checks.
SHARED = {"__init__", "errors", "validate", "defaults"}

# The order: io < audio < motion < models < {train, generate} < evaluate < render < commands < cli.
# train and generate are siblings (generation never loads the trainer, training never generates);
# evaluate reads models through generate, not train; render only draws, so it reads io/audio/motion only.
_BELOW_MODELS = {"io", "audio", "motion"}
ALLOWED: dict[str, set[str]] = {
    "io": set(),
    "audio": {"io"},
    "motion": {"io", "audio"},
    "models": _BELOW_MODELS,
    "train": _BELOW_MODELS | {"models"},
    "generate": _BELOW_MODELS | {"models"},
    "evaluate": _BELOW_MODELS | {"models", "generate"},
    "render": _BELOW_MODELS,
    "commands": _BELOW_MODELS | {"models", "generate", "evaluate", "render"},
    "cli": _BELOW_MODELS | {"models", "train", "generate", "evaluate", "render", "commands"},
}

# (importing part, imported part) pairs allowed for now, each with the reason. Keep this empty.
KNOWN_EXCEPTIONS: set[tuple[str, str]] = set()


def _part(module: str) -> str:
    """`music2dance.io.bvh` -> "io"; `music2dance` -> "__init__"; `music2dance.cli` -> "cli"."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every `music2dance` import in the file, nested ones included."""
    rel = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = list(rel[:-1])  # the package the file is in (for `__init__.py`: its own)
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            if node.module:
                found.append((node.lineno, module))
            else:  # `from .. import x`: x is a module, or a name defined by the package itself
                for a in node.names:
                    sub = PACKAGE.parent.joinpath(*module.split("."), a.name)
                    is_module = sub.is_dir() or sub.with_suffix(".py").is_file()
                    found.append((node.lineno, f"{module}.{a.name}" if is_module else module))
    return [(line, m) for line, m in found if m == "music2dance" or m.startswith("music2dance.")]


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "assets" not in p.relative_to(PACKAGE).parts)


def test_every_part_is_placed():
    """Each file belongs to a part this test knows, so a new folder cannot escape the check."""
    parts = {_part(".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts)) for p in _modules()}
    assert parts <= set(ALLOWED) | SHARED, sorted(parts - set(ALLOWED) - SHARED)


def test_no_module_imports_a_later_stage():
    bad = []
    for path in _modules():
        own = _part(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
        for line, module in _imports(path):
            other = _part(module)
            if other == own or other in SHARED or (own, other) in KNOWN_EXCEPTIONS:
                continue
            if own in SHARED or other not in ALLOWED.get(own, set()):
                bad.append(f"{path.relative_to(PACKAGE.parent)}:{line} ({own}) imports {module}")
    assert not bad, "imports against the layer order:\n" + "\n".join(bad)


def test_the_check_sees_nested_and_relative_imports():
    """The reader finds an import inside a function and resolves `..` (guards the test itself)."""
    found = {m for _, m in _imports(PACKAGE / "cli.py")}
    assert "music2dance.commands" in found  # imported inside `_cmd_generate`
    assert "music2dance.errors" in found
    assert "music2dance" in found  # `from . import __version__`: a name of the package, not a module
    assert "music2dance.io.skeleton" in {m for _, m in _imports(PACKAGE / "render" / "dispatch.py")}
