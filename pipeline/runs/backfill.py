"""Backfill a dataset whose source arrives in batches: each batch is a Dagster partition.

One run per partition materializes the partitioned assets (ingest and redaction of that batch,
their gates); each replaces only its own partition's rows in the Delta tables, so partitions
may run at once. Then one run of the unpartitioned rest (the feature table, the model) reads
every partition. Dagster's own asset backfill would do the same but needs the daemon; these are
ordinary runs in the instance, tagged with their partition and a shared backfill id, so the UI
shows each partition's status.

The executor is the code location's (``GOVERN_EXECUTOR``): by default each run executes in this
process; with ``celery`` (or ``multiprocess``) the job is loaded by reference (the module
``pipeline.definitions``) so that workers can load the same code, and its steps go to them.
"""

import multiprocessing
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import dagster as dg
from dagster._core.definitions.reconstruct import ReconstructableRepository

from pipeline import settings
from pipeline.declarations.dataset import DatasetSpec, load_datasets
from pipeline.errors import GovernError
from pipeline.naming import job_name, raw_asset
from pipeline.runs.layout import prepare_partitioned_tables
from pipeline.runs.recovery import fail_dead_runs, process_tags
from pipeline.runs.runner import RunSummary, summarize
from pipeline.runs.staleness import assets_to_run, observe_landing_files, stale_partitions

CODE_LOCATION_MODULE = "pipeline.definitions"
BACKFILL_TAG = "govern/backfill"


@dataclass
class BackfillSummary:
    dataset: str
    backfill_id: str
    partitions: dict[str, RunSummary]
    downstream: RunSummary | None
    recovered_runs: list[str] = field(default_factory=list)
    # Nothing was stale (``only_stale``): no partition and no downstream run was launched.
    up_to_date: bool = False
    # Tables of the batch source written whole before, reset to be rebuilt batch by batch.
    tables_reset: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "success": self.success}

    @property
    def success(self) -> bool:
        if self.up_to_date:
            return True
        runs = [*self.partitions.values(), *([self.downstream] if self.downstream else [])]
        return bool(runs) and all(r.success for r in runs) and self.downstream is not None


def partition_keys(defs: dg.Definitions, dataset: DatasetSpec) -> list[str]:
    """The partitions Dagster knows for the dataset's batch source (its files, by name)."""
    source = dataset.partitioned_source
    if source is None:
        raise GovernError(f"dataset {dataset.name!r} has no partitioned source to backfill")
    graph = defs.resolve_asset_graph()
    partitions = graph.get(dg.AssetKey(f"raw_{source}")).partitions_def
    return list(partitions.get_partition_keys()) if partitions else []


def backfill_dataset(
    defs: dg.Definitions,
    dataset: DatasetSpec,
    instance: dg.DagsterInstance,
    partitions: list[str] | None = None,
    parallel: int = 1,
    quiet: bool = True,
    only_stale: bool = False,
) -> BackfillSummary:
    """Every partition (or those named), ``parallel`` at a time, then the downstream assets.

    With ``only_stale`` (``govern run``), only the partitions Dagster reports stale or missing
    (a new or changed batch file, a code or declaration change), then the downstream assets
    that read them or are stale themselves; nothing stale, nothing run (``up_to_date``).
    """
    recovered = fail_dead_runs(instance)
    known = partition_keys(defs, dataset)
    chosen = partitions or known
    if unknown := sorted(set(chosen) - set(known)):
        raise GovernError(
            f"dataset {dataset.name!r}: no batch file {unknown} in its folder; known: {known}"
        )
    if not chosen:
        raise GovernError(f"dataset {dataset.name!r}: its batch folder holds no file to ingest")
    reset = prepare_partitioned_tables(dataset, every_partition=set(chosen) == set(known))
    observe_landing_files(instance, dataset, {}, settings.project_root())
    backfill_id = uuid.uuid4().hex[:12]
    graph = defs.resolve_asset_graph()
    job = defs.resolve_job_def(job_name(dataset.name))
    keys = [k for k in job.asset_layer.executable_asset_keys if graph.has(k)]
    partitioned = [k for k in keys if graph.get(k).partitions_def is not None]
    rest = [k for k in keys if k not in partitioned]
    if only_stale:
        chosen, rest = _stale_selection(defs, instance, dataset, partitioned, rest)
        if not chosen and not rest:
            return BackfillSummary(dataset.name, backfill_id, {}, None, recovered, True, reset)
    tags = {**process_tags(), BACKFILL_TAG: backfill_id}
    if parallel > 1:
        done = _in_processes(dataset, chosen, partitioned, tags, quiet, parallel)
    else:
        done = {k: _run(job, dataset, instance, partitioned, tags, quiet, k) for k in chosen}
    downstream = None
    if all(s.success for s in done.values()):
        downstream = _run(job, dataset, instance, rest, tags, quiet, None)
    return BackfillSummary(dataset.name, backfill_id, done, downstream, recovered, False, reset)


