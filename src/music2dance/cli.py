"""The `music2dance` command line: a thin argparse layer over the package's functions.

Heavy libraries (torch, librosa, matplotlib) are imported inside each command so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import warnings

from . import __version__
from .defaults import OUTPUT_FPS
from .errors import Music2DanceError, Terminated, input_error, one_line
from .validate import (
    RENDER_FPS_MAX,
    RENDER_FPS_MIN,
    SONG_MAX_S,
    SONG_MIN_S,
    device_arg,
    float_arg,
    int_arg,
    seed_arg,
)

log = logging.getLogger("music2dance")


class _Parser(argparse.ArgumentParser):
    """argparse with the project's error style: one line `error: <option>: <problem>`, exit code 2."""

    def error(self, message: str):
        if message.startswith("argument "):
            message = message[len("argument ") :]
        self.exit(2, f"error: {one_line(message)} (see `{self.prog} --help`)\n")


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars or log lines, errors only")
    p.add_argument("--debug", action="store_true", help="show the Python traceback of an error")


def _cmd_beats(a: argparse.Namespace) -> int:
    from .commands import run_beats

    run_beats(
        a.song,
        a.dance,
        a.output,
        tolerance_frames=a.tolerance_frames,
        n_shifts=a.shifts,
        seed=a.seed,
        quiet=a.quiet,
    )
    return 0


def _cmd_prepare(a: argparse.Namespace) -> int:
    from .train.prepare import prepare_dataset
    from .validate import check_output_folder

    if a.workers < 0:
        raise input_error("--workers", f"must be 0 (one per core) or more, got {a.workers}")
    check_output_folder(a.output, option="-o")

    prepare_dataset(
        a.data,
        a.output,
        workers=a.workers,
        force=a.force,
        quiet=a.quiet,
        fmt=a.format,
        music=a.music,
        body_model=a.body_model,
    )
    return 0


def _cmd_train(a: argparse.Namespace) -> int:
    from pathlib import Path

    from .train.loop import check_run_folder
    from .train.stages import STAGES, run_training
    from .validate import check_device, check_output_folder

    # Before any data is loaded: the run folder(s), the device, and a forgotten --resume.
    check_output_folder(a.out)
    check_device(a.device)
    for folder in [Path(a.out) / s for s in STAGES] if a.stage == "all" else [Path(a.out)]:
        if not a.resume:
            check_run_folder(folder, resume=False, overwrite=a.overwrite)
    if a.resume and a.stage != "all":
        check_run_folder(a.out, resume=True)
    run_training(
        a.stage,
        data=a.data,
        out=a.out,
        config=a.config,
        resume=a.resume,
        device=a.device,
        steps=a.steps,
        preset=a.preset,
        decomposition=a.decomposition,
        style=a.style,
        quiet=a.quiet,
        overwrite=a.overwrite,
    )
    return 0


def _cmd_generate(a: argparse.Namespace) -> int:
    from .commands import run_generate

    run_generate(a.song, a.output, seconds=a.seconds, seed=a.seed, model=a.model, quiet=a.quiet)
    return 0


def _cmd_render(a: argparse.Namespace) -> int:
    from .commands import run_render

    run_render(a.dance, a.song, a.output, fps=a.fps, quiet=a.quiet)
    return 0


