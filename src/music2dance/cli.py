"""The `music2dance` command line: a thin argparse layer over the package's functions.

Heavy libraries (torch, librosa, matplotlib) are imported inside each command so `--help` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import sys

from . import __version__
from .errors import Music2DanceError

log = logging.getLogger("music2dance")


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars or log lines, errors only")


def _cmd_beats(a: argparse.Namespace) -> int:
    from .render.beats_plot import run_beats

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

    prepare_dataset(a.data, a.output, workers=a.workers, force=a.force, quiet=a.quiet)
    return 0


def _cmd_train(a: argparse.Namespace) -> int:
    from .train.stages import run_training

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
    )
    return 0


def _cmd_generate(a: argparse.Namespace) -> int:
    from .generate.command import run_generate

    run_generate(a.song, a.output, seconds=a.seconds, seed=a.seed, model=a.model, quiet=a.quiet)
    return 0


def _cmd_render(a: argparse.Namespace) -> int:
    from .render.dispatch import run_render

    run_render(a.dance, a.song, a.output, fps=a.fps, quiet=a.quiet)
    return 0


def _cmd_evaluate(a: argparse.Namespace) -> int:
    from .evaluate.report import run_evaluate

    run_evaluate(a.model, a.data, a.output, protocol=a.protocol, seed=a.seed, quick=a.quick, quiet=a.quiet)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
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
        type=int,
        default=2,
        help="a kinematic beat hits a music beat within +-N frames of the dance's frame rate",
    )
    b.add_argument("--shifts", type=int, default=200, help="random motion shifts for the chance level")
    b.add_argument("--seed", type=int, default=0)
    _add_common(b)
    b.set_defaults(func=_cmd_beats)

    pr = sub.add_parser("prepare", help="turn a dance dataset into cached training arrays")
    pr.add_argument("data", help="dataset root, e.g. ../shared/data/tang2018")
    pr.add_argument("-o", "--output", default="data/prepared")
    pr.add_argument("--workers", type=int, default=0, help="processes (0: one per core)")
    pr.add_argument("--force", action="store_true", help="rebuild every sequence")
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
    t.add_argument("--steps", type=int, help="override the number of training steps")
    t.add_argument("--decomposition", help="composition only: the trained DU-VAE run folder")
    t.add_argument("--style", help="composition only: the trained style classifier run folder")
    t.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")
    t.add_argument("--device", default="cpu", help="cpu or cuda")
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
    g.add_argument("--seconds", type=float, help="dance length (default: the whole song)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--model", help="model folder (default: the bundled model)")
    _add_common(g)
    g.set_defaults(func=_cmd_generate)

    r = sub.add_parser("render", help="turn a dance npz into a video, gif, web page, BVH or JSON")
    r.add_argument("dance", help="dance .npz from `generate` (or .bvh)")
    r.add_argument("song", nargs="?", help="audio to mux into video / embed in the page")
    r.add_argument("-o", "--output", required=True, help=".mp4 .gif .html .bvh .json .npz")
    r.add_argument("--fps", type=float, default=30.0, help="output frame rate (video, gif, page)")
    _add_common(r)
    r.set_defaults(func=_cmd_render)

    e = sub.add_parser("evaluate", help="the field's metrics and ours, with reference rows, as a report")
    e.add_argument("--model", help="model folder (default: the bundled model)")
    e.add_argument("--data", default="data/prepared", help="folder written by `prepare`")
    e.add_argument("-o", "--output", default="report", help="report folder")
    e.add_argument("--protocol", help="JSON file overriding protocol fields")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--quick", action="store_true", help="fewer samples, for a smoke check")
    _add_common(e)
    e.set_defaults(func=_cmd_evaluate)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    try:
        return int(args.func(args) or 0)
    except Music2DanceError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