def _stale_selection(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    dataset: DatasetSpec,
    partitioned: list[dg.AssetKey],
    rest: list[dg.AssetKey],
) -> tuple[list[str], list[dg.AssetKey]]:
    """The stale partitions, and the unpartitioned assets to run after them: those stale or
    missing themselves (and their downstream), and, when any partition runs, every asset that
    reads the partitioned ones."""
    source = str(dataset.partitioned_source)
    batches = dataset.sources[source].batch_files(settings.project_root())
    ingest = dg.AssetKey(raw_asset(source))
    stale = stale_partitions(defs, instance, partitioned, batches, ingest)
    selected = set(assets_to_run(defs, instance, rest))
    if stale:
        readers = dg.AssetSelection.assets(*partitioned).downstream()
        selected |= readers.resolve(defs.resolve_asset_graph())
    return stale, [k for k in rest if k in selected]


def _in_processes(
    dataset: DatasetSpec,
    chosen: list[str],
    selection: list[dg.AssetKey],
    tags: dict[str, str],
    quiet: bool,
    parallel: int,
) -> dict[str, RunSummary]:
    """Partition runs at once, each launched from a fresh process of its own (spawned, with
    this environment): Dagster's ``execute_job`` is not meant to run in several threads of one
    process (two at once hung here, with the Celery executor)."""
    context = multiprocessing.get_context("spawn")
    names = [k.to_user_string() for k in selection]
    with ProcessPoolExecutor(max_workers=parallel, mp_context=context) as pool:
        futures = {
            key: pool.submit(_run_partition, dataset.name, names, tags, quiet, key)
            for key in chosen
        }
        return {key: future.result() for key, future in futures.items()}


def _run_partition(
    dataset_name: str, selection: list[str], tags: dict[str, str], quiet: bool, partition: str
) -> RunSummary:
    """One partition's run in a spawned process: the code location and the instance loaded
    as any process loads them (``GOVERN_PROJECT_ROOT``, ``DAGSTER_HOME``)."""
    from pipeline.definitions import build_definitions

    root = settings.project_root()
    dataset = next(d for d in load_datasets(root) if d.name == dataset_name)
    defs = build_definitions(root)
    job = defs.resolve_job_def(job_name(dataset_name))
    keys = [dg.AssetKey.from_user_string(name) for name in selection]
    with dg.DagsterInstance.get() as instance:
        # The run names the process executing it, so a killed one is found dead and failed.
        return _run(job, dataset, instance, keys, {**tags, **process_tags()}, quiet, partition)


def _run(
    job: dg.JobDefinition,
    dataset: DatasetSpec,
    instance: dg.DagsterInstance,
    selection: list[dg.AssetKey],
    tags: dict[str, str],
    quiet: bool,
    partition: str | None,
) -> RunSummary:
    run_config: dict[str, Any] = {}
    if quiet:
        run_config["loggers"] = {"console": {"config": {"log_level": "CRITICAL"}}}
    chosen = {k.to_user_string() for k in selection}
    if settings.executor() == "default":
        result = job.execute_in_process(
            instance=instance,
            run_config=run_config,
            raise_on_error=False,
            asset_selection=selection,
            partition_key=partition,
            tags=tags,
        )
        return summarize(dataset, result, chosen)
    if partition is not None:
        tags = {**tags, "dagster/partition": partition}
    recon = ReconstructableRepository.for_module(CODE_LOCATION_MODULE, "defs")
    with dg.execute_job(
        recon.get_reconstructable_job(job.name),
        instance,
        run_config=run_config,
        tags=tags,
        asset_selection=selection,
    ) as result:
        return summarize(dataset, result, chosen)
