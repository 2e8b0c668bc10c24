"""What the Dagster event log recorded: gate verdicts and upstream materializations.

The training BOM and the run summaries are built from these facts, read back from the instance
rather than recomputed, so they say what actually happened in the run.
"""

from dataclasses import asdict, dataclass
from typing import Any

import dagster as dg


@dataclass
class GateOutcome:
    asset: str
    check: str
    passed: bool
    blocking: bool
    summary: str
    contract: str | None = None


def metadata_value(value: Any) -> Any:
    """The plain value inside a Dagster metadata value."""
    return getattr(value, "value", value)


def plain(value: Any) -> Any:
    """A metadata value as JSON-ready data, or None for rich types (schemas, lineage)."""
    raw = metadata_value(value)
    if isinstance(raw, str | int | float | bool | dict | list) or raw is None:
        return raw
    return None


def gate_outcome(evaluation: dg.AssetCheckEvaluation) -> GateOutcome:
    """A check's verdict and evidence summary, as recorded in its evaluation event."""
    summary = evaluation.metadata.get("summary") or evaluation.metadata.get("description")
    contract = evaluation.metadata.get("contract")
    return GateOutcome(
        asset=evaluation.asset_key.to_user_string(),
        check=evaluation.check_name,
        passed=evaluation.passed,
        blocking=evaluation.severity == dg.AssetCheckSeverity.ERROR,
        summary=str(metadata_value(summary)) if summary else "",
        contract=f"expectations/{metadata_value(contract)}" if contract else None,
    )


def _checks_of(
    instance: dg.DagsterInstance, run_id: str, asset_key: dg.AssetKey
) -> list[dict[str, Any]]:
    checks = []
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = record.dagster_event.event_specific_data
        if evaluation.asset_key == asset_key:
            checks.append(asdict(gate_outcome(evaluation)))
    return checks


def upstream_facts(
    instance: dg.DagsterInstance, keys: list[str], run_id: str
) -> dict[str, dict[str, Any]]:
    """Each upstream asset's materialization in run ``run_id`` (else its latest): versions,
    metadata and check results. A concurrent run's materializations are never mistaken for
    this run's inputs."""
    from assets.run_inputs import upstream_materialization

    facts: dict[str, dict[str, Any]] = {}
    for key in keys:
        event = upstream_materialization(instance, run_id, key)
        if event is None or event.asset_materialization is None:
            facts[key] = {}
            continue
        materialization = event.asset_materialization
        tags = materialization.tags or {}
        metadata = {k: plain(v) for k, v in materialization.metadata.items()}
        facts[key] = {
            "data_version": tags.get("dagster/data_version"),
            "code_version": tags.get("dagster/code_version"),
            "run_id": event.run_id,
            "metadata": {k: v for k, v in metadata.items() if v is not None},
            "checks": _checks_of(instance, event.run_id, materialization.asset_key),
        }
    return facts
