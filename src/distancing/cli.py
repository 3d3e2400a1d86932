"""The ``distancing`` command: train one run, print a resolved config, or prepare a dataset.

    distancing train CONFIG.yaml --out DIR [--set key.path=value ...] [--device auto|cpu|cuda]
    distancing config CONFIG.yaml [--set key.path=value ...]
    distancing prepare DATASET [--root DIR] [--train-samples N --held-out M]

Configuration errors are reported as one line (``error: <key>: <what is allowed>``) with exit
code 2, before any data is loaded.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import __version__
from .config import DATASETS, NUMERICS, ConfigError, dump, parse_override, read_yaml, resolve
from .gpus import claim_gpu
from .numerics import pin
from .server import ENVIRONMENT, delegate


def _add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="*", help="YAML config file(s), later ones overriding earlier ones "
                        "(none: the defaults)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                        help="override one key (value in YAML), e.g. --set distancing.strength=2; repeatable")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="distancing", description="Train neural networks with distancing (Gaussian hills on checkpoints).")
    parser.add_argument("--version", action="version", version=f"distancing {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="train one run into a directory (resumes if interrupted)")
    _add_config_arguments(train)
    train.add_argument("--out", required=True, help="run directory for config.yaml, metrics.csv, "
                       "distances.csv, predictions.npz and members.npz")
    train.add_argument("--state", help="resume-state file (default: OUT/resume.pt); removed when the run ends")
    train.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                       help="training device (default: auto, CUDA when available)")
    train.add_argument("--threads", type=int, help="CPU threads for torch (pin it for reproducible numbers)")
    train.add_argument("--gpus", type=int, default=0, metavar="N",
                       help="share N GPUs among concurrent runs: claim a free one and use only it")
    train.add_argument("--discard-stale-state", action="store_true",
                       help="if the resume state belongs to a different config, delete it and start afresh "
                       "(default: refuse)")
    train.add_argument("--branch-from", metavar="BRANCHES_PT", help="continue from the state a trunk run kept "
                       "in its branches.pt (it trained this run's first epochs; src/distancing/branching.py)")
    train.add_argument("--branch-epoch", type=int, metavar="E", help="with --branch-from: the epoch it kept")
    train.add_argument("--quiet", action="store_true", help="no per-epoch log lines or progress bar")

    serve = commands.add_parser("serve", help="import torch once and run the train commands of this process's "
                                "descendants that set DISTANCING_SERVER=SOCKET, each in a forked child")
    serve.add_argument("--socket", required=True, help="Unix socket path to listen on")
    serve.add_argument("--numerics", choices=NUMERICS, default="portable",
                       help="the kernels of its children (src/distancing/numerics.py); a run of the other mode "
                       "starts cold")

    prepare = commands.add_parser("prepare", help="generate or download a dataset into its data directory")
    prepare.add_argument("dataset", choices=DATASETS)
    prepare.add_argument("--root", default="data", help="data directory (default: data)")
    prepare.add_argument("--train-samples", type=int, help="data.train_samples, with --held-out")
    prepare.add_argument("--held-out", type=int, help="data.ensemble_val_samples: generate the fresh held-out "
                         "sequences it needs too, once, before any run")

    show = commands.add_parser("config", help="print the fully resolved config and exit")
    _add_config_arguments(show)
    return parser


def load_config(files: Sequence[str], overrides: Sequence[str]) -> dict:
    layers = [read_yaml(path) for path in files] + [parse_override(text) for text in overrides]
    return resolve(*layers)


def warm_up(argv: Sequence[str]) -> bool:
    """The warm server's preparation for one run, in its directory: compile the steps of a ``train``
    command's run (``training.warm_up``); whatever is wrong with the command, its child reports."""
    args = build_parser().parse_args(argv)
    if args.command != "train":
        return False
    from .training import warm_up as compile_steps

    return compile_steps(load_config(args.config, args.overrides), args.device, args.threads)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if args.command == "serve":
        from .server import serve

        pin(args.numerics)  # before the training stack (torch) is imported, once, for every child
        serve(args.socket, main, log=lambda msg: print(msg, file=sys.stderr, flush=True), prepare=warm_up)
        return 0
    try:
        if args.command == "prepare":
            from .data import load_dataset

            data = load_dataset(args.dataset, args.root, args.train_samples, args.held_out)
            held_out = "" if data.y_extra is None else f" (and {len(data.y_extra)} more held out for ensembles)"
            print(f"{args.dataset}: {len(data.y_train)} training and {len(data.y_val)} validation samples{held_out} "
                  f"in {args.root}")
            return 0
        config = load_config(args.config, args.overrides)
        if args.command == "config":
            sys.stdout.write(dump(config))
            return 0
        if args.threads is not None and args.threads < 1:
            raise ConfigError(f"--threads: must be >= 1, got {args.threads}")
        if (args.branch_from is None) != (args.branch_epoch is None):
            raise ConfigError("--branch-from: give both --branch-from and --branch-epoch, or neither")
        if args.gpus < 0:
            raise ConfigError(f"--gpus: must be >= 0, got {args.gpus}")
        if args.gpus:
            try:
                claim_gpu(args.gpus)  # before anything starts CUDA
            except RuntimeError as exc:
                raise ConfigError(str(exc)) from None
        pin(config["numerics"])  # before torch: its kernels read these once (numerics.py)
        if os.environ.get(ENVIRONMENT):  # a warm server forks a child for the run (src/distancing/server.py)
            code = delegate(os.environ[ENVIRONMENT], argv)
            if code is not None:
                return code
        from .resume import ResumeError  # torch: only once the arguments are known good
        from .training import train_run

        log = (lambda _msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
        try:
            history = train_run(config, args.out, state=args.state, device=args.device, threads=args.threads,
                                log=log, progress=False if args.quiet else None,
                                discard_stale_state=args.discard_stale_state,
                                branch=None if args.branch_from is None else (args.branch_from, args.branch_epoch))
        except ResumeError as exc:
            raise ConfigError(str(exc)) from None
    except ConfigError as exc:  # DataError is one too
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(f"{args.out}: {history.status} after epoch {history.metrics[-1]['epoch']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
