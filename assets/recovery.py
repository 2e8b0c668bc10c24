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

import os
from dataclasses import dataclass, field

import dagster as dg
from deltalake import DeltaTable
from deltalake.exceptions import DeltaError

from assets.evidence import metadata_value
from pipeline import settings
from pipeline.storage.tables import TableStore, TableStoreError, split_name


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


@dataclass
class RollBack:
    """What undoing a failed run's unrecorded commits did, table by table."""

    restored: list[str] = field(default_factory=list)  # ``schema.table@version`` made
    left: dict[str, str] = field(default_factory=dict)  # table -> why it was not touched

    def describe(self) -> str:
        parts = []
        if self.restored:
            parts.append(
                "commits this run made but never recorded were undone (each table restored "
                f"to the version before them): {', '.join(self.restored)}"
            )
        parts += [f"{name} left as it is: {why}" for name, why in self.left.items()]
        return "; ".join(parts)


def pid_alive(pid: int | None) -> bool:
    """Whether process ``pid`` runs on this host (another user's process counts)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    return True


def steps_still_running(instance: dg.DagsterInstance, run_id: str) -> set[str]:
    """Steps of the run that started, never ended, and whose process still runs on this host.

    With the default executor a step runs in the run's own process and dies with it. With the
    multiprocess executor (and Celery, on this host) a step is a process of its own that the run
    worker's death does not stop: it may yet record the commit it made, which must not be
    undone under it."""
    types = {
        dg.DagsterEventType.STEP_START,
        dg.DagsterEventType.STEP_SUCCESS,
        dg.DagsterEventType.STEP_FAILURE,
        dg.DagsterEventType.STEP_SKIPPED,
    }
    started: dict[str, int | None] = {}
    ended: set[str] = set()
    for record in instance.all_logs(run_id, of_type=types):
        event = record.dagster_event
        if event is None or not event.step_key:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            started[event.step_key] = event.pid
        else:
            ended.add(event.step_key)
    return {step for step, pid in started.items() if step not in ended and pid_alive(pid)}


def roll_back_unrecorded_commits(instance: dg.DagsterInstance, run_id: str) -> RollBack:
    """Undo the Delta commits the failed run ``run_id`` made but never recorded.

    Each table on its own: one that cannot be read or restored is named with the reason and the
    others are still done. A table whose latest commit is by a step of the run still running
    (its own process, alive) is left to that step."""
    store = TableStore(settings.tables_root())
    recorded = recorded_table_versions(instance, run_id)
    running = steps_still_running(instance, run_id)
    result = RollBack()
    for name in store.published():
        uri = store.uri(*split_name(name))
        try:
            [latest] = DeltaTable(uri).history(limit=1)
            asset = str(latest.get("dagster_asset") or "")
            if latest.get("dagster_run_id") == run_id and asset.replace("/", "__") in running:
                result.left[name] = f"step {asset} of this run is still running"
                continue
            version = store.roll_back(name, run_id, recorded.get(uri, set()))
        except (DeltaError, OSError, TableStoreError) as exc:
            result.left[name] = f"could not be checked or restored ({str(exc).splitlines()[0]})"
            continue
        if version is not None:
            result.restored.append(f"{name}@{version}")
    return result


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
    result = roll_back_unrecorded_commits(context.instance, run.run_id)
    if result.restored or result.left:
        message = result.describe()
        context.instance.report_engine_event(message[:1].upper() + message[1:] + ".", run)
        context.log.info(f"run {run.run_id}: {message}")
