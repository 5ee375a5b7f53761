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


COMMANDS: dict[str, Command] = {
    "data": ("list the datasets skdistill can find and where", _data_args, _data_run),
    "demo": (
        "distil an iTransformer into an MLP on the bundled ETTh1 and compare",
        _demo_args,
        _demo_run,
    ),
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
