"""``govern run``: materialize every asset of the declared datasets through Dagster."""

import argparse
import json

from pipeline import settings
from pipeline.cli.common import EXIT_BLOCKED, Commands, hmac_key, parse_sources, quiet_libraries
from pipeline.errors import GovernError


def register(commands: Commands) -> None:
    run = commands.add_parser("run", help="materialize every asset of the declared datasets")
    run.add_argument("--dataset", action="append", default=[], help="only this dataset")
    run.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="read this file for source NAME instead of the declared one",
    )
    run.add_argument(
        "--force",
        action="store_true",
        help="materialize every asset, not only those Dagster reports stale or missing",
    )
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    run.add_argument(
        "--verbose",
        action="store_true",
        help="Dagster's own log on stderr (stack traces of failed steps included); by default "
        "only the summary, which names each failure, and the run's event log in the UI",
    )
    run.set_defaults(func=cmd_run)


def _selected(datasets: list, names: list[str]) -> list:
    if not names:
        return datasets
    unknown = sorted(set(names) - {d.name for d in datasets})
    if unknown:
        raise GovernError(f"unknown dataset(s) {unknown}; declared: {[d.name for d in datasets]}")
    return [d for d in datasets if d.name in names]


def cmd_run(args: argparse.Namespace) -> int:
    quiet_libraries()
    hmac_key()  # fail early and warn; the Dagster resource reads it from the environment
    from pipeline.declarations.dataset import load_datasets
    from pipeline.definitions import build_definitions
    from pipeline.runs.instance import local_instance

    root = settings.project_root()
    datasets = _selected(load_datasets(root), args.dataset)
    sources = parse_sources(args.source)
    known_sources = {s for d in datasets for s in d.sources}
    if unknown := sorted(set(sources) - known_sources):
        raise GovernError(
            f"--source names unknown source(s) {unknown}; known: {sorted(known_sources)}"
        )
    if sources and not args.dataset:
        # A file given for a source is a run of the dataset that reads it, not of every one.
        datasets = [d for d in datasets if set(sources) & set(d.sources)]
    defs = build_definitions(root)
    instance = local_instance()
    summaries = [_run_one(defs, dataset, instance, sources, args, root) for dataset in datasets]
    if args.json:
        print(json.dumps([s.as_dict() for s in summaries], indent=2, default=str))
    else:
        for summary in summaries:
            print(_format(summary))
    return 0 if all(s.success for s in summaries) else EXIT_BLOCKED


def _run_one(defs, dataset, instance, sources, args, root):
    """A dataset's run; one with a partitioned source is a backfill of every partition."""
    from pipeline.runs.backfill import backfill_dataset
    from pipeline.runs.runner import run_dataset

    if dataset.partitioned_source is None:
        return run_dataset(
            defs,
            dataset,
            instance,
            sources,
            quiet=not args.verbose,
            only_stale=not args.force,
            root=root,
        )
    if dataset.partitioned_source in sources:
        raise GovernError(
            f"--source {dataset.partitioned_source}: source of dataset {dataset.name!r} is "
            "partitioned (a folder of batch files); add the file to its folder and run "
            f"`govern backfill --dataset {dataset.name} --partition <file name>`"
        )
    return backfill_dataset(
        defs, dataset, instance, quiet=not args.verbose, only_stale=not args.force
    )


def _format(summary) -> str:
    from pipeline.cli.backfill import format_backfill
    from pipeline.cli.output import format_run_summary

    return format_run_summary(summary) if hasattr(summary, "run_id") else format_backfill(summary)
