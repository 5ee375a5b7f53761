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


def _benchmark_args(parser: argparse.ArgumentParser) -> None:
    suites = parser.add_subparsers(dest="suite", metavar="SUITE", required=True)
    ltsf = suites.add_parser(
        "ltsf",
        help="TimeDistill on the long-term forecasting datasets (resumable)",
        description="Datasets x horizons x teachers x methods under the standard protocol; "
        "each finished cell is stored and not recomputed.",
    )
    ltsf.add_argument(
        "--profile",
        choices=("quick", "full"),
        default="quick",
        help="quick: minutes on 2 CPU cores; full: the report's settings",
    )
    ltsf.add_argument("--datasets", nargs="+", help="override the profile's datasets")
    ltsf.add_argument("--horizons", nargs="+", type=int)
    ltsf.add_argument("--teachers", nargs="+")
    ltsf.add_argument("--methods", nargs="+")
    ltsf.add_argument("--seeds", nargs="+", type=int)
    ltsf.add_argument("--window-length", type=int)
    ltsf.add_argument("--teacher-epochs", type=int, help="cap every teacher's max_epochs")
    ltsf.add_argument("--student-epochs", type=int, help="cap the students' max_epochs")
    ltsf.add_argument("--device", help="cpu, cuda, cuda:N")
    ltsf.add_argument(
        "--online-epochs", type=int, help="epochs of the teacher-per-batch timing run (0: skip)"
    )
    ltsf.add_argument("--threads", type=int, help="torch threads for the run")
    ltsf.add_argument("--output-dir", default="skdistill_output/ltsf")
    ltsf.add_argument(
        "--report-dir", help="where report.md/.rst and plots go (default: --output-dir)"
    )
    ltsf.add_argument(
        "--rst-image-prefix", default="", help="prefix of the image paths in report.rst"
    )
    ltsf.add_argument(
        "--report-only",
        action="store_true",
        help="render the report from the stored cells without fitting",
    )
    _data_args(ltsf)
    vision = suites.add_parser(
        "vision",
        help="SFKD and the baselines across image architecture pairs (resumable)",
        description="Datasets x teacher/student pairs x methods with one epoch budget; each "
        "finished cell is stored and not recomputed.",
    )
    vision.add_argument(
        "--profile",
        choices=("quick", "full"),
        default="quick",
        help="quick: minutes on 2 CPU cores (digits); full: the report's settings",
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
    vision.add_argument("--device", help="cpu, cuda, cuda:N")
    vision.add_argument("--threads", type=int, help="torch threads for the run")
    vision.add_argument("--output-dir", default="skdistill_output/vision")
    vision.add_argument("--report-dir", help="where report.md/.rst and plots go")
    vision.add_argument(
        "--rst-image-prefix", default="", help="prefix of the image paths in report.rst"
    )
    vision.add_argument(
        "--report-only", action="store_true", help="render the report from the stored cells"
    )
    _data_args(vision)


def _benchmark_run(args: argparse.Namespace) -> int:
    if args.suite == "vision":
        return _vision_run(args)
    from skdistill.benchmarks.ltsf import (
        LTSF_PROFILES,
        render_ltsf_report,
        run_ltsf,
        with_overrides,
    )

    config = LTSF_PROFILES[args.profile]
    changes = {
        k: getattr(args, k)
        for k in (
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
        if getattr(args, k) is not None
    }
    config = with_overrides(config, **changes)
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
    if not args.report_only:
        run_ltsf(config, args.output_dir, data_home=args.data_home)
    paths = render_ltsf_report(args.output_dir, args.report_dir, args.rst_image_prefix)
    print(f"report: {paths['md']} and {paths['rst']}")
    return 0


def _vision_run(args: argparse.Namespace) -> int:
    from skdistill.benchmarks._common import with_overrides
    from skdistill.benchmarks.vision import VISION_PROFILES, render_vision_report, run_vision

    names = (
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
    changes = {k: getattr(args, k) for k in names if getattr(args, k) is not None}
    config = with_overrides(VISION_PROFILES[args.profile], **changes)
    if not args.report_only:
        run_vision(config, args.output_dir, data_home=args.data_home)
    paths = render_vision_report(args.output_dir, args.report_dir, args.rst_image_prefix)
    print(f"report: {paths['md']} and {paths['rst']}")
    return 0


COMMANDS: dict[str, Command] = {
    "data": ("list the datasets skdistill can find and where", _data_args, _data_run),
    "demo": (
        "distil an iTransformer into an MLP on the bundled ETTh1 and compare",
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
