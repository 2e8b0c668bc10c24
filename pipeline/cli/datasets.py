"""``govern new-dataset``: declare a dataset from its files, with no pipeline code."""

import argparse
from pathlib import Path

from pipeline import settings
from pipeline.cli.common import Commands, hmac_key, quiet_libraries


def register(commands: Commands) -> None:
    scaffold = commands.add_parser(
        "new-dataset", help="declare a dataset from its files: declaration, policies, suites, data"
    )
    scaffold.add_argument("name")
    scaffold.add_argument(
        "--source",
        action="append",
        required=True,
        metavar="PATH",
        help="a CSV or Parquet file (repeat for several sources)",
    )
    scaffold.add_argument("--target", required=True, help="the binary column to predict")
    scaffold.set_defaults(func=cmd_new_dataset)


def cmd_new_dataset(args: argparse.Namespace) -> int:
    quiet_libraries()
    key = hmac_key()
    from pipeline.privacy.file_redaction import RedactionKeys
    from pipeline.scaffold.dataset import scaffold_dataset

    root = settings.project_root()
    keys = RedactionKeys(key, settings.spacy_model())
    written = scaffold_dataset(root, args.name, [Path(p) for p in args.source], args.target, keys)
    for path in written:
        print(f"wrote {path.relative_to(root)}")
    print(
        f"\nnext: govern policy check   (review the flagged columns)\n"
        f"      govern run --dataset {args.name}"
    )
    return 0
