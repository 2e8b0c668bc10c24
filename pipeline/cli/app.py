"""The ``govern`` parser and entry point: each command group registers its own subcommands."""

import argparse
import sys

import pipeline.cli
from pipeline.cli import (
    backfill,
    contracts,
    daemon,
    datasets,
    erasure,
    lineage,
    privacy,
    run,
    samples,
    ui,
)
from pipeline.cli.common import EXIT_USAGE, load_env_file
from pipeline.errors import GovernError
from pipeline.settings import ProfileError

_GROUPS = (run, backfill, privacy, contracts, datasets, lineage, erasure, samples, ui, daemon)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="govern",
        description=pipeline.cli.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for group in _GROUPS:
        group.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    load_env_file()
    try:
        return args.func(args)
    except (GovernError, ProfileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
