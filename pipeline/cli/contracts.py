"""``govern contract init``: a starter GX suite profiled from a source after redaction."""

import argparse
import json
import sys

from pipeline import settings
from pipeline.cli.common import Commands, hmac_key, quiet_libraries
from pipeline.errors import GovernError


def register(commands: Commands) -> None:
    contract = commands.add_parser("contract", help="data contracts (GX suites)")
    contract_commands = contract.add_subparsers(dest="contract_command", required=True)
    init = contract_commands.add_parser(
        "init", help="profile a source after redaction and write a starter suite"
    )
    init.add_argument("--source", required=True)
    init.add_argument("--force", action="store_true", help="replace an existing suite")
    init.set_defaults(func=cmd_contract_init)


def cmd_contract_init(args: argparse.Namespace) -> int:
    quiet_libraries()
    key = hmac_key()
    from pipeline.contracts.profiling import propose_suite
    from pipeline.contracts.suite import load_suite
    from pipeline.contracts.validation import validate
    from pipeline.declarations.dataset import load_datasets
    from pipeline.naming import policy_path, suite_path
    from pipeline.privacy.file_redaction import RedactionKeys, find_source, load_and_redact
    from pipeline.privacy.policy import load_policy

    root = settings.project_root()
    datasets = load_datasets(root)
    spec = find_source(datasets, args.source).sources[args.source]
    target = suite_path(root, args.source)
    if target.exists() and not args.force:
        raise GovernError(f"{target} exists; review it, or pass --force to replace it")
    keys = RedactionKeys(key, settings.spacy_model())
    result, redacted = load_and_redact(datasets, root, args.source, root / spec.path, keys)
    policy = load_policy(policy_path(root, args.source))
    suite = propose_suite(args.source, redacted, policy, spec.key)
    target.write_text(json.dumps(suite, indent=2) + "\n", encoding="utf-8")
    failed = [r.clause.check_name for r in validate(load_suite(target), redacted) if not r.success]
    print(
        f"{target.relative_to(root)}: {len(suite['expectations'])} expectations proposed "
        f"from {result.rows_written} redacted rows; review them before relying on them"
    )
    if failed:
        print(f"warning: the profiled data fails {failed}", file=sys.stderr)
    return 0
