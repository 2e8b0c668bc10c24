"""``govern generate``: write a synthetic sample (the only command that imports the samples)."""

import argparse
from pathlib import Path

from pipeline import settings
from pipeline.cli.common import Commands
from pipeline.errors import GovernError


def register(commands: Commands) -> None:
    generate = commands.add_parser(
        "generate", help="write a synthetic sample: churn (--customers) or readmission (--patients)"
    )
    generate.add_argument(
        "--customers", type=int, help="churn sample: customers.csv, transactions.csv into data/raw"
    )
    generate.add_argument(
        "--patients",
        type=int,
        help="readmission sample: patients.csv, encounters.csv into data/raw/readmission",
    )
    generate.add_argument("--out", help="folder to write to")
    generate.add_argument("--seed", type=int, help="default: the sample's own seed")
    generate.set_defaults(func=cmd_generate)


def cmd_generate(args: argparse.Namespace) -> int:
    if (args.customers is None) == (args.patients is None):
        raise GovernError("pass --customers N (churn sample) or --patients N (readmission)")
    if args.customers is not None:
        from pipeline.samples import churn as sample

        size, default_out = args.customers, Path("data") / "raw"
    else:
        from pipeline.samples import readmission as sample

        size, default_out = args.patients, Path("data") / "raw" / "readmission"
    out = Path(args.out) if args.out else settings.project_root() / default_out
    paths = sample.write_sample(out, size, args.seed or sample.DEFAULT_SEED)
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0
