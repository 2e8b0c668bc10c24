"""``govern backfill``: every batch (partition) of a dataset's partitioned source, then the
feature table and the model over all of them."""

import argparse
import json

from pipeline import settings
from pipeline.cli.common import EXIT_BLOCKED, Commands, hmac_key, quiet_libraries
from pipeline.errors import GovernError


def register(commands: Commands) -> None:
    backfill = commands.add_parser(
        "backfill",
        help="run every partition (batch file) of a dataset, then its features and model",
    )
    backfill.add_argument("--dataset", required=True, help="a dataset with a partitioned source")
    backfill.add_argument(
        "--partition",
        action="append",
        default=[],
        metavar="KEY",
        help="only this partition (a batch file name); repeat for more. Default: every one",
    )
    backfill.add_argument(
        "--parallel",
        type=int,
        default=1,
        help="partitions run at once (their steps go to the executor, GOVERN_EXECUTOR)",
    )
    backfill.add_argument("--json", action="store_true", help="print the summary as JSON")
    backfill.add_argument("--verbose", action="store_true", help="Dagster's own log on stderr")
    backfill.set_defaults(func=cmd_backfill)


def cmd_backfill(args: argparse.Namespace) -> int:
    quiet_libraries()
    hmac_key()
    from pipeline.declarations.dataset import load_datasets
    from pipeline.definitions import build_definitions
    from pipeline.runs.backfill import backfill_dataset
    from pipeline.runs.instance import local_instance

    root = settings.project_root()
    datasets = {d.name: d for d in load_datasets(root)}
    if args.dataset not in datasets:
        raise GovernError(f"unknown dataset {args.dataset!r}; declared: {sorted(datasets)}")
    if args.parallel < 1:
        raise GovernError("--parallel must be at least 1")
    summary = backfill_dataset(
        build_definitions(root),
        datasets[args.dataset],
        local_instance(),
        partitions=args.partition,
        parallel=args.parallel,
        quiet=not args.verbose,
    )
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2, default=str))
    else:
        print(format_backfill(summary))
    return 0 if summary.success else EXIT_BLOCKED


def format_backfill(summary) -> str:
    """One line per partition run, then the downstream run's full summary."""
    from pipeline.cli.output import format_run_summary

    if summary.up_to_date:
        return (
            f"dataset {summary.dataset} is up to date: no batch file is new or changed, and "
            "nothing else is stale (--force reruns everything)\n"
        )
    lines = [f"backfill {summary.backfill_id} of dataset {summary.dataset}", ""]
    if summary.tables_reset:
        lines += [
            "tables written from one file before, rebuilt batch by batch now: "
            + ", ".join(summary.tables_reset),
            "",
        ]
    lines.append("partitions:")
    for key, run in summary.partitions.items():
        verdict = "succeeded" if run.success else "FAILED: " + "; ".join(run.failures)
        lines.append(f"  {key:<28} {verdict}  (Dagster run {run.run_id})")
    lines.append("")
    if summary.downstream is None:
        lines.append("features and model not run: a partition failed (rerun it with --partition)")
        return "\n".join(lines) + "\n"
    return "\n".join(lines) + "\n" + format_run_summary(summary.downstream)
