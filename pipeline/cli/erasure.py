"""``govern erase``: the right to erasure, one subject or a file of them, and its proof."""

import argparse
import json
import sys
from pathlib import Path

from pipeline import settings
from pipeline.cli.common import EXIT_BLOCKED, Commands, hmac_key, quiet_libraries

# A subject that is nowhere in the dataset: nothing was erased (see --allow-missing).
EXIT_NOT_FOUND = 4


def register(commands: Commands) -> None:
    erase = commands.add_parser(
        "erase",
        help="erase a person from every file, table version and artifact, and prove it",
        description="Erase a subject (COLUMN=VALUE) from a dataset's landing files, every "
        "version of its tables, its quarantines and MLflow artifacts; tag the models trained "
        "on it; search everything again for the subject's values. Exit 0: erased and none "
        f"found; 1: a value was still found; 2: bad usage; {EXIT_NOT_FOUND}: subject not found.",
    )
    erase.add_argument("--dataset", help="the declared dataset (datasets/NAME.yaml)")
    what = erase.add_mutually_exclusive_group(required=True)
    what.add_argument("--subject", help="COLUMN=VALUE, e.g. customer_id=1042")
    what.add_argument("--requests", help="a file with one COLUMN=VALUE a line (# comments)")
    what.add_argument("--verify", metavar="REQUEST", help="search again for a recorded request")
    what.add_argument("--list", action="store_true", help="list the erasure requests")
    erase.add_argument("--reason", default="", help="why (e.g. 'GDPR Art. 17 request #123')")
    erase.add_argument(
        "--allow-missing", action="store_true", help="a subject found nowhere is not an error"
    )
    erase.add_argument("--json", action="store_true")
    erase.set_defaults(func=cmd_erase)


def cmd_erase(args: argparse.Namespace) -> int:
    quiet_libraries()
    if args.list:
        return _list(args)
    key = hmac_key()
    if args.verify:
        return _verify(args, key)
    if not args.dataset:
        print("error: --dataset NAME is required with --subject or --requests", file=sys.stderr)
        return 2
    subjects = [(1, args.subject)] if args.subject else _read_requests(Path(args.requests))
    return _erase_all(args, subjects, key)


def _read_requests(path: Path) -> list[tuple[int, str]]:
    """Each subject with its line number in the file (blank lines and # comments skipped)."""
    from pipeline.erasure.scope import ErasureError

    if not path.is_file():
        raise ErasureError(f"--requests {path}: no such file")
    lines = enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
    return [(n, line.strip()) for n, line in lines if line.strip() and not line.startswith("#")]


def _erase_all(args: argparse.Namespace, subjects: list[tuple[int, str]], key: bytes) -> int:
    from pipeline.erasure.scope import ErasureError, parse_subject
    from pipeline.erasure.service import erase

    status, reports = 0, []
    for number, text in subjects:
        where = f"{args.requests}:{number}: " if args.requests else ""
        try:
            subject = parse_subject(args.dataset, text)
            result = erase(
                settings.project_root(),
                subject,
                key,
                args.reason,
                allow_missing=args.allow_missing,
            )
        except ErasureError as exc:
            print(f"error: {where}{exc}", file=sys.stderr)
            status = status or (EXIT_NOT_FOUND if "was not found" in str(exc) else 2)
            continue
        reports.append(result)
        if result.found or result.resumed:
            status = status or (0 if result.clean else EXIT_BLOCKED)
    from pipeline.cli.erasure_output import erasure_json, format_erasure

    if args.json:
        print(json.dumps([erasure_json(r) for r in reports], indent=2))
    elif reports:
        print("\n\n".join(format_erasure(r) for r in reports))
    return status


def _verify(args: argparse.Namespace, key: bytes) -> int:
    from pipeline.cli.erasure_output import format_proof
    from pipeline.erasure.service import verify_request

    request, proof, others = verify_request(settings.project_root(), args.verify, key)
    if args.json:
        print(json.dumps({"request": args.verify, "proof": [p.as_record() for p in proof]}))
    else:
        print(f"erasure {args.verify} (dataset {request['dataset']}): searched again")
        print(format_proof(proof, request.get("not_searched_too_short", []), others))
    return 0 if not any(p.found for p in proof) else EXIT_BLOCKED


def _list(args: argparse.Namespace) -> int:
    from pipeline.cli.erasure_output import format_requests
    from pipeline.erasure.ledger import Ledger

    requests = Ledger(settings.govern_home()).requests(args.dataset)
    print(json.dumps(requests, indent=2) if args.json else format_requests(requests))
    return 0
