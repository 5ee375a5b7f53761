"""The ``skdistill`` command line: ``data``, ``demo`` and ``benchmark`` subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from skdistill import __version__

# Subcommands register here as (help, add_arguments, run); later modules extend it.
Command = tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]


def _data_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-home",
        default=None,
        help="folder searched first (before $SKDISTILL_DATA, the bundled copies and the cache)",
    )


def _data_run(args: argparse.Namespace) -> int:
    from skdistill.datasets import cache_dir
    from skdistill.datasets._ltsf import ltsf_status
    from skdistill.datasets._vision import vision_status

    rows = ltsf_status(args.data_home) + vision_status(args.data_home)
    width = max(len(r["name"]) for r in rows)
    print(f"{'dataset':<{width}}  {'found in':<14}  location")
    for row in rows:
        print(f"{row['name']:<{width}}  {row['status']:<14}  {row['path']}")
    print(
        "\nfound in: data_home / SKDISTILL_DATA / bundled / cache = where the file was found;"
        "\n          downloadable = fetched (checksum-verified) into the cache on first use;"
        f"\n          missing = put the file in a searched folder.\ncache: {cache_dir()}"
    )
    return 0


def _demo_args(parser: argparse.ArgumentParser) -> None:
    from skdistill.demo import add_arguments

    add_arguments(parser)


def _demo_run(args: argparse.Namespace) -> int:
    from skdistill.demo import run

    return run(args)


def _suite_args(suites, name: str, help_text: str, description: str, quick: str):
    """A ``benchmark`` suite's parser with the options every suite has, the rest to add."""
    parser = suites.add_parser(name, help=help_text, description=description)
    parser.add_argument(
        "--profile",
        choices=("quick", "full"),
        default="quick",
        help=f"quick: {quick}; full: the report's settings",
    )
    _data_args(parser)
    parser.add_argument("--device", help="cpu, cuda, cuda:N")
    parser.add_argument("--threads", type=int, help="torch threads for the run")
    parser.add_argument("--output-dir", default=f"skdistill_output/{name}")
    parser.add_argument(
        "--report-dir", help="where report.md/.rst and plots go (default: --output-dir)"
    )
    parser.add_argument(
        "--rst-image-prefix", default="", help="prefix of the image paths in report.rst"
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="render the report from the stored cells without fitting",
    )
    return parser


def _benchmark_args(parser: argparse.ArgumentParser) -> None:
    suites = parser.add_subparsers(dest="suite", metavar="SUITE", required=True)
    ltsf = _suite_args(
        suites,
        "ltsf",
        "TimeDistill on the long-term forecasting datasets (resumable)",
        "Datasets x horizons x teachers x methods under the standard protocol; "
        "each finished cell is stored and not recomputed.",
        "minutes on 2 CPU cores",
    )
    ltsf.add_argument("--datasets", nargs="+", help="override the profile's datasets")
    ltsf.add_argument("--horizons", nargs="+", type=int)
    ltsf.add_argument("--teachers", nargs="+")
    ltsf.add_argument("--methods", nargs="+")
    ltsf.add_argument("--seeds", nargs="+", type=int)
    ltsf.add_argument("--window-length", type=int)
    ltsf.add_argument("--teacher-epochs", type=int, help="cap every teacher's max_epochs")
    ltsf.add_argument("--student-epochs", type=int, help="cap the students' max_epochs")
    ltsf.add_argument(
        "--online-epochs", type=int, help="epochs of the teacher-per-batch timing run (0: skip)"
    )
    vision = _suite_args(
        suites,
        "vision",
        "SFKD and the baselines across image architecture pairs (resumable)",
        "Datasets x teacher/student pairs x methods with one epoch budget; each "
        "finished cell is stored and not recomputed.",
        "minutes on 2 CPU cores (digits)",
    )
    vision.add_argument("--datasets", nargs="+", help="fashion_mnist, cifar10, digits")
    vision.add_argument("--pairs", nargs="+", help="teacher->student, e.g. cnn->vit")
    vision.add_argument("--methods", nargs="+")
    vision.add_argument("--ablation-pairs", nargs="+")
    vision.add_argument("--seeds", nargs="+", type=int)
    vision.add_argument("--epochs", type=int, help="epochs of every student")
    vision.add_argument("--teacher-epochs", type=int)
    vision.add_argument(
        "--teacher-shift", type=int, help="add copies of the teachers' images shifted by N pixels"
    )
    vision.add_argument("--batch-size", type=int, help="mini-batch size of the students")
    vision.add_argument("--teacher-batch-size", type=int)
    vision.add_argument(
        "--teacher-data",
        choices=("student", "all"),
        help="teachers train on the students' split or on every non-validation image",
    )
    vision.add_argument(
        "--teacher-flip",
        action="store_true",
        default=None,
        help="add mirrored copies of the teachers' training images",
    )
    vision.add_argument("--n-train", type=int, help="stratified training subset (large data)")
    vision.add_argument("--n-test", type=int)


