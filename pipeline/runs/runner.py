"""Run a dataset's job through Dagster and summarize it: rows per asset, every gate, the model.

The run is recorded in the Dagster instance (so the UI shows it), and its summary is read back
from the run's own events; it holds counts, gate verdicts and names, never a data value.
"""

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from assets.evidence import GateOutcome, gate_outcome, metadata_value
from pipeline import settings
from pipeline.declarations.dataset import DatasetSpec
from pipeline.naming import job_name, raw_asset, source_assets
from pipeline.runs.recovery import fail_dead_runs, process_tags
from pipeline.runs.staleness import assets_to_run, observe_landing_files

_SUMMARY_KEYS = (
    "dagster/row_count",
    "rows_in",
    "rows_loaded",
    "rows_rejected",
    "rows_published",
    "rows_quarantined",
    "source_sha256",
    "registered_model",
    "registered_version",
    "mlflow_run_id",
)


@dataclass
class AssetOutcome:
    asset: str
    status: str  # materialized | failed | not run
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunSummary:
    dataset: str
    run_id: str | None  # None when nothing was stale: no run was launched
    success: bool
    assets: list[AssetOutcome]
    gates: list[GateOutcome]
    failures: list[str]
    model: dict[str, Any] = field(default_factory=dict)
    # Earlier runs found dead (their process killed) and marked failed before this one.
    recovered_runs: list[str] = field(default_factory=list)

    @property
    def up_to_date(self) -> bool:
        return self.run_id is None and self.success

    def blocked_gates(self) -> list[GateOutcome]:
        return [g for g in self.gates if g.blocking and not g.passed]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def source_overrides(dataset: DatasetSpec, paths: dict[str, Path]) -> dict[str, Any]:
    """Run config pointing ``raw_<source>`` at another file."""
    ops = {
        raw_asset(source): {"config": {"path": str(Path(path).resolve())}}
        for source, path in paths.items()
        if source in dataset.sources
    }
    return {"ops": ops} if ops else {}


def run_dataset(
    defs: dg.Definitions,
    dataset: DatasetSpec,
    instance: dg.DagsterInstance,
    paths: dict[str, Path] | None = None,
    quiet: bool = True,
    extra_config: dict[str, Any] | None = None,
    only_stale: bool = False,
    root: Path | None = None,
) -> RunSummary:
    """Run the dataset's job: every asset, or with ``only_stale`` only those Dagster reports
    stale or missing once the landing files are observed (none: no run, ``up_to_date``)."""
    paths = paths or {}
    recovered = fail_dead_runs(instance)
    job = defs.resolve_job_def(job_name(dataset.name))
    observe_landing_files(instance, dataset, paths, root or settings.project_root())
    selection = None
    if only_stale:
        keys = [dg.AssetKey(k) for k in _asset_order(dataset)]
        selection = assets_to_run(defs, instance, keys)
        if not selection:
            model = _current_model(dataset, instance)
            return RunSummary(dataset.name, None, True, [], [], [], model, recovered)
    chosen = {k.to_user_string() for k in selection} if selection else None
    run_config: dict[str, Any] = source_overrides(
        dataset, {s: p for s, p in paths.items() if not chosen or raw_asset(s) in chosen}
    )
    for section, values in (extra_config or {}).items():
        run_config.setdefault(section, {}).update(values)
    if quiet:
        # The summary names every failed step and blocked gate in one line each; Dagster's own
        # error logs would repeat them on stderr with stack traces. They stay in the run's
        # event log (the UI, `--verbose`).
        run_config["loggers"] = {"console": {"config": {"log_level": "CRITICAL"}}}
    result = job.execute_in_process(
        instance=instance,
        run_config=run_config,
        raise_on_error=False,
        asset_selection=selection,
        tags=process_tags(),
    )
    summary = summarize(dataset, result, chosen)
    summary.recovered_runs = recovered
    return summary


def summarize(
    dataset: DatasetSpec, result: dg.ExecuteInProcessResult, chosen: set[str] | None = None
) -> RunSummary:
    """What the run did; assets outside ``chosen`` (fresh, not selected) show as up to date."""
    materialized: dict[str, AssetOutcome] = {}
    gates: list[GateOutcome] = []
    failures: list[str] = []
    failed_steps: set[str] = set()
    failed_facts: dict[str, dict[str, Any]] = {}
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            mat = event.event_specific_data.materialization
            facts = {
                k: metadata_value(v)
                for k, v in mat.metadata.items()
                if k in _SUMMARY_KEYS or k.startswith("metric/")
            }
            materialized[mat.asset_key.to_user_string()] = AssetOutcome(
                mat.asset_key.to_user_string(), "materialized", facts
            )
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            gates.append(gate_outcome(event.event_specific_data))
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
            failed_steps.add(event.step_key)
            failed_facts[event.step_key] = _failure_facts(event.event_specific_data)
            error = event.event_specific_data.error
            message = error.message.strip() if error else "failed"
            failures.append(_failure_text(event.step_key, message))
    assets = []
    for key in _asset_order(dataset):
        if key in materialized:
            assets.append(materialized[key])
        else:
            failed = key in failed_steps
            facts = failed_facts.get(key, {}) if failed else {}
            state = (
                "failed" if failed else "up to date" if chosen and key not in chosen else "not run"
            )
            assets.append(AssetOutcome(key, state, facts))
    model_outcome = materialized.get(dataset.model.name)
    model = _model(model_outcome.facts) if model_outcome else {}
    return RunSummary(dataset.name, result.run_id, result.success, assets, gates, failures, model)


def _current_model(dataset: DatasetSpec, instance: dg.DagsterInstance) -> dict[str, Any]:
    """The model an up-to-date dataset still serves: its asset's last materialization."""
    event = instance.get_latest_materialization_event(dg.AssetKey(dataset.model.name))
    if event is None or event.asset_materialization is None:
        return {}
    return _model({k: metadata_value(v) for k, v in event.asset_materialization.metadata.items()})


def _model(facts: dict[str, Any]) -> dict[str, Any]:
    """The registered model a model asset's materialization names, and its metrics."""
    return {
        "name": facts.get("registered_model"),
        "version": facts.get("registered_version"),
        "mlflow_run_id": facts.get("mlflow_run_id"),
        "metrics": {
            k.removeprefix("metric/"): v for k, v in facts.items() if k.startswith("metric/")
        },
    }


def _failure_facts(data: Any) -> dict[str, Any]:
    """The row counts a failed asset attached to its failure (a blocked gate still counts)."""
    user = getattr(data, "user_failure_data", None)
    metadata = (user.metadata if user else None) or {}
    return {k: metadata_value(v) for k, v in metadata.items() if k in _SUMMARY_KEYS}


def _failure_text(step_key: str, message: str) -> str:
    if message.startswith("dagster._core.errors.DagsterAssetCheckFailedError"):
        # A check step (the drift gate) that blocked: its verdict and evidence are a gate line.
        return f"{step_key}: a blocking check failed (its gate above says which, and why)"
    # Dagster prefixes user failures with the exception's class path; keep the sentence.
    for prefix in (
        "dagster._core.definitions.events.Failure: ",
        "dagster._core.errors.DagsterExecutionStepExecutionError: ",
    ):
        message = message.removeprefix(prefix)
    return f"{step_key}: {message.splitlines()[0] if message else 'failed'}"


def _asset_order(dataset: DatasetSpec) -> list[str]:
    return [*source_assets(list(dataset.sources)), dataset.features.name, dataset.model.name]
