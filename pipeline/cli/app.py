"""The ``govern`` parser and entry point: each command group registers its own subcommands."""

import argparse
import sys

import pipeline.cli
from pipeline.cli import backfill, contracts, datasets, lineage, privacy, run, samples, ui
from pipeline.cli.common import EXIT_USAGE, load_env_file
from pipeline.errors import GovernError

_GROUPS = (run, backfill, privacy, contracts, datasets, lineage, samples, ui)


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
    except GovernError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