# Options copied onto a suite's profile when given (the others adjust it in _ltsf_config).
_LTSF_FIELDS = (
    "datasets",
    "horizons",
    "teachers",
    "methods",
    "seeds",
    "window_length",
    "device",
    "online_epochs",
    "threads",
)
_VISION_FIELDS = (
    "datasets",
    "pairs",
    "methods",
    "ablation_pairs",
    "seeds",
    "epochs",
    "teacher_epochs",
    "teacher_data",
    "teacher_flip",
    "teacher_shift",
    "batch_size",
    "teacher_batch_size",
    "n_train",
    "n_test",
    "device",
    "threads",
)


def _overrides(args: argparse.Namespace, fields: Sequence[str]) -> dict:
    return {k: getattr(args, k) for k in fields if getattr(args, k) is not None}


def _ltsf_config(args: argparse.Namespace):
    from skdistill.benchmarks._common import with_overrides
    from skdistill.benchmarks.ltsf import LTSF_PROFILES

    config = with_overrides(LTSF_PROFILES[args.profile], **_overrides(args, _LTSF_FIELDS))
    if args.teacher_epochs is not None:
        config = with_overrides(
            config,
            teacher_params={
                t: {**config.teacher_params.get(t, {}), "max_epochs": args.teacher_epochs}
                for t in config.teachers
            },
        )
    if args.student_epochs is not None:
        config = with_overrides(
            config, student_params={**config.student_params, "max_epochs": args.student_epochs}
        )
    return config


def _vision_config(args: argparse.Namespace):
    from skdistill.benchmarks._common import with_overrides
    from skdistill.benchmarks.vision import VISION_PROFILES

    return with_overrides(VISION_PROFILES[args.profile], **_overrides(args, _VISION_FIELDS))


def _benchmark_run(args: argparse.Namespace) -> int:
    from skdistill import benchmarks

    config = _ltsf_config(args) if args.suite == "ltsf" else _vision_config(args)
    if not args.report_only:
        run = getattr(benchmarks, f"run_{args.suite}")
        run(config, args.output_dir, data_home=args.data_home)
    render = getattr(benchmarks, f"render_{args.suite}_report")
    paths = render(args.output_dir, args.report_dir, args.rst_image_prefix)
    print(f"report: {paths['md']} and {paths['rst']}")
    return 0


COMMANDS: dict[str, Command] = {
    "data": ("list the datasets skdistill can find and where", _data_args, _data_run),
    "demo": (
        "distil a PatchTST teacher (bundled weights) into an MLP on the bundled ETTh1 and compare",
        _demo_args,
        _demo_run,
    ),
    "benchmark": ("run a benchmark suite and render its report", _benchmark_args, _benchmark_run),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skdistill",
        description="Cross-architecture knowledge distillation (TimeDistill, SFKD) "
        "as scikit-learn / sktime estimators.",
    )
    parser.add_argument("--version", action="version", version=f"skdistill {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, add_args, _) in COMMANDS.items():
        add_args(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``skdistill`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return COMMANDS[args.command][2](args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"skdistill {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
