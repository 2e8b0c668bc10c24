"""A failed run's unrecorded Delta commits, undone: by ``govern run`` and by a sensor.

A run killed while it publishes may have committed a Delta version that Dagster never recorded
(the process died before the materialization event, or between the two tables one asset
publishes). Readers of the latest version would then see an asset half published, built from
inputs no lineage names. Such commits are undone (``TableStore.roll_back``) by whoever learns
that the run failed:

- ``govern run`` and ``govern backfill``, for the runs they execute in their own process
  (nothing else watches those: see ``pipeline.runs.recovery``);
- ``roll_back_failed_run``, a run-failure sensor, for runs launched from the UI, a schedule or
  the daemon: Dagster's code server marks such a run failed when its worker process dies, and
  the daemon (``govern ui``, ``govern daemon``) evaluates the sensor on that failure.
"""

import dagster as dg

from assets.evidence import metadata_value
from pipeline import settings
from pipeline.storage.tables import TableStore


def recorded_table_versions(instance: dg.DagsterInstance, run_id: str) -> dict[str, set[int]]:
    """The Delta versions (by table URI) the run's materializations recorded as published."""
    recorded: dict[str, set[int]] = {}
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        metadata = record.asset_materialization.metadata if record.asset_materialization else {}
        for prefix in ("", "quarantine_"):
            uri = metadata_value(metadata.get(f"{prefix}table_uri"))
            version = metadata_value(metadata.get(f"{prefix}table_version"))
            if uri is not None and version is not None:
                recorded.setdefault(str(uri), set()).add(int(version))
    return recorded


def roll_back_unrecorded_commits(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """Undo the Delta commits the failed run ``run_id`` made but never recorded; the tables
    (``schema.table@version``, the version that restored the previous one)."""
    store = TableStore(settings.tables_root())
    recorded = recorded_table_versions(instance, run_id)
    rolled_back = []
    for name in store.published():
        uri = store.uri(*name.split("."))
        version = store.roll_back(name, run_id, recorded.get(uri, set()))
        if version is not None:
            rolled_back.append(f"{name}@{version}")
    return rolled_back


@dg.run_failure_sensor(
    name="roll_back_failed_run",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "When a run of this code location fails (a worker killed mid-publish included), undo "
        "the Delta commits it made but never recorded, so every table is again at a version a "
        "recorded materialization published."
    ),
)
def roll_back_failed_run(context: dg.RunFailureSensorContext) -> None:
    run = context.dagster_run
    rolled_back = roll_back_unrecorded_commits(context.instance, run.run_id)
    if rolled_back:
        message = (
            "Commits this run made but never recorded were undone (each table restored to the "
            f"version before them): {', '.join(rolled_back)}. Run again to rebuild what it did "
            "not."
        )
        context.instance.report_engine_event(message, run)
        context.log.info(f"run {run.run_id}: {message}")
