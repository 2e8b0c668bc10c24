"""``govern redact`` and ``govern policy check``: PII policies applied to a file, and checked."""

import argparse
import sys
from pathlib import Path

from pipeline import settings
from pipeline.cli.common import EXIT_BLOCKED, Commands, hmac_key, quiet_libraries


def register(commands: Commands) -> None:
    redact = commands.add_parser(
        "redact",
        help="apply a source's PII policy to a CSV/Parquet file and write the redacted file",
    )
    redact.add_argument("--source", required=True, help="whose policy and contract to apply")
    redact.add_argument("input")
    redact.add_argument("output", help="a .csv or .parquet path")
    redact.set_defaults(func=cmd_redact)
    policy = commands.add_parser("policy", help="PII policies")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True)
    check = policy_commands.add_parser(
        "check", help="validate every policy against its source's columns"
    )
    check.set_defaults(func=cmd_policy_check)


def cmd_redact(args: argparse.Namespace) -> int:
    quiet_libraries()
    key = hmac_key()
    from tqdm import tqdm

    from pipeline.cli.output import format_file_redaction
    from pipeline.declarations.dataset import load_datasets
    from pipeline.privacy.file_redaction import RedactionKeys, redact_file

    root = settings.project_root()
    keys = RedactionKeys(key, settings.spacy_model())
    with tqdm(
        desc="scanning free text", unit=" texts", file=sys.stderr, mininterval=0.5, disable=None
    ) as bar:
        result = redact_file(
            load_datasets(root),
            root,
            args.source,
            (Path(args.input), Path(args.output)),
            keys,
            progress=bar.update,
        )
    print(format_file_redaction(args.output, result))
    return 0


def cmd_policy_check(args: argparse.Namespace) -> int:
    from pipeline.cli.output import format_policy_check
    from pipeline.declarations.dataset import load_datasets
    from pipeline.privacy.policy_check import check_policies, reviews

    root = settings.project_root()
    datasets = load_datasets(root)
    problems = check_policies(datasets, root)
    report = format_policy_check(problems, reviews(datasets, root))
    if report:
        print(report)
    return 0 if not any(problems.values()) else EXIT_BLOCKED