def _cmd_evaluate(a: argparse.Namespace) -> int:
    from .evaluate.report import run_evaluate

    run_evaluate(
        a.model,
        a.data,
        a.output,
        protocol=a.protocol,
        seed=a.seed,
        quick=a.quick,
        quiet=a.quiet,
        published_features=a.published_features,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="music2dance",
        description="Give it a song, get back a dance: beat analysis, data preparation, training, "
        "generation, evaluation and rendering of 3D dances.",
    )
    p.add_argument("--version", action="version", version=f"music2dance {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("beats", help="music beats vs kinematic beats of a dance, as a plot and a hit rate")
    b.add_argument("song", help="audio file (mp3, ogg, wav, flac)")
    b.add_argument("--dance", help="a dance: Tang 2018 folder, .bvh, .npz or keypoint file")
    b.add_argument("-o", "--output", default="beats.png", help="plot to write (png/pdf/svg)")
    b.add_argument(
        "--tolerance-frames",
        type=int_arg(0, 100),
        default=2,
        help="a kinematic beat hits a music beat within +-N frames of the dance's frame rate",
    )
    b.add_argument(
        "--shifts", type=int_arg(1, 100_000), default=200, help="random motion shifts for the chance level"
    )
    b.add_argument("--seed", type=seed_arg, default=0)
    _add_common(b)
    b.set_defaults(func=_cmd_beats)

    pr = sub.add_parser("prepare", help="turn a dance dataset into cached training arrays")
    pr.add_argument("data", help="dataset root, e.g. ../shared/data/tang2018")
    pr.add_argument("-o", "--output", default="data/prepared")
    pr.add_argument("--workers", type=int, default=0, help="processes (0: one per core)")
    pr.add_argument("--force", action="store_true", help="rebuild every sequence")
    pr.add_argument(
        "--format",
        default="auto",
        choices=["auto", "tang", "aistpp", "finedance", "popdanceset", "folder"],
        help="the data set's layout (default: detected; see docs/DATA.md)",
    )
    pr.add_argument("--music", help="folder of the songs when not inside DIR (AIST++: the AIST wavs)")
    pr.add_argument(
        "--body-model",
        help="your SMPL / SMPL-X model file (.npz or .pkl) for AIST++ motions/, FineDance, PopDanceSet",
    )
    _add_common(pr)
    pr.set_defaults(func=_cmd_prepare)

    t = sub.add_parser(
        "train", help="train a stage: style, decomposition (DU-VAE), composition (MM-GAN), or all"
    )
    t.add_argument(
        "stage",
        choices=["style", "decomposition", "composition", "all"],
        help="all: the three stages in order into OUT/<stage>, a model folder for `generate --model`",
    )
    t.add_argument("--data", default="data/prepared", help="folder written by `prepare`")
    t.add_argument("--out", required=True, help="run folder (checkpoints, config, curves)")
    t.add_argument("--config", help="JSON file overriding config fields")
    t.add_argument(
        "--preset",
        default="cpu",
        choices=["cpu", "paper", "tiny"],
        help="model size: cpu (default, trains here), paper (the paper's sizes, for a GPU), tiny",
    )
    t.add_argument("--steps", type=int_arg(1, 10**9), help="override the number of training steps")
    t.add_argument("--decomposition", help="composition only: the trained DU-VAE run folder")
    t.add_argument("--style", help="composition only: the trained style classifier run folder")
    t.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")
    t.add_argument(
        "--overwrite",
        action="store_true",
        help="start afresh over a run folder that holds a checkpoint, deleting it (without --resume or "
        "--overwrite such a folder is refused)",
    )
    t.add_argument("--device", default="cpu", type=device_arg, help="cpu, cuda or cuda:N")
    _add_common(t)
    t.set_defaults(func=_cmd_train)

    g = sub.add_parser("generate", help="generate a dance for a song")
    g.add_argument("song", help="audio file (mp3, ogg, wav, flac)")
    g.add_argument(
        "-o",
        "--output",
        default="dance.npz",
        help="output; the extension decides: .npz .mp4 .gif .html .bvh .json",
    )
    g.add_argument(
        "--seconds",
        type=float_arg(SONG_MIN_S, SONG_MAX_S, " s"),
        help="dance length, 3 to 900 s (default: the whole song)",
    )
    g.add_argument(
        "--seed", type=seed_arg, default=0, help="0 to 2**63-1; the same seed gives the same dance"
    )
    g.add_argument("--model", help="model folder (default: the bundled model)")
    _add_common(g)
    g.set_defaults(func=_cmd_generate)

    r = sub.add_parser("render", help="turn a dance npz into a video, gif, web page, BVH or JSON")
    r.add_argument("dance", help="dance .npz from `generate` (or .bvh)")
    r.add_argument("song", nargs="?", help="audio to mux into video / embed in the page")
    r.add_argument("-o", "--output", required=True, help=".mp4 .gif .html .bvh .json .npz")
    r.add_argument(
        "--fps",
        type=float_arg(RENDER_FPS_MIN, RENDER_FPS_MAX),
        default=OUTPUT_FPS,
        help=f"output frame rate, {RENDER_FPS_MIN:g} to {RENDER_FPS_MAX:g} (video, gif, page)",
    )
    _add_common(r)
    r.set_defaults(func=_cmd_render)

    e = sub.add_parser("evaluate", help="the field's metrics and ours, with reference rows, as a report")
    e.add_argument("--model", help="model folder (default: the bundled model)")
    e.add_argument("--data", default="data/prepared", help="folder written by `prepare`")
    e.add_argument("-o", "--output", default="report", help="report folder")
    e.add_argument(
        "--protocol",
        help="tang, aistpp, finedance (the field's settings for that data set; default: the prepared "
        'data\'s dataset, else tang) or a JSON file of protocol fields ("name" picks its preset)',
    )
    e.add_argument(
        "--published-features",
        action="store_true",
        help="the published feature code's variants (bugged acceleration, geometric rows 5-6, 1/120 s "
        "frame time, SMPL template body sizes), to compare with published tables",
    )
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--quick", action="store_true", help="fewer samples, for a smoke check")
    _add_common(e)
    e.set_defaults(func=_cmd_evaluate)
    return p


def _precheck_evaluate(a: argparse.Namespace) -> None:
    """evaluate's file and option inputs, checked with the same layer before its long run."""
    from .validate import MAX_SEED, check_output_folder

    if not 0 <= a.seed <= MAX_SEED:
        raise input_error("--seed", f"must be an integer from 0 to {MAX_SEED}, got {a.seed}")
    check_output_folder(a.output, option="-o")
    if a.model is not None and a.model != "none":
        from .generate.dance import load_model

        load_model(a.model)


_PRECHECKS = {"evaluate": _precheck_evaluate}


def _on_signal(signum, frame):
    raise Terminated(signum)


@contextlib.contextmanager
def _signals_as_exceptions():
    """SIGTERM and SIGHUP raise `Terminated`, so temp outputs are removed as on Ctrl-C (SIGINT)."""
    saved = {}
    with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
        for sig in (signal.SIGTERM, signal.SIGHUP):
            saved[sig] = signal.signal(sig, _on_signal)
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help, --version, or a bad option (one line already printed)
        return e.code if isinstance(e.code, int) else 2
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    debug = getattr(args, "debug", False)
    try:
        with _signals_as_exceptions(), warnings.catch_warnings():
            if not debug:  # librosa's warnings about odd audio (silence, no pitch) are not for the user
                warnings.filterwarnings("ignore", module="librosa")
            if args.command in _PRECHECKS:
                _PRECHECKS[args.command](args)
            return int(args.func(args) or 0)
    except Music2DanceError as e:
        if debug:
            raise
        print(f"error: {one_line(str(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Terminated as e:
        print(f"terminated ({signal.Signals(e.signum).name})", file=sys.stderr)
        return 128 + e.signum
    except OSError as e:  # disk full, permission denied, ... while writing: name the file
        if debug:
            raise
        where = e.filename or "output"
        print(f"error: {one_line(f'{where}: {e.strerror or e}')}", file=sys.stderr)
        return 2
    except Exception as e:  # a bug, not bad input: still one line; --debug shows the traceback
        if debug:
            raise
        why = one_line(str(e))[:300]
        print(
            f"error: internal error ({type(e).__name__}: {why}); please report it (--debug shows the details)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
