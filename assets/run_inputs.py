"""What a step reads: the upstream tables its own run published, never a concurrent run's.

Two runs of one dataset at once (say one on the declared files, one with ``--source``) each
publish new versions of the same Delta tables. A step reading "the latest version" could build
its redacted table, features or model from the other run's table. So each step looks in its own
run's event log (Dagster's record of what this run materialized) for the upstream asset and
reads the exact Delta version that materialization recorded as ``table_version``. An upstream
asset this run did not materialize (up to date, not selected) is read at its table's latest
version: what its last materialization published, less whatever an erasure has deleted since
(``govern erase`` commits deletions and vacuums the versions before them, so a recorded older
version may no longer be readable, and must not be read).
"""

import dagster as dg

from assets.evidence import metadata_value


def upstream_materialization(
    instance: dg.DagsterInstance, run_id: str, key: str
) -> dg.EventLogEntry | None:
    """``key``'s materialization in run ``run_id`` if it has one, else its latest anywhere."""
    asset_key = dg.AssetKey(key)
    in_run = [
        record
        for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        if record.dagster_event is not None and record.dagster_event.asset_key == asset_key
    ]
    return in_run[-1] if in_run else instance.get_latest_materialization_event(asset_key)


def upstream_table_version(instance: dg.DagsterInstance, run_id: str, key: str) -> int | None:
    """The Delta version of ``key``'s table that this run published; None when this run did not
    materialize ``key`` (then the table's latest version is read, see the module)."""
    event = upstream_materialization(instance, run_id, key)
    if event is None or event.asset_materialization is None or event.run_id != run_id:
        return None
    version = metadata_value(event.asset_materialization.metadata.get("table_version"))
    return int(version) if version is not None else None


def materialized_in_run(instance: dg.DagsterInstance, run_id: str, key: str) -> bool:
    event = upstream_materialization(instance, run_id, key)
    return event is not None and event.run_id == run_id
